/**
 * The narrow element types: float8 (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz, e8m0),
 * float4e2m1 and the 4- and 2-bit integers. Inside mx each element takes one
 * byte: float8 and float4e2m1 hold their bit pattern (float4e2m1 in the low
 * nibble), int4/int2 a sign-extended int8, uint4/uint2 a uint8. ONNX packs the
 * sub-byte types two or four to a byte; only the ONNX loader sees that layout.
 *
 * Conversions follow ONNX (Cast-25, whose reference is ml_dtypes):
 * - float8 and float4e2m1 round to nearest even. `saturate` clamps values beyond
 *   the largest finite value (and infinities) to it; without it they become inf
 *   (e5m2) or NaN (e4m3fn, fnuz). float4e2m1 has neither, so it always saturates,
 *   and NaN becomes 0x8 (-0) as in ml_dtypes.
 * - fn: no infinities, NaN is S.1111.111; fnuz: no infinities and no negative
 *   zero (a negative result that rounds to 0 is +0), NaN is 0x80.
 * - float8e8m0 is an unsigned power of two 2^(bits - 127), 0xFF is NaN. It is
 *   encoded from the float32 value's exponent field (the sign is ignored):
 *   round_mode 'up' goes to the next power of two when any mantissa bit is set,
 *   'down' truncates, 'nearest' rounds on the mantissa's top bits (ONNX's rule);
 *   saturate keeps 2^127 from rounding up to NaN. Inf and NaN give 0xFF.
 * - The integers wrap (two's complement, like ml_dtypes): a float is truncated
 *   toward zero first (NaN gives 0, beyond the int64 range it saturates there).
 */

/** The narrow types with sign, exponent and mantissa fields (e8m0 has an exponent only). */
export type FloatNarrow = 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'float4e2m1';
export type IntNarrow = 'int4' | 'uint4' | 'int2' | 'uint2';
export type Narrow = FloatNarrow | 'float8e8m0' | IntNarrow;
export type E8m0Rounding = 'up' | 'down' | 'nearest';

interface FloatFormat {
  readonly ebits: number;
  readonly mbits: number;
  readonly bias: number;
  /** Largest finite magnitude. */
  readonly max: number;
  /** 'ieee': all-ones exponent is inf/NaN; 'fn': S.1111.111 is NaN; 'fnuz': 0x80 is NaN; 'none': no NaN. */
  readonly special: 'ieee' | 'fn' | 'fnuz' | 'none';
}

const FORMATS: Record<FloatNarrow, FloatFormat> = {
  float8e4m3fn: { ebits: 4, mbits: 3, bias: 7, max: 448, special: 'fn' },
  float8e4m3fnuz: { ebits: 4, mbits: 3, bias: 8, max: 240, special: 'fnuz' },
  float8e5m2: { ebits: 5, mbits: 2, bias: 15, max: 57344, special: 'ieee' },
  float8e5m2fnuz: { ebits: 5, mbits: 2, bias: 16, max: 57344, special: 'fnuz' },
  float4e2m1: { ebits: 2, mbits: 1, bias: 1, max: 6, special: 'none' },
};

/** Bits and signedness of the narrow integers. */
export const INT_NARROW: Record<IntNarrow, { bits: number; signed: boolean }> = {
  int4: { bits: 4, signed: true },
  uint4: { bits: 4, signed: false },
  int2: { bits: 2, signed: true },
  uint2: { bits: 2, signed: false },
};

const hasFloatFormat = (d: string): d is FloatNarrow => Object.prototype.hasOwnProperty.call(FORMATS, d);
/** The narrow floating-point types (float8, e8m0 included, and float4e2m1). */
export const isNarrowFloat = (d: string): d is FloatNarrow | 'float8e8m0' => hasFloatFormat(d) || d === 'float8e8m0';
export const isIntNarrow = (d: string): d is IntNarrow => Object.prototype.hasOwnProperty.call(INT_NARROW, d);

/** The [min, max] of a narrow integer type. */
export function intNarrowRange(d: IntNarrow): [number, number] {
  const { bits, signed } = INT_NARROW[d];
  return signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

const f64 = new Float64Array(1);
const u32of64 = new Uint32Array(f64.buffer);
/** floor(log2(a)) for a finite a > 0 (exact, from the float64 exponent field). */
function exponentOf(a: number): number {
  f64[0] = a;
  const e = (u32of64[1]! >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  return Math.floor(Math.log2(a)); // float64 subnormal: far below every narrow format's range
}

function decodeFloat(f: FloatFormat, bits: number): number {
  const width = 1 + f.ebits + f.mbits;
  const sign = (bits >> (width - 1)) & 1 ? -1 : 1;
  const field = (bits >> f.mbits) & ((1 << f.ebits) - 1);
  const mant = bits & ((1 << f.mbits) - 1);
  if (f.special === 'fnuz' && bits === 0x80) return NaN;
  if (f.special === 'fn' && (bits & 0x7f) === 0x7f) return NaN;
  if (f.special === 'ieee' && field === (1 << f.ebits) - 1) return mant ? NaN : sign * Infinity;
  if (field === 0) return sign * mant * 2 ** (1 - f.bias - f.mbits);
  return sign * (1 + mant / 2 ** f.mbits) * 2 ** (field - f.bias);
}

/** Round half to even. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function encodeFloat(f: FloatFormat, x: number, saturate: boolean): number {
  const signBit = 1 << (f.ebits + f.mbits);
  if (Number.isNaN(x)) {
    if (f.special === 'fnuz') return 0x80;
    if (f.special === 'none') return signBit;
    return f.special === 'fn' ? 0x7f : 0x7e;
  }
  const neg = x < 0 || Object.is(x, -0);
  let a = Math.abs(x);
  if (saturate || f.special === 'none') a = Math.min(a, f.max);
  const emin = 1 - f.bias;
  const overflow = () => {
    if (f.special === 'fnuz') return 0x80;
    if (f.special === 'fn') return (neg ? signBit : 0) | 0x7f;
    return (neg ? signBit : 0) | (((1 << f.ebits) - 1) << f.mbits); // ieee: inf
  };
  if (a === Infinity) return overflow();
  // Round to a multiple of the spacing at a's exponent (subnormal spacing below emin).
  const quantum = 2 ** (Math.max(emin, a === 0 ? emin : exponentOf(a)) - f.mbits);
  const m = rint(a / quantum) * quantum;
  if (m > f.max) return overflow();
  if (m === 0) return neg && f.special !== 'fnuz' ? signBit : 0;
  const e = exponentOf(m);
  const bits = e < emin ? m / 2 ** (emin - f.mbits) : ((e + f.bias) << f.mbits) | (m / 2 ** (e - f.mbits) - 2 ** f.mbits);
  return (neg ? signBit : 0) | bits;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function encodeE8m0(x: number, saturate: boolean, mode: E8m0Rounding): number {
  f32[0] = x;
  const b = u32[0]!;
  let e = (b >>> 23) & 0xff;
  if (e === 0xff) return 0xff;
  let up = false;
  if (mode === 'up') up = (b & 0x7fffff) !== 0;
  else if (mode === 'nearest') up = (b & 0x400000) !== 0 && ((b & 0x3fffff) !== 0 || e > 0);
  if (up && !(saturate && e === 0xfe)) e++;
  return e;
}

const decodeE8m0 = (bits: number): number => (bits === 0xff ? NaN : 2 ** (bits - 127));

/** x (any number) as an integer wrapped to `bits` bits, sign-extended when signed. */
function wrapInt(x: number | bigint, bits: number, signed: boolean): number {
  let v: bigint;
  if (typeof x === 'bigint') v = x;
  else if (Number.isNaN(x)) v = 0n;
  else if (x >= 2 ** 63) v = 2n ** 63n - 1n;
  else if (x < -(2 ** 63)) v = -(2n ** 63n);
  else v = BigInt(Math.trunc(x));
  return Number(signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v));
}

// Decoding tables: stored byte -> value.
const TABLES = new Map<Narrow, Float64Array>();
function table(d: Narrow): Float64Array {
  let t = TABLES.get(d);
  if (!t) {
    t = new Float64Array(256);
    for (let b = 0; b < 256; b++) {
      if (d === 'float8e8m0') t[b] = decodeE8m0(b);
      else if (hasFloatFormat(d)) t[b] = decodeFloat(FORMATS[d], d === 'float4e2m1' ? b & 0xf : b);
      else t[b] = INT_NARROW[d].signed ? (b << 24) >> 24 : b; // int4/int2 are stored sign-extended
    }
    TABLES.set(d, t);
  }
  return t;
}

/** The value of a stored element (for int4/int2 the stored byte is read as uint8 here). */
export function decodeNarrow(d: Narrow, stored: number): number {
  return table(d)[stored & 0xff]!;
}

export interface NarrowCastOptions {
  /** Cast's saturate (float8 types); default false: out of range gives inf or NaN. */
  readonly saturate?: boolean;
  /** Cast's round_mode for float8e8m0; default 'up'. */
  readonly roundMode?: E8m0Rounding;
}

/** The stored element (a byte; int4/int2 as a signed value) for x, converted as Cast does. */
export function encodeNarrow(d: Narrow, x: number | bigint, opts: NarrowCastOptions = {}): number {
  if (isIntNarrow(d)) return wrapInt(x, INT_NARROW[d].bits, INT_NARROW[d].signed);
  const v = Number(x);
  if (d === 'float8e8m0') return encodeE8m0(v, opts.saturate ?? false, opts.roundMode ?? 'up');
  return encodeFloat(FORMATS[d], v, opts.saturate ?? false);
}

// ---------------------------------------------------------------- ONNX packing

/** Bits per element in ONNX's packed layout for the sub-byte types; undefined for the others. */
export function packedBits(d: string): 4 | 2 | undefined {
  if (d === 'int4' || d === 'uint4' || d === 'float4e2m1') return 4;
  if (d === 'int2' || d === 'uint2') return 2;
  return undefined;
}

/**
 * Unpacks n elements from ONNX's packed layout (element i in bits
 * [(i % per) * bits, ...) of byte floor(i / per), lowest bits first) into one
 * byte each; signed types are sign-extended.
 */
export function unpackSubByte(packed: ArrayLike<number>, n: number, bits: 4 | 2, signed: boolean, out: Uint8Array | Int8Array): void {
  const per = 8 / bits;
  const mask = (1 << bits) - 1;
  const shift = 32 - bits;
  for (let i = 0; i < n; i++) {
    const v = (packed[Math.floor(i / per)]! >> ((i % per) * bits)) & mask;
    out[i] = signed ? (v << shift) >> shift : v;
  }
}
