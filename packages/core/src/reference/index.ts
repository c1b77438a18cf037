/** All reference kernels, keyed by ONNX op name. */
import type { RefKernel } from './types.js';
import { elementwiseRef } from './elementwise.js';
import { reduceRef } from './reduce.js';
import { nnRef } from './nn.js';
import { tensorRef } from './tensor.js';
import { indexingRef } from './indexing.js';
import { visionRef } from './vision.js';
import { sequenceRef } from './sequence.js';
import { mlRef } from './ml.js';

export const REFERENCE: Readonly<Record<string, RefKernel>> = { ...elementwiseRef, ...reduceRef, ...nnRef, ...tensorRef, ...indexingRef, ...visionRef, ...sequenceRef, ...mlRef };
export type { RefKernel, RefTensor } from './types.js';
