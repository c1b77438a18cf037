import type { ConformanceCase } from '../types.js';
export const indexingCases: ConformanceCase[] = [];
