// mx.profile through the cpu backend: the bridge times every kernel call (eager
// ops and replayed model programs) with its shapes; core groups them.
import { describe, expect, it } from 'vitest';
import * as mx from '@mx/core';
import '../dist/index.js';
import { onnxModel } from './onnx-tiny.js';

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
    const bytes = onnxModel({
      nodes: [
        { op: 'MatMul', inputs: ['x', 'W'], output: 'h' },
        { op: 'Relu', inputs: ['h'], output: 'y' },
      ],
      inputs: [['x', [2, 8]]],
      outputs: [['y', [2, 4]]],
      initializers: [['W', [8, 4], new Float32Array(8 * 4).fill(0.5)]],
    });
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
