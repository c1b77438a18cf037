import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
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
