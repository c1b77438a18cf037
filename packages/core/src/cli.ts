#!/usr/bin/env node
/**
 * The `mx` command line. Commands live in COMMANDS; adding one is adding an entry.
 * Exit codes: 0 success, 1 failure (an MxError prints its message and hint, no
 * stack), 2 usage error.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { appRoot } from './discovery.js';
import { isMxError } from './errors.js';
import type { DeviceInfo } from './protocol.js';
import { backendRecords, coreInfo, selection, strictMode } from './registry.js';

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

const COMMANDS: Record<string, Command> = { doctor };

function usage(): string {
  const cmds = Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(24)}${c.summary}`);
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
