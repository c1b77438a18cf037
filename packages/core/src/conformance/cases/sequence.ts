import type { ConformanceCase } from '../types.js';
export const sequenceCases: ConformanceCase[] = [];
