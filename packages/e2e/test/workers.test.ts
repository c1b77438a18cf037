/**
 * worker_threads in installed apps: four workers and the main thread run ops at
 * the same time, each with its own @mx/core and its own instance of the native
 * addons, with correct results, and the process exits cleanly, also when a worker
 * is terminated with work queued or is still running at process.exit().
 */
import { describe, expect, inject, it } from 'vitest';
import { describeRun, installed, node } from './fixture.js';

const fx = inject('fixture');

function workers(dir: string, args: string[]) {
  const r = node(fx, dir, 'workers.mjs', args);
  expect(r.signal, describeRun('workers.mjs', r)).toBeNull();
  expect(r.status, describeRun('workers.mjs', r)).toBe(0);
  expect(r.stderr).not.toMatch(/Segmentation|Abort|FATAL|terminate called/);
  return JSON.parse(r.stdout) as { threads: { id: number; device: string; backends: string[]; iterations: number; mismatches: number }[]; terminated: number[]; running: number[] };
}

describe('worker threads', () => {
  it('four workers and the main thread run ops on cpu at once with correct results', () => {
    const out = workers(installed(fx.apps.npm), ['4']);
    expect(out.threads.map((t) => t.id).sort()).toEqual([0, 1, 2, 3, 4]);
    for (const t of out.threads) expect(t).toMatchObject({ device: 'cpu', backends: ['cpu'], iterations: 12, mismatches: 0 });
  });

  it('the process exits cleanly when a worker is terminated with work queued and another is still running', () => {
    for (let i = 0; i < 3; i++) {
      const out = workers(installed(fx.apps.npm), ['4', 'terminate']);
      expect(out.terminated).toEqual([2]);
      expect(out.running).toEqual([4]);
      for (const t of out.threads) expect(t.mismatches).toBe(0);
    }
  });

  it('two native backends on one device (toy and cpu, sharing its queue) work in four workers at once', () => {
    const out = workers(installed(fx.apps.thirdParty), ['4']);
    expect(out.threads).toHaveLength(5);
    for (const t of out.threads) expect(t).toMatchObject({ device: 'cpu', backends: expect.arrayContaining(['toy', 'cpu']), mismatches: 0 });
  });
});
