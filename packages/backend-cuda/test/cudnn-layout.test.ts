/**
 * How Conv shapes map onto cuDNN's legacy descriptors (native/src/cudnn_layout.h),
 * checked without a GPU or cuDNN through test/cudnn-layout.cc: packed NCHW/NCDHW
 * tensors, 1-D convolutions as 2-D ones over a height of 1, groups, dilations,
 * and asymmetric pads accepted only where cuDNN's symmetric padding gives Y's
 * size. Every refused shape runs the backend's own kernel.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { root } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mx-cudnn-layout-'));
const exe = join(dir, 'cudnn-layout');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  const cc = spawnSync('c++', ['-std=c++17', '-O1', '-Wall', '-Werror', join(root, 'test', 'cudnn-layout.cc'), '-o', exe], { encoding: 'utf8' });
  expect(cc.status, cc.stderr).toBe(0);
});

type Case = { x: number[]; w: number[]; y: number[]; strides?: number[]; dilations?: number[]; pads?: number[]; group?: number };
function layout(...cases: Case[]) {
  const input = cases
    .map((c) => [c.x.length, ...c.x, ...c.w, ...c.y, ...[c.strides, c.dilations, c.pads].flatMap((a = []) => [a.length, ...a]), c.group ?? 1].join(' '))
    .join('\n');
  const r = spawnSync(exe, [], { input, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
}

it('maps 2-D and 3-D convolutions onto packed tensors with their pads, strides and dilations', () => {
  const [stem, conv3d] = layout(
    { x: [1, 3, 224, 224], w: [64, 3, 7, 7], y: [1, 64, 112, 112], strides: [2, 2], pads: [3, 3, 3, 3] },
    { x: [2, 2, 5, 6, 7], w: [3, 2, 3, 3, 3], y: [2, 3, 1, 2, 3], dilations: [2, 2, 2] },
  );
  expect(stem).toEqual({
    nb: 4, x: [1, 3, 224, 224], xs: [150528, 50176, 224, 1], y: [1, 64, 112, 112], ys: [802816, 12544, 112, 1], w: [64, 3, 7, 7],
    pad: [3, 3], stride: [2, 2], dil: [1, 1], group: 1,
  });
  expect(conv3d).toEqual({
    nb: 5, x: [2, 2, 5, 6, 7], xs: [420, 210, 42, 7, 1], y: [2, 3, 1, 2, 3], ys: [18, 6, 6, 3, 1], w: [3, 2, 3, 3, 3],
    pad: [0, 0, 0], stride: [1, 1, 1], dil: [2, 2, 2], group: 1,
  });
});

it('gives a 1-D convolution a height of 1, and passes groups (depthwise too)', () => {
  const [conv1d, depthwise] = layout(
    { x: [2, 4, 10], w: [6, 2, 3], y: [2, 6, 5], strides: [2], dilations: [2], pads: [2, 1], group: 2 },
    { x: [1, 8, 9, 9], w: [8, 1, 3, 3], y: [1, 8, 9, 9], pads: [1, 1, 1, 1], group: 8 },
  );
  expect(conv1d).toEqual({
    nb: 4, x: [2, 4, 1, 10], xs: [40, 10, 10, 1], y: [2, 6, 1, 5], ys: [30, 5, 5, 1], w: [6, 2, 1, 3],
    pad: [0, 2], stride: [1, 2], dil: [1, 2], group: 2,
  });
  expect(depthwise).toMatchObject({ w: [8, 1, 3, 3], pad: [1, 1], group: 8 });
});

it('accepts asymmetric pads only where padding both ends by the begin pad gives the same output', () => {
  const same = { x: [1, 8, 224, 224], w: [8, 8, 3, 3], y: [1, 8, 112, 112], strides: [2, 2] };
  const [lower, upper, harmless] = layout(
    { ...same, pads: [1, 1, 0, 0] }, // SAME_LOWER: the extra pad at the start
    { ...same, pads: [0, 0, 1, 1] }, // SAME_UPPER: at the end; cuDNN would give 111
    { x: [1, 1, 225], w: [1, 1, 3], y: [1, 1, 113], strides: [2], pads: [1, 2] }, // the extra end pad adds no output
  );
  expect(lower).toMatchObject({ pad: [1, 1], stride: [2, 2] });
  expect(upper.why).toMatch(/asymmetric pads/);
  expect(harmless).toMatchObject({ pad: [0, 1], stride: [1, 2] });
});

it('refuses what the legacy API cannot index or express', () => {
  const refused = layout(
    { x: [1, 65536, 256, 256], w: [1, 65536, 1, 1], y: [1, 1, 256, 256] }, // 2^32 elements in X
    { x: [0, 3, 8, 8], w: [4, 3, 3, 3], y: [0, 4, 6, 6] },
    { x: [1, 1, 4, 4, 4, 4], w: [1, 1, 1, 1, 1, 1], y: [1, 1, 4, 4, 4, 4] }, // 4 spatial dims
    { x: [1, 6, 8, 8], w: [4, 3, 3, 3], y: [1, 4, 6, 6], group: 3 }, // 4 output channels in 3 groups
  );
  expect(refused.map((r) => r.why)).toEqual([
    'a tensor beyond 2^31 elements',
    'an empty tensor',
    'not 1 to 3 spatial dims',
    'channels and groups do not match',
  ]);
});
