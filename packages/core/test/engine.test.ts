import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as mx from '../src/index.js';
import { referenceBackend } from '../src/backends/reference.js';
import { resetRegistry } from '../src/registry.js';
import { fakeDevice, type FakeDevice } from './fake-device.js';
import { graph, modelBytes } from './onnx-build.js';

// An empty app: discovery finds nothing, the tests register their own backends.
const app = mkdtempSync(join(tmpdir(), 'mx-engine-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;
delete process.env.MX_BACKENDS;

let gpu: FakeDevice;
beforeEach(() => {
  resetRegistry();
  mx.registerBackend(referenceBackend());
  gpu = fakeDevice();
  mx.registerBackend(gpu);
});
afterEach(() => {
  mx.configure({ engine: 'async' });
  expect(gpu.violations).toEqual([]);
});

const dev = 'fake:0';

describe('tensors on the host backend', () => {
  it('creates tensors from nested arrays and typed arrays and reads them back', async () => {
    const a = mx.tensor([[1, 2], [3, 4]], { device: 'cpu' });
    expect(a.shape).toEqual([2, 2]);
    expect(a.dtype).toBe('float32');
    expect(a.device).toBe('cpu');
    expect(Array.from(await a.data())).toEqual([1, 2, 3, 4]);
    const b = mx.tensor(new Int32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3], device: 'cpu' });
    expect(b.dtype).toBe('int32');
    expect(b.arraySync()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const h = mx.tensor([1.5, -2], { dtype: 'float16', device: 'cpu' });
    expect(Array.from(h.dataSync())).toEqual([0x3e00, 0xc000]); // raw half words
    expect(await h.array()).toEqual([1.5, -2]);
    const i64 = mx.tensor([1n, -2n], { device: 'cpu' });
    expect(i64.dtype).toBe('int64');
    expect(i64.dataSync()).toEqual(new BigInt64Array([1n, -2n]));
    expect(mx.tensor(true, { device: 'cpu' }).shape).toEqual([]);
  });

  it('prints like NumPy', () => {
    expect(mx.tensor([[1, 2], [3, 4]], { device: 'cpu' }).toString()).toBe('[[1. 2.]\n [3. 4.]]');
    expect(mx.tensor([1.5, 2.25], { device: 'cpu' }).toString()).toBe('[1.5  2.25]');
    expect(mx.tensor([[1, 2]], { dtype: 'int32', device: 'cpu' }).toString()).toBe('[[1 2]]');
    expect(mx.tensor([true, false], { device: 'cpu' }).toString()).toBe('[ True False]');
    expect(mx.tensor(3, { device: 'cpu' }).toString()).toBe('3.');
    const big = mx.zeros([2000], { device: 'cpu' }).toString();
    expect(big).toBe('[0. 0. 0. ... 0. 0. 0.]');
  });

  it('rejects bad creation input with MxError', () => {
    expect(() => mx.tensor([[1, 2], [3]], { device: 'cpu' })).toThrow(/ragged/);
    expect(() => mx.tensor([1, 2, 3], { shape: [2, 2], device: 'cpu' })).toThrow(mx.MxError);
    expect(() => mx.tensor([1], { dtype: 'float8' as never, device: 'cpu' })).toThrow(/unknown dtype/);
    expect(() => mx.tensor([1], { device: 'nope:3' })).toThrow(/no available backend serves device 'nope:3'/);
  });
});

describe('op calls', () => {
  it('runs ops as functions and as methods, with broadcasting and JS scalars', () => {
    const a = mx.tensor([[1, 2, 3], [4, 5, 6]], { device: 'cpu' });
    const b = mx.tensor([10, 20, 30], { device: 'cpu' });
    expect(mx.add(a, b).arraySync()).toEqual([[11, 22, 33], [14, 25, 36]]);
    expect(a.mul(2).arraySync()).toEqual([[2, 4, 6], [8, 10, 12]]);
    expect(a.sub(b).relu().arraySync()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(mx.matmul(a, mx.tensor([[1], [1], [1]], { device: 'cpu' })).arraySync()).toEqual([[6], [15]]);
    expect(mx.reshape(a, [3, 2]).shape).toEqual([3, 2]);
    expect(mx.concat([a, a], { axis: 0 }).shape).toEqual([4, 3]);
  });

  it('names the op, shapes and dtypes in every wrong call', () => {
    const a = mx.tensor([[1, 2, 3], [4, 5, 6]], { device: 'cpu' });
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(mx.MxError);
        return e as mx.MxError;
      }
      throw new Error('did not throw');
    };
    const e1 = err(() => mx.add(a, mx.tensor([1, 2], { device: 'cpu' })));
    expect(e1.code).toBe('INVALID_ARGUMENT');
    expect(e1.op).toBe('Add');
    expect(e1.message).toMatch(/\[2,3\]/);
    expect(e1.message).toMatch(/float32\[2\]/);
    const e2 = err(() => mx.add(a, mx.tensor([1, 2, 3], { dtype: 'int32', device: 'cpu' })));
    expect(e2.message).toMatch(/int32/);
    expect(e2.message).toMatch(/float32/);
    const e3 = err(() => mx.concat([a, a], { axis: 0, bogus: 1 } as never));
    expect(e3.message).toMatch(/unknown attribute 'bogus'/);
    const e4 = err(() => mx.matmul(a, a));
    expect(e4.op).toBe('MatMul');
    const e5 = err(() => (mx.add as (...a: unknown[]) => unknown)(a));
    expect(e5.message).toMatch(/missing required input/);
  });

  it('refuses disposed tensors and tensors on another device', () => {
    const a = mx.tensor([1, 2], { device: 'cpu' });
    const g = mx.tensor([1, 2], { device: dev });
    expect(() => mx.add(a, g)).toThrow(expect.objectContaining({ code: 'DEVICE_MISMATCH' }));
    a.dispose();
    expect(() => mx.add(a, a)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => a.dataSync()).toThrow(/after dispose/);
    a.dispose(); // idempotent
  });

  it('reports an op no backend on the device implements', () => {
    resetRegistry();
    const only = fakeDevice('fake:0', { only: ['Add'] });
    mx.registerBackend(only);
    const g = mx.tensor([1, 2], { device: dev });
    expect(() => mx.relu(g)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', device: dev }));
    expect(mx.add(g, g).shape).toEqual([2]);
  });
});

describe('shape-dependent claims', () => {
  it('a backend that does not claim a call hands it to the next backend declaring the kernel', async () => {
    const ran: string[] = [];
    const hi = referenceBackend({ name: 'hi', priority: 50 });
    const run = hi.run.bind(hi);
    hi.run = (call) => (ran.push(`hi:${call.op}`), run(call));
    const seen: number[][] = [];
    hi.claims = (q) => (seen.push([...q.inputs[0]!.shape]), q.op !== 'Add' || q.inputs[0]!.shape[0]! <= 2);
    mx.registerBackend(hi);
    mx.use('hi', 'reference');
    const small = mx.tensor([1, 2], { device: 'cpu' });
    const big = mx.tensor([1, 2, 3], { device: 'cpu' });
    expect(Array.from(await mx.add(small, small).data())).toEqual([2, 4]);
    expect(Array.from(await mx.add(big, big).data())).toEqual([2, 4, 6]); // on reference
    expect(Array.from(await mx.mul(big, big).data())).toEqual([1, 4, 9]);
    expect(ran).toEqual(['hi:Add', 'hi:Mul']);
    expect(seen).toEqual([[2], [3], [3]]);
  });
});

describe("a model's backends (LoadOptions.backends)", () => {
  it('place every node on the listed backends only, preferred in the listed order, claims kept; other models are unaffected', async () => {
    const ran: string[] = [];
    const hi = referenceBackend({ name: 'hi', priority: 50 });
    const lo = referenceBackend({ name: 'lo', priority: 40 });
    for (const b of [hi, lo]) {
      const run = b.run.bind(b);
      b.run = (call) => (ran.push(`${b.name}:${call.op}`), run(call));
    }
    lo.claims = (q) => q.op !== 'Relu'; // lo leaves Relu to the next listed backend
    mx.registerBackend(hi);
    mx.registerBackend(lo);
    const bytes = modelBytes(
      graph({
        nodes: [
          { op: 'Add', inputs: ['x', 'x'], outputs: ['a'] },
          { op: 'Relu', inputs: ['a'], outputs: ['y'] },
        ],
        inputs: [['x', 'float32', [3]]],
        outputs: [['y', 'float32', [3]]],
      }),
    );
    const runOn = async (backends?: string[]) => {
      ran.length = 0;
      const m = await mx.onnx.load(bytes, { device: 'cpu', ...(backends && { backends }) });
      const { y } = await m.run({ x: { data: new Float32Array([1, -2, 3]), dims: [3] } });
      expect(Array.from(await y!.data())).toEqual([2, 0, 6]);
      y!.dispose();
      m.dispose();
      return [...ran];
    };
    expect(await runOn()).toEqual(['hi:Add', 'hi:Relu']); // priority order
    expect(await runOn(['lo', 'hi'])).toEqual(['lo:Add', 'hi:Relu']);
    expect(await runOn(['reference', 'hi'])).toEqual([]); // reference keeps no log
    expect(await runOn(['lo'])).toEqual(['lo:Add', 'lo:Relu']); // the only one listed runs what it does not claim
    expect(await runOn()).toEqual(['hi:Add', 'hi:Relu']);

    // eager ops: mx.withBackends scopes the ops called inside it
    ran.length = 0;
    const x = mx.tensor([1, -2, 3], { device: 'cpu' });
    const y = mx.withBackends(['lo', 'hi'], () => mx.relu(mx.add(x, x)));
    const z = mx.add(x, x);
    expect(Array.from(await y.data())).toEqual([2, 0, 6]);
    await z.data();
    expect(ran).toEqual(['lo:Add', 'hi:Relu', 'hi:Add']);
    expect(() => mx.withBackends(['nope'], () => mx.add(x, x))).toThrow(/none of the backends nope implements Add/);
  });
});

describe('the asynchronous device queue', () => {
  it('returns before the work is done and awaits without blocking', async () => {
    const a = mx.tensor([1, 2, 3], { device: dev });
    const y = a.add(a).mul(a).relu();
    expect(gpu.executed).toBe(0); // nothing ran yet: the queue is asynchronous
    expect(Array.from(await y.data())).toEqual([2, 8, 18]);
    expect(gpu.log).toEqual(['Add', 'Mul', 'Relu']); // in order
  });

  it('frees in queue order: disposing an input of pending work is safe', async () => {
    const a = mx.tensor([1, 2, 3], { device: dev });
    const b = mx.tensor([4, 5, 6], { device: dev });
    const c = mx.add(a, b);
    a.dispose();
    b.dispose();
    expect(gpu.liveHandles()).toBe(3); // a and b are still used by the queued Add
    expect(Array.from(await c.data())).toEqual([5, 7, 9]);
    await mx.sync();
    mx.add(c, c).dispose(); // retires finished work
    await mx.sync();
    c.dispose();
    mx.tensor([0], { device: dev }).dispose();
    await mx.sync();
    expect(gpu.liveHandles()).toBeLessThanOrEqual(1);
  });

  it('copies across devices in queue order', async () => {
    const h = mx.tensor([1, 2, 3], { device: 'cpu' });
    const g = h.to(dev).mul(10);
    const back = g.to('cpu').add(1);
    expect(Array.from(await back.data())).toEqual([11, 21, 31]);
    expect(back.device).toBe('cpu');
  });

  it('reports a kernel failure at the next await, or at the call with MX_ENGINE=sync', async () => {
    const a = mx.tensor([1, 2], { device: dev });
    gpu.failNext = 'boom: bad thing';
    const y = a.add(a);
    await expect(y.data()).rejects.toThrow(/boom: bad thing/);
    mx.configure({ engine: 'sync' });
    gpu.failNext = 'boom again';
    expect(() => a.add(a)).toThrow(expect.objectContaining({ code: 'KERNEL', op: 'Add', backend: 'fakegpu', device: dev }));
  });
});

describe('lifetime', () => {
  it('tidy disposes intermediates and keeps results', () => {
    const before = mx.memory().devices.cpu?.tensors ?? 0;
    const a = mx.tensor([1, 2], { device: 'cpu' });
    const y = mx.tidy(() => a.add(a).mul(a).relu());
    expect(mx.memory().devices.cpu!.tensors).toBe(before + 2); // a and y
    expect(y.arraySync()).toEqual([2, 8]);
    const kept = mx.tidy(() => {
      const k = mx.keep(a.add(1));
      a.mul(3);
      return { out: a.sub(1) };
    });
    expect(kept.out.arraySync()).toEqual([0, 1]);
    expect(mx.memory().devices.cpu!.tensors).toBe(before + 4);
  });

  it('`using` disposes at the end of the block', () => {
    const a = mx.tensor([1], { device: 'cpu' });
    let inner: mx.Tensor;
    {
      using t = a.add(1);
      inner = t;
      expect(inner.isDisposed).toBe(false);
    }
    expect(inner.isDisposed).toBe(true);
  });

  it('memory() counts tensors and bytes per device', () => {
    const m0 = mx.memory().devices[dev]?.bytes ?? 0;
    const g = mx.zeros([256], { device: dev });
    expect(mx.memory().devices[dev]!.bytes).toBe(m0 + 1024);
    g.dispose();
    expect(mx.memory().devices[dev]!.bytes).toBe(m0);
  });
});
