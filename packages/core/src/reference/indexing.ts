import type { RefKernel } from './types.js';
export const indexingRef: Record<string, RefKernel> = {};
