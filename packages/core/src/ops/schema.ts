/**
 * Op schemas: each op is declared once (inputs, outputs, attributes with defaults,
 * type constraints, and the shape/dtype rule). Everything else (user functions,
 * Tensor methods, validation, backend "supports" keys, conformance cases) derives
 * from these declarations. Semantics are those of the newest ONNX opset.
 *
 * This module knows nothing of the engine: shape rules see only metadata (and the
 * values of inputs declared `value: true`, which must be readable on the host).
 */
import type { DType } from '../dtype.js';
import { MxError } from '../errors.js';

/** 'dtype': a DType name in JS (ONNX's int `to` is converted on import); kernels receive the ONNX id as an int. */
export type AttrType = 'int' | 'float' | 'string' | 'ints' | 'floats' | 'strings' | 'dtype';
export type AttrValue = number | string | number[] | string[];

export interface AttrSpec {
  readonly type: AttrType;
  /** Default when the caller omits it. Absent and not `required`: the attr is absent. */
  readonly default?: AttrValue;
  readonly required?: boolean;
}

export interface InputSpec {
  readonly name: string;
  /** A type-constraint name from `types`, or a fixed dtype. */
  readonly type: string;
  readonly optional?: boolean;
  /** Takes all remaining arguments (ONNX variadic); passed to the JS function as an array. */
  readonly variadic?: boolean;
  /**
   * The values (not only the shape) are needed by the shape rule, e.g. Reshape's
   * `shape`. They are read on the host; the rule folds what the kernel needs into
   * `attrs`, and kernels receive `null` in this input's position.
   */
  readonly value?: boolean;
}

export interface OutputSpec {
  readonly name: string;
  readonly type: string;
  /** Computed only when asked for (graph mode or `{ outputs: n }`). */
  readonly optional?: boolean;
  readonly variadic?: boolean;
}

/** What a shape rule sees. */
export interface InferInput {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface InferContext {
  readonly op: string;
  /** Present inputs in declaration order (variadic expanded); `undefined` where an optional input is absent. */
  readonly inputs: readonly (InferInput | undefined)[];
  /** Attributes after defaults were applied. */
  readonly attrs: Readonly<Record<string, AttrValue | undefined>>;
  /** How many outputs the caller wants (>= number of required outputs). */
  readonly numOutputs: number;
  /** Values of input i (declared `value: true`) as numbers; undefined if absent. */
  value(i: number): number[] | undefined;
  /** Throw an INVALID_ARGUMENT MxError naming the op, input shapes and dtypes. */
  fail(message: string): never;
}

export interface OutputMeta {
  shape: number[];
  dtype: DType;
}

export interface InferResult {
  outputs: OutputMeta[];
  /** Extra attributes for the kernel (e.g. normalized axes, folded value inputs). Merged over the call's attrs. */
  attrs?: Record<string, AttrValue>;
  /**
   * The op is a pure view of input `viewOf` (same bytes, new shape): the engine
   * shares storage and runs no kernel (Reshape, Flatten, Squeeze, Unsqueeze, Identity).
   */
  viewOf?: number;
}

export interface OpSchema {
  readonly name: string;
  /** ONNX domain; '' is ai.onnx. */
  readonly domain?: string;
  readonly doc?: string;
  readonly inputs: readonly InputSpec[];
  readonly outputs: readonly OutputSpec[];
  readonly attrs?: Readonly<Record<string, AttrSpec>>;
  /** Type constraints: name -> allowed dtypes. */
  readonly types: Readonly<Record<string, readonly DType[]>>;
  /** The shape/dtype rule. Validates and throws through ctx.fail on a wrong call. */
  infer(ctx: InferContext): InferResult;
  /** User function name; default: the name with its first letter lowercased. */
  readonly fn?: string;
  /** Tensor method name; default: same as fn; false for none. */
  readonly method?: string | false;
}

/** Declares an op; the identity function that keeps literal types for the typed API. */
export function defineOp<const S extends OpSchema>(s: S): S {
  return s;
}

// ---------------------------------------------------------------- helpers for rules

export function fail(ctx: { op: string; inputs: readonly (InferInput | undefined)[] }, message: string): never {
  const ins = ctx.inputs.map((t) => (t ? `${t.dtype}[${t.shape.join(',')}]` : 'absent')).join(', ');
  throw new MxError('INVALID_ARGUMENT', `${ctx.op}: ${message} (inputs: ${ins})`, { op: ctx.op });
}

/** NumPy/ONNX multidirectional broadcast of several shapes. */
export function broadcastShapes(ctx: InferContext, shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (d === out[o]) continue;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1) ctx.fail(`shapes [${shapes.map((x) => x.join(',')).join('] and [')}] cannot be broadcast`);
    }
  }
  return out;
}

/** Normalizes a possibly negative axis against rank; fails when out of range. */
export function normAxis(ctx: InferContext, axis: number, rank: number, name = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) ctx.fail(`${name} ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The type-constraint binding key used by kernels: the dtype bound to each
 * constraint in declaration order, e.g. "float32" or "float32,int64".
 * Constraints bound only by `value` inputs (folded into attrs) are not part of it,
 * so `binding` holds just the constraints of kernel-visible inputs and outputs.
 */
export function kernelKey(schema: OpSchema, binding: Readonly<Record<string, DType>>): string {
  return Object.keys(schema.types).filter((t) => binding[t] !== undefined).map((t) => binding[t]).join(',');
}
