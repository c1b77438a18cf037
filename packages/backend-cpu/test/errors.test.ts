/**
 * Bad input reaching native kernels never crashes the process: core's validation
 * rejects wrong calls before they reach C++, and a kernel that finds bad data
 * (an out-of-range Gather index) reports an MxError at the next await.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type * as MX from '@mx/core';

const app = mkdtempSync(join(tmpdir(), 'mx-cpu-err-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;
let mx: typeof MX;
beforeAll(async () => {
  mx = await import('@mx/core');
  const { backend } = await import('../src/index.js');
  mx.use(backend);
});

it('rejects wrong shapes, dtypes and attributes before any kernel runs', () => {
  const a = mx.tensor([[1, 2, 3]]);
  expect(() => mx.matmul(a, a)).toThrow(/MatMul/);
  expect(() => mx.add(a, mx.tensor([1, 2], { dtype: 'int32' }))).toThrow(/int32/);
  expect(() => mx.conv(mx.zeros([1, 3, 8, 8]), mx.zeros([4, 2, 3, 3]))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', op: 'Conv' }));
  expect(() => mx.softmax(a, { axis: 5 })).toThrow(/axis/);
});

it('reports a kernel failure with the full native message and keeps running', async () => {
  const data = mx.tensor([[1, 2], [3, 4]]);
  const idx = mx.tensor([0, 7], { dtype: 'int64' });
  const y = mx.gather(data, idx, { axis: 0 });
  const err = await y.data().then(
    () => null,
    (e: unknown) => e as MX.MxError,
  );
  expect(err).toBeInstanceOf(mx.MxError);
  expect(err!.op).toBe('Gather');
  expect(err!.backend).toBe('cpu');
  expect(err!.message).toMatch(/index 7/);
  // the queue and the process keep working
  expect(Array.from(await mx.add(data, 1).data())).toEqual([2, 3, 4, 5]);
});

it('MX_ENGINE=sync mode throws at the call site', () => {
  mx.configure({ engine: 'sync' });
  try {
    const data = mx.tensor([1, 2]);
    expect(() => mx.gather(data, mx.tensor([5], { dtype: 'int64' }))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', op: 'Gather' }));
  } finally {
    mx.configure({ engine: 'async' });
  }
});

it('await leaves the event loop free during a large MatMul', async () => {
  const x = mx.ones([512, 512]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const t0 = Date.now();
  let y = mx.matmul(x, x);
  for (let i = 0; i < 8; i++) y = mx.matmul(y, x).mul(1 / 512);
  await y.data();
  clearInterval(timer);
  const ms = Date.now() - t0;
  // The timer must fire while the queue works (not only once at the end).
  if (ms > 20) expect(ticks).toBeGreaterThan(2);
});
