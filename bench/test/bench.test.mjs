// The suite's own parts: the model builder (checked by running its models on
// onnxruntime), the agreement check, the sampling loop, the peak program, the report.
import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import * as mx from '@mx/core';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { measure, relativeDiff, stats } from '../lib/measure.mjs';
import { decodeTensorFile, encodeModel } from '../lib/onnx-model.mjs';
import { addLoop, bestOf, measurePeak } from '../lib/peak.mjs';
import { barChecks, markdown, ratioChart } from '../lib/report.mjs';

const { onnx } = onnxProto;

describe('onnx-model', () => {
  it('builds a model onnxruntime runs: MatMul with B as an initializer, then Conv with attributes', async () => {
    const a = Float32Array.from({ length: 6 }, (_, i) => i + 1); // 2x3
    const b = Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 2); // 3x4
    const bytes = encodeModel({
      nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
      inputs: [{ name: 'A', dims: [2, 3] }],
      outputs: [{ name: 'Y', dims: [2, 4] }],
      initializers: [{ name: 'B', dims: [3, 4], data: b }],
    });
    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(['A']);
    const { Y } = await session.run({ A: new ort.Tensor('float32', a, [2, 3]) });
    const want = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) want.push(a[i * 3] * b[j] + a[i * 3 + 1] * b[4 + j] + a[i * 3 + 2] * b[8 + j]);
    expect(Array.from(Y.data)).toEqual(want);
    // and mx reads the same bytes
    const info = mx.onnx.parse(bytes);
    expect(info.inputs.map((i) => [i.name, i.shape])).toEqual([['A', [2, 3]]]);
    expect(info.outputs.map((o) => [o.name, o.shape])).toEqual([['Y', [2, 4]]]);

    // 1x1x3x3 input of ones, 3x3 kernel of ones, pad 1: each output counts the in-bounds taps
    const conv = encodeModel({
      nodes: [{ op: 'Conv', inputs: ['X', 'W'], outputs: ['Z'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } }],
      inputs: [{ name: 'X', dims: [1, 1, 3, 3] }],
      outputs: [{ name: 'Z', dims: [1, 1, 3, 3] }],
      initializers: [{ name: 'W', dims: [1, 1, 3, 3], data: new Float32Array(9).fill(1) }],
    });
    const s2 = await ort.InferenceSession.create(conv);
    const { Z } = await s2.run({ X: new ort.Tensor('float32', new Float32Array(9).fill(1), [1, 1, 3, 3]) });
    expect(Array.from(Z.data)).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });

  it('decodes test-data tensors: float32 raw data and int64 fields', () => {
    const f = onnx.TensorProto.encode({ name: 'x', dataType: onnx.TensorProto.DataType.FLOAT, dims: [2, 2], rawData: new Uint8Array(Float32Array.of(1.5, -2, 0, 3).buffer) }).finish();
    expect(decodeTensorFile(f)).toEqual({ name: 'x', dtype: 'float32', dims: [2, 2], data: Float32Array.of(1.5, -2, 0, 3) });
    const i = onnx.TensorProto.encode({ name: 'sr', dataType: onnx.TensorProto.DataType.INT64, dims: [], int64Data: [16000] }).finish();
    expect(decodeTensorFile(i)).toEqual({ name: 'sr', dtype: 'int64', dims: [], data: BigInt64Array.of(16000n) });
  });
});

describe('measure', () => {
  it('relativeDiff: max abs difference over the largest reference magnitude; shape or NaN mismatches are infinite', () => {
    expect(relativeDiff({ mx: [Float32Array.of(1, 2)], ort: [Float32Array.of(1, 2)] })).toBe(0);
    expect(relativeDiff({ mx: [Float32Array.of(1, 2), Float32Array.of(5)], ort: [Float32Array.of(1, 4), Float32Array.of(5)] })).toBe(2 / 5);
    expect(relativeDiff({ mx: [Float32Array.of(1)], ort: [Float32Array.of(1, 2)] })).toBe(Infinity);
    expect(relativeDiff({ mx: [Float32Array.of(NaN)], ort: [Float32Array.of(0)] })).toBe(Infinity);
    expect(relativeDiff({ mx: [BigInt64Array.of(3n)], ort: [BigInt64Array.of(3n)] })).toBe(0);
  });

  it('stats: median and quartiles by linear interpolation', () => {
    expect(stats([10, 1, 3, 2])).toEqual({ median: 2.5, min: 1, q1: 1.75, q3: 4.75 });
  });

  it('alternates the sides sample by sample, checks outputs once, and disposes', async () => {
    const calls = [];
    let disposed = 0;
    const w = {
      setup: async () => ({
        mx: async () => calls.push('mx'),
        ort: async () => calls.push('ort'),
        outputs: async () => ({ mx: [Float32Array.of(1, 2.001)], ort: [Float32Array.of(1, 2)] }),
        dispose: async () => void disposed++,
      }),
    };
    const r = await measure(w, {}, { warmup: 1, reps: 4, progress: () => {} });
    expect(r.reps).toBe(4);
    expect(disposed).toBe(1);
    expect(r.agreement).toBeCloseTo(0.0005, 6);
    const timed = calls.slice(calls.length - 8 * r.inner);
    const firsts = [0, 1, 2, 3].map((k) => timed[2 * k * r.inner]);
    expect(firsts).toEqual(['mx', 'ort', 'mx', 'ort']);
    expect(calls.filter((c) => c === 'mx').length).toBe(calls.filter((c) => c === 'ort').length);
  });
});

describe('peak program', () => {
  it('builds with the system compiler and reports the ISA, GFLOP/s and GB/s', () => {
    const p = measurePeak(1, 1 << 20);
    expect(p.ok, p.reason).toBe(true);
    expect(p.threads).toBe(1);
    expect(p.peak1).toBeGreaterThan(0);
    expect(p.peak1).toBe(Math.max(...p.fma.map((v) => v.gflops1)));
    expect(p.add.floats).toBe(1 << 20);
    expect(p.add.bestGBs).toBeGreaterThanOrEqual(p.add.medianGBs);
    if (platform() === 'linux' && arch() === 'x64') {
      const flags = /^flags\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))[1].split(/\s+/);
      expect(p.fma.some((v) => v.variant === 'avx2')).toBe(flags.includes('avx2') && flags.includes('fma'));
      expect(p.fma.some((v) => v.variant === 'avx512')).toBe(flags.includes('avx512f'));
    }
  }, 60_000);

  it('times the add loop alone, run by run, for turns with mx.add', () => {
    const loop = addLoop(2, 1 << 20);
    expect(loop).not.toBe(null);
    try {
      const runs = loop.run(3);
      expect(runs).toHaveLength(3);
      for (const g of runs) expect(g).toBeGreaterThan(0);
    } finally {
      loop.close();
    }
  }, 60_000);

  it('bestOf keeps the better figure of two runs', () => {
    const run = (g, gbs) => ({ ok: true, isa: 'x', fma: [{ variant: 'avx2', gflops1: g, gflopsN: 2 * g }], peak1: g, peakN: 2 * g, add: { medianGBs: gbs, bestGBs: gbs } });
    const b = bestOf(run(50, 9), run(40, 12));
    expect([b.peak1, b.peakN, b.fma[0].gflopsN, b.add.medianGBs]).toEqual([50, 100, 100, 12]);
  });
});

describe('report', () => {
  const row = (name, mxMs, ortMs, extra = {}) => ({
    name,
    title: name,
    mxDoes: 'm',
    ortDoes: 'o',
    reps: 7,
    inner: 1,
    agreement: 1e-6,
    mx: { median: mxMs },
    ort: { median: ortMs },
    ratio: mxMs / ortMs,
    ...extra,
  });
  const report = {
    date: '2026-01-01T00:00:00.000Z',
    machine: { cpu: 'Test CPU', cores: 2, threads: 2, isa: 'x86-64 AVX2 FMA', mxBackend: 'cpu', node: 'v20', onnxruntime: '1.30.0', loadStart: '0.10, 0.20, 0.30', loadEnd: '0.10, 0.20, 0.30' },
    peak: { ok: true, isa: 'x86-64 AVX2 FMA', fma: [{ variant: 'avx2', gflops1: 100, gflopsN: 200 }], peak1: 100, peakN: 200, add: { threads: 2, medianGBs: 20, bestGBs: 22 } },
    results: [
      row('matmul-1024', 10, 12.5, { unit: 'GFLOP/s', mxRate: 170, ortRate: 136, mxPeakFraction: 0.85, ortPeakFraction: 0.68 }),
      row('matmul-2048', 100, 80, { unit: 'GFLOP/s', mxRate: 150, ortRate: 190, mxPeakFraction: 0.75, ortPeakFraction: 0.95, agreement: 0.5 }),
      row('add-16m', 15, 60, { unit: 'GB/s', mxRate: 13, ortRate: 3 }),
      row('conv3x3', 3, 2, { onednn: { median: 2.5, ratio: 1.25, vsCpu: 2.5 / 3, agreement: 1e-6 } }),
      row('resnet50', 40, 40, { onednn: { median: 44, ratio: 1.1, vsCpu: 1.1, agreement: 0, calls: { onednn: 3, cpu: 54 } } }),
      row('ppocrv4-det', 4, 4, { onednn: { median: 4.04, ratio: 1.01, vsCpu: 1.01, agreement: 0, calls: { cpu: 317 } } }),
      row('densenet121', 10, 10, { onednn: { error: 'no kernel' } }),
      { name: 'silero-vad', title: 'silero', mxDoes: 'm', ortDoes: 'o', error: 'no kernel | for LSTM' },
    ],
    engine: null,
    method: { warmup: 2, reps: 'auto' },
  };
  report.bar = barChecks(report);
  const check = (prefix) => report.bar.find((c) => c.check.startsWith(prefix));

  it('checks the bar against the measured ratios, peak fractions and bandwidth', () => {
    expect(check('MatMul 1024, B input').ok).toBe(true);
    expect(check('MatMul 1024: mx >= 80%').ok).toBe(true);
    expect(check('MatMul 2048, B input').ok).toBe(false);
    expect(check('MatMul 2048: mx >= 80%').ok).toBe(false);
    expect(check('MatMul 1024, B initializer').ok).toBe(null);
    expect(check('silero').ok).toBe(null);
    expect(check('outputs agree')).toMatchObject({ ok: false, value: 'differ: matmul-2048' });
    expect(check('mx.add of 16M').ok).toBe(null); // not timed back to back in this report
    expect(barChecks({ ...report, mxAdd: { medianGBs: 13, bestGBs: 14, runs: 31 } }).find((c) => c.check.startsWith('mx.add of 16M'))).toMatchObject({ ok: false, value: '13.0 / 20.0 GB/s = 65%' });
    expect(barChecks({ ...report, mxAdd: { medianGBs: 15, bestGBs: 16, runs: 31 } }).find((c) => c.check.startsWith('mx.add of 16M')).ok).toBe(true);
    // timed in turns with the C loop: that figure, not the start/end peak run's, is the reference
    expect(barChecks({ ...report, mxAdd: { medianGBs: 15, bestGBs: 16, runs: 38, cLoopGBs: 25, cLoopRuns: 35 } }).find((c) => c.check.startsWith('mx.add of 16M'))).toMatchObject({ ok: false, value: '15.0 / 25.0 GB/s = 60%' });
    expect(check('Conv 3x3: mx on onednn+cpu')).toMatchObject({ ok: true, value: 'x0.83 (1.25 vs 1.50 of ORT)' });
    expect(check('resnet50 light: mx on onednn+cpu')).toMatchObject({ ok: false, value: 'x1.10 (1.10 vs 1.00 of ORT); onednn runs 3 calls' });
    expect(check('ppocrv4_det: mx on onednn+cpu')).toMatchObject({ ok: true, value: 'x1.01 (1.01 vs 1.00 of ORT); onednn claims none of its calls: the same kernels' });
    expect(check('densenet121 light: mx on onednn+cpu').ok).toBe(null);
  });

  it('writes the table, the machine and the failures into the markdown', () => {
    const md = markdown(report);
    expect(md).toContain('| matmul-1024 | 10.0 ms | 12.5 ms | **0.80** | 170 GFLOP/s (85% of peak) | 136 GFLOP/s (68% of peak) | 1e-6 |');
    expect(md).toContain('| 0.50 DIFFERS |');
    expect(md).toContain('| CPU | Test CPU, 2 cores |');
    expect(md).toContain('failed: no kernel \\| for LSTM');
    expect(md).not.toContain('machine was busy');
    expect(md).toContain('| **1.50** |  |  | 1e-6 | 1.25 (x0.83 of cpu), 2.50 ms |');
    expect(md).toContain('| failed: no kernel |');
  });

  it("gives each workload's CPU round trip before and after it, and warns when any was far", () => {
    const pinged = (ping, far) => ({ ...report, machine: { ...report.machine, pingStart: 60, pingEnd: 70 }, results: report.results.map((r, i) => (r.error ? r : { ...r, ping: i === 3 ? far : ping })) });
    const close = markdown(pinged([60, 80], [70, 90]));
    expect(close).toContain('| mx (onednn+cpu) / ort | CPUs\' round trip before / after |');
    expect(close).toContain('| 1e-6 |  | 60 / 80 ns |'); // matmul-1024
    expect(close).toContain('| 70 / 90 ns |'); // conv3x3
    expect(close).toContain('| silero | failed: no kernel \\| for LSTM | | | | | | |  |'); // no figures
    expect(close).not.toContain('far apart for part of this run');
    // a far placement in the middle of the run, close at its start and end: still flagged
    const far = markdown(pinged([60, 80], [70, 350]));
    expect(far).toContain('| 70 / 350 ns |');
    expect(far).toContain('a cache line took up to 350 ns');
    expect(markdown(report)).not.toContain('round trip before / after'); // not measured (1 thread)
  });

  it('draws one bar per measured workload, green where mx is faster', () => {
    const svg = ratioChart(report);
    const bars = [...svg.matchAll(/<rect [^>]*fill="(#[0-9a-f]+)"/g)].map((m) => m[1]).slice(1); // [0]: background
    expect(bars).toEqual(['#2e7d32', '#c62828', '#2e7d32', '#c62828', '#2e7d32', '#2e7d32', '#2e7d32']); // resnet50 and ppocrv4-det at 1.00: not slower
    expect(svg).toContain('>matmul-2048<');
    expect(svg).not.toContain('silero-vad');
  });
});
