// The `mx` CLI as a child process: cli.ts and its imports are compiled to a temp
// package (no dependency on a prior build), then run inside fake apps.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_MAJOR } from '../src/protocol.js';
import { makeApp, removeTempDirs, tempDir } from './fixtures/discovery/apps.js';

const coreDir = dirname(dirname(fileURLToPath(import.meta.url)));
const coreVersion = (JSON.parse(readFileSync(join(coreDir, 'package.json'), 'utf8')) as { version: string }).version;
let cli = '';

beforeAll(() => {
  const out = tempDir('mx-core-cli-');
  copyFileSync(join(coreDir, 'package.json'), join(out, 'package.json'));
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [tsc, '--ignoreConfig', '--outDir', join(out, 'dist'), '--rootDir', join(coreDir, 'src'), '--module', 'nodenext', '--moduleResolution', 'nodenext',
      '--target', 'es2022', '--types', 'node', '--skipLibCheck', join(coreDir, 'src', 'cli.ts')],
    { cwd: coreDir, encoding: 'utf8' },
  );
  cli = join(out, 'dist', 'cli.js');
  // Type errors elsewhere in a tree under construction do not stop the emit; a missing file does.
  expect(spawnSync(process.execPath, [cli, '--version'], { encoding: 'utf8' }).status, r.stdout + r.stderr).toBe(0);
});

afterAll(removeTempDirs);

function mx(args: string[], cwd: string, env: Record<string, string> = {}, nodeArgs: string[] = []) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MX_')));
  const r = spawnSync(process.execPath, [...nodeArgs, cli, ...args], { cwd, encoding: 'utf8', env: { ...base, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const host = [{ id: 'cpu', memory: 'host', name: 'Fake host CPU' }];

function app() {
  return makeApp({
    backends: [
      {
        pkg: '@mx/backend-cpu', name: 'cpu', version: '0.4.2', priority: 100, devices: host,
        kernels: [
          { op: 'Add', key: 'float32' }, { op: 'Add', key: 'int32' }, { op: 'Cast', key: 'float32,int8' },
          { op: 'FusedGelu', key: 'float32', domain: 'com.acme' },
        ],
      },
      { pkg: '@mx/backend-cuda', name: 'cuda', priority: 500, initReason: 'no CUDA driver: libcuda.so.1: cannot open shared object file' },
      { pkg: 'mx-next', name: 'next', protocol: PROTOCOL_MAJOR + 1 },
      { pkg: 'mx-broken', name: 'broken', throwOnLoad: 'No native build was found for platform=linux arch=x64' },
      { pkg: 'local-npu', name: 'npu', dir: 'vendor/npu', devices: [{ id: 'npu:0', memory: 'npu', name: 'Fake NPU', totalBytes: 8 * 2 ** 30 }],
        kernels: Array.from({ length: 40 }, (_, i) => ({ op: 'MatMul', key: `t${i}` })) },
    ],
    deps: ['@mx/backend-cpu', '@mx/backend-cuda', 'mx-next', 'mx-broken'],
    mx: { backends: ['./vendor/npu'] },
  });
}

describe('mx doctor', () => {
  it('lists every backend with package, source, status and reason, the devices and the ops', () => {
    const a = app();
    const r = mx(['doctor'], join(a.root));
    expect(r.code, r.err).toBe(0);
    const out = r.out;
    expect(out).toContain(`@mx/core  ${coreVersion}`);
    expect(out).toContain(`${process.platform} ${process.arch}`);
    expect(out).toContain(process.version);
    expect(out).toContain(`app root  ${a.root}`);
    expect(out).toMatch(/cpu {2}@mx\/backend-cpu 0\.4\.2 {2}available/);
    expect(out).toContain(`dependency (${a.dirs['@mx/backend-cpu']})`);
    expect(out).toContain(`app-config (${a.dirs['local-npu']})`);
    expect(out).toMatch(/cuda {2}@mx\/backend-cuda 1\.0\.0 {2}unavailable/);
    expect(out).toContain('no CUDA driver: libcuda.so.1: cannot open shared object file');
    expect(out).toMatch(new RegExp(`next .*failed[\\s\\S]*protocol ${PROTOCOL_MAJOR + 1}.*protocol ${PROTOCOL_MAJOR}`));
    expect(out).toContain('No native build was found for platform=linux arch=x64');
    expect(out).toMatch(/Add: float32 int32\n/);
    expect(out).toMatch(/Cast: float32,int8\n/);
    expect(out).toContain('com.acme:FusedGelu: float32');
    expect(out).toMatch(/cpu +memory host {2}Fake host CPU {2}\[cpu\]/);
    expect(out).toMatch(/npu:0 +memory npu {2}8\.0 GiB {2}Fake NPU/);
    expect(out).toContain('default device: cpu');
    expect(out).not.toContain('Warning');
    expect(r.err).toBe('');
  });

  it('wraps long kernel lists without losing any', () => {
    const r = mx(['doctor'], app().root);
    const lines = r.out.split('\n');
    expect(Math.max(...lines.filter((l) => !l.includes('/')).map((l) => l.length))).toBeLessThanOrEqual(100);
    const start = lines.findIndex((l) => l.trimStart().startsWith('MatMul: '));
    const block = [lines[start]!.split('MatMul: ')[1]!];
    for (let i = start + 1; lines[i]!.startsWith('      ') && !lines[i]!.includes(':'); i++) block.push(lines[i]!);
    expect(block.length).toBeGreaterThan(1);
    expect(block.join(' ').trim().split(/\s+/)).toEqual(Array.from({ length: 40 }, (_, i) => `t${i}`));
  });

  it('--json prints the same facts as JSON', () => {
    const a = app();
    const r = mx(['doctor', '--json'], a.root);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.core.version).toBe(coreVersion);
    expect(j.node).toBe(process.version);
    expect(j.napi).toBe(process.versions.napi);
    expect(j.mode).toBe('auto');
    const by = Object.fromEntries(j.backends.map((b: { name: string }) => [b.name, b]));
    expect(by.cpu).toMatchObject({ package: '@mx/backend-cpu', version: '0.4.2', source: 'dependency', status: 'available', protocol: '1.0', devices: ['cpu'] });
    expect(by.cpu.ops).toEqual({ Add: ['float32', 'int32'], Cast: ['float32,int8'], 'com.acme:FusedGelu': ['float32'] });
    expect(by.cuda).toMatchObject({ status: 'unavailable', reason: 'no CUDA driver: libcuda.so.1: cannot open shared object file' });
    expect(by.next.status).toBe('failed');
    expect(by.broken.status).toBe('failed');
    expect(by.npu).toMatchObject({ source: 'app-config', status: 'available' });
    expect(j.devices.map((d: { id: string }) => d.id).sort()).toEqual(['cpu', 'npu:0']);
    expect(j.defaultDevice).toBe('cpu');
  });

  it('exits 1 and explains when a backend listed in MX_BACKENDS cannot run', () => {
    const a = app();
    const r = mx(['doctor'], a.root, { MX_BACKENDS: 'cuda,cpu' });
    expect(r.code).toBe(1);
    expect(r.out).toContain('mode      strict (MX_BACKENDS=cuda,cpu)');
    expect(r.out).toMatch(/problem: .*cuda.*no CUDA driver/);
    expect(r.out).toMatch(/npu .*not-loaded/);
    expect(r.out).toContain('not listed in MX_BACKENDS');
  });

  it('reports when nothing is installed, with the package to install', () => {
    const empty = makeApp({ backends: [] });
    const r = mx(['doctor'], empty.root);
    expect(r.code).toBe(1);
    expect(r.out).toContain('npm install @mx/backend-cpu');
  });
});

describe('mx', () => {
  it('--help and --version', () => {
    const cwd = makeApp({ backends: [] }).root;
    const h = mx(['--help'], cwd);
    expect(h.code).toBe(0);
    expect(h.out).toContain('usage: mx <command>');
    expect(h.out).toContain('mx doctor [--json]');
    const v = mx(['--version'], cwd);
    expect(v).toMatchObject({ code: 0, out: `${coreVersion}\n` });
  });

  it('an unknown command or option prints usage on stderr and exits 2', () => {
    const cwd = makeApp({ backends: [] }).root;
    for (const args of [['frobnicate'], [], ['doctor', '--jsn']]) {
      const r = mx(args, cwd);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toContain('usage: mx <command>');
    }
  });

  it('prints an MxError as message and hint, without a stack trace, and exits 1', () => {
    // Another copy of @mx/core already recorded in this process.
    const preload = `data:text/javascript,globalThis[Symbol.for('mx.core')]={version:'0.0.1',url:'file:///other/app/node_modules/@mx/core/dist/registry.js'}`;
    const r = mx(['doctor'], makeApp({ backends: [] }).root, {}, ['--import', preload]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('two copies of @mx/core');
    expect(r.err).toContain('/other/app/node_modules/@mx/core');
    expect(r.err).toContain('hint: ');
    expect(r.err).not.toMatch(/^\s+at /m);
  });
});
