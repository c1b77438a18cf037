import type { RefKernel } from './types.js';
export const sequenceRef: Record<string, RefKernel> = {};
