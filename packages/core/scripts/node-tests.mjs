#!/usr/bin/env node
/**
 * Runs the ONNX backend node tests (../shared/onnx-tests/node beside the repo)
 * through mx on one backend and writes docs/onnx-node-tests.md.
 *
 *   pnpm --filter @mx/core node-tests [--backend cpu|onednn,cpu] [--filter REGEX] [--no-write]
 *                                     [--json FILE] [--timeout SECONDS] [--chunk N]
 *
 * Each test: load model.onnx, feed test_data_set_0/input_K.pb to graph input K,
 * compare the outputs with output_K.pb like onnx does (rtol 1e-3, atol 1e-5;
 * integers and bools exactly; NaN matches NaN). Status: pass, fail (wrong
 * values), error (an exception, a crash or a timeout), unsupported (an op, dtype
 * or kernel mx does not have; the reason is recorded), skipped (unsupported by
 * a decision recorded in SKIPS below, with its reason).
 *
 * Tests run in child processes, a chunk at a time; a child that crashes or
 * hangs is replaced and the run goes on after the test it was running.
 * Needs a built @mx/core (tsc -b) and backend.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const testsDir = resolve(repo, '../shared/onnx-tests/node');
const RTOL = 1e-3;
const ATOL = 1e-5;

function parseArgs(argv) {
  const o = { backend: 'cpu', filter: undefined, write: true, json: undefined, timeout: 120, chunk: 150, child: false, out: join(repo, 'docs/onnx-node-tests.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--backend') o.backend = next();
    else if (a === '--filter') o.filter = new RegExp(next());
    else if (a === '--no-write') o.write = false;
    else if (a === '--json') o.json = next();
    else if (a === '--timeout') o.timeout = Number(next());
    else if (a === '--chunk') o.chunk = Number(next());
    else if (a === '--out') o.out = resolve(next());
    else if (a === '--child') o.child = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

// ------------------------------------------------------------------ child: run tests

/** `backend`: one name or an ordered list ("onednn,cpu"). */
async function loadMx(backend) {
  const mx = await import(pathToFileURL(join(here, '../dist/index.js')).href);
  // in the workspace, its own package; elsewhere the name resolves like any app's backend
  const spec = (name) => {
    const dir = join(repo, 'packages', `backend-${name}`);
    return existsSync(join(dir, 'package.json')) ? dir : name;
  };
  mx.use(...backend.split(',').map(spec));
  return mx;
}

/**
 * Element values to compare: 16-bit, float8 and float4 floats decoded from their
 * bits (mx.readNumber); other dtypes as stored (64-bit integers stay exact).
 * The sub-byte types arrive unpacked, one element per entry, from both sides.
 */
function numbers(mx, h) {
  const { dtype, data } = h;
  if (!mx.isFloat(dtype) || data instanceof Float32Array || data instanceof Float64Array) return data;
  return Array.from({ length: data.length }, (_, i) => mx.readNumber(dtype, data, i));
}

/** null when `got` matches `want`, else what differs. */
async function compare(mx, want, got, where) {
  if (want && 'optional' in want) {
    if (want.optional === null) return got === null ? null : `${where}: expected an empty optional`;
    if (got === null) return `${where}: expected a value, got an empty optional`;
    return compare(mx, want.optional, got, where);
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return `${where}: expected a sequence`;
    if (got.length !== want.length) return `${where}: sequence of ${got.length}, expected ${want.length}`;
    for (let i = 0; i < want.length; i++) {
      const r = await compare(mx, want[i], got[i], `${where}[${i}]`);
      if (r) return r;
    }
    return null;
  }
  if (!got || Array.isArray(got)) return `${where}: expected a tensor`;
  if (got.dtype !== want.dtype) return `${where}: dtype ${got.dtype}, expected ${want.dtype}`;
  if (got.shape.join(',') !== want.dims.join(',')) return `${where}: shape [${got.shape}], expected [${want.dims}]`;
  const g = numbers(mx, { dtype: got.dtype, data: await got.data() });
  const w = numbers(mx, want);
  let bad = 0;
  let first = -1;
  let worst = 0;
  for (let i = 0; i < w.length; i++) {
    const a = g[i];
    const b = w[i];
    let ok;
    if (mx.isFloat(want.dtype)) {
      ok = Number.isNaN(b) ? Number.isNaN(a) : a === b || Math.abs(a - b) <= ATOL + RTOL * Math.abs(b);
      if (!ok && Number.isFinite(a) && Number.isFinite(b)) worst = Math.max(worst, Math.abs(a - b));
    } else ok = a === b;
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (!bad) return null;
  return `${where}: ${bad} of ${w.length} elements differ (first at ${first}: ${g[first]} vs ${w[first]}${worst ? `, max abs diff ${worst.toExponential(2)}` : ''})`;
}

function disposeOut(v) {
  if (Array.isArray(v)) v.forEach(disposeOut);
  else if (v) v.dispose();
}

function toFeed(h) {
  if (h && 'optional' in h) return h.optional === null ? null : toFeed(h.optional);
  if (Array.isArray(h)) return h.map(toFeed);
  return { data: h.data, dims: h.dims, dtype: h.dtype };
}

function readValue(mx, file, type) {
  const bytes = readFileSync(file);
  const kind = type?.kind;
  if (kind === 'sequence') return mx.onnx.decodeSequence(bytes);
  if (kind === 'optional') return mx.onnx.decodeOptional(bytes);
  return mx.onnx.readTensor(mx.onnx.decodeTensor(bytes));
}

/** The first line of a message, without MxError's "[op X, backend y] " prefix. */
function firstLine(s) {
  const l = String(s).split('\n')[0].replace(/^\[[^\]]*\] /, '');
  return l.length > 300 ? `${l.slice(0, 297)}...` : l;
}

async function runOne(mx, name) {
  const dir = join(testsDir, name);
  const data = join(dir, 'test_data_set_0');
  let model;
  const outs = {};
  try {
    model = await mx.onnx.load(join(dir, 'model.onnx'));
    const feeds = {};
    model.graph.inputs.forEach((inp, k) => {
      const f = join(data, `input_${k}.pb`);
      if (existsSync(f)) feeds[inp.name] = toFeed(readValue(mx, f, inp.type));
    });
    Object.assign(outs, await model.runValues(feeds));
    for (let k = 0; k < model.graph.outputs.length; k++) {
      const o = model.graph.outputs[k];
      const want = readValue(mx, join(data, `output_${k}.pb`), o.type);
      const r = await compare(mx, want, outs[o.name], `output '${o.name}'`);
      if (r) return { status: 'fail', reason: r };
    }
    return { status: 'pass' };
  } catch (e) {
    const unsupported = e?.code === 'UNSUPPORTED';
    return { status: unsupported ? 'unsupported' : 'error', reason: firstLine(e?.message ?? e) };
  } finally {
    for (const v of Object.values(outs)) disposeOut(v);
    model?.dispose();
  }
}

async function child(opts) {
  const names = readFileSync(0, 'utf8').split('\n').filter(Boolean);
  const mx = await loadMx(opts.backend);
  const emit = (line) => process.stdout.write(`@@${line}\n`);
  for (const name of names) {
    emit(`start ${name}`);
    if (process.env.MX_NODE_TESTS_CRASH === name) process.kill(process.pid, 'SIGKILL'); // for the runner's own test
    const before = mx.memory().devices;
    const t0 = performance.now();
    const r = await runOne(mx, name);
    r.ms = Math.round(performance.now() - t0);
    const after = mx.memory().devices;
    const leaked = Object.keys(after).reduce((n, d) => n + after[d].tensors - (before[d]?.tensors ?? 0), 0);
    if (leaked > 0) r.leaked = leaked;
    emit(`result ${JSON.stringify({ name, ...r })}`);
  }
}

// ------------------------------------------------------------------ parent: chunks, crashes, report

function runChunk(opts, names, onResult, onStart) {
  return new Promise((done) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', '--backend', opts.backend], { stdio: ['pipe', 'pipe', 'pipe'] });
    let current;
    let timer;
    let buf = '';
    let stderr = '';
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        onResult({ name: current, status: 'error', reason: `timeout: no result after ${opts.timeout} s` });
        current = undefined;
        p.kill('SIGKILL');
      }, opts.timeout * 1000);
    };
    p.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('@@start ')) {
          current = line.slice(8);
          started = true;
          stderr = '';
          onStart(current);
          arm();
        } else if (line.startsWith('@@result ')) {
          onResult(JSON.parse(line.slice(9)));
          current = undefined;
        }
      }
    });
    p.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-2000);
    });
    let started = false;
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!started) {
        console.error(`the test process failed before running a test (${signal ?? `exit code ${code}`}):\n${stderr}`);
        process.exit(1);
      }
      if (current) {
        const last = stderr.trim().split('\n').filter(Boolean).pop() ?? '';
        onResult({ name: current, status: 'error', reason: `crashed (${signal ?? `exit code ${code}`})${last ? `: ${firstLine(last)}` : ''}` });
      }
      done();
    });
    p.stdin.end(names.join('\n'));
  });
}

function opOf(name, cache) {
  const base = name.replace(/_expanded.*$/, '');
  const dir = existsSync(join(testsDir, base)) ? base : name;
  if (!cache.has(dir)) cache.set(dir, readOp(join(testsDir, dir, 'model.onnx')));
  return cache.get(dir);
}

/** The op of a single-node test model, read with the same protobuf decoder as the loader. */
let decode;
function readOp(file) {
  const n = decode(readFileSync(file)).graph.node[0];
  return n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType;
}

const GROUPS = {
  'elementwise math': 'Abs Acos Acosh Add And Asin Asinh Atan Atanh BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor Ceil Celu Clip Cos Cosh Div Elu Equal Erf Exp Floor Gelu Greater GreaterOrEqual HardSigmoid HardSwish IsInf IsNaN LeakyRelu Less LessOrEqual Log Max Mean Min Mish Mod Mul Neg Not Or PRelu Pow Reciprocal Relu Round Selu Shrink Sigmoid Sign Sin Sinh Softplus Softsign Sqrt Sub Sum Swish Tan Tanh ThresholdedRelu Where Xor',
  cast: 'Cast CastLike BitCast',
  reductions: 'ArgMax ArgMin ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare CumSum CumProd',
  'matmul/gemm/einsum': 'MatMul Gemm Einsum Det',
  'conv/pool': 'Conv ConvTranspose AveragePool MaxPool GlobalAveragePool GlobalMaxPool LpPool MaxUnpool Col2Im DeformConv CausalConvWithState',
  normalization: 'BatchNormalization InstanceNormalization LayerNormalization GroupNormalization RMSNormalization LpNormalization LRN MeanVarianceNormalization Softmax LogSoftmax Hardmax',
  'resize/sampling': 'Resize Upsample GridSample AffineGrid CenterCropPad RoiAlign',
  'shape/indexing':
    'Compress Concat Constant ConstantOfShape DepthToSpace SpaceToDepth Expand EyeLike Flatten Gather GatherElements GatherND Identity NonZero OneHot Pad Range Reshape ReverseSequence Scatter ScatterElements ScatterND Shape Size Slice Split Squeeze Tile TopK Transpose Trilu Unique Unsqueeze TensorScatter',
  recurrent: 'GRU LSTM RNN',
  attention: 'Attention RotaryEmbedding LinearAttention ai.onnx.preview:FlexAttention',
  losses: 'NegativeLogLikelihoodLoss SoftmaxCrossEntropyLoss',
  quantization: 'ConvInteger DequantizeLinear DynamicQuantizeLinear MatMulInteger QLinearConv QLinearMatMul QuantizeLinear',
  signal: 'DFT STFT BlackmanWindow HammingWindow HannWindow MelWeightMatrix',
  'control flow': 'If Loop Scan',
  'sequence/optional': 'SequenceInsert SequenceMap SplitToSequence OptionalGetElement OptionalHasElement',
  detection: 'NonMaxSuppression',
  random: 'Bernoulli Dropout',
  strings: 'RegexFullMatch StringConcat StringNormalizer StringSplit',
  'text features': 'TfIdfVectorizer',
  image: 'ImageDecoder',
  'ai.onnx.ml': 'ai.onnx.ml:ArrayFeatureExtractor ai.onnx.ml:Binarizer ai.onnx.ml:LabelEncoder ai.onnx.ml:TreeEnsemble',
  training: 'ai.onnx.preview.training:Adagrad ai.onnx.preview.training:Adam ai.onnx.preview.training:Momentum',
};
const GROUP_OF = new Map(Object.entries(GROUPS).flatMap(([g, ops]) => ops.split(' ').map((o) => [o, g])));
const STATUSES = ['pass', 'fail', 'error', 'unsupported', 'skipped'];

/**
 * Tests mx does not run by design: an `unsupported` result that matches a rule
 * becomes `skipped` with the rule's reason (a test that passes is never skipped).
 */
const SKIPS = [
  {
    why: 'string tensors: mx tensors hold numbers and bools only (strings would need a host-only, variable-size element type no kernel ABI carries)',
    match: (r) => /element type string/.test(r.reason ?? ''),
  },
  {
    why: 'random outputs: the expected values are one draw of numpy\'s generator, which no other runtime reproduces',
    match: (r) => r.op === 'Bernoulli' || /drops random elements/.test(r.reason ?? ''),
  },
  {
    why: 'image decoding: JPEG, PNG, WebP, TIFF and JPEG 2000 codecs belong to an image library, not to a tensor runtime',
    match: (r) => r.op === 'ImageDecoder',
  },
];

function classify(r) {
  const rule = r.status === 'unsupported' && SKIPS.find((k) => k.match(r));
  return rule ? { ...r, status: 'skipped', reason: rule.why } : r;
}

function count(rs) {
  const c = { tests: rs.length, pass: 0, fail: 0, error: 0, unsupported: 0, skipped: 0 };
  for (const r of rs) c[r.status]++;
  return c;
}

function report(results, opts, meta) {
  const byOp = new Map();
  for (const r of results) {
    if (!byOp.has(r.op)) byOp.set(r.op, []);
    byOp.get(r.op).push(r);
  }
  const groups = new Map();
  for (const [op, rs] of byOp) {
    const g = GROUP_OF.get(op) ?? 'other';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(...rs);
  }
  const total = count(results);
  const row = (c) => `${c.tests} | ${c.pass} | ${c.fail} | ${c.error} | ${c.unsupported} | ${c.skipped}`;
  const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\s+/g, ' ');
  const L = [];
  L.push('# ONNX backend node tests on mx', '');
  L.push(`Generated by \`pnpm --filter @mx/core node-tests\` (packages/core/scripts/node-tests.mjs) on backend \`${opts.backend}\`, ${meta.platform}, Node ${meta.node}.`);
  L.push('The tests are onnx v1.22.0\'s `onnx/backend/test/data/node` (see ../shared/onnx-tests/README.md). Outputs are compared like onnx does: rtol 1e-3, atol 1e-5, integers and bools exactly, NaN matches NaN.');
  L.push('`error`: an exception, crash or timeout; `unsupported`: an op, element type or kernel mx does not have (the reason is listed); `skipped`: not run by design (below).', '');
  L.push(`**${total.pass} of ${total.tests} pass** (fail ${total.fail}, error ${total.error}, unsupported ${total.unsupported}, skipped ${total.skipped}).`, '');
  L.push('## Skipped by design', '', 'The runner marks these `skipped` instead of `unsupported` (SKIPS in the script):', '');
  for (const k of SKIPS) L.push(`- ${k.why} (${results.filter((r) => r.status === 'skipped' && r.reason === k.why).length} tests).`);
  L.push('', '## By group', '', '| group | tests | pass | fail | error | unsupported | skipped |', '|---|---|---|---|---|---|---|');
  const gOrder = [...Object.keys(GROUPS), 'other'].filter((g) => groups.has(g));
  for (const g of gOrder) L.push(`| ${g} | ${row(count(groups.get(g)))} |`);
  L.push('', '## By op', '', 'Ops by group; the notes list every test that does not pass, with the reason.', '');
  L.push('| op | group | tests | pass | fail | error | unsupported | skipped | notes |', '|---|---|---|---|---|---|---|---|---|');
  for (const g of gOrder) {
    const ops = [...byOp.keys()].filter((op) => (GROUP_OF.get(op) ?? 'other') === g).sort();
    for (const op of ops) {
      const rs = byOp.get(op);
      // identical reasons are listed once with their tests
      const reasons = new Map();
      for (const r of rs) {
        if (r.status === 'pass') continue;
        const k = `${r.status}: ${r.reason ?? ''}`;
        if (!reasons.has(k)) reasons.set(k, []);
        reasons.get(k).push(r.name.replace(/^test_/, ''));
      }
      const notes = [...reasons].map(([k, ns]) => `${ns.join(', ')}: ${k}`).join('<br>');
      L.push(`| ${op} | ${g} | ${row(count(rs))} | ${esc(notes)} |`);
    }
  }
  return L.join('\n') + '\n';
}

async function parent(opts) {
  if (!existsSync(testsDir)) {
    console.log(`skipped: the ONNX node tests are not at ${relative(process.cwd(), testsDir)} (../shared/onnx-tests/node beside the repo)`);
    return 0;
  }
  if (!existsSync(join(here, '../dist/onnx/index.js'))) {
    console.error('build @mx/core first: cd packages/core && npx tsc -b');
    return 1;
  }
  const proto = await import('onnx-proto');
  decode = (b) => proto.default.onnx.ModelProto.decode(b);

  let names = readdirSync(testsDir).filter((n) => existsSync(join(testsDir, n, 'model.onnx'))).sort();
  if (opts.filter) names = names.filter((n) => opts.filter.test(n));
  const cache = new Map();
  const results = [];
  const counts = { pass: 0, fail: 0, error: 0, unsupported: 0, skipped: 0 };
  const tty = process.stderr.isTTY;
  const t0 = Date.now();
  const progress = (cur) => {
    const line = `[${String(results.length).padStart(String(names.length).length)}/${names.length}] pass ${counts.pass} fail ${counts.fail} error ${counts.error} unsupported ${counts.unsupported} skipped ${counts.skipped}  ${cur ?? ''}`;
    if (tty) process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 120) - 1).padEnd((process.stderr.columns || 120) - 1)}`);
    else if (results.length % 100 === 0 || results.length === names.length) process.stderr.write(`${line}\n`);
  };
  const done = new Set();
  const onResult = (res) => {
    if (!res.name || done.has(res.name)) return;
    done.add(res.name);
    const r = classify({ ...res, op: opOf(res.name, cache) });
    results.push(r);
    counts[r.status]++;
    progress();
  };
  let pending = names.slice();
  while (pending.length) {
    const chunk = pending.slice(0, opts.chunk);
    await runChunk(opts, chunk, onResult, (n) => tty && progress(n));
    // a crashed or killed child: go on after the test it was running
    pending = pending.filter((n) => !done.has(n));
  }
  if (tty) process.stderr.write('\n');
  results.sort((a, b) => a.name.localeCompare(b.name));
  const total = count(results);
  console.log(`${total.pass} of ${total.tests} pass (fail ${total.fail}, error ${total.error}, unsupported ${total.unsupported}, skipped ${total.skipped}) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const leaks = results.filter((r) => r.leaked);
  if (leaks.length) console.log(`tensors left alive after a test: ${leaks.map((r) => `${r.name} (${r.leaked})`).join(', ')}`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify(results, null, 1));
  if (opts.write && !opts.filter) {
    writeFileSync(opts.out, report(results, opts, { platform: `${process.platform}-${process.arch}`, node: process.version }));
    console.log(`wrote ${relative(process.cwd(), opts.out)}`);
  }
  return 0;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.child) await child(opts);
else process.exitCode = await parent(opts);
