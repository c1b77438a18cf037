/**
 * Data types. The numeric ids are ONNX TensorProto.DataType values; the C header
 * (include/mx_backend.h, enum mx_dtype) uses the same numbers.
 *
 * float16 and bfloat16 are carried as raw 16-bit words (Uint16Array) on the JS side;
 * int64/uint64 as BigInt64Array/BigUint64Array; bool as Uint8Array of 0/1.
 * The narrow types (narrow.ts) take one byte per element: the float8 types and
 * float4e2m1 as raw bits (Uint8Array), int4/int2 as Int8Array values, uint4/uint2
 * as Uint8Array values. `size` is that storage size; ONNX's packed layout of the
 * sub-byte types exists only in the ONNX loader.
 */
import { decodeNarrow, encodeNarrow, isNarrowFloat, type Narrow } from './narrow.js';

export const DTYPES = {
  float32: { id: 1, size: 4, array: Float32Array },
  uint8: { id: 2, size: 1, array: Uint8Array },
  int8: { id: 3, size: 1, array: Int8Array },
  uint16: { id: 4, size: 2, array: Uint16Array },
  int16: { id: 5, size: 2, array: Int16Array },
  int32: { id: 6, size: 4, array: Int32Array },
  int64: { id: 7, size: 8, array: BigInt64Array },
  bool: { id: 9, size: 1, array: Uint8Array },
  float16: { id: 10, size: 2, array: Uint16Array },
  float64: { id: 11, size: 8, array: Float64Array },
  uint32: { id: 12, size: 4, array: Uint32Array },
  uint64: { id: 13, size: 8, array: BigUint64Array },
  bfloat16: { id: 16, size: 2, array: Uint16Array },
  float8e4m3fn: { id: 17, size: 1, array: Uint8Array },
  float8e4m3fnuz: { id: 18, size: 1, array: Uint8Array },
  float8e5m2: { id: 19, size: 1, array: Uint8Array },
  float8e5m2fnuz: { id: 20, size: 1, array: Uint8Array },
  uint4: { id: 21, size: 1, array: Uint8Array },
  int4: { id: 22, size: 1, array: Int8Array },
  float4e2m1: { id: 23, size: 1, array: Uint8Array },
  float8e8m0: { id: 24, size: 1, array: Uint8Array },
  uint2: { id: 25, size: 1, array: Uint8Array },
  int2: { id: 26, size: 1, array: Int8Array },
} as const;

export type DType = keyof typeof DTYPES;
/**
 * The narrow types: storage formats that Cast, CastLike, QuantizeLinear and
 * DequantizeLinear convert to and from; other ops compute in the standard types.
 */
export const NARROW_DTYPES = [
  'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'float8e8m0', 'float4e2m1', 'int4', 'uint4', 'int2', 'uint2',
] as const satisfies readonly DType[];
/** The 13 standard dtypes: every op family is declared over these. */
export const ALL_DTYPES = (Object.keys(DTYPES) as DType[]).filter((d) => !(NARROW_DTYPES as readonly string[]).includes(d));
/** Every dtype, the narrow ones included (Cast's types). */
export const EVERY_DTYPE = Object.keys(DTYPES) as DType[];

export type TypedArrayFor<D extends DType> = InstanceType<(typeof DTYPES)[D]['array']>;
export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export const FLOAT_DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16'];
export const INT_DTYPES: readonly DType[] = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'];
export const SIGNED_DTYPES: readonly DType[] = ['int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'float16', 'bfloat16'];
export const NUMERIC_DTYPES: readonly DType[] = [...FLOAT_DTYPES, ...INT_DTYPES];

export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, s);
}
export const dtypeSize = (d: DType): number => DTYPES[d].size;
export const dtypeId = (d: DType): number => DTYPES[d].id;
const BY_ID = new Map<number, DType>(EVERY_DTYPE.map((d) => [DTYPES[d].id, d]));
export const dtypeFromId = (id: number): DType | undefined => BY_ID.get(id);
/** Floating-point dtypes, the narrow float formats included. */
export const isFloat = (d: DType) =>
  d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16' || isNarrowFloat(d);
export const isNarrow = (d: DType): d is Narrow => (NARROW_DTYPES as readonly string[]).includes(d);
export const isBigInt = (d: DType) => d === 'int64' || d === 'uint64';

/** A typed array view over `buffer` for dtype `d` (length in elements). */
export function typedView(d: DType, buffer: ArrayBufferLike, byteOffset = 0, length?: number): TypedArray {
  const C = DTYPES[d].array as unknown as new (b: ArrayBufferLike, o: number, n?: number) => TypedArray;
  return length === undefined ? new C(buffer, byteOffset) : new C(buffer, byteOffset, length);
}

/** dtype of a typed array when a user passes one without naming a dtype. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Uint32Array) return 'uint32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof BigUint64Array) return 'uint64';
  return 'float32';
}

// ---- 16-bit float conversions (round to nearest even), used by the JS side only.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32ToBf16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
export function bf16ToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}
export function f32ToF16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Read element i of a storage view as a JS number (bigint dtypes as number, 16-bit
 * and narrow floats decoded).
 * @example mx.readNumber('float8e4m3fn', new Uint8Array([0x38]), 0) // 1
 */
export function readNumber(d: DType, a: TypedArray, i: number): number {
  const v = a[i]!;
  if (d === 'float16') return f16ToF32(v as number);
  if (d === 'bfloat16') return bf16ToF32(v as number);
  if (isNarrowFloat(d)) return decodeNarrow(d, v as number);
  return typeof v === 'bigint' ? Number(v) : v;
}
/**
 * Write a JS number into element i with the dtype's conversion: round to nearest
 * even for floats, as a Cast without saturation (out of a float8 range gives inf
 * or NaN; float8e8m0 to the nearest power of two); integers wrap,
 * int4/int2/uint4/uint2 to their width. Saturating casts are the kernels'
 * business, not this.
 * @example const a = new Uint8Array(1); mx.writeNumber('float8e5m2', a, 0, 1.1); // a[0] = 0x3c (1)
 */
export function writeNumber(d: DType, a: TypedArray, i: number, x: number | bigint | boolean): void {
  if (d === 'float16') a[i] = f32ToF16(Number(x));
  else if (d === 'bfloat16') a[i] = f32ToBf16(Number(x));
  // float8e8m0 rounds to the nearest power of two here (ONNX's bit rule, under which
  // every e8m0 value maps to itself; Cast's default 'up' moves 2^-127 to 2^-126).
  else if (isNarrow(d)) a[i] = encodeNarrow(d, typeof x === 'boolean' ? Number(x) : x, { roundMode: 'nearest' });
  else if (d === 'int64' || d === 'uint64') (a as BigInt64Array)[i] = typeof x === 'bigint' ? x : Number.isFinite(Number(x)) ? BigInt(Math.trunc(Number(x))) : 0n;
  else if (d === 'bool') a[i] = x ? 1 : 0;
  else (a as Float32Array)[i] = Number(x);
}
