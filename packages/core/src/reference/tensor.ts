/**
 * Reference kernels of the data-movement ops. Each output element is read from
 * one input element (or is a constant); the attributes are those folded by the
 * shape rules in ../ops/tensor.ts (normalized axes, full-rank slice starts/steps,
 * full pads). The view ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity) have
 * no kernels.
 */
import type { RefKernel, RefTensor } from './types.js';
import { broadcastIndex, sizeOf, strides, unravel } from './util.js';

/** Copies x into an output of `outShape` where output axis a steps by step[a] input elements from `base`. */
function stridedCopy(x: RefTensor, outShape: readonly number[], base: number, step: readonly number[]): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, outShape);
    let src = base;
    for (let a = 0; a < idx.length; a++) src += idx[a]! * step[a]!;
    out[i] = x.data[src]!;
  }
  return out;
}

/** Products of the dims before and after `axis`. */
function around(shape: readonly number[], axis: number): [number, number] {
  return [sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis + 1))];
}

/**
 * Input index along one padded axis for output position o, or -1 for the
 * constant. Negative pads crop first; the modes read the kept elements
 * [lo, lo + n): reflect mirrors without repeating the edge (period 2(n-1)),
 * edge repeats it, wrap is periodic with period n.
 */
function padSource(o: number, d: number, begin: number, end: number, mode: string): number {
  const lo = Math.max(0, -begin);
  const n = d + Math.min(begin, 0) + Math.min(end, 0);
  const j = o - Math.max(begin, 0);
  if (j >= 0 && j < n) return lo + j;
  const mod = (v: number, m: number) => ((v % m) + m) % m;
  switch (mode) {
    case 'edge':
      return lo + Math.min(Math.max(j, 0), n - 1);
    case 'wrap':
      return lo + mod(j, n);
    case 'reflect': {
      if (n === 1) return lo;
      const p = mod(j, 2 * (n - 1));
      return lo + (p < n ? p : 2 * (n - 1) - p);
    }
    default:
      return -1;
  }
}

export const tensorRef: Record<string, RefKernel> = {
  Transpose: ([x], { perm }, [o]) => {
    const s = strides(x!.shape);
    return [stridedCopy(x!, o!.shape, 0, (perm as number[]).map((p) => s[p]!))];
  },

  Slice: ([x], attrs, [o]) => {
    const s = strides(x!.shape);
    const starts = attrs.starts as number[];
    const steps = attrs.steps as number[];
    const base = starts.reduce((acc, v, a) => acc + v * s[a]!, 0);
    return [stridedCopy(x!, o!.shape, base, steps.map((v, a) => v * s[a]!))];
  },

  Concat: (xs, { axis }, [o]) => {
    const a = axis as number;
    const [outer, inner] = around(o!.shape, a);
    const out = new Float64Array(sizeOf(o!.shape));
    let dst = 0;
    for (let i = 0; i < outer; i++)
      for (const x of xs) {
        const block = x!.shape[a]! * inner;
        for (let j = 0; j < block; j++) out[dst++] = x!.data[i * block + j]!;
      }
    return [out];
  },

  Split: ([x], { axis }, outs) => {
    const a = axis as number;
    const [outer, inner] = around(x!.shape, a);
    const row = x!.shape[a]! * inner;
    let offset = 0;
    return outs.map((o) => {
      const block = o.shape[a]! * inner;
      const out = new Float64Array(outer * block);
      for (let i = 0; i < outer; i++) for (let j = 0; j < block; j++) out[i * block + j] = x!.data[i * row + offset + j]!;
      offset += block;
      return out;
    });
  },

  Gather: ([x, indices], { axis }, [o]) => {
    const a = axis as number;
    const [outer, inner] = around(x!.shape, a);
    const d = x!.shape[a]!;
    const idx = indices!.data;
    const out = new Float64Array(sizeOf(o!.shape));
    for (let i = 0; i < outer; i++)
      for (let j = 0; j < idx.length; j++) {
        const k = idx[j]! < 0 ? idx[j]! + d : idx[j]!;
        if (!(k >= 0 && k < d)) throw new RangeError(`Gather: index ${idx[j]} is out of range for axis ${a} of size ${d}`);
        for (let m = 0; m < inner; m++) out[(i * idx.length + j) * inner + m] = x!.data[(i * d + k) * inner + m]!;
      }
    return [out];
  },

  Expand: ([x], _, [o]) => [Float64Array.from(broadcastIndex(o!.shape, x!.shape), (src) => x!.data[src]!)],

  Tile: ([x], _, [o]) => {
    const s = strides(x!.shape);
    const out = new Float64Array(sizeOf(o!.shape));
    for (let i = 0; i < out.length; i++) {
      const idx = unravel(i, o!.shape);
      out[i] = x!.data[idx.reduce((acc, v, a) => acc + (v % x!.shape[a]!) * s[a]!, 0)]!;
    }
    return [out];
  },

  Pad: ([x], attrs, [o]) => {
    const pads = attrs.pads as number[];
    const mode = attrs.mode as string;
    const r = x!.shape.length;
    const s = strides(x!.shape);
    // Per axis, the input index of every output position (-1: the constant).
    const maps = o!.shape.map((n, a) => Array.from({ length: n }, (_, i) => padSource(i, x!.shape[a]!, pads[a]!, pads[a + r]!, mode)));
    const out = new Float64Array(sizeOf(o!.shape));
    for (let i = 0; i < out.length; i++) {
      const idx = unravel(i, o!.shape);
      let src = 0;
      for (let a = 0; a < r && src >= 0; a++) {
        const k = maps[a]![idx[a]!]!;
        src = k < 0 ? -1 : src + k * s[a]!;
      }
      out[i] = src < 0 ? (attrs.value as number) : x!.data[src]!;
    }
    return [out];
  },

  Shape: ([x], { start, end }) => [x!.shape.slice(start as number, end as number)],

  ConstantOfShape: (_, { value }, [o]) => [new Float64Array(sizeOf(o!.shape)).fill(value as number)],

  Range: (_, { start, delta }, [o]) => [Float64Array.from({ length: o!.shape[0]! }, (_, i) => (start as number) + i * (delta as number))],
};
