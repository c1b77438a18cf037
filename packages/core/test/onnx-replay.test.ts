/** Replaying a plan: what runs of one plan share, and that results stay right across runs. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import * as mx from '../src/index.js';
import { referenceBackend } from '../src/backends/reference.js';
import type { KernelCall } from '../src/protocol.js';
import { resetRegistry } from '../src/registry.js';
import { graph, modelBytes } from './onnx-build.js';

const app = mkdtempSync(join(tmpdir(), 'mx-replay-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;
delete process.env.MX_BACKENDS;

let calls: KernelCall[] = [];
beforeEach(() => {
  resetRegistry();
  const b = referenceBackend();
  const run = b.run.bind(b);
  b.run = (call: KernelCall) => {
    calls.push(call);
    run(call);
  };
  mx.registerBackend(b);
  calls = [];
});

describe('plan replay', () => {
  it('hands each node the same backend cache on every run and computes each run afresh', async () => {
    const g = graph({
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [1, 0] } },
        { op: 'Neg', inputs: ['t'], outputs: ['y'] },
      ],
      inputs: [['x', 'float32', [2, 3]]],
      outputs: [['y', 'float32', [3, 2]]],
    });
    const m = await mx.onnx.load(modelBytes(g));
    const runs: number[][] = [];
    for (let r = 0; r < 3; r++) {
      const x = Float32Array.from({ length: 6 }, (_, i) => i + 10 * r);
      const { y } = await m.run({ x: { data: x, dims: [2, 3] } });
      runs.push(Array.from(await y!.data(), Number));
      y!.dispose();
      // y[i][j] = -x[j][i]
      expect(runs[r]).toEqual([0, 3, 1, 4, 2, 5].map((k) => -x[k]!));
    }
    expect(calls.map((c) => c.op)).toEqual(['Transpose', 'Neg', 'Transpose', 'Neg', 'Transpose', 'Neg']);
    const caches = calls.map((c) => c.cache);
    for (const c of caches) expect(c).toBeTypeOf('object');
    // a node keeps its cache across runs; two nodes never share one
    expect(caches[2]).toBe(caches[0]);
    expect(caches[4]).toBe(caches[0]);
    expect(caches[3]).toBe(caches[1]);
    expect(caches[1]).not.toBe(caches[0]);
    m.dispose();
  });
});
