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
 * that declares Conv, @mx/backend-cpu). Measured per layer with mx.profile on
 * resnet50-light, densenet121-light and ppocrv4_det, each model loaded with
 * backends ['cpu'] and ['onednn', 'cpu'] (AMD EPYC, AVX-512, 2 threads,
 * 2026-11-28), oneDNN time / cpu time per call:
 * - output planes of 56x56 and more without a Winograd shape: oneDNN ahead,
 *   1x1 convs 0.87-0.97 (256->128, 192->128 at 56x56), 7x7/2 stems 0.76-0.98;
 * - smaller planes: cpu ahead (its transposed GEMM for planes <= 256 positions),
 *   1x1 convs at 28x28 1.1-1.45, at 14x14 1.4-1.9; 3x3 at 14x14 1.9 (cpu keeps the
 *   constant filters' Winograd transform);
 * - 3x3 stride-1 convs with at least 16 channels each way run faster through cpu's
 *   Winograd F(4x4,3x3) from 16 tiles of 4x4 on (the model's filters are constants);
 * - below ~16M multiply-adds oneDNN's per-call cost (activation reorders to and
 *   from its blocked layout) dominates (ppocrv4_det ran 1.9x slower with every
 *   Conv on oneDNN);
 * - single-output-channel convs: oneDNN 1.8-1.9x faster (3x3 96->1 at 160x160).
 * Conv on cpu also fuses a following residual Add and Relu (FusedConv), which a
 * Conv on oneDNN leaves as separate kernels.
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
  if (w.shape[0] === 1) return true;
  const winograd =
    spatial.length === 2 && group === 1 && k[0] === 3 && k[1] === 3 &&
    strides.every((s) => s === 1) && dilations.every((d) => d === 1) &&
    x.shape[1]! >= 16 && w.shape[0]! >= 16 && Math.ceil(spatial[0]! / 4) * Math.ceil(spatial[1]! / 4) >= 16;
  return !winograd && out >= 56 * 56;
}

/**
 * 1x1, stride 1, no pads: oneDNN runs these as a GEMM in the plain layout, where
 * FusedConv's residual and activation take a pass over Y after it (oneDNN 2.6's
 * post-ops there are slower still); with a residual Z that pass costs more than
 * the GEMM gains (1x1 64->256 at 56x56 with Z: 0.84 ms, cpu 0.67), so such calls
 * go to cpu.
 */
function pointwise(q: ClaimQuery): boolean {
  const w = q.inputs[1];
  const pads = (q.attrs.pads as number[] | undefined) ?? [];
  const strides = (q.attrs.strides as number[] | undefined) ?? [];
  return !!w && w.shape.slice(2).every((k) => k === 1) && pads.every((p) => p === 0) && strides.every((s) => s === 1);
}

export const backend: Backend = loadBackend();
/**
 * Other ops: oneDNN's activations and pools beat cpu's on large tensors
 * (`pnpm --filter @mx/backend-onednn bench`, cpu time / oneDNN time: Sigmoid
 * 64x80x80 1.44, GlobalAveragePool 64x80x80 1.51) but its per-call cost loses on
 * smaller ones (Sigmoid 16x40x40 0.86; in ppocrv4_det GlobalAveragePool 96x24x40
 * 0.75 and ConvTranspose 24x48x80 0.49): below 256K input elements the call goes
 * to cpu.
 */
const SMALL = 1 << 18;
/**
 * Windowed pools: cpu's (rows, then columns) ahead at every size measured: MaxPool
 * 3x3/2 over 64x112x112 oneDNN 2.4x slower, AveragePool 2x2/2 over 128x56x56 3x.
 */
const CPU_FASTER = new Set(['MaxPool', 'AveragePool']);
backend.claims = (q) => {
  if (q.op === 'Conv') return claimsConv(q);
  if (q.op === 'FusedConv') return claimsConv(q) && !(q.inputs[3] && pointwise(q));
  if (CPU_FASTER.has(q.op)) return false;
  const x = q.inputs[0];
  return !x || x.shape.reduce((a, b) => a * b, 1) >= SMALL;
};
export default backend;

registerBackend(backend, import.meta.url);
