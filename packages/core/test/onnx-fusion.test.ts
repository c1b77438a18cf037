/**
 * Fusions made when planning (executor.ts, Builder.fused): Conv+BatchNormalization
 * and per-channel constant Mul/Add folded into the Conv's weights (or a
 * BatchNormalization's scale and bias), Conv(+residual Add)+activation into FusedConv, MatMul+Add into Gemm. Each model runs fused and
 * unfused (load option fuse: false, or MX_ONNX_FUSE=0): the outputs agree within
 * float rounding and the fused plan has fewer steps; patterns whose intermediate
 * is read elsewhere stay unfused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as mx from '../src/index.js';
import { referenceBackend } from '../src/backends/reference.js';
import { resetRegistry } from '../src/registry.js';
import { affineChain, convBn, matmulAdd, vals } from './fusion-models.js';

const app = mkdtempSync(join(tmpdir(), 'mx-fusion-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;
delete process.env.MX_BACKENDS;

beforeEach(() => {
  resetRegistry();
  mx.registerBackend(referenceBackend());
});

type Meta = { kind: 'tensor'; shape: number[]; dtype: 'float32' | 'float64' };

/** Runs the model fused and unfused on x; returns both outputs and the plans' step ops. */
async function both(bytes: Uint8Array, x: mx.Tensor, out = 'y', extra: Record<string, mx.Tensor> = {}) {
  const res = [];
  for (const fuse of [true, false]) {
    const m = await mx.onnx.load(bytes, { fuse });
    const metas = [x, ...Object.values(extra)].map((t) => ({ kind: 'tensor', shape: [...t.shape], dtype: t.dtype }) as Meta);
    const plan = await m.plan(metas);
    const ops = plan.steps.map((s) => s.op);
    const r = await m.run({ x, ...extra });
    const data = Array.from(await r[out]!.data(), Number);
    for (const t of Object.values(r)) t.dispose();
    m.dispose();
    res.push({ ops, data });
  }
  return { fused: res[0]!, plain: res[1]! };
}

function agree(a: number[], b: number[], tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1, ...b.map(Math.abs));
  a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(tol * scale));
}

describe('fusion when planning', () => {
  afterEach(() => {
    delete process.env.MX_ONNX_FUSE;
  });

  it('folds BatchNormalization into the Conv before it (float32 and float64, with and without bias)', async () => {
    for (const [dtype, bias] of [['float32', true], ['float32', false], ['float64', true]] as const) {
      const x = mx.tensor(vals(40, 4), { dtype }).reshape([1, 2, 5, 4]);
      const { fused, plain } = await both(convBn({ dtype, bias }), x);
      expect(plain.ops).toEqual(['Conv', 'BatchNormalization']);
      expect(fused.ops).toEqual(['Conv']);
      agree(fused.data, plain.data, dtype === 'float64' ? 1e-12 : 1e-5);
      x.dispose();
    }
  });

  it('fuses Relu, LeakyRelu and Clip into the Conv (or Conv+BatchNormalization) before them: FusedConv', async () => {
    for (const [act, bn, plainOps] of [
      ['Relu', true, ['Conv', 'BatchNormalization', 'Relu']],
      ['LeakyRelu', true, ['Conv', 'BatchNormalization', 'LeakyRelu']],
      ['Clip', false, ['Conv', 'Clip']],
    ] as const) {
      const x = mx.tensor(vals(40, 12)).reshape([1, 2, 5, 4]);
      const { fused, plain } = await both(convBn({ act, bn }), x);
      expect(plain.ops).toEqual(plainOps);
      expect(fused.ops).toEqual(['FusedConv']);
      agree(fused.data, plain.data);
      // the activation did its work
      if (act === 'Relu') expect(Math.min(...fused.data)).toBe(0);
      if (act === 'Clip') expect(fused.data.every((v) => v >= -0.5 && v <= 0.75) && fused.data.some((v) => v === -0.5 || v === 0.75)).toBe(true);
      x.dispose();
    }
  });

  it('fuses a residual Add or Sum of the output shape (then a Relu) into the Conv: FusedConv with Z; a broadcast one stays apart', async () => {
    for (const [residual, act, bn, plainOps, fusedOps] of [
      ['Add', 'Relu', true, ['Conv', 'BatchNormalization', 'Add', 'Relu'], ['FusedConv']],
      ['Sum', 'Relu', false, ['Conv', 'Sum', 'Relu'], ['FusedConv']],
      ['Add', undefined, false, ['Conv', 'Add'], ['FusedConv']],
      ['broadcast-input', 'Relu', false, ['Conv', 'Add', 'Relu'], ['Conv', 'Add', 'Relu']],
    ] as const) {
      const x = mx.tensor(vals(40, 13)).reshape([1, 2, 5, 4]);
      const res = residual === 'broadcast-input' ? { res: mx.tensor(vals(3, 9)).reshape([1, 3, 1, 1]) } : {};
      const { fused, plain } = await both(convBn({ residual, act, bn }), x, 'y', res);
      expect(plain.ops).toEqual(plainOps);
      expect(fused.ops).toEqual(fusedOps);
      agree(fused.data, plain.data);
      if (act === 'Relu') expect(Math.min(...fused.data)).toBe(0);
      x.dispose();
    }
  });

  it('folds a constant per-channel Mul and Add (BN -> Mul -> Add, as converted from Caffe2) into the Conv or the BatchNormalization before them', async () => {
    for (const [conv, bn, relu, mul, add, fusedOps] of [
      [true, true, true, [3, 1, 1], [1, 3, 1, 1], ['FusedConv']], // Conv+BN+Mul+Add+Relu: one call
      [true, false, false, [1], [3, 1, 1], ['Conv']], // a single value broadcasts too
      [false, true, true, [2, 1, 1], [2, 1, 1], ['BatchNormalization', 'Relu']], // no Conv: into BN's scale and bias
      [true, true, false, [1, 1, 5, 4], [3, 1, 1], ['Conv', 'Mul', 'Add']], // a Mul per position stays (the BN folds), and the Add after it
      [false, false, false, [2, 1, 1], [2, 1, 1], ['Mul', 'Add']], // nothing to fold into
    ] as const) {
      const x = mx.tensor(vals(40, 14)).reshape([1, 2, 5, 4]);
      const { fused, plain } = await both(affineChain({ conv, bn, relu, mul: [...mul], add: [...add] }), x);
      expect(fused.ops).toEqual(fusedOps);
      expect(plain.ops.length).toBe(Number(conv) + Number(bn) + 2 + Number(relu));
      agree(fused.data, plain.data);
      if (relu) expect(Math.min(...fused.data)).toBe(0);
      x.dispose();
    }
  });

  it('leaves Conv and BatchNormalization apart when the Conv output is also a graph output', async () => {
    const x = mx.tensor(vals(40, 5)).reshape([1, 2, 5, 4]);
    const { fused, plain } = await both(convBn({ convIsOutput: true }), x);
    expect(fused.ops).toEqual(['Conv', 'BatchNormalization']);
    agree(fused.data, plain.data, 0);
    x.dispose();
  });

  it('turns MatMul + Add of a [N] or [1,N] operand into Gemm', async () => {
    for (const [bshape, swap] of [[[3], false], [[1, 3], true]] as const) {
      const x = mx.tensor(vals(20, 6)).reshape([4, 5]);
      const { fused, plain } = await both(matmulAdd([...bshape], swap), x);
      expect(plain.ops).toEqual(['MatMul', 'Add']);
      expect(fused.ops).toEqual(['Gemm']);
      agree(fused.data, plain.data);
      x.dispose();
    }
  });

  it('keeps MatMul + Add when Gemm does not apply (3-D A, an operand that is not per column)', async () => {
    const x3 = mx.tensor(vals(40, 7)).reshape([2, 4, 5]);
    expect((await both(matmulAdd([3], false, [2, 4, 5]), x3)).fused.ops).toEqual(['MatMul', 'Add']);
    const x = mx.tensor(vals(20, 8)).reshape([4, 5]);
    const r = await both(matmulAdd([4, 1]), x);
    expect(r.fused.ops).toEqual(['MatMul', 'Add']);
    agree(r.fused.data, r.plain.data, 0);
    x.dispose();
    x3.dispose();
  });

  it('MX_ONNX_FUSE=0 turns fusion off', async () => {
    process.env.MX_ONNX_FUSE = '0';
    const x = mx.tensor(vals(20, 9)).reshape([4, 5]);
    expect((await both(matmulAdd([3]), x)).fused.ops).toEqual(['MatMul', 'Add']);
    x.dispose();
  });
});
