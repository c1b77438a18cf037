/**
 * Loading: oneDNN and its runtime libraries come from the package's prebuilds/
 * directory, not from the system. Where the kernel library (or the oneDNN it
 * bundles) cannot load, the .node still loads, the backend is "unavailable" with
 * the dynamic loader's message as the reason (mx doctor's text too), and cpu
 * runs everything. Each case runs in a fresh process: the library is opened
 * once per process.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = pathToFileURL(join(root, 'dist', 'index.js')).href;

/** Runs an ES module snippet in a fresh node with `env` added; returns its JSON output. */
function child(code: string, env: Record<string, string>, cwd: string): any {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const probe = (from: string) => `
  const { loadBackend } = await import(${JSON.stringify(entry)});
  const b = loadBackend(${JSON.stringify(from)});
  process.stdout.write(JSON.stringify({ reason: b.init(), describe: b.describe?.(), kernels: b.kernels().length, devices: b.devices().length }));
`;

it('loads oneDNN, libgomp and libOpenCL from the libraries bundled next to the .node', () => {
  const code = `
    const { loadBackend } = await import(${JSON.stringify(entry)});
    const b = loadBackend();
    const reason = b.init();
    const maps = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8');
    const libs = [...new Set(maps.split('\\n').map((l) => l.split(/\\s+/)[5]).filter((p) => p && /dnnl|gomp|OpenCL|mx_onednn/.test(p)))];
    process.stdout.write(JSON.stringify({ reason, describe: b.describe(), libs }));
  `;
  const r = child(code, {}, root);
  expect(r.reason).toBeNull();
  expect(r.describe).toMatch(/^oneDNN \d+\.\d+\.\d+ .*ISA: /);
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  expect(r.libs.sort()).toEqual(['libOpenCL.so.1', 'libdnnl.so.2', 'libgomp.so.1', 'libmx_onednn.so'].map((l) => join(dir, l)).sort());
});

it('is unavailable with the loader message when MX_ONEDNN_LIB points at a missing library', () => {
  const missing = join(tmpdir(), 'mx-no-such-dir', 'libmx_onednn.so');
  const r = child(probe(root), { MX_ONEDNN_LIB: missing }, root);
  expect(r.reason).toContain(missing);
  expect(r.reason).toMatch(/cannot open shared object file/);
  expect(r.reason).toMatch(/fix: reinstall @mx\/backend-onednn/);
  expect(r.describe).toBe(r.reason);
  expect(r.kernels).toBe(0);
  expect(r.devices).toBe(0);
});

it('is unavailable when the bundled libraries were removed from the package', () => {
  const pkg = mkdtempSync(join(tmpdir(), 'mx-onednn-pkg-'));
  try {
    cpSync(join(root, 'prebuilds'), join(pkg, 'prebuilds'), { recursive: true });
    const dir = join(pkg, 'prebuilds', `${process.platform}-${process.arch}`);
    for (const lib of ['libmx_onednn.so', 'libdnnl.so.2']) rmSync(join(dir, lib));
    const r = child(probe(pkg), {}, root);
    expect(r.reason).toContain(join(dir, 'libmx_onednn.so'));
    expect(r.kernels).toBe(0);
  } finally {
    rmSync(pkg, { recursive: true, force: true });
  }
});

it('leaves cpu running every op when onednn is installed but cannot load', () => {
  const app = mkdtempSync(join(tmpdir(), 'mx-onednn-app-'));
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
  const code = `
    const mx = await import('@mx/core');
    await import('@mx/backend-cpu');
    await import(${JSON.stringify(entry)});
    const y = mx.conv(mx.ones([1, 2, 4, 4]), mx.ones([3, 2, 3, 3]), { pads: [1, 1, 1, 1] });
    const z = mx.add(y, 1);
    const rec = mx.backendRecords().find((r) => r.name === 'onednn');
    process.stdout.write(JSON.stringify({ data: Array.from(await z.data()).slice(0, 5), status: rec.status, reason: rec.reason }));
  `;
  try {
    const r = child(code, { MX_ONEDNN_LIB: '/nonexistent/libmx_onednn.so', MX_APP_ROOT: app }, root);
    expect(r.status).not.toBe('available');
    expect(r.reason).toMatch(/libmx_onednn\.so/);
    // corner of the padded 4x4 all-ones conv: 2 channels x 4 taps, plus 1; then an edge: 2 x 6 + 1
    expect(r.data).toEqual([9, 13, 13, 9, 13]);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});
