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
 * Which Conv and FusedConv calls oneDNN takes (Backend.claims; the rest go to the
 * next backend that declares them, @mx/backend-cpu). Measured with mx.profile per
 * layer and with `pnpm bench` per model, each model loaded with backends ['cpu']
 * and ['onednn', 'cpu'] in one process (AMD EPYC, AVX-512, 2 threads, oneDNN
 * 2.6, 2026-11-28):
 * - float32: cpu's convolutions (Winograd with kept filter transforms, a
 *   transposed GEMM for small planes, a direct kernel for stems) are ahead on
 *   most layers of resnet50, densenet121 and ppocrv4_det; where oneDNN was
 *   ahead per layer (1x1 convs and 7x7/2 stems on 56x56 planes and larger:
 *   0.76-0.97 of cpu's time) the lead is gone once the call sits between cpu
 *   kernels: its OpenMP team wakes for it (the resnet50 stem 2.7 ms on oneDNN
 *   against 1.5 on cpu with only the two largest convs placed there; resnet50
 *   1.04x and densenet121 1.02x of cpu alone). So float32 convs stay on cpu,
 *   except
 * - single-output-channel ones from 16M multiply-adds: oneDNN 1.8-1.9x faster
 *   (3x3 96->1 at 160x160, cpu's GEMM has one row);
 * - bfloat16 (declared only where oneDNN runs it natively): cpu widens to float32.
 * On another machine the balance differs (more cores keep OpenMP's team busy);
 * `pnpm bench` shows it in its onednn column.
 */
export function claimsConv(q: ClaimQuery): boolean {
  const [x, w] = q.inputs;
  if (!x || !w || x.shape.length < 3) return true;
  if (x.dtype === 'bfloat16') return true;
  const spatial = x.shape.slice(2);
  const k = w.shape.slice(2);
  const strides = (q.attrs.strides as number[] | undefined) ?? spatial.map(() => 1);
  const out = spatial.reduce((a, d, i) => a * Math.max(1, Math.ceil(d / (strides[i] ?? 1))), 1);
  const macs = x.shape[0]! * w.shape[0]! * w.shape[1]! * k.reduce((a, b) => a * b, 1) * out;
  return w.shape[0] === 1 && macs >= 16e6;
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
  if (q.op === 'Conv' || q.op === 'FusedConv') return claimsConv(q);
  if (CPU_FASTER.has(q.op)) return false;
  const x = q.inputs[0];
  return !x || x.shape.reduce((a, b) => a * b, 1) >= SMALL;
};
export default backend;

registerBackend(backend, import.meta.url);
