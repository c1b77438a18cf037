/**
 * @mx/backend-cuda installed as a user would (npm, offline, no compiler, no CUDA
 * toolkit): its tarball carries the one .node (CUDA runtime linked statically),
 * the app loads it, and where there is no GPU the backend is unavailable with the
 * CUDA runtime's reason while cpu runs the ops; with a GPU, MatMul runs on cuda:0.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { installed, node } from './fixture.js';

const fx = inject('fixture');
const platform = `${process.platform}-${process.arch}`;

describe('@mx/backend-cuda as a user installs it', () => {
  it('ships one prebuilt binary and no CUDA libraries', () => {
    const files = fx.packed.cuda.files;
    expect(files).toContain(`prebuilds/${platform}/@mx+backend-cuda.node`);
    expect(files.filter((f) => f.startsWith('prebuilds/'))).toEqual([`prebuilds/${platform}/@mx+backend-cuda.node`]);
  });

  it('loads, and either runs MatMul on cuda:0 or leaves the ops to cpu with the reason', () => {
    const dir = installed(fx.apps.cuda);
    writeFileSync(
      join(dir, 'cuda.mjs'),
      `import * as mx from '@mx/core';
const rec = () => mx.backendRecords().find((r) => r.name === 'cuda');
const a = mx.tensor([[1, 2], [3, 4]]);
const y = mx.matmul(a, a).add(1);
const out = { cpu: Array.from(await y.data()), status: rec().status, reason: rec().reason ?? null };
if (out.status === 'available') out.cuda = Array.from(await mx.matmul(a.to('cuda:0'), a.to('cuda:0')).data());
console.log(JSON.stringify(out));
`,
    );
    const r = node(fx, dir, 'cuda.mjs', [], {});
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.cpu).toEqual([8, 11, 16, 23]);
    if (out.status === 'available') expect(out.cuda).toEqual([7, 10, 15, 22]);
    else expect(out.reason).toMatch(/cudaGetDeviceCount failed|no GPU/);
  });
});
