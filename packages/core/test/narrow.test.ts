/**
 * The narrow element types: bit patterns of ONNX's float8/float4 formats (values
 * from the ONNX spec and its node-test data), the saturate and round_mode rules,
 * wrapping of the sub-byte integers, the ONNX loader's unpacking, and tensors of
 * these dtypes through the public API on the reference backend.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import * as mx from '../src/index.js';
import { referenceBackend } from '../src/backends/reference.js';
import { decodeNarrow, encodeNarrow } from '../src/narrow.js';
import { onnx, readTensor } from '../src/onnx/proto.js';
import { resetRegistry } from '../src/registry.js';

const app = mkdtempSync(join(tmpdir(), 'mx-narrow-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;
delete process.env.MX_BACKENDS;

const values = (t: Parameters<typeof readTensor>[0]) => Array.from(readTensor(t).data as ArrayLike<number>);
const enc = (d: Parameters<typeof encodeNarrow>[0], xs: number[], saturate = true) => xs.map((x) => encodeNarrow(d, x, { saturate }));

describe('float8 and float4 encodings', () => {
  it('decodes the documented bit patterns', () => {
    const cases: [Parameters<typeof decodeNarrow>[0], number, number][] = [
      ['float8e4m3fn', 0x7e, 448], ['float8e4m3fn', 0x01, 2 ** -9], ['float8e4m3fn', 0x38, 1], ['float8e4m3fn', 0xed, -104], ['float8e4m3fn', 0x80, -0],
      ['float8e4m3fnuz', 0x7f, 240], ['float8e4m3fnuz', 0x01, 2 ** -10], ['float8e4m3fnuz', 0x40, 1],
      ['float8e5m2', 0x7b, 57344], ['float8e5m2', 0x7c, Infinity], ['float8e5m2', 0xfc, -Infinity], ['float8e5m2', 0x01, 2 ** -16], ['float8e5m2', 0x3c, 1],
      ['float8e5m2fnuz', 0x7f, 57344], ['float8e5m2fnuz', 0x01, 2 ** -17], ['float8e5m2fnuz', 0x40, 1],
      ['float8e8m0', 0x7f, 1], ['float8e8m0', 0x00, 2 ** -127], ['float8e8m0', 0xfe, 2 ** 127],
    ];
    for (const [d, bits, v] of cases) expect(decodeNarrow(d, bits), `${d} 0x${bits.toString(16)}`).toBe(v);
    for (const [d, bits] of [['float8e4m3fn', 0x7f], ['float8e4m3fn', 0xff], ['float8e4m3fnuz', 0x80], ['float8e5m2', 0x7e], ['float8e5m2fnuz', 0x80], ['float8e8m0', 0xff]] as const)
      expect(decodeNarrow(d, bits), `${d} 0x${bits.toString(16)}`).toBeNaN();
    expect(Array.from({ length: 16 }, (_, b) => decodeNarrow('float4e2m1', b))).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);
  });

  it('encodes like ONNX Cast, saturating and not (the node tests cast_FLOAT_to_FLOAT8*)', () => {
    // onnx's input: rounding cases, 1e6 beyond every range, 1e-7 below, NaN, +-inf, -1e-7.
    const x = [0.47892547, 0.48033667, 0.49968487, 0.81910545, 0.47031248, 0.7229038, 1e6, 1e-7, NaN, Infinity, Infinity, -Infinity, -1e-7, 1e-7, -1e6].map(Math.fround);
    expect(enc('float8e4m3fn', x)).toEqual([0x2f, 0x2f, 0x30, 0x35, 0x2f, 0x34, 0x7e, 0x00, 0x7f, 0x7e, 0x7e, 0xfe, 0x80, 0x00, 0xfe]);
    expect(enc('float8e4m3fn', x, false)).toEqual([0x2f, 0x2f, 0x30, 0x35, 0x2f, 0x34, 0x7f, 0x00, 0x7f, 0x7f, 0x7f, 0xff, 0x80, 0x00, 0xff]);
    expect(enc('float8e5m2', x, false)).toEqual([0x38, 0x38, 0x38, 0x3b, 0x38, 0x3a, 0x7c, 0x00, 0x7e, 0x7c, 0x7c, 0xfc, 0x80, 0x00, 0xfc]);
    expect(enc('float8e4m3fnuz', x, false)).toEqual([0x37, 0x37, 0x38, 0x3d, 0x37, 0x3c, 0x80, 0x00, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00, 0x80]);
  });

  it('rounds ties to even and overflows only past the rounding boundary', () => {
    // e4m3fn: 448 is the largest value; 464 is the tie with the missing next one (rounds to even 448)
    expect(enc('float8e4m3fn', [449, 464, 465], false)).toEqual([0x7e, 0x7e, 0x7f]);
    // e5m2: 61440 ties 57344 (odd mantissa) with 65536 (inf): inf
    expect(enc('float8e5m2', [61439, 61440], false)).toEqual([0x7b, 0x7c]);
    expect(enc('float8e5m2', [61440, Infinity])).toEqual([0x7b, 0x7b]);
    // subnormals: half the smallest rounds to even (0), a bit more to the smallest
    expect(enc('float8e4m3fn', [2 ** -10, 2 ** -10 * 1.01, 3 * 2 ** -10])).toEqual([0x00, 0x01, 0x02]);
  });

  it('float4e2m1 always saturates and sends NaN to 0x8 (the node test cast_FLOAT_to_FLOAT4E2M1)', () => {
    const x = [0.48, 0.25, 1.05, -3.5, -8, 9, 1e6, 1e-7, NaN, Infinity, Infinity, -Infinity, -4, 0.01, -0].map(Math.fround);
    const want = [0x1, 0x0, 0x2, 0xe, 0xf, 0x7, 0x7, 0x0, 0x8, 0x7, 0x7, 0xf, 0xe, 0x0, 0x8];
    expect(enc('float4e2m1', x)).toEqual(want);
    expect(enc('float4e2m1', x, false)).toEqual(want);
  });

  it('float8e8m0 rounds up, down or to nearest power of two', () => {
    const e8 = (x: number, roundMode: 'up' | 'down' | 'nearest', saturate = true) => encodeNarrow('float8e8m0', x, { roundMode, saturate });
    // the node test cast_e8m0_FLOAT_to_FLOAT8E8M0 (round_mode up)
    expect([0, 0.124, 0.25, 0.5, 1.1, 2, 4, 8].map((x) => e8(Math.fround(x), 'up'))).toEqual([0x00, 0x7c, 0x7d, 0x7e, 0x80, 0x80, 0x81, 0x82]);
    expect([1.1, 1.4, 1.5, 1.9, -4].map((x) => e8(x, 'down'))).toEqual([0x7f, 0x7f, 0x7f, 0x7f, 0x81]);
    expect([1.1, 1.4, 1.5, 1.9].map((x) => e8(x, 'nearest'))).toEqual([0x7f, 0x7f, 0x80, 0x80]);
    expect(e8(2 ** 127 * 1.5, 'up')).toBe(0xfe);
    expect(e8(2 ** 127 * 1.5, 'up', false)).toBe(0xff);
    expect([NaN, Infinity].map((x) => e8(x, 'down'))).toEqual([0xff, 0xff]);
  });
});

describe('4- and 2-bit integers', () => {
  it('wrap like the node tests cast_FLOAT_to_INT4 and cast_FLOAT_to_UINT2', () => {
    expect([-9, -8, -1, 0, 7, 8, 15].map((x) => encodeNarrow('int4', x))).toEqual([7, -8, -1, 0, 7, -8, -1]);
    expect([-3, -2, -1, 0, 1, 2, 3].map((x) => encodeNarrow('uint2', x))).toEqual([1, 2, 3, 0, 1, 2, 3]);
    // floats truncate toward zero first; NaN is 0; int64 saturation keeps the low bits of 2^63 - 1
    expect([2.9, -2.9, NaN, Infinity].map((x) => encodeNarrow('int2', x))).toEqual([-2, -2, 0, -1]);
    expect(encodeNarrow('uint4', 2n ** 64n - 1n)).toBe(15);
  });

  it('are unpacked by the ONNX loader, low bits first, from raw_data and int32_data', () => {
    const raw = onnx.TensorProto.create({ dataType: 22, dims: [5], rawData: Uint8Array.from([0x87, 0xa9, 0x0f]) });
    expect(values(raw)).toEqual([7, -8, -7, -6, -1]);
    expect(readTensor(raw).data).toBeInstanceOf(Int8Array);
    const u2 = onnx.TensorProto.create({ dataType: 25, dims: [7, 1], rawData: Uint8Array.from([0x39, 0x39]) });
    expect(values(u2)).toEqual([1, 2, 3, 0, 1, 2, 3]);
    const f4 = onnx.TensorProto.create({ dataType: 23, dims: [5], int32Data: [32, 58, 14] });
    expect(values(f4)).toEqual([0x0, 0x2, 0xa, 0x3, 0xe]);
    const f8 = onnx.TensorProto.create({ dataType: 17, dims: [3], int32Data: [0, 48, 237] });
    expect(values(f8)).toEqual([0, 48, 237]);
    const short = onnx.TensorProto.create({ dataType: 21, dims: [5], rawData: Uint8Array.from([1, 2]) });
    expect(() => readTensor(short)).toThrow(/raw data has 2 bytes, expected 3/);
  });
});

describe('tensors of narrow dtypes', () => {
  beforeEach(() => {
    resetRegistry();
    mx.registerBackend(referenceBackend());
  });

  it('are created from numbers and read back decoded; data() gives the stored bytes', async () => {
    const f8 = mx.tensor([1, 0.3, -2, 500], { dtype: 'float8e4m3fn' });
    expect(f8.dtype).toBe('float8e4m3fn');
    expect(Array.from((await f8.data()) as Uint8Array)).toEqual([0x38, 0x2a, 0xc0, 0x7f]); // 0.3 rounds to 0.3125; 500 is beyond 448: NaN
    expect(await f8.array()).toEqual([1, 0.3125, -2, NaN]);
    expect(f8.toString()).toBe('[ 1.      0.3125 -2.         nan]');
    const i4 = mx.tensor([[-8, 7], [9, -1]], { dtype: 'int4' });
    expect(await i4.data()).toEqual(new Int8Array([-8, 7, -7, -1]));
    expect(i4.toString()).toBe('[[-8  7]\n [-7 -1]]');
  });

  it('cast and quantize through the op functions', async () => {
    const x = mx.tensor([0.5, 1e5, -1e5, NaN]);
    expect(await mx.cast(x, { to: 'float8e5m2' }).array()).toEqual([0.5, 57344, -57344, NaN]);
    expect(await mx.cast(x, { to: 'float8e5m2', saturate: 0 }).array()).toEqual([0.5, Infinity, -Infinity, NaN]);
    expect(await mx.cast(mx.tensor([1.5, 2.5]), { to: 'float8e8m0', round_mode: 'down' }).array()).toEqual([1, 2]);
    expect(() => mx.cast(x, { to: 'float8e8m0', round_mode: 'even' })).toThrow(/round_mode must be one of/);
    const q = mx.quantizeLinear(mx.tensor([0, 2.5, 100, -30]), mx.tensor(2), mx.tensor([0], { dtype: 'int4' }));
    expect(q.dtype).toBe('int4');
    expect(await q.array()).toEqual([0, 1, 7, -8]); // 2.5 / 2 = 1.25 rounds to 1; the rest saturate
    const dq = mx.dequantizeLinear(mx.tensor([1, -104, 0.5], { dtype: 'float8e4m3fn' }), mx.tensor(2), mx.tensor(0.5, { dtype: 'float8e4m3fn' }));
    expect(await dq.array()).toEqual([1, -209, 0]);
  });
});
