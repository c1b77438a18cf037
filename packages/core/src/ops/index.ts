/** The op table: every op of every family, keyed by ONNX name. */
import { elementwiseOps } from './elementwise.js';
import { reduceOps } from './reduce.js';
import { nnOps } from './nn.js';
import { tensorOps } from './tensor.js';

export const OPS = { ...elementwiseOps, ...reduceOps, ...nnOps, ...tensorOps } as const;
export type OpName = keyof typeof OPS;
export type Ops = typeof OPS;
