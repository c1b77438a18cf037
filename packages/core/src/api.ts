/**
 * User-facing op functions and Tensor methods, generated from the op table:
 * `mx.add(a, b)`, `a.add(b)`, `mx.conv(x, w, { pads: [1, 1, 1, 1] })`.
 * Nothing here is written per op; the types below derive each signature from
 * its schema (inputs, optional inputs, variadic inputs, attributes, outputs).
 */
import type { DType } from './dtype.js';
import { MxError } from './errors.js';
import { TensorBase, runOp, type OpOptions } from './engine.js';
import { OPS, type Ops } from './ops/index.js';
import type { AttrType, InputSpec, OpSchema, OutputSpec } from './ops/schema.js';
import { Tensor, type TensorLike } from './tensor.js';

// ------------------------------------------------------------------ types

type AttrTs<T extends AttrType> = T extends 'int' | 'float' ? number
  : T extends 'ints' | 'floats' ? readonly number[]
  : T extends 'string' ? string
  : T extends 'strings' ? readonly string[]
  : T extends 'dtype' ? DType
  : never;

/** The attributes object of op S (all optional: defaults apply; required ones are checked at run time). */
export type AttrsOf<S> = S extends { attrs: infer A }
  ? { [K in keyof A]?: A[K] extends { type: infer T extends AttrType } ? AttrTs<T> : never }
  : Record<string, never>;

type ArgOf<I> = I extends { variadic: true } ? readonly TensorLike[] : TensorLike;

type Required<T extends readonly InputSpec[], Acc extends unknown[] = []> = T extends readonly [infer H, ...infer R extends readonly InputSpec[]]
  ? H extends { optional: true }
    ? Acc
    : Required<R, [...Acc, ArgOf<H>]>
  : Acc;

type OptionalTail<T extends readonly InputSpec[]> = T extends readonly [infer H, ...infer R extends readonly InputSpec[]]
  ? H extends { optional: true }
    ? [ArgOf<H> | null | undefined, ...OptionalTail<R>]
    : OptionalTail<R>
  : [];

/** Every prefix of the optional inputs, each followed by the attributes: (x, w, attrs?) | (x, w, b, attrs?). */
type Prefixes<Req extends unknown[], Opt extends unknown[], A> =
  | [...Req, A?]
  | (Opt extends [infer H, ...infer R] ? Prefixes<[...Req, H], R, A> : never);

export type ArgsOf<S extends OpSchema> = Prefixes<Required<S['inputs']>, OptionalTail<S['inputs']>, AttrsOf<S>>;

type SingleOut<O extends readonly OutputSpec[]> = O extends readonly [infer F]
  ? F extends { variadic: true } ? Tensor[] : Tensor
  : O extends readonly [infer F, ...infer R extends readonly OutputSpec[]]
    ? R extends readonly { optional: true }[] ? (F extends { variadic: true } ? Tensor[] : Tensor) : Tensor[]
    : Tensor[];

export type ResultOf<S extends OpSchema> = SingleOut<S['outputs']>;

type FnName<K extends string, S> = S extends { fn: infer F extends string } ? F : Uncapitalize<K>;
type MethodName<K extends string, S> = S extends { method: false } ? never : S extends { method: infer M extends string } ? M : FnName<K, S>;

type DropFirst<T> = T extends [unknown, ...infer R] ? R : T extends [unknown?, ...infer R] ? R : never;

/** mx.add, mx.matmul, ... */
export type OpFunctions = {
  [K in keyof Ops & string as FnName<K, Ops[K]>]: (...args: ArgsOf<Ops[K]>) => ResultOf<Ops[K]>;
};

/** a.add(b), x.relu(), ... (the tensor is the first input) */
export type OpMethods = {
  [K in keyof Ops & string as Ops[K]['inputs'] extends readonly [{ variadic: true }, ...unknown[]] ? never : MethodName<K, Ops[K]>]: (
    ...args: DropFirst<ArgsOf<Ops[K]>>
  ) => ResultOf<Ops[K]>;
};

declare module './tensor.js' {
  interface Tensor extends OpMethods {}
}

// ------------------------------------------------------------------ runtime

function isAttrs(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object' || x instanceof TensorBase || Array.isArray(x) || ArrayBuffer.isView(x)) return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

/** Splits user arguments into inputs (variadic expanded) and attributes. */
function splitArgs(schema: OpSchema, args: readonly unknown[]): { inputs: unknown[]; attrs?: Record<string, unknown> } {
  let n = args.length;
  let attrs: Record<string, unknown> | undefined;
  if (n > 0 && isAttrs(args[n - 1])) attrs = args[--n] as Record<string, unknown>;
  const inputs: unknown[] = [];
  const specs = schema.inputs;
  for (let i = 0; i < n; i++) {
    const sp = specs[Math.min(i, specs.length - 1)];
    const a = args[i];
    if (sp?.variadic && i === specs.length - 1 && Array.isArray(a) && n === specs.length && a.every((x) => x instanceof TensorBase || typeof x === 'number' || Array.isArray(x))) {
      // a variadic input given as one array of tensors: mx.concat([a, b, c])
      if (a.length === 0) throw new MxError('INVALID_ARGUMENT', `${schema.name}: needs at least one input in '${sp.name}'`, { op: schema.name });
      if (a.some((x) => x instanceof TensorBase) || !a.every((x) => typeof x === 'number')) {
        inputs.push(...a);
        continue;
      }
    }
    inputs.push(a);
  }
  if (n > specs.length && !specs[specs.length - 1]?.variadic)
    throw new MxError('INVALID_ARGUMENT', `${schema.name}: takes at most ${specs.length} inputs and an attributes object, got ${args.length} arguments`, {
      op: schema.name,
    });
  return attrs ? { inputs, attrs } : { inputs };
}

function shapeResult(schema: OpSchema, outs: TensorBase[]): Tensor | Tensor[] {
  const o = schema.outputs;
  const single = o.length === 1 ? !o[0]!.variadic : o.slice(1).every((x) => x.optional) && !o[0]!.variadic && outs.length === 1;
  return single ? (outs[0] as Tensor) : (outs as Tensor[]);
}

/** Runs an op by name with explicit inputs, attributes and options (e.g. optional outputs). */
export function runByName(name: string, inputs: readonly unknown[], attrs?: Record<string, unknown>, opts?: OpOptions): Tensor[] {
  const schema = (OPS as Record<string, OpSchema>)[name];
  if (!schema) throw new MxError('UNSUPPORTED', `unknown op '${name}'`, { hint: 'see mx.ops for the op table' });
  return runOp(schema, inputs, attrs, opts) as Tensor[];
}

export function fnName(name: string, s: OpSchema): string {
  return s.fn ?? name[0]!.toLowerCase() + name.slice(1);
}

const functions: Record<string, (...args: unknown[]) => unknown> = {};
for (const [name, schema] of Object.entries(OPS as Record<string, OpSchema>)) {
  const fn = (...args: unknown[]) => {
    const { inputs, attrs } = splitArgs(schema, args);
    return shapeResult(schema, runOp(schema, inputs, attrs));
  };
  Object.defineProperty(fn, 'name', { value: fnName(name, schema) });
  functions[fnName(name, schema)] = fn;
  const method = schema.method === false ? undefined : (schema.method ?? fnName(name, schema));
  if (method && !schema.inputs[0]?.variadic && !(method in Tensor.prototype)) {
    Object.defineProperty(Tensor.prototype, method, {
      value: function (this: Tensor, ...args: unknown[]) {
        return fn(this, ...args);
      },
      writable: true,
      configurable: true,
    });
  }
}

/** The generated op functions, typed from the op table. */
export const ops = functions as unknown as OpFunctions;
