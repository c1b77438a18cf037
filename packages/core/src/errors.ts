/**
 * Every failure that reaches user code is an MxError: a stable `code`, and where
 * known the op, backend and device involved, the full native message and a hint.
 */
export type MxErrorCode =
  | 'INVALID_ARGUMENT' // wrong shapes, dtypes, attributes or arguments of an op
  | 'DISPOSED' // use of a tensor after dispose()
  | 'DEVICE_MISMATCH' // inputs on different devices
  | 'UNSUPPORTED' // no backend runs this (op, dtypes) on the device
  | 'BACKEND_UNAVAILABLE' // an explicitly requested backend cannot run here
  | 'BACKEND_LOAD' // a backend failed while loading (missing/corrupt binary, throw)
  | 'PROTOCOL' // a backend built for another protocol major
  | 'DUPLICATE_CORE' // two copies of @mx/core in one process
  | 'OUT_OF_MEMORY'
  | 'DEVICE_FAULT'
  | 'KERNEL' // a kernel reported a failure
  | 'INTERNAL';

export interface MxErrorInfo {
  op?: string;
  backend?: string;
  device?: string;
  hint?: string;
  cause?: unknown;
}

export class MxError extends Error {
  readonly code: MxErrorCode;
  readonly op?: string;
  readonly backend?: string;
  readonly device?: string;
  readonly hint?: string;

  constructor(code: MxErrorCode, message: string, info: MxErrorInfo = {}) {
    const where = [info.op && `op ${info.op}`, info.backend && `backend ${info.backend}`, info.device && `device ${info.device}`]
      .filter(Boolean)
      .join(', ');
    super(`${where ? `[${where}] ` : ''}${message}${info.hint ? `\n  hint: ${info.hint}` : ''}`, info.cause !== undefined ? { cause: info.cause } : undefined);
    this.name = 'MxError';
    this.code = code;
    if (info.op !== undefined) this.op = info.op;
    if (info.backend !== undefined) this.backend = info.backend;
    if (info.device !== undefined) this.device = info.device;
    if (info.hint !== undefined) this.hint = info.hint;
  }
}

export function isMxError(e: unknown): e is MxError {
  return e instanceof Error && (e as { name?: string }).name === 'MxError' && typeof (e as MxError).code === 'string';
}
