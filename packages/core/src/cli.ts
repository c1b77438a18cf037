#!/usr/bin/env node
/**
 * The `mx` command line. Commands live in COMMANDS; adding one is adding an entry.
 * Exit codes: 0 success, 1 failure (an MxError prints its message and hint, no
 * stack), 2 usage error.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { appRoot } from './discovery.js';
import { isMxError } from './errors.js';
import type { DeviceInfo } from './protocol.js';
import { backendRecords, coreInfo, selection, strictMode } from './registry.js';
import { DTYPES, isFloat, type DType, readNumber, writeNumber, type TypedArray } from './dtype.js';
import type * as Onnx from './onnx/index.js';
import type { Tensor } from './tensor.js';

interface Command {
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[]): number | Promise<number>;
}

const WIDTH = 100;

/** Thrown for bad command lines: usage goes to stderr, exit code 2. */
class UsageError extends Error {}

// ---- mx doctor

interface DoctorBackend {
  name: string;
  package?: string;
  version?: string;
  source: string;
  from?: string;
  priority: number;
  protocol?: string;
  status: string;
  reason?: string;
  devices?: string[];
  /** The backend's own description (library versions, ISA, threads), when it has one. */
  details?: string;
  /** Kernel keys per op ('domain:Op' outside ai.onnx). */
  ops?: Record<string, string[]>;
}

interface DoctorDevice extends DeviceInfo {
  /** Backends serving the device, most preferred first. */
  backends: string[];
}

export interface DoctorReport {
  platform: string;
  arch: string;
  node: string;
  napi?: string;
  core: { version: string; location: string };
  appRoot: string;
  mode: 'auto' | 'strict';
  env: Record<string, string>;
  backends: DoctorBackend[];
  devices: DoctorDevice[];
  defaultDevice?: string;
  error?: string;
}

/** Calls a backend method for the report; a throw becomes the report's text rather than a crash. */
function ask<T>(f: () => T, onError: (message: string) => T): T {
  try {
    return f();
  } catch (e) {
    return onError(`threw: ${(e as Error)?.message ?? String(e)}`);
  }
}

export function doctorReport(): DoctorReport {
  const records = backendRecords();
  const { preferred, error } = selection();
  const backends = records.map((r): DoctorBackend => {
    const b: DoctorBackend = { name: r.name, source: r.source, priority: r.priority, status: r.status };
    if (r.packageName !== undefined) b.package = r.packageName;
    if (r.version !== undefined) b.version = r.version;
    if (r.from !== undefined) b.from = r.from;
    if (r.protocol) b.protocol = `${r.protocol.major}.${r.protocol.minor}`;
    if (r.reason !== undefined) b.reason = r.reason;
    if (r.status === 'available' && r.backend) {
      const be = r.backend;
      b.devices = ask(() => be.devices().map((d) => d.id), (m) => [m]);
      const describe = (be as { describe?: () => string }).describe;
      if (typeof describe === 'function') b.details = ask(() => String(describe.call(be)), (m) => m);
      b.ops = {};
      const kernels = ask(() => be.kernels(), (m) => ((b.reason = `kernels() ${m}`), []));
      for (const k of kernels) {
        const op = k.domain ? `${k.domain}:${k.op}` : k.op;
        (b.ops[op] ??= []).push(k.key);
      }
    }
    return b;
  });
  const devices = new Map<string, DoctorDevice>();
  for (const r of preferred) {
    for (const d of ask(() => r.backend!.devices(), () => [])) {
      const dev = devices.get(d.id) ?? devices.set(d.id, { ...d, backends: [] }).get(d.id)!;
      dev.backends.push(r.name);
    }
  }
  const env: Record<string, string> = {};
  for (const k of ['MX_BACKENDS', 'MX_APP_ROOT', 'MX_STRICT', 'MX_ENGINE', 'MX_DEBUG_PLACEMENT']) {
    if (process.env[k] !== undefined) env[k] = process.env[k]!;
  }
  const first = [...devices.values()][0];
  return {
    platform: process.platform,
    arch: process.arch,
    node: process.version,
    ...(process.versions.napi !== undefined && { napi: process.versions.napi }),
    core: coreInfo(),
    appRoot: appRoot(),
    mode: strictMode() ? 'strict' : 'auto',
    env,
    backends,
    devices: [...devices.values()],
    ...(first && !error && { defaultDevice: first.id }),
    ...(error && { error: error.message }),
  };
}

/** `head` followed by words, wrapped at WIDTH with continuation lines indented under the first word. */
function wrap(head: string, words: readonly string[]): string[] {
  const lines: string[] = [];
  let line = head;
  let fresh = true;
  for (const w of words) {
    if (!fresh && line.length + 1 + w.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(head.length);
      fresh = true;
    }
    line += (fresh ? '' : ' ') + w;
    fresh = false;
  }
  lines.push(line);
  return lines;
}

function bytes(n: number | undefined): string {
  if (n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatDoctor(r: DoctorReport): string {
  const out: string[] = [];
  const kv = (k: string, v: string) => out.push(`  ${k.padEnd(10)}${v}`);
  const field = (k: string, v: string) => out.push(`    ${k.padEnd(10)}${v}`);
  out.push('mx doctor');
  kv('platform', `${r.platform} ${r.arch}`);
  kv('node', `${r.node}${r.napi !== undefined ? ` (N-API ${r.napi})` : ' (no N-API)'}`);
  kv('@mx/core', `${r.core.version} at ${r.core.location}`);
  kv('app root', r.appRoot);
  const env = Object.entries(r.env).map(([k, v]) => `${k}=${v}`);
  kv('mode', `${r.mode}${env.length ? ` (${env.join(' ')})` : ''}`);

  out.push('', `backends (${r.backends.length})`);
  if (r.backends.length === 0) out.push('  none found: install one, e.g. npm install @mx/backend-cpu');
  for (const b of r.backends) {
    out.push(`  ${b.name}${b.package ? `  ${b.package}` : ''}${b.version ? ` ${b.version}` : ''}  ${b.status}`);
    field('source', `${b.source}${b.from ? ` (${b.from})` : ''}`);
    field('protocol', `${b.protocol ?? '?'}  priority ${b.priority}`);
    if (b.reason !== undefined) field('reason', b.reason);
    if (b.devices) field('devices', b.devices.join(' ') || '(none)');
    if (b.details) field('details', b.details);
    if (b.ops) {
      const ops = Object.keys(b.ops).sort();
      field('ops', `${ops.length} ops, ${Object.values(b.ops).reduce((n, k) => n + k.length, 0)} kernels`);
      for (const op of ops) out.push(...wrap(`      ${op}: `, b.ops[op]!));
    }
  }

  out.push('', `devices (${r.devices.length})`);
  for (const d of r.devices) {
    const size = d.totalBytes !== undefined ? `  ${bytes(d.totalBytes)}${d.freeBytes !== undefined ? ` (${bytes(d.freeBytes)} free)` : ''}` : '';
    out.push(`  ${d.id.padEnd(10)}memory ${d.memory}${size}${d.name ? `  ${d.name}` : ''}  [${d.backends.join(', ')}]`);
  }
  out.push('');
  if (r.defaultDevice !== undefined) out.push(`default device: ${r.defaultDevice}`);
  if (r.error !== undefined) out.push(`problem: ${r.error}`);
  return out.join('\n') + '\n';
}

const doctor: Command = {
  summary: 'show platform, backends found (and why some cannot run), devices and the ops each backend runs',
  usage: 'mx doctor [--json]',
  run(args) {
    const unknown = args.filter((a) => a !== '--json');
    if (unknown.length) throw new UsageError(`mx doctor: unknown argument ${unknown[0]}`);
    const report = doctorReport();
    process.stdout.write(args.includes('--json') ? JSON.stringify(report, null, 2) + '\n' : formatDoctor(report));
    return report.error === undefined ? 0 : 1;
  },
};

// ---- mx inspect, mx run

/** `--flag value` options and positional arguments; `multi` flags may repeat. */
function options(cmd: string, args: readonly string[], flags: readonly string[], multi: readonly string[] = [], bools: readonly string[] = []) {
  const o: Record<string, string[]> = {};
  const pos: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) pos.push(a);
    else if (bools.includes(a)) o[a] = ['1'];
    else if (flags.includes(a) || multi.includes(a)) {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${cmd}: ${a} needs a value`);
      if (o[a] && !multi.includes(a)) throw new UsageError(`${cmd}: ${a} given twice`);
      (o[a] ??= []).push(v);
    } else throw new UsageError(`${cmd}: unknown option ${a}`);
  }
  return { o, pos };
}

const dims = (s: readonly (number | string | null)[] | undefined) => (s ? `[${s.map((d) => d ?? '?').join(',')}]` : '[...]');
const ioLine = (i: Onnx.ModelIO) => `  ${i.name}  ${i.kind === 'tensor' ? `${i.dtype}${dims(i.shape)}` : i.kind}`;

const inspect: Command = {
  summary: 'print a model\'s inputs, outputs, opsets, op histogram and the ops installed backends cannot run',
  usage: 'mx inspect <model.onnx> [--json]',
  async run(args) {
    const { o, pos } = options('mx inspect', args, [], [], ['--json']);
    if (pos.length !== 1) throw new UsageError('mx inspect: give one model file');
    const onnx = await import('./onnx/index.js'); // loaded on demand: protobuf decoding is not needed by other commands
    const info = onnx.parse(pos[0]!);
    const hist = new Map<string, number>();
    for (const n of onnx.allNodes(info.graph)) {
      const k = n.domain ? `${n.domain}:${n.opType}` : n.opType;
      hist.set(k, (hist.get(k) ?? 0) + 1);
    }
    let weights = 0;
    let weightBytes = 0;
    for (const t of info.graph.initializers.values()) weights++, (weightBytes += t.data.byteLength);
    // what each op lacks: a declaration in the op table, or a kernel in every installed backend
    const kernels = new Set<string>();
    const available = backendRecords().filter((r) => r.status === 'available' && r.backend);
    for (const r of available) for (const k of r.backend!.kernels()) kernels.add(k.domain ? `${k.domain}:${k.op}` : k.op);
    const missing: Record<string, string> = {};
    for (const k of hist.keys()) {
      const [domain, op] = k.includes(':') ? [k.slice(0, k.lastIndexOf(':')), k.slice(k.lastIndexOf(':') + 1)] : ['', k];
      if (!onnx.isKnownOp(domain, op)) missing[k] = 'not in mx\'s op table';
      else if (!onnx.needsNoKernel(domain, op) && !kernels.has(k)) missing[k] = available.length ? `no kernel in ${available.map((r) => r.name).join(', ')}` : 'no backend installed';
    }
    const report = { file: pos[0], irVersion: info.irVersion, producer: info.producer, opsets: info.opsets, inputs: info.inputs, outputs: info.outputs, initializers: { count: weights, bytes: weightBytes }, ops: Object.fromEntries([...hist].sort((a, b) => b[1] - a[1])), unsupported: missing };
    if (o['--json']) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return Object.keys(missing).length ? 1 : 0;
    }
    const out = [`${pos[0]}`, `  ir version ${info.irVersion}${info.producer ? `, produced by ${info.producer}` : ''}`, `  opsets: ${Object.entries(info.opsets).map(([d, v]) => `${d} ${v}`).join(', ')}`];
    out.push(`  initializers: ${weights} (${bytes(weightBytes)})`, '', `inputs (${info.inputs.length})`, ...info.inputs.map(ioLine), '', `outputs (${info.outputs.length})`, ...info.outputs.map(ioLine));
    const nodes = [...hist.values()].reduce((a, b) => a + b, 0);
    out.push('', `ops (${hist.size} kinds, ${nodes} nodes)`);
    for (const [k, c] of report.ops ? Object.entries(report.ops) : []) out.push(`  ${String(c).padStart(6)}  ${k}${missing[k] ? `   <- ${missing[k]}` : ''}`);
    out.push('', Object.keys(missing).length ? `cannot run here: ${Object.keys(missing).join(', ')}` : `every op has a kernel in: ${available.map((r) => r.name).join(', ') || '(no backend installed)'}`);
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};

/** A deterministic pseudo-random source (xorshift), so that `random` inputs repeat across runs. */
function rng(seed = 0x2545f491): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Uniform [0, 1) for floats, 0..9 for integers, 0/1 for bools. */
function randomFeed(dtype: DType, shape: readonly number[], next: () => number): { data: TypedArray; dims: readonly number[]; dtype: DType } {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new (DTYPES[dtype].array as unknown as new (n: number) => TypedArray)(n);
  for (let i = 0; i < n; i++) writeNumber(dtype, data, i, isFloat(dtype) ? next() : dtype === 'bool' ? next() < 0.5 : Math.floor(next() * 10));
  return { data, dims: shape, dtype };
}

async function summary(t: Tensor): Promise<string> {
  const a = await t.data();
  const n = t.size;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let nan = 0;
  for (let i = 0; i < n; i++) {
    const v = readNumber(t.dtype, a, i);
    if (Number.isNaN(v)) nan++;
    else {
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
  }
  const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6));
  if (n === 0) return 'empty';
  return `min ${f(min)}  max ${f(max)}  mean ${f(sum / Math.max(1, n - nan))}${nan ? `  NaN ${nan}` : ''}`;
}

function bar(i: number, n: number, ms: number): string {
  const w = 30;
  const k = Math.round((i / n) * w);
  return `\r  [${'#'.repeat(k)}${'.'.repeat(w - k)}] ${i}/${n}  ${ms.toFixed(2)} ms`;
}

const runCmd: Command = {
  summary: 'run a model on random or given inputs and print output shapes and values; --bench N times it, --profile shows the time per op and per call shape',
  usage: 'mx run <model.onnx> [--backend cpu] [--device d] [--input name=file.npy|random]... [--shape name=1,3,224,224]... [--dim symbol=N]... [--bench N] [--profile]',
  async run(args) {
    const { o, pos } = options('mx run', args, ['--backend', '--device', '--bench'], ['--input', '--dim', '--shape'], ['--profile']);
    if (pos.length !== 1) throw new UsageError('mx run: give one model file');
    const pairs = (flag: string) =>
      Object.fromEntries((o[flag] ?? []).map((kv) => {
        const i = kv.indexOf('=');
        if (i <= 0) throw new UsageError(`mx run: ${flag} takes name=value, got '${kv}'`);
        return [kv.slice(0, i), kv.slice(i + 1)];
      }));
    const onnx = await import('./onnx/index.js');
    const { readNpy } = await import('./onnx/npy.js');
    const inputs = pairs('--input');
    const symbolic = pairs('--dim');
    const shapes = pairs('--shape');
    const bench = o['--bench'] ? Number(o['--bench'][0]) : 0;
    if (!Number.isInteger(bench) || bench < 0) throw new UsageError('mx run: --bench takes a count');
    const model = await onnx.load(pos[0]!, { ...(o['--device'] && { device: o['--device'][0]! }), ...(o['--backend'] && { backends: o['--backend'][0]!.split(',') }) });
    try {
      const next = rng();
      const feeds: Record<string, Onnx.Feed> = {};
      const known = new Set(model.inputs.map((i) => i.name));
      for (const k of Object.keys(inputs)) if (!known.has(k)) throw new UsageError(`mx run: the model has no input '${k}' (inputs: ${[...known].join(', ')})`);
      for (const inp of model.inputs) {
        const src = inputs[inp.name] ?? 'random';
        if (inp.kind !== 'tensor') throw new UsageError(`mx run: input '${inp.name}' is a ${inp.kind}; only tensor inputs can be given`);
        if (src !== 'random') {
          const h = readNpy(readFileSync(src), src);
          feeds[inp.name] = { data: h.data, dims: h.dims, dtype: h.dtype };
          continue;
        }
        // random inputs: --shape, else the declared dims with --dim values for symbols (1 where unknown)
        const shape = shapes[inp.name] !== undefined ? shapes[inp.name]!.split(/[,x]/).map(Number) : (inp.shape ?? []).map((d) => (typeof d === 'number' ? d : d !== null && symbolic[d] !== undefined ? Number(symbolic[d]) : 1));
        if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new UsageError(`mx run: bad shape for input '${inp.name}': [${shape.join(',')}]`);
        feeds[inp.name] = randomFeed(inp.dtype!, shape, next);
      }
      process.stdout.write(`${pos[0]} on ${model.device}\ninputs\n`);
      for (const inp of model.inputs) {
        const f = feeds[inp.name] as { dims: readonly number[]; dtype: DType };
        process.stdout.write(`  ${inp.name}  ${f.dtype}[${f.dims.join(',')}]  ${inputs[inp.name] ?? 'random'}\n`);
      }
      const t0 = performance.now();
      const outs = await model.runValues(feeds);
      const first = performance.now() - t0;
      process.stdout.write(`outputs (first run ${first.toFixed(2)} ms)\n`);
      for (const [name, v] of Object.entries(outs)) {
        if (v === null) process.stdout.write(`  ${name}  empty optional\n`);
        else if (Array.isArray(v)) process.stdout.write(`  ${name}  sequence of ${v.length}\n`);
        else process.stdout.write(`  ${name}  ${v.dtype}[${v.shape.join(',')}]  ${await summary(v)}\n`);
        dispose(v);
      }
      if (bench > 0) {
        const times: number[] = [];
        for (let i = 0; i < bench; i++) {
          const s = performance.now();
          const r = await model.runValues(feeds);
          times.push(performance.now() - s);
          for (const v of Object.values(r)) dispose(v);
          if (process.stderr.isTTY) process.stderr.write(bar(i + 1, bench, times[i]!));
        }
        if (process.stderr.isTTY) process.stderr.write('\n');
        times.sort((a, b) => a - b);
        const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
        process.stdout.write(`latency over ${bench} runs: min ${times[0]!.toFixed(3)} ms  median ${q(0.5).toFixed(3)} ms  p90 ${q(0.9).toFixed(3)} ms  mean ${(times.reduce((a, b) => a + b, 0) / bench).toFixed(3)} ms\n`);
      }
      if (o['--profile']) {
        // over several runs (--bench N of them, at most 50; else 10): one run's times swing on a shared machine
        const { profile } = await import('./profile.js');
        const runs = Math.min(50, bench || 10);
        const p = await profile(async () => {
          for (let i = 0; i < runs; i++) for (const v of Object.values(await model.runValues(feeds))) dispose(v);
        });
        process.stdout.write(`\nprofile of ${runs} runs (after the first)\n${p.toString(15, runs)}\n`);
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
};

function dispose(v: Onnx.Output): void {
  if (Array.isArray(v)) v.forEach(dispose);
  else v?.dispose();
}

const COMMANDS: Record<string, Command> = { doctor, run: runCmd, inspect };

function usage(): string {
  const cmds = Object.values(COMMANDS).map((c) => `  ${c.usage}\n      ${c.summary}`);
  return ['usage: mx <command> [options]', '', 'commands:', ...cmds, '', '  mx --help | --version'].join('\n') + '\n';
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...args] = argv;
  try {
    if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
      process.stdout.write(usage());
      return 0;
    }
    if (cmd === '--version' || cmd === '-v') {
      process.stdout.write(`${coreInfo().version}\n`);
      return 0;
    }
    const command = cmd !== undefined ? COMMANDS[cmd] : undefined;
    if (!command) throw new UsageError(cmd === undefined ? 'mx: missing command' : `mx: unknown command '${cmd}'`);
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(`usage: ${command.usage}\n  ${command.summary}\n`);
      return 0;
    }
    return await command.run(args);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n\n${usage()}`);
      return 2;
    }
    if (isMxError(e)) {
      process.stderr.write(`mx: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

// Run when executed (directly or through the npm bin link), not when imported.
function invokedDirectly(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (invokedDirectly()) process.exitCode = await main(process.argv.slice(2));
