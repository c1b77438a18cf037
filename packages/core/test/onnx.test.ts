/**
 * ONNX import on the reference (JS) backend: loading, initializers, opset
 * adapters, the executor (folding, plans per input shapes, liveness, control
 * flow, sequences), placement fallback, and the errors users get for bad models
 * and bad feeds. Models are built in the test with onnx.proto's messages.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as mx from '../src/index.js';
import { referenceBackend } from '../src/backends/reference.js';
import { resetRegistry } from '../src/registry.js';
import { ViewStep } from '../src/onnx/executor.js';
import { fakeDevice } from './fake-device.js';
import { f, graph, modelBytes, onnx, tensorProto } from './onnx-build.js';

const app = mkdtempSync(join(tmpdir(), 'mx-onnx-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;
delete process.env.MX_BACKENDS;

beforeEach(() => {
  resetRegistry();
  mx.registerBackend(referenceBackend());
});
afterEach(() => {
  delete process.env.MX_STRICT;
  delete process.env.MX_DEBUG_PLACEMENT;
});

const live = () => Object.values(mx.memory().devices).reduce((n, d) => n + d.tensors, 0);
const arr = async (t: mx.Tensor) => Array.from(await t.data(), Number);
const close = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 5));
};

describe('loading', () => {
  it('describes inputs and outputs with symbolic dims and runs with each kind of feed', async () => {
    const g = graph({
      nodes: [{ op: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
      inputs: [['x', 'float32', ['N', 3]]],
      outputs: [['y', 'float32', ['N', 3]]],
      initializers: [tensorProto('w', 'float32', [3], [10, 20, 30])],
    });
    const m = await mx.onnx.load(modelBytes(g));
    expect(m.inputs).toEqual([{ name: 'x', kind: 'tensor', dtype: 'float32', shape: ['N', 3] }]);
    expect(m.outputs[0]!.shape).toEqual(['N', 3]);
    const x = [1, 2, 3, 4, 5, 6];
    const want = x.map((v, i) => v + [10, 20, 30][i % 3]!);
    const a = await m.run({ x: { data: Float32Array.from(x), dims: [2, 3] } });
    expect(a.y!.shape).toEqual([2, 3]);
    close(await arr(a.y!), want);
    const b = await m.run({ x: mx.tensor([[1, 2, 3]]) }); // another N: a second plan
    close(await arr(b.y!), [11, 22, 33]);
    const c = await m.run({ x: { data: Float32Array.from(x), dims: [2, 3] } });
    close(await arr(c.y!), want);
    for (const r of [a, b, c]) r.y!.dispose();
    m.dispose();
  });

  it('reads initializers from raw data, typed fields and external files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx-ext-'));
    const ext = new Float32Array([7, 8, 9]);
    writeFileSync(join(dir, 'weights.bin'), Buffer.concat([Buffer.alloc(16), Buffer.from(ext.buffer)]));
    const half = [0x3c00, 0xc000]; // 1.0, -2.0 as float16 bit patterns in int32_data
    const inits = [
      { name: 'f', dataType: 1, dims: [2], floatData: [1.5, -2.5] },
      { name: 'i8', dataType: 3, dims: [3], int32Data: [-128, 0, 127] },
      { name: 'h', dataType: 10, dims: [2], int32Data: half },
      { name: 'i64', dataType: 7, dims: [2], int64Data: [-(2 ** 40), 5] },
      { name: 'd', dataType: 11, dims: [1], doubleData: [0.1] },
      { name: 'u32', dataType: 12, dims: [1], uint64Data: [4000000000] },
      {
        name: 'e', dataType: 1, dims: [3], dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '16' }, { key: 'length', value: '12' }],
      },
    ];
    const names = inits.map((t) => t.name);
    const g = graph({
      nodes: names.map((n) => ({ op: 'Identity', inputs: [n], outputs: [`o_${n}`] })),
      inputs: [],
      outputs: names.map((n) => [`o_${n}`, undefined] as [string, undefined]),
      initializers: inits,
    });
    writeFileSync(join(dir, 'model.onnx'), modelBytes(g));
    const m = await mx.onnx.load(join(dir, 'model.onnx'));
    const o = await m.runValues({});
    const v = (k: string) => o[`o_${k}`] as mx.Tensor;
    close(await arr(v('f')), [1.5, -2.5]);
    expect(await arr(v('i8'))).toEqual([-128, 0, 127]);
    expect(v('h').dtype).toBe('float16');
    expect(await v('h').array()).toEqual([1, -2]);
    expect(Array.from(await v('i64').data())).toEqual([-(2n ** 40n), 5n]);
    expect(await arr(v('d'))).toEqual([0.1]);
    expect(await arr(v('u32'))).toEqual([4000000000]);
    close(await arr(v('e')), [7, 8, 9]);
    for (const t of Object.values(o)) (t as mx.Tensor).dispose();
    m.dispose();
    // the same model from bytes cannot reach the file
    await expect(mx.onnx.load(modelBytes(g))).rejects.toThrow(/external data 'weights.bin' cannot be read from a model given as bytes/);
  });
});

describe('opset adapters', () => {
  it('turns older attribute forms into the newest inputs', async () => {
    // opset 11: ReduceSum axes, Unsqueeze axes, Slice takes inputs since 10, Clip min/max attributes before 11 (opset 6 node in its own model)
    const g = graph({
      nodes: [
        { op: 'ReduceSum', inputs: ['x'], outputs: ['s'], attrs: { axes: [1], keepdims: 0 } },
        { op: 'Unsqueeze', inputs: ['s'], outputs: ['u'], attrs: { axes: [0] } },
        { op: 'Squeeze', inputs: ['u'], outputs: ['q'], attrs: { axes: [0] } },
        { op: 'Split', inputs: ['x'], outputs: ['a', 'b'], attrs: { axis: 1, split: [1, 2] } },
      ],
      inputs: [['x', 'float32', [2, 3]]],
      outputs: [['u', 'float32'], ['q', 'float32'], ['a', 'float32'], ['b', 'float32']],
    });
    const m = await mx.onnx.load(modelBytes(g, 11));
    const r = await m.run({ x: mx.tensor([[1, 2, 3], [4, 5, 6]]) });
    expect(r.u!.shape).toEqual([1, 2]);
    expect(await arr(r.q!)).toEqual([6, 15]);
    expect(await r.a!.array()).toEqual([[1], [4]]);
    expect(await r.b!.array()).toEqual([[2, 3], [5, 6]]);
    m.dispose();

    const old = graph({
      nodes: [
        { op: 'Clip', inputs: ['x'], outputs: ['c'], attrs: { min: f(-1), max: f(1) } },
        { op: 'Slice', inputs: ['c'], outputs: ['s'], attrs: { starts: [1], ends: [3], axes: [1] } },
        { op: 'Pad', inputs: ['s'], outputs: ['p'], attrs: { pads: [0, 1, 0, 0], value: f(9) } },
      ],
      inputs: [['x', 'float32', [1, 4]]],
      outputs: [['p', 'float32']],
    });
    const m6 = await mx.onnx.load(modelBytes(old, 6));
    const r6 = await m6.run({ x: mx.tensor([[-5, 0.5, 5, 2]]) });
    expect(await r6.p!.array()).toEqual([[9, 0.5, 1]]);
    m6.dispose();
  });

  it('keeps the 2-D coercion of Softmax before opset 13', async () => {
    const g = graph({ nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 1 } }], inputs: [['x', 'float32', [2, 2, 2]]], outputs: [['y', 'float32']] });
    const m = await mx.onnx.load(modelBytes(g, 11));
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const y = (await m.run({ x: { data: Float32Array.from(x), dims: [2, 2, 2] } })).y!;
    expect(y.shape).toEqual([2, 2, 2]);
    // softmax over the flattened trailing 4 values of each batch row
    const want = [0, 1].flatMap((b) => {
      const row = x.slice(b * 4, b * 4 + 4).map(Math.exp);
      const s = row.reduce((p, q) => p + q, 0);
      return row.map((v) => v / s);
    });
    close(await arr(y), want);
    m.dispose();
  });
});

describe('executor', () => {
  it('does not ask for optional outputs nothing reads: an unread Dropout mask leaves a view, a read one is computed; Split keeps its count', async () => {
    const model = (maskOut: boolean) =>
      modelBytes(
        graph({
          nodes: [
            { op: 'Dropout', inputs: ['x'], outputs: ['d', 'mask'] },
            { op: 'Split', inputs: ['d'], outputs: ['s0', 's1', 's2'], attrs: { axis: 1, num_outputs: 3 } },
            { op: 'Add', inputs: ['s0', 'x0'], outputs: ['y'] },
          ],
          inputs: [['x', 'float32', [1, 6]], ['x0', 'float32', [1, 2]]],
          outputs: [['y', 'float32'], ...(maskOut ? [['mask', 'bool'] as [string, 'bool']] : [])],
        }),
      );
    const meta = (shape: number[]) => ({ kind: 'tensor' as const, dtype: 'float32' as const, shape });
    for (const maskOut of [false, true]) {
      const m = await mx.onnx.load(model(maskOut));
      const plan = await m.plan([meta([1, 6]), meta([1, 2])]);
      const dropout = plan.steps.find((s) => s.op === 'Dropout')!;
      expect(dropout instanceof ViewStep).toBe(!maskOut);
      const out = await m.run({ x: { data: new Float32Array([1, 2, 3, 4, 5, 6]), dims: [1, 6] }, x0: { data: new Float32Array([10, 20]), dims: [1, 2] } });
      expect(await arr(out.y!)).toEqual([11, 22]); // the first of three parts: Split still made three
      if (maskOut) expect(await arr(out.mask!)).toEqual([1, 1, 1, 1, 1, 1]);
      for (const t of Object.values(out)) t.dispose();
      m.dispose();
    }
  });

  it('folds shape computations and frees intermediates after their last use', async () => {
    // y = Reshape(x * 2, Concat(Shape(x)[0:1], [-1])) + 1
    const g = graph({
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['sh'], attrs: { end: 1 } },
        { op: 'Concat', inputs: ['sh', 'minus1'], outputs: ['ns'], attrs: { axis: 0 } },
        { op: 'Mul', inputs: ['x', 'two'], outputs: ['m'] },
        { op: 'Reshape', inputs: ['m', 'ns'], outputs: ['r'] },
        { op: 'Add', inputs: ['r', 'one'], outputs: ['y'] },
      ],
      inputs: [['x', 'float32', ['B', 2, 2]]],
      outputs: [['y', 'float32']],
      initializers: [tensorProto('minus1', 'int64', [1], [-1]), tensorProto('two', 'float32', [], [2]), tensorProto('one', 'float32', [], [1])],
    });
    const m = await mx.onnx.load(modelBytes(g));
    const feeds = { x: { data: new Float32Array(8).map((_, i) => i), dims: [2, 2, 2] } };
    (await m.run(feeds)).y!.dispose(); // the first run with B = 2 makes the plan (and its constants)
    const before = live();
    const { y } = await m.run(feeds);
    expect(y!.shape).toEqual([2, 4]);
    expect(await arr(y!)).toEqual([1, 3, 5, 7, 9, 11, 13, 15]);
    // only the output is left: the feed copy, Mul's and Reshape's values are gone
    expect(live() - before).toBe(1);
    y!.dispose();
    const plan = await m.plan([{ kind: 'tensor', dtype: 'float32', shape: [2, 2, 2] }]);
    expect(plan.steps.map((s) => s.op)).toEqual(['Mul', 'Reshape', 'Add']); // Shape and Concat were folded
    m.dispose();
  });

  it('runs Scan-8: each batch entry scanned on its own, reverse direction per input', async () => {
    const body = graph({
      name: 'body',
      nodes: [{ op: 'Add', inputs: ['s', 'row'], outputs: ['s2'] }, { op: 'Identity', inputs: ['s2'], outputs: ['o'] }],
      inputs: [['s', 'float32'], ['row', 'float32']],
      outputs: [['s2', 'float32'], ['o', 'float32']],
    });
    const g = graph({
      nodes: [{ op: 'Scan', inputs: ['', 'init', 'xs'], outputs: ['total', 'partial'], attrs: { body: { g: body }, num_scan_inputs: 1, directions: [1] } }],
      inputs: [['init', 'float32', [2, 1]], ['xs', 'float32', [2, 3, 1]]],
      outputs: [['total', 'float32'], ['partial', 'float32']],
    });
    const m = await mx.onnx.load(modelBytes(g, 8));
    const r = await m.run({ init: mx.tensor([[0], [100]]), xs: mx.tensor([[[1], [2], [3]], [[4], [5], [6]]]) });
    expect(await r.total!.array()).toEqual([[6], [115]]);
    // reversed input: running sums of 3, 2, 1 and of 6, 5, 4
    expect(await r.partial!.array()).toEqual([[[3], [5], [6]], [[106], [111], [115]]]);
    for (const t of Object.values(r)) t.dispose();
    m.dispose();
  });

  it('expands ai.onnx.preview FlexAttention with its score_mod subgraph and grouped heads', async () => {
    // score_mod doubles the scores; two query heads share the one key/value head
    const mod = graph({
      name: 'score_mod',
      nodes: [{ op: 'Mul', inputs: ['s', 'two'], outputs: ['s2'] }],
      inputs: [['s', 'float32']],
      outputs: [['s2', 'float32']],
      initializers: [tensorProto('two', 'float32', [], [2])],
    });
    const g = graph({
      nodes: [{ op: 'FlexAttention', domain: 'ai.onnx.preview', inputs: ['q', 'k', 'v'], outputs: ['y'], attrs: { scale: f(0.5), score_mod: { g: mod } } }],
      inputs: [['q', 'float32', [1, 2, 2, 1]], ['k', 'float32', [1, 1, 2, 1]], ['v', 'float32', [1, 1, 2, 1]]],
      outputs: [['y', 'float32']],
    });
    const m = await mx.onnx.load(modelBytes(g, 21, { 'ai.onnx.preview': 1 }));
    const r = await m.run({ q: mx.tensor([1, 2, 0, 1], { shape: [1, 2, 2, 1] }), k: mx.tensor([1, -1], { shape: [1, 1, 2, 1] }), v: mx.tensor([10, 20], { shape: [1, 1, 2, 1] }) });
    // scores q * [1, -1] (scale 0.5, doubled): y = 10 p + 20 (1 - p), p = 1 / (1 + e^(-2q))
    const want = [1, 2, 0, 1].map((q) => 20 - 10 / (1 + Math.exp(-2 * q)));
    expect(r.y!.shape).toEqual([1, 2, 2, 1]);
    (await arr(r.y!)).forEach((y, i) => expect(y).toBeCloseTo(want[i]!, 5));
    r.y!.dispose();
    m.dispose();
  });

  it('runs If, Loop and Scan subgraphs that read outer values', async () => {
    const thenG = graph({ name: 'then', nodes: [{ op: 'Add', inputs: ['x', 'x'], outputs: ['t'] }], inputs: [], outputs: [['t', 'float32']] });
    const elseG = graph({ name: 'else', nodes: [{ op: 'Neg', inputs: ['x'], outputs: ['e'] }], inputs: [], outputs: [['e', 'float32']] });
    // Loop body: acc' = acc + x * i, scan output acc'
    const body = graph({
      name: 'body',
      nodes: [
        { op: 'Cast', inputs: ['i'], outputs: ['fi'], attrs: { to: 1 } },
        { op: 'Mul', inputs: ['x', 'fi'], outputs: ['xi'] },
        { op: 'Add', inputs: ['acc', 'xi'], outputs: ['acc2'] },
        { op: 'Identity', inputs: ['cond'], outputs: ['cond2'] },
        { op: 'Identity', inputs: ['acc2'], outputs: ['scan'] },
      ],
      inputs: [['i', 'int64', []], ['cond', 'bool', []], ['acc', 'float32']],
      outputs: [['cond2', 'bool'], ['acc2', 'float32'], ['scan', 'float32']],
    });
    // Scan body: running sum over rows
    const sbody = graph({
      name: 'sbody',
      nodes: [{ op: 'Add', inputs: ['s', 'row'], outputs: ['s2'] }, { op: 'Identity', inputs: ['s2'], outputs: ['o'] }],
      inputs: [['s', 'float32'], ['row', 'float32']],
      outputs: [['s2', 'float32'], ['o', 'float32']],
    });
    const g = graph({
      nodes: [
        { op: 'If', inputs: ['c'], outputs: ['r'], attrs: { then_branch: { g: thenG }, else_branch: { g: elseG } } },
        { op: 'Loop', inputs: ['n', '', 'zero'], outputs: ['acc', 'accs'], attrs: { body: { g: body } } },
        { op: 'Scan', inputs: ['zero', 'rows'], outputs: ['total', 'partial'], attrs: { body: { g: sbody }, num_scan_inputs: 1 } },
      ],
      inputs: [['c', 'bool', []], ['x', 'float32', [2]], ['n', 'int64', []], ['rows', 'float32', [3, 2]]],
      outputs: [['r', 'float32'], ['acc', 'float32'], ['accs', 'float32'], ['total', 'float32'], ['partial', 'float32']],
      initializers: [tensorProto('zero', 'float32', [2], [0, 0])],
    });
    const m = await mx.onnx.load(modelBytes(g, 16));
    const feeds = (c: boolean) => ({
      c: { data: Uint8Array.of(c ? 1 : 0), dims: [] },
      x: mx.tensor([1, 2]),
      n: { data: BigInt64Array.of(4n), dims: [] },
      rows: mx.tensor([[1, 2], [3, 4], [5, 6]]),
    });
    const before = live();
    const a = await m.run(feeds(true));
    expect(await arr(a.r!)).toEqual([2, 4]);
    expect(await arr(a.acc!)).toEqual([6, 12]); // x * (0+1+2+3)
    expect(await a.accs!.array()).toEqual([[0, 0], [1, 2], [3, 6], [6, 12]]);
    expect(await arr(a.total!)).toEqual([9, 12]);
    expect(await a.partial!.array()).toEqual([[1, 2], [4, 6], [9, 12]]);
    const b = await m.run(feeds(false));
    expect(await arr(b.r!)).toEqual([-1, -2]);
    for (const r of [a, b]) for (const t of Object.values(r)) t.dispose();
    expect(live()).toBe(before + 4); // just the feeds made with mx.tensor()
    m.dispose();
  });

  it('runs sequence and optional ops', async () => {
    const g = graph({
      nodes: [
        { op: 'SequenceConstruct', inputs: ['a', 'b'], outputs: ['s'] },
        { op: 'SequenceInsert', inputs: ['s', 'a'], outputs: ['s2'] },
        { op: 'SequenceLength', inputs: ['s2'], outputs: ['len'] },
        { op: 'SequenceAt', inputs: ['s2', 'idx'], outputs: ['at'] },
        { op: 'ConcatFromSequence', inputs: ['s2'], outputs: ['cat'], attrs: { axis: 0, new_axis: 1 } },
        { op: 'Optional', inputs: ['a'], outputs: ['opt'] },
        { op: 'OptionalHasElement', inputs: ['opt'], outputs: ['has'] },
      ],
      inputs: [['a', 'float32', [2]], ['b', 'float32', [2]]],
      outputs: [['s2', undefined], ['len', 'int64'], ['at', 'float32'], ['cat', 'float32'], ['has', 'bool']],
      initializers: [tensorProto('idx', 'int64', [], [-2])],
    });
    const m = await mx.onnx.load(modelBytes(g, 18));
    const o = await m.runValues({ a: mx.tensor([1, 2]), b: mx.tensor([3, 4]) });
    expect((o.s2 as mx.Tensor[]).length).toBe(3);
    expect(Number((await (o.len as mx.Tensor).data())[0])).toBe(3);
    expect(await arr(o.at as mx.Tensor)).toEqual([3, 4]);
    expect(await (o.cat as mx.Tensor).array()).toEqual([[1, 2], [3, 4], [1, 2]]);
    expect(await (o.has as mx.Tensor).array()).toBe(true);
    m.dispose();
  });

  it('runs a node the chosen device lacks on another one, visibly, and refuses in strict mode', async () => {
    const gpu = fakeDevice('fake:0', { only: ['Add'] });
    mx.registerBackend(gpu);
    const g = graph({
      nodes: [
        { op: 'Add', inputs: ['x', 'x'], outputs: ['a'] },
        { op: 'Neg', inputs: ['a'], outputs: ['y'] },
      ],
      inputs: [['x', 'float32', [2]]],
      outputs: [['y', 'float32']],
    });
    process.env.MX_DEBUG_PLACEMENT = '1';
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const m = await mx.onnx.load(modelBytes(g), { device: 'fake:0' });
    const log = err.mock.calls.map((c) => String(c[0])).join('');
    err.mockRestore();
    expect(log).toMatch(/node 'n1' \(Neg\).*not supported on fake:0; it runs on cpu/);
    expect(log).toMatch(/copies input 0 from fake:0 to cpu/);
    const { y } = await m.run({ x: mx.tensor([1, -2], { device: 'fake:0' }) });
    expect(y!.device).toBe('cpu');
    expect(await arr(y!)).toEqual([-2, 4]);
    m.dispose();
    process.env.MX_STRICT = '1';
    await expect(mx.onnx.load(modelBytes(g), { device: 'fake:0' })).rejects.toThrow(/node 'n1' \(Neg\).*strict mode forbids/);
    expect(gpu.violations).toEqual([]);
  });
});

describe('errors name the node, the op and what is wrong', () => {
  const good = () =>
    modelBytes(
      graph({
        nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'], name: 'proj' }],
        inputs: [['x', 'float32', ['N', 4]]],
        outputs: [['y', 'float32']],
        initializers: [tensorProto('w', 'float32', [4, 2], new Array(8).fill(1))],
      }),
    );

  it('rejects truncated and corrupt files', async () => {
    const bytes = good();
    for (const cut of [bytes.length - 3, Math.floor(bytes.length / 2), 5]) {
      const e = await mx.onnx.load(bytes.subarray(0, cut)).catch((x) => x);
      expect(mx.isMxError(e)).toBe(true);
      expect(e.message).toMatch(/not a valid ONNX model|reads 'w'|no graph|raw data has/);
    }
    const noise = new Uint8Array(256).map((_, i) => (i * 7919 + 13) & 0xff);
    const e2 = await mx.onnx.load(noise).catch((x) => x);
    expect(mx.isMxError(e2)).toBe(true);
    expect(e2.message).toMatch(/not a valid ONNX/);
    await expect(mx.onnx.load(join(app, 'missing.onnx'))).rejects.toThrow(/cannot read model file/);
  });

  it('rejects an unknown op and an unknown domain', async () => {
    const g = (op: string, domain = '') => graph({ nodes: [{ op, domain, inputs: ['x'], outputs: ['y'], name: 'mystery' }], inputs: [['x', 'float32', [1]]], outputs: [['y', 'float32']] });
    const e = await mx.onnx.load(modelBytes(g('NoSuchOp'))).catch((x) => x);
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toContain("node 'mystery' (NoSuchOp)");
    expect(e.message).toContain("not in mx's op table");
    const d = await mx.onnx.load(modelBytes(g('Relu', 'com.example'))).catch((x) => x);
    expect(d.code).toBe('UNSUPPORTED');
    expect(d.message).toContain("node 'mystery' (com.example:Relu)");
    expect(d.message).toContain("domain 'com.example' is not imported");
    const d2 = await mx.onnx.load(modelBytes(g('Relu', 'com.example'), 21, { 'com.example': 1 })).catch((x) => x);
    expect(d2.message).toContain("op com.example:Relu is not in mx's op table");
  });

  it('rejects feeds that contradict the model and shapes that do not fit a node', async () => {
    const m = await mx.onnx.load(good());
    const bad = await m.run({ x: { data: new Float32Array(6), dims: [2, 3] } }).catch((x) => x);
    expect(bad.code).toBe('INVALID_ARGUMENT');
    expect(bad.message).toMatch(/input 'x': expected shape \[N,4\], got \[2,3\].*read by node 'proj' \(MatMul\)/);
    await expect(m.run({ x: { data: new Int32Array(4), dims: [1, 4] } })).rejects.toThrow(/input 'x'.*Int32Array cannot hold float32/);
    await expect(m.run({})).rejects.toThrow(/missing input 'x'/);
    await expect(m.run({ x: mx.tensor([[1, 2, 3, 4]]), z: mx.tensor([1]) })).rejects.toThrow(/unknown input 'z'/);
    m.dispose();

    // no declared shape: the node's shape rule finds the contradiction
    const loose = graph({
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'], name: 'proj' }],
      inputs: [['x', 'float32']],
      outputs: [['y', 'float32']],
      initializers: [tensorProto('w', 'float32', [4, 2], new Array(8).fill(1))],
    });
    const m2 = await mx.onnx.load(modelBytes(loose));
    const e = await m2.run({ x: { data: new Float32Array(6), dims: [2, 3] } }).catch((x) => x);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain("node 'proj' (MatMul)");
    expect(e.message).toMatch(/\[2,3\]/);
    // the model still works afterwards
    const ok = await m2.run({ x: { data: new Float32Array(4).fill(1), dims: [1, 4] } });
    expect(await arr(ok.y!)).toEqual([4, 4]);
    m2.dispose();
  });

  it('rejects a reference to a value nothing defines', async () => {
    const g = graph({ nodes: [{ op: 'Add', inputs: ['x', 'ghost'], outputs: ['y'], name: 'add' }], inputs: [['x', 'float32', [1]]], outputs: [['y', 'float32']] });
    await expect(mx.onnx.load(modelBytes(g))).rejects.toThrow(/node 'add' \(Add\) reads 'ghost', but no node, input or initializer/);
  });
});

it('exposes TensorProto decoding for test data', () => {
  const t = mx.onnx.readTensor(mx.onnx.decodeTensor(onnx.TensorProto.encode(tensorProto('t', 'int32', [2, 2], [1, 2, 3, 4])).finish()));
  expect(t.dims).toEqual([2, 2]);
  expect(Array.from(t.data as Int32Array)).toEqual([1, 2, 3, 4]);
});

describe('mx inspect and mx run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mx-cli-onnx-'));
  const file = join(dir, 'model.onnx');
  writeFileSync(
    file,
    modelBytes(
      graph({
        nodes: [
          { op: 'Mul', inputs: ['x', 'k'], outputs: ['m'], name: 'scale' },
          { op: 'Relu', inputs: ['m'], outputs: ['y'], name: 'act' },
          { op: 'Mystery', domain: 'com.example', inputs: ['y'], outputs: ['z'], name: 'odd' },
        ],
        inputs: [['x', 'float32', ['N', 3]]],
        outputs: [['z', 'float32']],
        initializers: [tensorProto('k', 'float32', [3], [1, -1, 2])],
      }),
      21,
      { 'com.example': 1 },
    ),
  );
  const runnable = join(dir, 'runnable.onnx');
  writeFileSync(
    runnable,
    modelBytes(
      graph({
        nodes: [{ op: 'Mul', inputs: ['x', 'k'], outputs: ['m'] }, { op: 'Relu', inputs: ['m'], outputs: ['y'] }],
        inputs: [['x', 'float32', ['N', 3]]],
        outputs: [['y', 'float32', ['N', 3]]],
        initializers: [tensorProto('k', 'float32', [3], [1, -1, 2])],
      }),
    ),
  );
  /** A .npy file (format 1.0) of float32 values. */
  const npy = (values: number[], shape: number[]) => {
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
    header = header.padEnd(Math.ceil((header.length + 11) / 64) * 64 - 11) + '\n';
    const h = Buffer.alloc(10);
    h.write('\x93NUMPY', 0, 'latin1');
    h[6] = 1;
    h.writeUInt16LE(header.length, 8);
    return Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(Float32Array.from(values).buffer)]);
  };
  const cli = async (...args: string[]) => {
    const { main } = await import('../src/cli.js');
    let out = '';
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    try {
      return { code: await main(args), out, err };
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
  };

  it('inspect prints inputs, outputs, opsets, the op histogram and what cannot run', async () => {
    const r = await cli('inspect', file);
    expect(r.code).toBe(0);
    expect(r.out).toContain('x  float32[N,3]');
    expect(r.out).toContain('opsets: ai.onnx 21, com.example 1');
    expect(r.out).toMatch(/1 {2}Mul\n/);
    expect(r.out).toMatch(/com\.example:Mystery {3}<- not in mx's op table/);
    expect(r.out).toContain('cannot run here: com.example:Mystery');
  });

  it('run prints output summaries, reads .npy inputs and benchmarks', async () => {
    const x = join(dir, 'x.npy');
    writeFileSync(x, npy([1, 2, 3, -4, 5, 6], [2, 3]));
    const r = await cli('run', runnable, '--input', `x=${x}`, '--bench', '3');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // relu([1,-2,6], [-4,-5,12]) = [1,0,6,0,0,12]
    expect(r.out).toContain('y  float32[2,3]  min 0  max 12  mean 3.16667');
    expect(r.out).toMatch(/latency over 3 runs: min [\d.]+ ms {2}median [\d.]+ ms {2}p90 [\d.]+ ms/);
    const rnd = await cli('run', runnable, '--dim', 'N=4');
    expect(rnd.out).toContain('x  float32[4,3]  random');
    const bad = await cli('run', file);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("node 'odd' (com.example:Mystery)");
  });
});
