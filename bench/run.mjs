// `pnpm bench`: each workload on mx and on onnxruntime-node in this one process,
// alternating, after a warm-up, with the same thread count on both sides; medians,
// the ratio mx/ort, GFLOP/s (also as a fraction of the measured FMA peak) or GB/s.
// A full run writes docs/benchmarks.md and docs/bench-ratios.svg.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measure } from './lib/measure.mjs';
import { addLoop, bestOf, measurePeak, pingPonger } from './lib/peak.mjs';
import { barChecks, formatAgreement, formatMs, formatOnednn, formatRate, markdown, ratioChart } from './lib/report.mjs';
import { ONEDNN_WORKLOADS, WORKLOADS } from './lib/workloads.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const USAGE = `usage: pnpm bench [options]   (or: node bench/run.mjs [options])

  --only LIST      comma-separated workload names or prefixes (matmul, matmul-1024, conv3x3,
                   add, resnet50, ..., engine); default: everything
  --reps N         timed samples per side (default: as many as fit in ~4 s, 7 to 51)
  --warmup N       warm-up calls per side, at least (default 2; warm-up also lasts >= 0.3 s)
  --threads N      threads on both sides: MX_NUM_THREADS and ORT intraOpNumThreads
                   (default: MX_NUM_THREADS if set, else the machine's cores)
  --backends LIST  mx backends to select, most preferred first (default: MX_BACKENDS or cpu)
  --no-onednn      skip the onednn column (by default, when the backends are cpu and
                   @mx/backend-onednn loads, the workloads of ONEDNN_WORKLOADS time a third
                   side, mx on onednn,cpu, in the same rotation: (onednn+cpu)/ort and /cpu)
  --no-peak        do not run the FMA peak program
  --ort-spin       leave ORT's intra-op threads spinning between runs (its default; here they
                   take the cores from the mx call that follows, so by default they block)
  --json           print the results as JSON on stdout instead of the table
  --no-write       do not write docs/benchmarks.md and docs/bench-ratios.svg
                   (only a full run, without --only, writes them)
  --list           list the workloads and exit

environment: MX_BENCH_MODELS = folder of the shared models (default: ../shared/models
from the repository root), CC = C compiler for the peak program (default: cc)`;

const fail = (message) => {
  console.error(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
};

let opt;
try {
  ({ values: opt } = parseArgs({
    options: {
      only: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string', default: '2' },
      threads: { type: 'string' },
      backends: { type: 'string' },
      'no-onednn': { type: 'boolean', default: false },
      'no-peak': { type: 'boolean', default: false },
      'ort-spin': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (e) {
  fail(e.message);
}
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
if (opt.list) {
  for (const w of WORKLOADS) console.log(`${w.name.padEnd(18)} ${w.title}`);
  console.log(`${'engine'.padEnd(18)} engine overhead figures (bench/engine.mjs)`);
  process.exit(0);
}

const positiveInt = (name, v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} wants a positive integer, got '${v}'`);
  return n;
};
const threads = positiveInt('threads', opt.threads ?? process.env.MX_NUM_THREADS ?? availableParallelism());
const reps = opt.reps === undefined ? undefined : positiveInt('reps', opt.reps);
const warmup = positiveInt('warmup', opt.warmup);
const backends = (opt.backends ?? process.env.MX_BACKENDS ?? 'cpu').split(',').map((s) => s.trim()).filter(Boolean);
const only = opt.only?.split(',').map((s) => s.trim()).filter(Boolean);
const selected = (name) => !only || only.some((o) => name.startsWith(o));
const workloads = WORKLOADS.filter((w) => selected(w.name));
const withEngine = selected('engine');
if (!workloads.length && !withEngine) fail(`--only ${opt.only} matches no workload (see --list)`);

// The pool size is read when the backend loads: set it before importing mx.
process.env.MX_NUM_THREADS = String(threads);
const mx = await import('@mx/core');
// Backends resolve from the app's package.json, and the repository root does not
// depend on them: import the ones bench/ depends on explicitly (that registers them).
for (const name of backends)
  await import(`@mx/backend-${name}`).catch((e) => {
    if (e.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  });
mx.use(...backends);
let ort;
try {
  ort = (await import('onnxruntime-node')).default;
} catch (e) {
  fail(`onnxruntime-node cannot be loaded (a devDependency of bench/; run pnpm install at the repository root): ${e.message}`);
}

const progress = (line, done) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}${done ? '\n' : ''}`);
  else if (done) process.stderr.write(`${line}\n`);
};

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {}
  return cpus()[0]?.model ?? 'unknown';
}

/** The SIMD extensions /proc/cpuinfo lists, when the peak program could not say. */
function cpuinfoIsa() {
  try {
    const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(/\s+/));
    return ['avx2', 'fma', 'avx512f'].filter((f) => flags.has(f)).join(' ') || 'baseline';
  } catch {
    return 'unknown';
  }
}

const loads = () => loadavg().map((x) => x.toFixed(2)).join(', ');
const modelsDir = process.env.MX_BENCH_MODELS ? resolve(process.env.MX_BENCH_MODELS) : resolve(ROOT, '../shared/models');
const date = new Date().toISOString();
const loadStart = loads();
// The CPUs' placement (bench/peak/core_pingpong.c): at the start and end, and
// before and after each workload, whose ratio it moves (see the report).
const pinger = threads > 1 ? pingPonger() : null;
const pingStart = pinger?.run() ?? null;
const mxBackend = mx.backendRecords().find((r) => r.status === 'available' && r.name === backends[0]);

function runPeak(when) {
  progress(`peak (${when}): building and running bench/peak/fma_peak.c (${threads} threads)`);
  const p = measurePeak(threads);
  progress(p.ok ? `peak (${when}): ${p.peakN} GFLOP/s on ${threads} threads, ${p.peak1} on 1; C add loop ${p.add.medianGBs} GB/s` : `peak: skipped: ${p.reason}`, true);
  return p;
}
// Measured before and after the workloads; the better figures are kept and used.
let peak = !workloads.length ? { ok: false, reason: 'not run (no workload selected)' } : opt['no-peak'] ? { ok: false, reason: 'not run (--no-peak)' } : runPeak('start');

// The onednn column: the conv and matmul workloads run a third side, mx with its
// ops on ['onednn', 'cpu'] only (onednn preferred, cpu for the calls it lacks or
// leaves), in the same process and rotation as mx on cpu and ORT.
let onednn = false;
if (!opt['no-onednn'] && backends.join(',') === 'cpu' && workloads.some((w) => ONEDNN_WORKLOADS.includes(w.name))) {
  try {
    const m = await import('@mx/backend-onednn');
    onednn = (m.backend ?? m.default)?.init?.() === null;
  } catch {}
  progress(onednn ? 'onednn column: mx on onednn,cpu as a third side of the conv and matmul workloads' : 'onednn column: skipped (@mx/backend-onednn does not load here)', true);
}

const results = [];
for (const [i, w] of workloads.entries()) {
  const prefix = `[${i + 1}/${workloads.length}] ${w.name}`;
  const base = { name: w.name, title: w.title, mxDoes: w.mxDoes, ortDoes: w.ortDoes };
  const skip = w.skip?.({ mx, modelsDir });
  if (skip) {
    results.push({ ...base, skipped: skip });
    progress(`${prefix}: skipped: ${skip}`, true);
    continue;
  }
  try {
    const alt = onednn && ONEDNN_WORKLOADS.includes(w.name) ? ['onednn', 'cpu'] : undefined;
    const before = pinger?.run() ?? null;
    const m = await measure(w, { mx, ort, threads, modelsDir, ortSpin: opt['ort-spin'], alt }, { warmup, reps, progress: (what) => progress(`${prefix} ${what}`) });
    const { alt: altStats, altAgreement, altCalls, ...own } = m;
    const r = { ...base, ...own, ratio: m.mx.median / m.ort.median };
    if (pinger) r.ping = [before, pinger.run() ?? null];
    if (altStats) r.onednn = { median: altStats.median, ratio: altStats.median / m.ort.median, vsCpu: altStats.median / m.mx.median, agreement: altAgreement, ...(altCalls && { calls: altCalls }) };
    const work = w.flops ?? w.bytes;
    if (work) {
      r.unit = w.flops ? 'GFLOP/s' : 'GB/s';
      r.mxRate = work / m.mx.median / 1e6;
      r.ortRate = work / m.ort.median / 1e6;
    }
    results.push(r);
    progress(`${prefix}: mx ${formatMs(m.mx.median)}  ort ${formatMs(m.ort.median)}  mx/ort ${r.ratio.toFixed(2)}  outputs ${formatAgreement(m.agreement)}${r.onednn ? `  onednn+cpu ${formatMs(r.onednn.median)} (/ort ${r.onednn.ratio.toFixed(2)}, /cpu ${r.onednn.vsCpu.toFixed(2)})` : ''}`, true);
  } catch (e) {
    results.push({ ...base, error: String(e?.message ?? e).split('\n')[0] });
    progress(`${prefix}: failed: ${results.at(-1).error}`, true);
  }
}


if (peak.ok) {
  peak = bestOf(peak, runPeak('end'));
  for (const r of results) {
    if (r.unit !== 'GFLOP/s') continue;
    r.mxPeakFraction = r.mxRate / peak.peakN;
    r.ortPeakFraction = r.ortRate / peak.peakN;
  }
}

// mx.add's bandwidth for the bar, measured the way the C loop is (back to back,
// medians) and in turns with it: 5 rounds of 7 C-loop runs then 7 mx.add runs,
// so that both see the same memory bandwidth (on a shared machine it moves by
// half within minutes: the C loop's start and end figures above differ). The
// add-16m row alternates with ORT instead, whose runs leave mx's threads asleep
// and its caches cold before every mx call.
let mxAdd = null;
const loop = peak.ok && workloads.some((w) => w.name === 'add-16m') ? addLoop(threads, 1 << 24) : null;
if (loop) {
  const n = 1 << 24;
  const a = mx.tensor(new Float32Array(n).fill(1));
  const b = mx.tensor(new Float32Array(n).fill(2));
  const gbs = [], cgbs = [];
  for (let round = 0; round < 5; round++) {
    cgbs.push(...loop.run(7));
    for (let r = 0; r < (round ? 7 : 10); r++) {
      const t0 = performance.now();
      const c = mx.add(a, b);
      await mx.sync();
      const ms = performance.now() - t0;
      c.dispose();
      if (round || r >= 3) gbs.push((3 * 4 * n) / ms / 1e6); // 3 warm-up runs
    }
  }
  loop.close();
  a.dispose();
  b.dispose();
  const med = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
  mxAdd = { medianGBs: +med(gbs).toFixed(2), bestGBs: +Math.max(...gbs).toFixed(2), runs: gbs.length, cLoopGBs: +med(cgbs).toFixed(2), cLoopRuns: cgbs.length };
  progress(`mx.add back to back: ${mxAdd.medianGBs} GB/s median; the C loop in turns with it: ${mxAdd.cLoopGBs} GB/s median`, true);
}

let engine = null;
if (withEngine) {
  progress('engine: node bench/engine.mjs --json');
  engine = JSON.parse(execFileSync(process.execPath, [join(HERE, 'engine.mjs'), '--json'], { cwd: HERE, encoding: 'utf8', env: { ...process.env, MX_NUM_THREADS: String(threads) } }));
  progress(`engine: ${engine.dispatch.usPerCallDropped.toFixed(3)} us/call dispatch, startup ${engine.startup.medianMs.toFixed(1)} ms`, true);
}

const report = {
  date,
  machine: {
    cpu: cpuModel(),
    cores: availableParallelism(),
    threads,
    isa: peak.ok ? peak.isa : `${cpuinfoIsa()} (from /proc/cpuinfo)`,
    mxBackend: mxBackend ? `${mxBackend.name} ${mxBackend.version ?? ''}: ${mxBackend.backend.describe?.() ?? ''}`.trim() : backends.join(','),
    node: process.version,
    onnxruntime: ort.env.versions?.node ?? 'unknown',
    loadStart,
    loadEnd: loads(),
    pingStart,
    pingEnd: pinger?.run() ?? null,
  },
  peak,
  mxAdd,
  results,
  engine,
  method: { warmup, reps: reps ?? 'auto' },
};
report.bar = barChecks(report);
pinger?.close();

if (opt.json) console.log(JSON.stringify(report, null, 2));
else {
  const rows = [['workload', 'mx', 'ort', 'mx/ort', 'mx rate', 'ort rate', 'max diff', 'onednn/ort']];
  for (const r of results) {
    if (r.skipped || r.error) rows.push([r.name, r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.error}`, '', '', '', '', '', '']);
    else rows.push([r.name, formatMs(r.mx.median), formatMs(r.ort.median), r.ratio.toFixed(2), formatRate(r.mxRate, r.unit, r.mxPeakFraction), formatRate(r.ortRate, r.unit, r.ortPeakFraction), formatAgreement(r.agreement), formatOnednn(r.onednn)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.filter((row) => row[2] !== '' || row === rows[0]).map((row) => row[c].length)));
  for (const row of rows) console.log(row[2] === '' && row !== rows[0] ? `${row[0].padEnd(widths[0])}  ${row[1]}` : row.map((x, c) => (c ? x.padStart(widths[c]) : x.padEnd(widths[c]))).join('  '));
  console.log(`\n${threads} threads; ${report.machine.cpu}; ${report.machine.isa}; load average ${loadStart} at start, ${report.machine.loadEnd} at end`);
  if (peak.ok) console.log(`FMA peak ${peak.peakN} GFLOP/s (${threads} threads), ${peak.peak1} (1 thread); C add loop ${peak.add.medianGBs} GB/s median, ${peak.add.bestGBs} best`);
}

if (!only && !opt['no-write']) {
  // no absolute paths of this machine in the docs (error messages may carry some)
  const relative = (text) => text.replaceAll(`${ROOT}/`, '').replaceAll(`${dirname(ROOT)}/`, '../');
  writeFileSync(join(ROOT, 'docs/benchmarks.md'), relative(markdown(report)));
  writeFileSync(join(ROOT, 'docs/bench-ratios.svg'), relative(ratioChart(report)));
  progress('wrote docs/benchmarks.md and docs/bench-ratios.svg', true);
}
