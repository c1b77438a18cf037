// Registry policy with JS backend objects (no packages on disk: the app root is an empty dir).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isMxError, type MxError } from '../src/errors.js';
import { PROTOCOL_MAJOR, type Backend } from '../src/protocol.js';
import {
  backendRecords,
  backendsForDevice,
  defaultDevice,
  devices,
  registerBackend,
  registryVersion,
  resetRegistry,
  selection,
  strictMode,
  use,
} from '../src/registry.js';
import { removeTempDirs, tempDir } from './fixtures/discovery/apps.js';

const ENV_KEYS = ['MX_BACKENDS', 'MX_APP_ROOT', 'MX_STRICT'] as const;
let savedEnv: Record<string, string | undefined>;

beforeEach(() => {
  savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  const empty = tempDir('mx-empty-');
  writeFileSync(join(empty, 'package.json'), '{"name":"empty"}');
  process.env.MX_APP_ROOT = empty;
  resetRegistry();
});
afterEach(() => {
  for (const k of ENV_KEYS) savedEnv[k] === undefined ? delete process.env[k] : (process.env[k] = savedEnv[k]);
  vi.restoreAllMocks();
  resetRegistry();
});
afterAll(removeTempDirs);

function fake(name: string, o: Partial<Backend> & { device?: string; initResult?: () => string | null } = {}): Backend {
  return {
    name,
    version: '0.0.1',
    protocol: { major: PROTOCOL_MAJOR, minor: 0 },
    priority: 10,
    init: o.initResult ?? (() => null),
    devices: () => [{ id: o.device ?? 'cpu', memory: 'host' }],
    kernels: () => [{ op: 'Add', key: 'float32' }],
    run() {},
    ...o,
  };
}

function thrown(f: () => unknown): MxError {
  try {
    f();
  } catch (e) {
    if (isMxError(e)) return e;
    throw e;
  }
  throw new Error('expected an MxError');
}

const record = (name: string) => backendRecords().find((r) => r.name === name && r.status !== 'failed') ?? backendRecords().find((r) => r.name === name);

describe('registry', () => {
  it('orders backends serving a device by priority and picks the default device from the best one', () => {
    const low = fake('low', { priority: 10 });
    const high = fake('high', { priority: 500, devices: () => [{ id: 'acc:0', memory: 'acc' }, { id: 'cpu', memory: 'host' }] });
    registerBackend(low);
    registerBackend(high);
    expect(backendsForDevice('cpu')).toEqual([high, low]);
    expect(backendsForDevice('acc:0')).toEqual([high]);
    expect(backendsForDevice('nope')).toEqual([]);
    expect(defaultDevice()).toBe('acc:0');
    expect(devices().map((d) => d.id)).toEqual(['acc:0', 'cpu']);
    expect(record('low')).toMatchObject({ status: 'available', source: 'register', priority: 10 });
  });

  it('calls init() once, only when the backend is selected', () => {
    const init = vi.fn(() => null);
    registerBackend(fake('a', { init }));
    expect(init).not.toHaveBeenCalled();
    defaultDevice();
    backendsForDevice('cpu');
    expect(init).toHaveBeenCalledTimes(1);
  });

  it('refuses a backend of another protocol major, naming both majors', () => {
    registerBackend(fake('future', { protocol: { major: PROTOCOL_MAJOR + 1, minor: 0 } }));
    registerBackend(fake('ok'));
    const r = record('future')!;
    expect(r.status).toBe('failed');
    expect(r.reason).toContain(`protocol ${PROTOCOL_MAJOR + 1}`);
    expect(r.reason).toContain(`protocol ${PROTOCOL_MAJOR}`);
    expect(r.reason).toMatch(/upgrade @mx\/core/);
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    expect(backendsForDevice('cpu').map((b) => b.name)).toEqual(['ok']);
  });

  it('init() returning a reason makes it unavailable; a throw makes it failed', () => {
    registerBackend(fake('nodriver', { initResult: () => 'no driver: libfoo.so.1: cannot open shared object file' }));
    registerBackend(fake('broken', { initResult: () => { throw new Error('segfault avoided'); } }));
    expect(record('nodriver')).toMatchObject({ status: 'unavailable', reason: 'no driver: libfoo.so.1: cannot open shared object file' });
    expect(record('broken')!.status).toBe('failed');
    expect(record('broken')!.reason).toContain('segfault avoided');
  });

  it('warns once per unusable backend in auto mode and keeps the others', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    registerBackend(fake('gpu', { priority: 900, device: 'gpu:0', initResult: () => 'no device found' }));
    registerBackend(fake('host'));
    expect(defaultDevice()).toBe('cpu');
    backendsForDevice('cpu');
    devices();
    expect(warn).toHaveBeenCalledTimes(1);
    const [msg, opts] = warn.mock.calls[0]!;
    expect(String(msg)).toContain('gpu');
    expect(String(msg)).toContain('no device found');
    expect(opts).toMatchObject({ code: 'MX_BACKEND_UNAVAILABLE' });
  });

  it('keeps the first of two backends with one name and records the second as a failed duplicate', () => {
    const first = fake('twin', { priority: 1 });
    const second = fake('twin', { priority: 99 });
    registerBackend(first);
    registerBackend(second);
    registerBackend(first); // the same object again is not a duplicate
    const twins = backendRecords().filter((r) => r.name === 'twin');
    expect(twins.map((r) => r.status)).toEqual(['available', 'failed']);
    expect(twins[1]!.reason).toMatch(/^duplicate/);
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    expect(backendsForDevice('cpu')).toEqual([first]);
  });

  it('registryVersion changes when the available set changes', () => {
    registerBackend(fake('one'));
    const v1 = registryVersion();
    expect(registryVersion()).toBe(v1);
    registerBackend(fake('two'));
    const v2 = registryVersion();
    expect(v2).not.toBe(v1);
    registerBackend(fake('three', { initResult: () => 'nope' }));
    expect(registryVersion()).toBe(v2);
  });

  it('throws BACKEND_UNAVAILABLE with an install hint when nothing is available', () => {
    registerBackend(fake('x', { initResult: () => 'missing libx' }));
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const e = thrown(() => defaultDevice());
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toContain('missing libx');
    expect(e.hint).toContain('npm install @mx/backend-cpu');
    expect(selection().error?.code).toBe('BACKEND_UNAVAILABLE');
  });

  it('use() prefers the named backends over priority and is strict', () => {
    const a = fake('a', { priority: 1 });
    const b = fake('b', { priority: 100 });
    registerBackend(a);
    registerBackend(b);
    expect(backendsForDevice('cpu')).toEqual([b, a]);
    expect(strictMode()).toBe(false);
    const v = registryVersion();
    use('a');
    expect(strictMode()).toBe(true);
    expect(registryVersion()).not.toBe(v);
    expect(backendsForDevice('cpu')).toEqual([a, b]);
  });

  it('use() of a backend object registers it; one that cannot run throws naming it and the reason', () => {
    const mine = fake('mine', { device: 'mine:0' });
    use(mine);
    expect(record('mine')).toMatchObject({ source: 'use', status: 'available' });
    expect(defaultDevice()).toBe('mine:0');
    const e = thrown(() => use(fake('sick', { initResult: () => 'the sick reason' })));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.backend).toBe('sick');
    expect(e.message).toContain('sick');
    expect(e.message).toContain('the sick reason');
  });

  it('a failed use() can be followed by another choice', () => {
    const host = fake('host');
    try {
      use(fake('gpu', { device: 'gpu:0', initResult: () => 'no device' }));
    } catch {
      use(host);
    }
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    expect(defaultDevice()).toBe('cpu');
    expect(backendsForDevice('cpu')).toEqual([host]);
  });

  it('a backend listed in MX_BACKENDS that cannot run makes every query throw', () => {
    process.env.MX_BACKENDS = 'sick,ok';
    resetRegistry();
    registerBackend(fake('sick', { initResult: () => 'the sick reason' }));
    registerBackend(fake('ok'));
    expect(backendRecords().map((r) => r.status)).toEqual(['unavailable', 'available']);
    for (const q of [() => defaultDevice(), () => backendsForDevice('cpu'), () => devices()]) {
      const e = thrown(q);
      expect(e.code).toBe('BACKEND_UNAVAILABLE');
      expect(e.message).toContain('the sick reason');
    }
  });

  it('use() of a backend object of another protocol throws PROTOCOL', () => {
    const e = thrown(() => use(fake('old', { protocol: { major: PROTOCOL_MAJOR - 1, minor: 3 } })));
    expect(e.code).toBe('PROTOCOL');
    expect(e.hint).toMatch(/upgrade/);
  });

  it('use() of a name nothing provides throws with the package to install', () => {
    const e = thrown(() => use('nosuchaccel'));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toContain('@mx/backend-nosuchaccel or nosuchaccel is not installed');
    expect(e.hint).toBe('npm install @mx/backend-nosuchaccel');
  });

  it('strictMode follows MX_STRICT and MX_BACKENDS', () => {
    expect(strictMode()).toBe(false);
    process.env.MX_STRICT = '1';
    expect(strictMode()).toBe(true);
    delete process.env.MX_STRICT;
    process.env.MX_BACKENDS = 'cpu';
    expect(strictMode()).toBe(true);
  });

  it('MX_BACKENDS restricts to the listed backends, in the listed order', () => {
    process.env.MX_BACKENDS = 'slow,other';
    resetRegistry();
    const fast = fake('fast', { priority: 1000 });
    const slow = fake('slow', { priority: 1 });
    const init = vi.fn(() => null);
    registerBackend(fast);
    registerBackend(slow);
    registerBackend(fake('other', { priority: 500, init }));
    expect(backendsForDevice('cpu').map((b) => b.name)).toEqual(['slow', 'other']);
    expect(record('fast')).toMatchObject({ status: 'not-loaded' });
    expect(record('fast')!.reason).toContain('MX_BACKENDS');
    expect(init).toHaveBeenCalledTimes(1);
  });

  it('resetRegistry forgets registered backends', () => {
    registerBackend(fake('gone'));
    expect(backendRecords().map((r) => r.name)).toContain('gone');
    resetRegistry();
    expect(backendRecords().map((r) => r.name)).not.toContain('gone');
  });
});

describe('two copies of @mx/core', () => {
  it('a second copy throws DUPLICATE_CORE naming both locations on every call', async () => {
    const key = Symbol.for('mx.core');
    const g = globalThis as unknown as Record<symbol, unknown>;
    const saved = g[key];
    g[key] = { version: '0.0.9', url: 'file:///elsewhere/node_modules/@mx/core/dist/registry.js' };
    try {
      vi.resetModules();
      const copy = await import('../src/registry.js');
      for (const call of [() => copy.backendRecords(), () => copy.defaultDevice(), () => copy.registerBackend(fake('z')), () => copy.use('cpu')]) {
        const e = thrown(call);
        expect(e.code).toBe('DUPLICATE_CORE');
        expect(e.message).toContain('/elsewhere/node_modules/@mx/core');
        expect(e.message).toContain('registry.ts');
        expect(e.hint).toMatch(/dedupe/);
      }
    } finally {
      g[key] = saved;
      vi.resetModules();
    }
  });

  it('re-evaluating the same copy is not a duplicate', async () => {
    vi.resetModules();
    const again = await import('../src/registry.js');
    expect(() => again.backendRecords()).not.toThrow();
  });
});
