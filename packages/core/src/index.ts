/**
 * @mx/core: tensors, the op table, the engine, backends chosen at run time.
 *
 * @example
 * import * as mx from '@mx/core';
 * const x = mx.tensor([[1, 2], [3, 4]]);
 * const y = mx.matmul(x, x).relu();
 * console.log(await y.data()); // Float32Array [7, 10, 15, 22]
 */
export { MxError, isMxError, type MxErrorCode } from './errors.js';
export { DTYPES, ALL_DTYPES, EVERY_DTYPE, NARROW_DTYPES, dtypeSize, isDType, isFloat, readNumber, writeNumber, type DType, type TypedArray } from './dtype.js';
export { PROTOCOL_MAJOR, PROTOCOL_MINOR } from './protocol.js';
export type { Backend, BackendManifest, ClaimQuery, DeviceInfo, KernelCall, KernelInfo, KernelTensor, KernelTiming, Queue, StorageRef } from './protocol.js';
export { registerBackend, use, backendRecords, devices, defaultDevice, type BackendRecord } from './registry.js';
export { OPS, type OpName } from './ops/index.js';
export type { OpSchema, AttrValue } from './ops/schema.js';
export { tidy, keep, memory, configure, withBackends, syncAll as sync } from './engine.js';
export { Tensor, tensor, full, zeros, ones, type TensorLike, type TensorOptions } from './tensor.js';
export { ops, runByName as runOp, type OpFunctions, type OpMethods } from './api.js';
export * from './generated/ops.js';
export * as onnx from './onnx/index.js';
export { profile, Profile, type ProfiledCall, type ProfileRow } from './profile.js';
