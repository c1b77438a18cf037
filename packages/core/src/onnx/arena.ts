/**
 * Offsets of a plan's arena buffers (see ProgramStep in executor.ts).
 *
 * Buffers are placed in the order they are defined, as an allocator would
 * give them out: each takes freed bytes, or the arena grows. Among freed bytes
 * that hold it (with the free blocks right after it, or the arena's growth
 * where they reach its end), a buffer prefers the smallest block whose last
 * occupant had the same plane (the product of the last two dims: H x W for NCHW), else
 * the lowest block that holds it. Why the plane: the kernels split a layer's
 * positions among the threads the same way from layer to layer (a thread's
 * share is the same part of every channel's plane), so a buffer that follows
 * one of the same plane has each thread write the cache lines it wrote
 * before. A buffer over another plane's bytes has half its lines written by
 * the other core before, and when the cores are far apart (a virtual
 * machine's CPUs on different dies) each costs a few hundred nanoseconds:
 * squeezenet with 2 threads, CPUs far apart, 6.92 -> 6.55 ms against the
 * placement by size that ignores the plane; with them close 4.26 -> 4.30 ms
 * (noise), for an arena of 4.7 MB instead of 3.9.
 */
export interface ArenaBuffer {
  /** First and last step that use it (both inclusive). */
  readonly life: readonly [number, number];
  /** Bytes, a multiple of the alignment. */
  readonly bytes: number;
  /** H x W of its shape, or -1 (below 3 dims): buffers that split alike. */
  readonly plane: number;
}

export function placeArena(buffers: readonly ArenaBuffer[]): { offsets: number[]; total: number } {
  type Block = { at: number; end: number; plane: number };
  const offsets = new Array<number>(buffers.length).fill(0);
  const byDef = buffers.map((_, i) => i).sort((a, b) => buffers[a]!.life[0] - buffers[b]!.life[0] || buffers[b]!.bytes - buffers[a]!.bytes || a - b);
  const byEnd = buffers.map((_, i) => i).sort((a, b) => buffers[a]!.life[1] - buffers[b]!.life[1] || a - b);
  const taken = new Map<number, Block>();
  let free: Block[] = []; // by address, adjacent blocks of one plane merged
  let total = 0;
  let e = 0;
  for (const i of byDef) {
    const { life, bytes: size, plane } = buffers[i]!;
    for (; e < byEnd.length && buffers[byEnd[e]!]!.life[1] < life[0]; e++) {
      const b = taken.get(byEnd[e]!);
      if (b) free.push(b), taken.delete(byEnd[e]!);
    }
    free.sort((x, y) => x.at - y.at);
    const merged: Block[] = [];
    for (const b of free) {
      const last = merged[merged.length - 1];
      if (last && last.end === b.at && last.plane === b.plane) last.end = b.end;
      else merged.push({ ...b });
    }
    free = merged;
    // the bytes free from block k's start on: through the adjacent blocks after
    // it, and without limit where they reach the arena's end (it grows)
    const room = (k: number): number => {
      let end = free[k]!.at;
      for (let j = k; j < free.length && free[j]!.at === end; j++) end = free[j]!.end;
      return end === total ? Infinity : end - free[k]!.at;
    };
    let pick = -1;
    for (let k = 0; k < free.length; k++) {
      const b = free[k]!;
      if (b.plane === plane && room(k) >= size && (pick < 0 || b.end - b.at < free[pick]!.end - free[pick]!.at)) pick = k;
    }
    if (pick < 0) pick = free.findIndex((_, k) => room(k) >= size);
    // at: a free block's start (or the end): the blocks it covers lie at or after it
    const at = pick < 0 ? total : free[pick]!.at;
    const rest: Block[] = [];
    for (const b of free) {
      if (b.end <= at || b.at >= at + size) rest.push(b);
      else if (b.end > at + size) rest.push({ at: at + size, end: b.end, plane: b.plane });
    }
    free = rest;
    taken.set(i, { at, end: at + size, plane });
    offsets[i] = at;
    total = Math.max(total, at + size);
  }
  return { offsets, total };
}
