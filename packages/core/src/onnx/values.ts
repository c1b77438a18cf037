/** Host tensors and user feeds to mx tensors, and back. */
import { DTYPES, dtypeOfArray, isDType, type DType, type TypedArray } from '../dtype.js';
import { MxError } from '../errors.js';
import { createTensor, device } from '../engine.js';
import { Tensor } from '../tensor.js';
import type { HostTensor } from './proto.js';

/** A tensor on `dev` holding a copy of the host tensor's bytes. */
export function hostToTensor(h: HostTensor, dev: string): Tensor {
  const src = new Uint8Array(h.data.buffer, h.data.byteOffset, h.data.byteLength);
  return createTensor(device(dev), h.dims, h.dtype, (bytes) => bytes.set(src)) as Tensor;
}

/** The tensor's elements on the host. */
export async function tensorToHost(t: Tensor): Promise<HostTensor> {
  return { dtype: t.dtype, dims: t.shape, data: await t.data() };
}

/** What `run()` accepts for a tensor input. */
export type TensorFeed = Tensor | { data: TypedArray; dims: readonly number[]; dtype?: DType } | TypedArray;

/**
 * A feed as a tensor on `dev`. `dtype`: the model's declared type, which also
 * says how to read 16-bit words (float16/bfloat16 in a Uint16Array) or bytes (bool).
 * `owned` tells whether the caller of this function must dispose the result.
 */
export function feedToTensor(f: unknown, dtype: DType | undefined, dev: string, where: string): { t: Tensor; owned: boolean } {
  if (f instanceof Tensor) {
    if (f.device === dev) return { t: f, owned: false };
    return { t: f.to(dev), owned: true };
  }
  let data: TypedArray;
  let dims: readonly number[];
  let dt: DType | undefined;
  if (ArrayBuffer.isView(f) && !(f instanceof DataView)) {
    data = f as TypedArray;
    dims = [data.length];
  } else if (f && typeof f === 'object' && ArrayBuffer.isView((f as { data?: unknown }).data)) {
    const o = f as { data: TypedArray; dims?: readonly number[]; shape?: readonly number[]; dtype?: string; type?: string };
    data = o.data;
    dims = o.dims ?? o.shape ?? [data.length];
    const named = o.dtype ?? o.type;
    if (named !== undefined) {
      if (!isDType(named)) throw new MxError('INVALID_ARGUMENT', `${where}: unknown dtype '${named}'`);
      dt = named;
    }
  } else {
    throw new MxError('INVALID_ARGUMENT', `${where}: expected a Tensor, a typed array, or { data: TypedArray, dims: number[] }, got ${f === null ? 'null' : typeof f}`);
  }
  dt ??= dtype ?? dtypeOfArray(data);
  const n = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new MxError('INVALID_ARGUMENT', `${where}: invalid dims [${dims.join(',')}]`);
  if (data.length !== n) throw new MxError('INVALID_ARGUMENT', `${where}: ${data.length} elements do not fill dims [${dims.join(',')}] (${n})`);
  const expected = DTYPES[dt].array as unknown as { new (): TypedArray; name: string };
  if (!(data instanceof expected))
    throw new MxError('INVALID_ARGUMENT', `${where}: a ${data.constructor.name} cannot hold ${dt} elements`, {
      hint: `pass a ${expected.name} (or an mx Tensor)`,
    });
  const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const t = createTensor(device(dev), dims, dt, (bytes) => bytes.set(src)) as Tensor;
  return { t, owned: true };
}
