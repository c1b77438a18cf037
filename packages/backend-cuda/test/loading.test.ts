/**
 * The package loads on every Linux x64 machine. Where no driver or GPU is usable
 * the backend is unavailable with the CUDA runtime's own error and the fix, `mx
 * doctor` shows that reason, and the other backends keep working; where a GPU is
 * usable it serves cuda:N with its own memory and describes the runtime, driver,
 * GPUs and libraries. Each case runs in a fresh process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { child, entry, gpuReason, root } from './helpers.js';

const reason = gpuReason();
console.log(reason === null ? 'cuda backend: a GPU is usable here' : `cuda backend unavailable here: ${reason}`);

const app = mkdtempSync(join(tmpdir(), 'mx-cuda-app-'));
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, dependencies: { '@mx/backend-cuda': '*', '@mx/backend-cpu': '*' } }));
mkdirSync(join(app, 'node_modules', '@mx'), { recursive: true });
const core = realpathSync(join(root, 'node_modules', '@mx', 'core'));
symlinkSync(root, join(app, 'node_modules', '@mx', 'backend-cuda'));
symlinkSync(core, join(app, 'node_modules', '@mx', 'core'));
symlinkSync(realpathSync(join(root, 'node_modules', '@mx', 'backend-cpu')), join(app, 'node_modules', '@mx', 'backend-cpu'));
afterAll(() => rmSync(app, { recursive: true, force: true }));

it('loads, and either serves cuda devices or says why not with the fix', () => {
  const r = child(
    `const { loadBackend } = await import(${JSON.stringify(entry)});
     const b = loadBackend();
     const reason = b.init();
     process.stdout.write(JSON.stringify({ reason, describe: b.describe(), devices: b.devices(), kernels: b.kernels().length }));`,
    {},
  );
  expect(r.reason).toBe(reason);
  if (r.reason === null) {
    expect(r.devices.length).toBeGreaterThan(0);
    r.devices.forEach((d: { id: string; memory: string }, i: number) => expect(d).toMatchObject({ id: `cuda:${i}`, memory: `cuda:${i}` }));
    expect(r.describe).toMatch(/^CUDA runtime \d+\.\d+ \(static\), driver \d+\.\d+; GPUs: cuda:0 .*\(sm_\d+, \d+ bytes/);
    expect(r.describe).toMatch(/cuBLAS.*; cuBLASLt.*; cuDNN.*; TF32 off/);
    expect(r.kernels).toBeGreaterThan(100);
  } else {
    // The runtime's error name, code and text, and what to do about it.
    expect(r.reason).toMatch(/cudaGetDeviceCount failed with cuda\w+ \(\d+\): .+; CUDA runtime 13\.\d+ \(static\)|no GPU|built without CUDA/);
    expect(r.reason).toMatch(/fix: |driver/);
    expect(r.describe).toBe(r.reason);
    expect(r.devices).toEqual([]);
    expect(r.kernels).toBe(0);
  }
});

it('mx doctor reports the cuda backend: its reason, or its devices and libraries', () => {
  const cli = join(core, 'dist', 'cli.js');
  const out = spawnSync(process.execPath, [cli, 'doctor', '--json'], { cwd: app, env: { ...process.env, MX_APP_ROOT: app }, encoding: 'utf8' });
  expect(out.status, out.stderr).toBe(0);
  const report = JSON.parse(out.stdout);
  const cuda = report.backends.find((b: { name: string }) => b.name === 'cuda');
  expect(cuda).toMatchObject({ package: '@mx/backend-cuda', priority: 500 });
  if (reason === null) {
    expect(cuda.status).toBe('available');
    expect(cuda.details).toMatch(/GPUs: cuda:0/);
    expect(cuda.ops.MatMul).toContain('float16');
  } else {
    expect(cuda.status).not.toBe('available');
    expect(cuda.reason).toContain(reason);
  }
  expect(report.backends.find((b: { name: string }) => b.name === 'cpu').status).toBe('available');
});

it('leaves cpu running ops when cuda is installed but unavailable, and refuses it when asked for by name', () => {
  if (reason === null) return console.log('skipped: a GPU is usable here, so cuda is not unavailable');
  const code = `
    const mx = await import('@mx/core');
    const y = mx.add(mx.matmul(mx.tensor([[1, 2], [3, 4]]), mx.tensor([[1, 0], [0, 1]])), 1);
    const rec = mx.backendRecords().find((r) => r.name === 'cuda');
    process.stdout.write(JSON.stringify({ data: Array.from(await y.data()), device: y.device, status: rec.status }));
  `;
  const r = child(code, { MX_APP_ROOT: app }, app);
  expect(r).toEqual({ data: [2, 3, 4, 5], device: 'cpu', status: expect.not.stringMatching(/^available$/) });
  const strict = spawnSync(process.execPath, ['--input-type=module', '-e', `const mx = await import('@mx/core'); mx.add(mx.tensor([1]), 1);`], {
    cwd: app,
    env: { ...process.env, MX_APP_ROOT: app, MX_BACKENDS: 'cuda,cpu' },
    encoding: 'utf8',
  });
  expect(strict.status).not.toBe(0);
  expect(strict.stderr).toContain(reason);
});

it('ships one binary for this platform, with no libcudart.so or libcuda.so dependency', () => {
  const node = join(root, 'prebuilds', `${process.platform}-${process.arch}`, '@mx+backend-cuda.node');
  const ldd = spawnSync('ldd', [node], { encoding: 'utf8' });
  expect(ldd.status).toBe(0);
  expect(ldd.stdout).not.toMatch(/libcudart|libcuda\.so|libcublas|libcudnn/);
  expect(dirname(node)).toMatch(/prebuilds/);
});
