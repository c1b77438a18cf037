/**
 * @mx/backend-onednn: oneDNN primitives for the cpu device (conv, matmul, pooling,
 * normalization, softmax, activations) on core's host memory. It serves 'cpu'
 * with a higher priority than @mx/backend-cpu, which runs every op this backend
 * does not declare, on the same queue, with no copies. Importing the package
 * registers the backend with @mx/core.
 *
 * @example
 *   import '@mx/backend-cpu';
 *   import '@mx/backend-onednn';
 *   import * as mx from '@mx/core';
 *   const y = mx.conv(mx.ones([1, 3, 8, 8]), mx.ones([4, 3, 3, 3])); // runs on onednn
 *   const z = mx.add(y, 1);                                           // runs on cpu
 */
import { registerBackend, type Backend, type ClaimQuery } from '@mx/core';
import { loadNativeBackend } from '@mx/core/bridge';

/**
 * Loads the binary for this platform from `root` (default: this package) with
 * node-gyp-build; when that fails the result is an unavailable backend whose
 * init() says what was tried, why it failed and the fix.
 * @example
 *   const onednn = loadBackend();
 *   onednn.init(); // null when it can run here
 */
export function loadBackend(root?: string): Backend {
  return loadNativeBackend(import.meta.url, root);
}

/**
 * Which Conv calls oneDNN takes (Backend.claims; the rest go to the next backend
 * that declares Conv, @mx/backend-cpu). From `pnpm --filter @mx/backend-onednn
 * bench` (both backends interleaved in one process; AMD EPYC, AVX-512, 2 threads,
 * 2026-11-28), cpu time / oneDNN time:
 * - below ~16M multiply-adds oneDNN's per-call cost (activation reorders to and
 *   from its blocked layout) dominates: 1x1 96->24 at 28x28 0.82-0.88, depthwise
 *   3x3 32ch at 112x112 0.73; ppocrv4_det (mostly such convs) ran 1.9x slower
 *   with every Conv on oneDNN;
 * - 3x3 stride-1 convs with at least 16 channels each way and 36 output tiles of
 *   4x4 run faster through cpu's Winograd F(4x4,3x3): 64->64 at 56x56 0.70-0.80;
 * - strided and large-kernel convs and single-output-channel ones run faster on
 *   oneDNN: 7x7/2 stem 1.19, 3x3/2 128->128 1.27, 3x3 96->1 at 160x160 1.8-1.9;
 *   large 1x1 convs are even (256->64 at 56x56: 0.63-1.04).
 */
export function claimsConv(q: ClaimQuery): boolean {
  const [x, w] = q.inputs;
  if (!x || !w || x.shape.length < 3) return true;
  const spatial = x.shape.slice(2);
  const k = w.shape.slice(2);
  const strides = (q.attrs.strides as number[] | undefined) ?? spatial.map(() => 1);
  const dilations = (q.attrs.dilations as number[] | undefined) ?? spatial.map(() => 1);
  const group = (q.attrs.group as number | undefined) ?? 1;
  const out = spatial.reduce((a, d, i) => a * Math.max(1, Math.ceil(d / (strides[i] ?? 1))), 1);
  const macs = x.shape[0]! * w.shape[0]! * w.shape[1]! * k.reduce((a, b) => a * b, 1) * out;
  if (macs < 16e6) return false;
  const winograd =
    spatial.length === 2 && group === 1 && k[0] === 3 && k[1] === 3 &&
    strides.every((s) => s === 1) && dilations.every((d) => d === 1) &&
    x.shape[1]! >= 16 && w.shape[0]! >= 16 && Math.ceil(spatial[0]! / 4) * Math.ceil(spatial[1]! / 4) >= 36;
  return !winograd;
}

export const backend: Backend = loadBackend();
/**
 * Other ops: oneDNN's activations and pools beat cpu's on large tensors (same
 * bench: Sigmoid 64x80x80 1.44, GlobalAveragePool 64x80x80 1.51) but its per-call
 * cost loses on small ones (Sigmoid 16x40x40 0.86): below 64K input elements the
 * call goes to cpu.
 */
const SMALL = 1 << 16;
backend.claims = (q) => {
  if (q.op === 'Conv') return claimsConv(q);
  const x = q.inputs[0];
  return !x || x.shape.reduce((a, b) => a * b, 1) >= SMALL;
};
export default backend;

registerBackend(backend, import.meta.url);
