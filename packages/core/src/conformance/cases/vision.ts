import type { ConformanceCase } from '../types.js';
export const visionCases: ConformanceCase[] = [];
