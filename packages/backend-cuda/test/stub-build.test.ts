/**
 * Without a CUDA toolkit the build still produces an installable package: a stub
 * .node that loads and reports the backend unavailable, saying it was built
 * without CUDA and how to fix it. Builds a copy of the package (inside it, so
 * that the workspace's node-gyp and @mx/core resolve) with CUDA_HOME pointing
 * at a directory without nvcc.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { root } from './helpers.js';

const copy = mkdtempSync(join(root, '.stub-build-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

it('builds a stub that loads and says it was built without CUDA', () => {
  for (const part of ['package.json', 'scripts', 'native/binding.gyp', 'native/src']) cpSync(join(root, part), join(copy, part), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  const build = spawnSync(process.execPath, [join(copy, 'scripts', 'build.mjs')], {
    cwd: copy,
    env: { ...process.env, CUDA_HOME: join(copy, 'no-cuda-here') },
    encoding: 'utf8',
  });
  expect(build.status, build.stderr).toBe(0);
  expect(build.stderr).toContain(`nvcc was not found (CUDA_HOME=${join(copy, 'no-cuda-here')}): building a stub`);
  const probe = spawnSync(
    process.execPath,
    ['-e', `const a = require('node-gyp-build')(${JSON.stringify(copy)}); process.stdout.write(JSON.stringify({ reason: a.init(), name: a.info().name }));`],
    { cwd: root, encoding: 'utf8' },
  );
  expect(probe.status, probe.stderr).toBe(0);
  const r = JSON.parse(probe.stdout);
  expect(r.name).toBe('cuda');
  expect(r.reason).toMatch(/^this copy of @mx\/backend-cuda was built without CUDA .*; fix: /);
}, 300_000);
