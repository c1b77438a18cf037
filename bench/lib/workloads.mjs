// The workloads of `pnpm bench`. Each one prepares both sides once (setup), then
// run.mjs calls `mx()` and `ort()` alternately; each call is one complete, awaited
// unit of work as a user would issue it. What each side does is spelled out in
// `mxDoes` / `ortDoes` and printed in docs/benchmarks.md. `outputs()` returns both
// sides' output values once, for the check that they agree. With `ctx.alt` (a list
// of backends, e.g. ['onednn', 'cpu']) the workloads of ONEDNN_WORKLOADS also
// return `alt`: the mx side again with its ops placed on those backends only
// (LoadOptions.backends for models, mx.withBackends for eager ops), timed in the
// same rotation, and `outputs()` adds its values.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeTensorFile, encodeModel } from './onnx-model.mjs';

/** Uniform floats in [-1, 1) from a fixed LCG, so every run sees the same data. */
function randomFloats(n, seed = 1) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const noLoader = (ctx) => (typeof ctx.mx.onnx?.load === 'function' ? null : 'mx.onnx.load is not available in this build of @mx/core');

// ORT's pool threads spin after each run by default; in this process they would
// then take the cores from the mx call that follows (measured: mx 20-40% slower,
// ORT itself no faster), so they block instead unless ctx.ortSpin.
const ortSession = (ctx, bytesOrPath) =>
  ctx.ort.InferenceSession.create(bytesOrPath, {
    intraOpNumThreads: ctx.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    ...(ctx.ortSpin ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  });

/** mx side of a completed op: wait for the queue, drop the result unread. */
async function mxOp(mx, make) {
  const y = make();
  await mx.sync();
  y.dispose();
}

/** Copies of an mx tensor's values (for the agreement check), the tensor disposed. */
async function values(t) {
  const data = (await t.data()).slice();
  t.dispose();
  return data;
}

/** The outputs of one ORT run, in the session's output order. */
async function ortValues(session, feeds) {
  const outs = await session.run(feeds);
  return session.outputNames.map((n) => outs[n].data);
}

function matmul(n, bInit) {
  const name = `matmul-${n}${bInit ? '-init' : ''}`;
  return {
    name,
    title: `MatMul ${n}x${n}x${n} float32, B ${bInit ? 'initializer' : 'input'}`,
    flops: 2 * n ** 3,
    mxDoes: bInit ? 'model.run({A}) of the one-node model, B a constant of the model; output not read' : 'mx.matmul(a, b) on existing tensors, awaited with mx.sync(); output not read',
    ortDoes: bInit ? 'session.run({A}), B an initializer' : 'session.run({A, B})',
    skip: bInit ? noLoader : undefined,
    async setup(ctx) {
      const a = randomFloats(n * n, 1);
      const b = randomFloats(n * n, 2);
      const bytes = encodeModel({
        nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
        inputs: [{ name: 'A', dims: [n, n] }, ...(bInit ? [] : [{ name: 'B', dims: [n, n] }])],
        outputs: [{ name: 'Y', dims: [n, n] }],
        initializers: bInit ? [{ name: 'B', dims: [n, n], data: b }] : [],
      });
      const { mx, ort } = ctx;
      const session = await ortSession(ctx, bytes);
      const feeds = { A: new ort.Tensor('float32', a, [n, n]), ...(bInit ? {} : { B: new ort.Tensor('float32', b, [n, n]) }) };
      const ma = mx.tensor(a, { shape: [n, n] });
      const mb = mx.tensor(b, { shape: [n, n] });
      const model = bInit ? await mx.onnx.load(bytes) : null;
      const altModel = bInit && ctx.alt ? await mx.onnx.load(bytes, { backends: ctx.alt }) : null;
      const scoped = (f) => (ctx.alt ? mx.withBackends(ctx.alt, f) : f());
      const runModel = (m) => async () => {
        const { Y } = await m.run({ A: ma });
        Y.dispose();
      };
      return {
        mx: model ? runModel(model) : () => mxOp(mx, () => mx.matmul(ma, mb)),
        ...(ctx.alt && { alt: altModel ? runModel(altModel) : () => mxOp(mx, () => scoped(() => mx.matmul(ma, mb))) }),
        ort: () => session.run(feeds),
        outputs: async () => ({
          mx: [await values(model ? (await model.run({ A: ma })).Y : mx.matmul(ma, mb))],
          ort: await ortValues(session, feeds),
          ...(ctx.alt && { alt: [await values(altModel ? (await altModel.run({ A: ma })).Y : scoped(() => mx.matmul(ma, mb)))] }),
        }),
        dispose: async () => {
          ma.dispose();
          mb.dispose();
          model?.dispose();
          altModel?.dispose();
          await session.release();
        },
      };
    },
  };
}

const conv3x3 = {
  name: 'conv3x3',
  title: 'Conv 3x3, 1x64x56x56, 64 filters, pad 1, float32',
  flops: 2 * 64 * 56 * 56 * 64 * 9,
  mxDoes: 'mx.conv(x, w, { pads: [1, 1, 1, 1] }) on existing tensors, awaited with mx.sync(); output not read',
  ortDoes: 'session.run({X}), W an initializer (lets ORT pre-pack and pick its NCHWc path)',
  async setup(ctx) {
    const { mx, ort } = ctx;
    const xs = [1, 64, 56, 56];
    const ws = [64, 64, 3, 3];
    const x = randomFloats(64 * 56 * 56, 3);
    const w = randomFloats(64 * 64 * 9, 4);
    const attrs = { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1] };
    const bytes = encodeModel({
      nodes: [{ op: 'Conv', inputs: ['X', 'W'], outputs: ['Y'], attrs }],
      inputs: [{ name: 'X', dims: xs }],
      outputs: [{ name: 'Y', dims: [1, 64, 56, 56] }],
      initializers: [{ name: 'W', dims: ws, data: w }],
    });
    const session = await ortSession(ctx, bytes);
    const feeds = { X: new ort.Tensor('float32', x, xs) };
    const mxx = mx.tensor(x, { shape: xs });
    const mxw = mx.tensor(w, { shape: ws });
    const conv = () => mx.conv(mxx, mxw, { pads: [1, 1, 1, 1] });
    const alt = () => mx.withBackends(ctx.alt, conv);
    return {
      mx: () => mxOp(mx, conv),
      ...(ctx.alt && { alt: () => mxOp(mx, alt) }),
      ort: () => session.run(feeds),
      outputs: async () => ({ mx: [await values(conv())], ort: await ortValues(session, feeds), ...(ctx.alt && { alt: [await values(alt())] }) }),
      dispose: async () => {
        mxx.dispose();
        mxw.dispose();
        await session.release();
      },
    };
  },
};

function add(n) {
  const big = n > 1;
  return {
    name: big ? 'add-16m' : 'add-1',
    title: big ? 'Add of 16M floats (two existing tensors)' : 'Add of 1 element (dispatch overhead)',
    // bandwidth counts read a, read b, write c
    bytes: big ? 3 * 4 * n : undefined,
    mxDoes: big
      ? 'mx.add(a, b) on existing tensors, awaited with mx.sync(); result not read'
      : 'const c = mx.add(a, b); await c.data(); per call (result read)',
    ortDoes: big
      ? 'session.run({a, b}) of a one-node model; the result arrives as a new JS buffer (ORT copies it out)'
      : 'session.run({a, b}) of a one-node model, awaited per call; result read',
    async setup(ctx) {
      const { mx, ort } = ctx;
      const a = randomFloats(n, 5);
      const b = randomFloats(n, 6);
      const bytes = encodeModel({
        nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['c'] }],
        inputs: [{ name: 'a', dims: [n] }, { name: 'b', dims: [n] }],
        outputs: [{ name: 'c', dims: [n] }],
      });
      const session = await ortSession(ctx, bytes);
      const feeds = { a: new ort.Tensor('float32', a, [n]), b: new ort.Tensor('float32', b, [n]) };
      const ma = mx.tensor(a, { shape: [n] });
      const mb = mx.tensor(b, { shape: [n] });
      let sink = 0;
      return {
        mx: big
          ? () => mxOp(mx, () => mx.add(ma, mb))
          : async () => {
              const c = mx.add(ma, mb);
              sink += (await c.data())[0];
              c.dispose();
            },
        ort: big
          ? () => session.run(feeds)
          : async () => {
              sink += (await session.run(feeds)).c.data[0];
            },
        outputs: async () => ({ mx: [await values(mx.add(ma, mb))], ort: await ortValues(session, feeds) }),
        dispose: async () => {
          ma.dispose();
          mb.dispose();
          await session.release();
          return sink;
        },
      };
    },
  };
}

/** End-to-end model.run: inputs from test_data_set_0, outputs downloaded, both sides through their public API. */
function model(name, dir, title) {
  return {
    name,
    title,
    model: dir,
    mxDoes: 'model.run(feeds of typed arrays), then await t.data() and dispose for every output',
    ortDoes: 'session.run(feeds of ort.Tensor over the same typed arrays); outputs arrive as JS buffers',
    skip(ctx) {
      if (noLoader(ctx)) return noLoader(ctx);
      if (!existsSync(join(ctx.modelsDir, dir, 'model.onnx'))) return `model not found: ${join(ctx.modelsDir, dir, 'model.onnx')} (set MX_BENCH_MODELS)`;
      return null;
    },
    async setup(ctx) {
      const { mx, ort } = ctx;
      const root = join(ctx.modelsDir, dir);
      const file = join(root, 'model.onnx');
      const data = join(root, 'test_data_set_0');
      const inputs = readdirSync(data)
        .filter((f) => /^input_\d+\.pb$/.test(f))
        .sort((p, q) => parseInt(p.slice(6)) - parseInt(q.slice(6)))
        .map((f) => decodeTensorFile(readFileSync(join(data, f))));
      const session = await ortSession(ctx, file);
      const m = await mx.onnx.load(file);
      const altModel = ctx.alt ? await mx.onnx.load(file, { backends: ctx.alt }) : null;
      // test data binds by position; names come from the graph when the file has none
      const names = inputs.map((t, i) => t.name || session.inputNames[i]);
      const ortFeeds = Object.fromEntries(inputs.map((t, i) => [names[i], new ort.Tensor(t.dtype, t.data, t.dims)]));
      const mxFeeds = Object.fromEntries(inputs.map((t, i) => [names[i], { data: t.data, dims: t.dims, dtype: t.dtype }]));
      let sink = 0;
      const runModel = (model) => async () => {
        const outs = await model.run(mxFeeds);
        for (const t of Object.values(outs)) {
          sink += Number((await t.data())[0]);
          t.dispose();
        }
      };
      const valuesOf = async (model) => {
        const outs = await model.run(mxFeeds);
        return Promise.all(session.outputNames.map((n) => values(outs[n])));
      };
      return {
        mx: runModel(m),
        ...(altModel && { alt: runModel(altModel) }),
        ort: async () => {
          const outs = await session.run(ortFeeds);
          for (const t of Object.values(outs)) sink += Number(t.data[0]);
        },
        outputs: async () => ({ mx: await valuesOf(m), ort: await ortValues(session, ortFeeds), ...(altModel && { alt: await valuesOf(altModel) }) }),
        dispose: async () => {
          m.dispose();
          altModel?.dispose();
          await session.release();
          return sink;
        },
      };
    },
  };
}

/** The workloads of the onednn column (run.mjs): conv- and matmul-heavy ones (prefixes match both MatMul variants). */
export const ONEDNN_WORKLOADS = ['matmul-1024', 'matmul-1024-init', 'matmul-2048', 'matmul-2048-init', 'conv3x3', 'resnet50', 'densenet121', 'ppocrv4-det'];

export const WORKLOADS = [
  ...[256, 512, 1024, 2048].flatMap((n) => [matmul(n, false), matmul(n, true)]),
  conv3x3,
  add(1 << 24),
  add(1),
  model('resnet50', 'onnx-light/resnet50', 'resnet50 (onnx light), 1x3x224x224'),
  model('squeezenet', 'onnx-light/squeezenet', 'squeezenet (onnx light), 1x3x224x224'),
  model('densenet121', 'onnx-light/densenet121', 'densenet121 (onnx light), 1x3x224x224'),
  model('ppocrv4-det', 'ppocrv4_det', 'PP-OCRv4 det, 1x3x96x160'),
  model('silero-vad', 'silero_vad_v5', 'silero VAD v5, one 512-sample call with state'),
];
