import type { RefKernel } from './types.js';
export const visionRef: Record<string, RefKernel> = {};
