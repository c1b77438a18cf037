/** The op table: every op of every family, keyed by ONNX name. */
import { elementwiseOps } from './elementwise.js';
import { reduceOps } from './reduce.js';
import { nnOps } from './nn.js';
import { tensorOps } from './tensor.js';
import { indexingOps } from './indexing.js';
import { visionOps } from './vision.js';
import { sequenceOps } from './sequence.js';
import { mlOps } from './ml.js';

export const OPS = { ...elementwiseOps, ...reduceOps, ...nnOps, ...tensorOps, ...indexingOps, ...visionOps, ...sequenceOps, ...mlOps } as const;
export type OpName = keyof typeof OPS;
export type Ops = typeof OPS;
