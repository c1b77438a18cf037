/**
 * @mx/backend-onednn installed as a user would (npm, offline, no compiler): its
 * tarball carries the .node and the bundled oneDNN libraries, discovery finds it
 * beside cpu, a large Conv runs on onednn, a small one and Add on cpu, in one queue, with correct values.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { installed, node, placements } from './fixture.js';

const fx = inject('fixture');
const platform = `${process.platform}-${process.arch}`;

describe('@mx/backend-onednn as a user installs it', () => {
  it('ships the prebuilt binary and the bundled oneDNN libraries', () => {
    const files = fx.packed.onednn.files;
    expect(files).toContain(`prebuilds/${platform}/@mx+backend-onednn.node`);
    expect(files).toContain(`prebuilds/${platform}/libdnnl.so.2`);
  });

  it('serves the cpu device with cpu as the fallback, in one queue', () => {
    const dir = installed(fx.apps.onednn);
    writeFileSync(
      join(dir, 'onednn.mjs'),
      `import * as mx from '@mx/core';
const big = mx.conv(mx.ones([1, 256, 56, 56]), mx.ones([64, 256, 1, 1])).add(1); // 51M multiply-adds
const y = mx.conv(mx.ones([1, 2, 4, 4]), mx.ones([3, 2, 3, 3]), { pads: [1, 1, 1, 1] }); // small
const [b, v] = [await big.data(), await y.data()];
console.log(JSON.stringify({ big: b[0], center: v[5], corner: v[0], backends: mx.backendRecords().map((r) => [r.name, r.status]) }));
`,
    );
    const r = node(fx, dir, 'onednn.mjs', [], { MX_DEBUG_PLACEMENT: '1' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.big).toBe(257); // 256 channels of ones, + 1
    // 2 channels x 9 taps of ones inside, 2 x 4 taps at a corner
    expect(out.center).toBe(18);
    expect(out.corner).toBe(8);
    expect(out.backends).toEqual(expect.arrayContaining([['onednn', 'available'], ['cpu', 'available']]));
    const placed = placements(r.stderr);
    expect(r.stderr).toMatch(/mx placement: Conv\(float32\) on cpu -> onednn\n/);
    // the small conv: onednn does not claim it (Backend.claims), cpu runs it
    expect(placed['Conv(float32)']).toBe('cpu');
    expect(r.stderr).toMatch(/Conv\(float32\) on cpu -> cpu \(onednn does not claim this call\)/);
    expect(placed['Add(float32)']).toBe('cpu');
  });
});
