/** The arena's placement (onnx/arena.ts): no overlap of buffers alive together, reuse, plane affinity. */
import { describe, expect, it } from 'vitest';
import { placeArena, type ArenaBuffer } from '../src/onnx/arena.js';

const buf = (life: [number, number], bytes: number, plane: number): ArenaBuffer => ({ life, bytes, plane });

describe('placeArena', () => {
  it('never overlaps buffers whose lives overlap, and keeps every buffer inside the total (random plans)', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let trial = 0; trial < 300; trial++) {
      const bufs: ArenaBuffer[] = [];
      const n = 1 + rnd(40);
      for (let i = 0; i < n; i++) {
        const d = rnd(30);
        bufs.push(buf([d, d + rnd(8)], 64 * (1 + rnd(50)), [4, 9, 16, -1][rnd(4)]!));
      }
      const { offsets, total } = placeArena(bufs);
      let sumAlive = 0;
      for (let s = 0; s < 40; s++) sumAlive = Math.max(sumAlive, bufs.reduce((a, b) => a + (b.life[0] <= s && s <= b.life[1] ? b.bytes : 0), 0));
      expect(total).toBeGreaterThanOrEqual(sumAlive);
      expect(total).toBeLessThanOrEqual(bufs.reduce((a, b) => a + b.bytes, 0));
      bufs.forEach((a, i) => {
        expect(offsets[i]! % 64).toBe(0);
        expect(offsets[i]! + a.bytes).toBeLessThanOrEqual(total);
        bufs.forEach((b, j) => {
          if (j <= i || a.life[0] > b.life[1] || b.life[0] > a.life[1]) return;
          const apart = offsets[i]! + a.bytes <= offsets[j]! || offsets[j]! + b.bytes <= offsets[i]!;
          if (!apart) throw new Error(`trial ${trial}: buffers ${i} and ${j} overlap`);
        });
      });
    }
  });

  it('reuses freed bytes, taking those last used by a buffer of the same plane over lower ones', () => {
    // a (plane 1) and b (plane 2) end at step 1; c (plane 2) is defined at 2: b's bytes, not a's lower ones
    const { offsets, total } = placeArena([buf([0, 1], 1024, 1), buf([0, 1], 1024, 2), buf([2, 3], 1024, 2)]);
    expect(offsets[0]).not.toBe(offsets[1]);
    expect(offsets[2]).toBe(offsets[1]);
    expect(total).toBe(2048);
    // without a block of its plane: the lowest freed block that holds it
    const other = placeArena([buf([0, 1], 1024, 1), buf([0, 1], 1024, 2), buf([2, 3], 1024, 3)]);
    expect(other.offsets[2]).toBe(Math.min(other.offsets[0]!, other.offsets[1]!));
  });

  it('grows from a freed block at the end instead of leaving it, and from the end when nothing fits', () => {
    const grown = placeArena([buf([0, 0], 1024, 4), buf([1, 1], 4096, 4)]);
    expect(grown.offsets).toEqual([0, 0]);
    expect(grown.total).toBe(4096);
    // a freed 1024 block below a live buffer is too small for 2048: the new one goes past the live one
    const past = placeArena([buf([0, 0], 1024, 4), buf([0, 5], 1024, 4), buf([1, 2], 2048, 4)]);
    expect(past.offsets[2]).toBe(2048);
    expect(past.total).toBe(4096);
  });
});
