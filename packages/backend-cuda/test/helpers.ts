import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'vitest';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const entry = pathToFileURL(join(root, 'dist', 'index.js')).href;

/** Runs an ES module snippet in a fresh node with `env` added; returns its JSON output. */
export function child(code: string, env: Record<string, string>, cwd = root): any {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** Why this machine cannot run the cuda backend (the backend's own reason), or null when it can. */
export function gpuReason(): string | null {
  return child(`const { backend } = await import(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(backend.init()));`, {});
}

// ---- stand-in library tests (cudnn-fake, cublaslt-fake)

/** The CUDA toolkit's include folder (nvcc's, CUDA_HOME's or /usr/local/cuda's), or undefined. */
export function cudaInclude(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' }).stdout.trim();
  const homes = [process.env.CUDA_HOME, which && dirname(dirname(realpathSync(which))), '/usr/local/cuda'];
  return homes.filter(Boolean).map((h) => join(h!, 'include')).find((d) => existsSync(join(d, 'cuda_runtime.h')));
}

/** mx's dtype codes (mx_backend.h) the harnesses take. */
export const MX_DTYPE = { float32: 1, float16: 10, float64: 11, bfloat16: 16 } as const;

/** Runs a compiler (or any command) and fails the test with its stderr when it fails. */
export function compile(args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

/** Builds test/<harness>.cc with native/src/<source> into exe (CUDA headers from include). */
export function buildHarness(harness: string, source: string, include: string, exe: string): void {
  const core = join(dirname(createRequire(import.meta.url).resolve('@mx/core/package.json')), 'include');
  compile(['c++', '-std=c++17', '-O1', '-Wall', '-Werror', `-I${core}`, `-I${include}`, `-I${join(root, 'native', 'src')}`,
    join(root, 'test', harness), join(root, 'native', 'src', source), '-o', exe, '-ldl']);
}

/** Runs a harness with `env` over the process's (MX_CUDA_ALLOW_TF32 removed unless env sets it); its output lines. */
export function runHarness(exe: string, args: string[], env: Record<string, string>) {
  const e: Record<string, string | undefined> = { ...process.env };
  delete e.MX_CUDA_ALLOW_TF32;
  Object.assign(e, env);
  const r = spawnSync(exe, args, { env: e, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return { lines, stderr: r.stderr, bind: lines[0], calls: lines.filter((l) => l.startsWith('call ')), count: (p: string) => lines.filter((l) => l.startsWith(p)).length };
}
