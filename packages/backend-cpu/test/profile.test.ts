// mx.profile through the cpu backend: the bridge times every kernel call (eager
// ops and replayed model programs) with its shapes; core groups them.
import { describe, expect, it } from 'vitest';
import * as mx from '@mx/core';
import '../dist/index.js';

describe('mx.profile', () => {
  it('times each kernel call with its shapes, counts MatMul flops, and leaves calls after it untimed', async () => {
    const a = mx.tensor(new Float32Array(64 * 32).fill(1), { shape: [64, 32] });
    const b = mx.tensor(new Float32Array(32 * 16).fill(2), { shape: [32, 16] });
    const p = await mx.profile(async () => {
      const y = mx.relu(mx.matmul(a, b));
      expect((await y.data())[0]).toBe(64);
    });
    expect(p.calls.map((c) => c.op)).toEqual(['MatMul', 'Relu']);
    const [mm, relu] = p.calls;
    expect(mm!.backend).toBe('cpu');
    expect(mm!.inputs).toEqual([[64, 32], [32, 16]]);
    expect(mm!.outputs).toEqual([[64, 16]]);
    expect(mm!.flops).toBe(2 * 64 * 32 * 16);
    expect(relu!.flops).toBeUndefined();
    for (const c of p.calls) expect(c.ns).toBeGreaterThan(0);
    expect(p.kernelMs).toBeCloseTo((mm!.ns + relu!.ns) / 1e6, 9);
    expect(p.wallMs).toBeGreaterThanOrEqual(p.kernelMs);
    const rows = p.byOp();
    expect(rows.map((r) => r.op).sort()).toEqual(['MatMul', 'Relu']);
    expect(rows.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 9);
    expect(rows.find((r) => r.op === 'MatMul')!.gflops).toBeCloseTo((2 * 64 * 32 * 16) / mm!.ns, 9);
    expect(p.byShape()[0]!.shapes).toMatch(/64x32, 32x16|64x16/);
    expect(p.toString()).toMatch(/MatMul \(cpu\)/);

    // nothing is recorded outside a profile; the next profile starts empty
    const y = mx.matmul(a, b);
    await y.data();
    const q = await mx.profile(() => undefined);
    expect(q.calls).toEqual([]);
    a.dispose();
    b.dispose();
    y.dispose();
  });

  it('covers the calls of a model run (replayed programs), one profile at a time', async () => {
    const W = new Float32Array(8 * 4).fill(0.5);
    const bytes = onnxModel(W);
    const m = await mx.onnx.load(bytes);
    const feeds = { x: { data: new Float32Array(2 * 8).fill(1), dims: [2, 8] } };
    for (let i = 0; i < 2; i++) for (const t of Object.values(await m.run(feeds))) t.dispose();
    const p = await mx.profile(async () => {
      for (const t of Object.values(await m.run(feeds))) t.dispose();
    });
    expect(p.calls.map((c) => c.op)).toEqual(['MatMul', 'Relu']);
    expect(p.calls[0]!.inputs).toEqual([[2, 8], [8, 4]]);
    let inner: unknown;
    await mx.profile(async () => {
      inner = await mx.profile(() => undefined).catch((e: unknown) => e);
    });
    expect(mx.isMxError(inner) && inner.code).toBe('INVALID_ARGUMENT');
    m.dispose();
  });
});

/** y = Relu(x @ W): a two-node ONNX model, encoded by hand (protobuf wire format: ModelProto ir_version 8, graph, opset 17). */
function onnxModel(w: Float32Array): Uint8Array {
  const enc = new TextEncoder();
  const varint = (n: number) => {
    const out: number[] = [];
    while (n > 127) out.push((n & 127) | 128), (n = Math.floor(n / 128));
    out.push(n);
    return out;
  };
  const field = (no: number, body: number[] | Uint8Array) => [...varint((no << 3) | 2), ...varint(body.length), ...body];
  const str = (no: number, s: string) => field(no, enc.encode(s));
  const num = (no: number, n: number) => [...varint(no << 3), ...varint(n)];
  const node = (op: string, ins: string[], outs: string[]) => field(1, [...ins.flatMap((i) => str(1, i)), ...outs.flatMap((o) => str(2, o)), ...str(4, op)]);
  const dims = (d: number[]) => field(2, d.flatMap((n) => field(1, num(1, n))));
  // ValueInfoProto { name, type: TypeProto { tensor_type { elem_type FLOAT, shape } } } as graph field `no`
  const info = (no: number, name: string, d: number[]) => field(no, [...str(1, name), ...field(2, field(1, [...num(1, 1), ...dims(d)]))]);
  const graph = [
    ...node('MatMul', ['x', 'W'], ['h']),
    ...node('Relu', ['h'], ['y']),
    ...str(2, 'g'),
    ...field(5, [...num(1, 8), ...num(1, 4), ...num(2, 1), ...str(8, 'W'), ...field(9, new Uint8Array(w.buffer.slice(0)))]),
    ...info(11, 'x', [2, 8]),
    ...info(12, 'y', [2, 4]),
  ];
  return new Uint8Array([...num(1, 8), ...field(7, graph), ...field(8, [...str(1, ''), ...num(2, 17)])]);
}
