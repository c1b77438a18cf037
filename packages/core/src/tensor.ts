/**
 * The public Tensor and the functions that create tensors from JS values.
 * Op methods (a.add(b), x.relu()) are attached from the op table in api.ts.
 */
import {
  DTYPES,
  dtypeOfArray,
  dtypeSize,
  isBigInt,
  isFloat,
  isDType,
  readNumber,
  typedView,
  writeNumber,
  type DType,
  type TypedArray,
  type TypedArrayFor,
} from './dtype.js';
import { MxError } from './errors.js';
import {
  TensorBase,
  copyTo,
  createTensor,
  device,
  readBytes,
  readBytesSync,
  setTensorFactory,
  setValueConverter,
  sizeOfShape,
  type DeviceState,
  type Storage,
} from './engine.js';

/** Anything an op accepts where a tensor is expected. */
export type TensorLike = Tensor | number | boolean | bigint | readonly unknown[] | TypedArray;

export interface TensorOptions {
  dtype?: DType;
  shape?: readonly number[];
  /** 'cpu', 'cuda:0', ...; default: the best available device. */
  device?: string;
}

export class Tensor extends TensorBase {
  /**
   * The elements as a typed array (a copy), after the work that produces them.
   * Never blocks the event loop. float16/bfloat16 come as raw 16-bit words.
   * @example
   * const y = mx.tensor([1, 2, 3]).mul(2);
   * console.log(await y.data()); // Float32Array [2, 4, 6]
   */
  async data<D extends DType = DType>(): Promise<TypedArrayFor<D>> {
    const bytes = await readBytes(this);
    return typedView(this.dtype, bytes.buffer, 0, this.size) as TypedArrayFor<D>;
  }

  /** Like data(), but blocks the JS thread until the result is ready (host tensors). */
  dataSync<D extends DType = DType>(): TypedArrayFor<D> {
    return typedView(this.dtype, readBytesSync(this).buffer, 0, this.size) as TypedArrayFor<D>;
  }

  /** Nested JS arrays of numbers (16-bit floats decoded, bools as booleans, 64-bit ints as numbers). */
  async array(): Promise<unknown> {
    return nest(this.shape, this.dtype, await this.data());
  }
  arraySync(): unknown {
    return nest(this.shape, this.dtype, this.dataSync());
  }

  /** A copy on another device (ordered on both queues). */
  to(deviceId: string): Tensor {
    return copyTo(this, deviceId) as Tensor;
  }

  /** NumPy-style text of the values (blocks for host tensors; device tensors print their metadata). */
  override toString(): string {
    if (this.isDisposed) return `Tensor(disposed, ${this.dtype}[${this.shape.join(',')}])`;
    if (this._dev.memory !== 'host') return `Tensor(${this.dtype}[${this.shape.join(',')}], device=${this.device})`;
    return formatNumpy(this.shape, this.dtype, this.dataSync());
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Tensor ${this.dtype}[${this.shape.join(',')}] on ${this.device}\n${this.toString()}`;
  }
}

setTensorFactory((s: Storage, shape, dtype) => new Tensor(s, shape, dtype));

// ------------------------------------------------------------------ creation

function inferShape(v: unknown): number[] {
  const shape: number[] = [];
  let cur: unknown = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  if (ArrayBuffer.isView(cur) && !(cur instanceof DataView)) shape.push((cur as TypedArray).length);
  return shape;
}

function flatten(v: unknown, shape: readonly number[], out: unknown[], depth = 0): void {
  if (depth === shape.length) {
    out.push(v);
    return;
  }
  const n = shape[depth]!;
  const arr = v as ArrayLike<unknown>;
  if ((!Array.isArray(v) && !ArrayBuffer.isView(v)) || arr.length !== n)
    throw new MxError('INVALID_ARGUMENT', `tensor(): ragged nested array: expected length ${n} at depth ${depth}, got ${Array.isArray(v) ? arr.length : typeof v}`, {
      hint: 'every row must have the same length',
    });
  for (let i = 0; i < n; i++) flatten(arr[i], shape, out, depth + 1);
}

function defaultDtype(first: unknown): DType {
  if (typeof first === 'boolean') return 'bool';
  if (typeof first === 'bigint') return 'int64';
  return 'float32';
}

function checkShape(shape: readonly number[], where: string): void {
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0)
      throw new MxError('INVALID_ARGUMENT', `${where}: invalid shape [${shape.join(',')}]: dimensions must be non-negative integers`);
}

/** Fills `dst` (bytes of dtype) from JS values, converting as needed. */
function fillFrom(values: ArrayLike<unknown>, dtype: DType, dst: Uint8Array): void {
  const view = typedView(dtype, dst.buffer, dst.byteOffset, dst.byteLength / dtypeSize(dtype));
  const n = view.length;
  if (values.length === 1 && n !== 1) {
    // broadcast one value (full(), scalars for ops)
    const v = values[0];
    for (let i = 0; i < n; i++) writeNumber(dtype, view, i, v as number);
    return;
  }
  if (ArrayBuffer.isView(values) && dtypeOfArray(values as unknown as TypedArray) === dtype && !(dtype === 'float16' || dtype === 'bfloat16')) {
    (view as Uint8Array).set(values as unknown as Uint8Array);
    return;
  }
  for (let i = 0; i < n; i++) writeNumber(dtype, view, i, values[i] as number);
}

/**
 * Creates a tensor from nested arrays, a typed array or a scalar.
 * @example
 * const a = mx.tensor([[1, 2], [3, 4]]);                                 // float32 [2,2]
 * const b = mx.tensor(new Int32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
 * const h = mx.tensor([1, 2], { dtype: 'float16' });                      // stored as half
 * const f8 = mx.tensor([0.3, -2], { dtype: 'float8e4m3fn' });             // one byte each: 0.3125, -2
 */
export function tensor(values: TensorLike, opts: TensorOptions = {}): Tensor {
  if (values instanceof Tensor) return opts.device && opts.device !== values.device ? values.to(opts.device) : values;
  const dev = device(opts.device);
  return fromJs(values, opts, dev);
}

function fromJs(values: unknown, opts: TensorOptions, dev: DeviceState): Tensor {
  if (opts.dtype !== undefined && !isDType(opts.dtype))
    throw new MxError('INVALID_ARGUMENT', `tensor(): unknown dtype '${String(opts.dtype)}'`, { hint: `dtypes: ${Object.keys(DTYPES).join(', ')}` });
  let flat: ArrayLike<unknown>;
  let shape: readonly number[];
  let dtype: DType;
  if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    const ta = values as TypedArray;
    flat = ta;
    dtype = opts.dtype ?? dtypeOfArray(ta);
    shape = opts.shape ?? [ta.length];
  } else if (Array.isArray(values)) {
    const inferred = inferShape(values);
    const out: unknown[] = [];
    flatten(values, inferred, out);
    flat = out;
    dtype = opts.dtype ?? defaultDtype(out[0]);
    shape = opts.shape ?? inferred;
  } else if (typeof values === 'number' || typeof values === 'boolean' || typeof values === 'bigint') {
    flat = [values];
    dtype = opts.dtype ?? defaultDtype(values);
    shape = opts.shape ?? [];
  } else {
    throw new MxError('INVALID_ARGUMENT', `tensor(): cannot make a tensor from ${values === null ? 'null' : typeof values}`, {
      hint: 'pass a number, nested arrays of numbers/booleans, or a typed array',
    });
  }
  checkShape(shape, 'tensor()');
  const n = sizeOfShape(shape);
  if (flat.length !== n && !(flat.length === 1 && opts.shape))
    throw new MxError('INVALID_ARGUMENT', `tensor(): ${flat.length} values do not fill shape [${shape.join(',')}] (${n} elements)`);
  if (isBigInt(dtype) === false && flat.length > 0 && typeof flat[0] === 'bigint') flat = Array.from(flat, Number);
  return createTensor(dev, shape, dtype, (bytes) => fillFrom(flat, dtype, bytes)) as Tensor;
}

setValueConverter((v, dtype, dev) => fromJs(v, { dtype }, dev));

/**
 * A tensor of `shape` filled with `value`.
 * @example const z = mx.full([2, 3], 7, { dtype: 'int32' });
 */
export function full(shape: readonly number[], value: number | boolean | bigint, opts: Omit<TensorOptions, 'shape'> = {}): Tensor {
  checkShape(shape, 'full()');
  const dtype = opts.dtype ?? defaultDtype(value);
  const dev = device(opts.device);
  return createTensor(dev, shape, dtype, (bytes) => {
    if (value !== 0 && value !== false && value !== 0n) fillFrom([value], dtype, bytes);
    else bytes.fill(0);
  }) as Tensor;
}

/** @example const z = mx.zeros([2, 2]); */
export const zeros = (shape: readonly number[], opts: Omit<TensorOptions, 'shape'> = {}) => full(shape, 0, { dtype: 'float32', ...opts });
/** @example const o = mx.ones([3], { dtype: 'int64' }); */
export const ones = (shape: readonly number[], opts: Omit<TensorOptions, 'shape'> = {}) => full(shape, 1, { dtype: 'float32', ...opts });

// ------------------------------------------------------------------ printing

function nest(shape: readonly number[], dtype: DType, a: TypedArray): unknown {
  const get = (i: number) => (dtype === 'bool' ? a[i] !== 0 : readNumber(dtype, a, i));
  if (shape.length === 0) return get(0);
  let i = 0;
  const build = (d: number): unknown[] => {
    const n = shape[d]!;
    const out = new Array(n);
    for (let k = 0; k < n; k++) out[k] = d === shape.length - 1 ? get(i++) : build(d + 1);
    return out;
  };
  return build(0);
}

const EDGE = 3;
const SUMMARIZE_OVER = 1000;

/** Text like NumPy's str(): `[[1. 2.]\n [3. 4.]]`, summarized with `...` beyond 1000 elements. */
export function formatNumpy(shape: readonly number[], dtype: DType, a: TypedArray): string {
  const n = sizeOfShape(shape);
  const summarize = n > SUMMARIZE_OVER;
  const isF = isFloat(dtype);
  const val = (i: number) => readNumber(dtype, a, i);
  // which elements are printed (for widths)
  const shown: number[] = [];
  const strides = shape.map((_, d) => sizeOfShape(shape.slice(d + 1)));
  const visit = (d: number, base: number) => {
    if (d === shape.length) return void shown.push(base);
    const len = shape[d]!;
    const idx = summarize && len > 2 * EDGE ? [...Array(EDGE).keys(), ...Array.from({ length: EDGE }, (_, k) => len - EDGE + k)] : [...Array(len).keys()];
    for (const k of idx) visit(d + 1, base + k * strides[d]!);
  };
  visit(0, 0);
  let fmt: (v: number) => string;
  if (dtype === 'bool') fmt = (v) => (v ? ' True' : 'False');
  else if (!isF) fmt = (v) => String(v);
  else {
    const finite = shown.map(val).filter((v) => Number.isFinite(v));
    const allInt = finite.every((v) => Number.isInteger(v));
    const maxAbs = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const minAbs = finite.reduce((m, v) => (v !== 0 ? Math.min(m, Math.abs(v)) : m), Infinity);
    const sci = maxAbs >= 1e16 || (minAbs < 1e-4 && minAbs !== Infinity) || (maxAbs / (minAbs === Infinity ? 1 : minAbs) > 1e3 && !allInt && minAbs < 1e-3);
    if (sci) fmt = (v) => (Number.isFinite(v) ? v.toExponential(8).replace(/0+e/, 'e').replace(/\.e/, '.e').replace(/e([+-])(\d)$/, 'e$10$2') : fmtSpecial(v));
    else if (allInt) fmt = (v) => (Number.isFinite(v) ? `${v}.` : fmtSpecial(v));
    else {
      const decimals = Math.min(8, Math.max(...finite.map((v) => decimalsOf(v))));
      fmt = (v) => (Number.isFinite(v) ? trimTo(v, decimals) : fmtSpecial(v));
    }
  }
  // integer element strings: exact (bigint) for 64-bit types
  const str = (i: number) => (isBigInt(dtype) ? String((a as BigInt64Array)[i]) : dtype === 'bool' ? fmt(a[i] as number) : fmt(val(i)));
  const width = Math.max(1, ...shown.map((i) => str(i).length));
  const pad = (s: string) => s.padStart(width);
  if (shape.length === 0) return str(0);
  const rec = (d: number, base: number, indent: string): string => {
    const len = shape[d]!;
    const parts: string[] = [];
    const cut = summarize && len > 2 * EDGE;
    const idx = cut ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, k) => len - EDGE + k)] : [...Array(len).keys()];
    for (const k of idx) {
      if (k === -1) parts.push('...');
      else if (d === shape.length - 1) parts.push(pad(str(base + k * strides[d]!)));
      else parts.push(rec(d + 1, base + k * strides[d]!, indent + ' '));
    }
    if (d === shape.length - 1) return `[${wrap(parts, indent)}]`;
    return `[${parts.join('\n'.repeat(shape.length - d - 1) + indent + ' ')}]`;
  };
  return rec(0, 0, '');
}

function wrap(parts: string[], indent: string): string {
  const LINE = 75;
  let out = '';
  let lineLen = indent.length + 1;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const add = (i ? 1 : 0) + p.length;
    if (i && lineLen + add > LINE) {
      out += '\n' + indent + ' ' + p;
      lineLen = indent.length + 1 + p.length;
    } else {
      out += (i ? ' ' : '') + p;
      lineLen += add;
    }
  }
  return out;
}

function fmtSpecial(v: number): string {
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}
function decimalsOf(v: number): number {
  const s = Number(v.toPrecision(8)).toString();
  if (s.includes('e')) return 8;
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}
function trimTo(v: number, decimals: number): string {
  const s = Number(v.toPrecision(8)).toFixed(decimals);
  // NumPy pads missing decimals with spaces, not zeros: 1.5 and 2.25 -> "1.5 " "2.25"
  return s.replace(/0+$/, '').padEnd(s.length, ' ');
}
