/**
 * ONNX import: `mx.onnx.load(path | bytes)` returns a model whose `run()`
 * replays a plan made once per set of input shapes.
 */
export { load, parse, Model, allNodes, type LoadOptions, type ModelInfo, type ModelIO, type Feed, type Output } from './model.js';
export { isKnownOp, lookupSchema, needsNoKernel } from './executor.js';
export { readTensor, decodeTensor, decodeSequence, decodeOptional, onnxTypeName, type HostTensor, type HostValue } from './proto.js';
export { hostToTensor, tensorToHost, type TensorFeed } from './values.js';
export type { Graph, Node, ValueType } from './graph.js';
