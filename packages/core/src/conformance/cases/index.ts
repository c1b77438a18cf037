/** Every conformance case, grouped by op family. */
import type { ConformanceCase } from '../types.js';
import { elementwiseCases } from './elementwise.js';
import { reduceCases } from './reduce.js';
import { nnCases } from './nn.js';
import { tensorCases } from './tensor.js';
import { indexingCases } from './indexing.js';
import { visionCases } from './vision.js';
import { sequenceCases } from './sequence.js';
import { mlCases } from './ml.js';

export const CASES: readonly ConformanceCase[] = [...elementwiseCases, ...reduceCases, ...nnCases, ...tensorCases, ...indexingCases, ...visionCases, ...sequenceCases, ...mlCases];
