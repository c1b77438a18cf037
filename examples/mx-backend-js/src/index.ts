/**
 * mx-backend-js: a whole mx backend in TypeScript, to show that the JS backend
 * protocol (Backend in @mx/core) is all a backend needs. It serves the host
 * device 'cpu' with float32 elementwise kernels; core does everything else
 * (validation, shapes, output allocation, queueing, lifetime).
 *
 * Priority 50 is below @mx/backend-cpu's 100: beside it, this backend runs
 * nothing that cpu implements; alone, it runs its kernels and any other op fails
 * with an UNSUPPORTED error naming the op.
 *
 * @example
 *   import * as mx from '@mx/core';            // with mx-backend-js as the app's only backend
 *   const y = mx.sigmoid(mx.tensor([0, 2]));
 *   console.log(await y.data());               // Float32Array [0.5, 0.8807...]
 */
import { createRequire } from 'node:module';
import { registerBackend, type Backend, type KernelCall, type KernelInfo, type KernelTensor } from '@mx/core';

const require = createRequire(import.meta.url);
const pkg = require('../package.json') as { version: string; mx: { backend: string; priority: number } };

const numel = (t: KernelTensor) => t.shape.reduce((a, b) => a * b, 1);

/** The elements of a host tensor: its storage is an ArrayBuffer, the tensor starts at byteOffset. */
const f32 = (t: KernelTensor) => new Float32Array(t.storage.data as ArrayBuffer, t.storage.byteOffset, numel(t));

/** Element strides of `input` aligned right against the output's dims; 0 where `input` is broadcast. */
function broadcastStrides(input: KernelTensor, out: KernelTensor): number[] {
  const strides = new Array<number>(out.shape.length);
  let step = 1;
  for (let d = out.shape.length - 1, k = input.shape.length - 1; d >= 0; d--, k--) {
    const dim = k >= 0 ? input.shape[k]! : 1;
    strides[d] = dim === 1 ? 0 : step;
    step *= dim;
  }
  return strides;
}

/** Y = f(A, B) with NumPy broadcasting: core allocated Y with the broadcast shape. */
function binary(f: (a: number, b: number) => number) {
  return (call: KernelCall) => {
    const [a, b] = call.inputs as KernelTensor[];
    const out = call.outputs[0]!;
    const [pa, pb, py] = [f32(a!), f32(b!), f32(out)];
    const [sa, sb] = [broadcastStrides(a!, out), broadcastStrides(b!, out)];
    const dims = out.shape;
    const idx = new Array<number>(dims.length).fill(0);
    let ia = 0;
    let ib = 0;
    for (let i = 0; i < py.length; i++) {
      py[i] = f(pa[ia]!, pb[ib]!);
      for (let d = dims.length - 1; d >= 0; d--) {
        ia += sa[d]!;
        ib += sb[d]!;
        if (++idx[d]! < dims[d]!) break;
        ia -= sa[d]! * dims[d]!;
        ib -= sb[d]! * dims[d]!;
        idx[d] = 0;
      }
    }
  };
}

function unary(f: (x: number) => number) {
  return (call: KernelCall) => {
    const x = f32(call.inputs[0]!);
    const y = f32(call.outputs[0]!);
    for (let i = 0; i < x.length; i++) y[i] = f(x[i]!);
  };
}

// Op name -> kernel; every one is float32 only, so the kernel key is 'float32'.
// Float32Array stores round each double result to float32, as the reference does.
const KERNELS: Record<string, (call: KernelCall) => void> = {
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b) => a / b),
  Neg: unary((x) => -x),
  Exp: unary(Math.exp),
  Relu: unary((x) => (x < 0 ? 0 : x)),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Tanh: unary(Math.tanh),
};
const kernels: KernelInfo[] = Object.keys(KERNELS).map((op) => ({ op, domain: '', key: 'float32' }));

export const backend: Backend = {
  name: pkg.mx.backend,
  version: pkg.version,
  // The protocol this code implements (not core's PROTOCOL_MAJOR: a core that
  // speaks another major must see the mismatch and refuse this backend).
  protocol: { major: 1, minor: 0 },
  priority: pkg.mx.priority,
  init: () => null, // runs wherever JavaScript runs
  devices: () => [{ id: 'cpu', memory: 'host', name: 'JavaScript kernels' }],
  kernels: () => kernels,
  // Core calls run() in queue order on the JS thread and only with a declared
  // (op, key): it runs to completion here, so there is no queue of our own.
  run: (call) => KERNELS[call.op]!(call),
};
export default backend;

registerBackend(backend, import.meta.url);
