// Discovery and selection against fake apps on disk (see fixtures/discovery/apps.ts).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { appRoot, discover, parseSpec } from '../src/discovery.js';
import { isMxError, type MxError } from '../src/errors.js';
import { PROTOCOL_MAJOR, type Backend } from '../src/protocol.js';
import { backendRecords, backendsForDevice, defaultDevice, registerBackend, resetRegistry, strictMode, use } from '../src/registry.js';
import { loads, makeApp, removeTempDirs, type FakeBackend } from './fixtures/discovery/apps.js';

const ENV_KEYS = ['MX_BACKENDS', 'MX_APP_ROOT', 'MX_STRICT'] as const;
let savedEnv: Record<string, string | undefined>;
let seq = 0;
/** Unique backend names: the fake modules count loads per name across the whole file. */
const uniq = (base: string) => `${base}${++seq}`;

beforeEach(() => {
  savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  resetRegistry();
});
afterEach(() => {
  for (const k of ENV_KEYS) savedEnv[k] === undefined ? delete process.env[k] : (process.env[k] = savedEnv[k]);
  delete (globalThis as { __mxRegister?: unknown }).__mxRegister;
  vi.restoreAllMocks();
  resetRegistry();
});
afterAll(removeTempDirs);

function inApp(backends: FakeBackend[], opts: { deps?: string[]; devDeps?: string[]; mx?: unknown; env?: string } = {}) {
  const app = makeApp({ backends, ...opts });
  process.env.MX_APP_ROOT = app.root;
  if (opts.env !== undefined) process.env.MX_BACKENDS = opts.env;
  resetRegistry();
  return app;
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

const rec = (name: string) => backendRecords().find((r) => r.name === name);
const quiet = () => vi.spyOn(process, 'emitWarning').mockImplementation(() => {});

describe('spec parsing and the app root', () => {
  it('maps short names, package names and paths', () => {
    expect(parseSpec('cpu', '/app')).toMatchObject({ name: 'cpu', packages: ['@mx/backend-cpu'] });
    expect(parseSpec('@acme/mx-npu', '/app')).toMatchObject({ packages: ['@acme/mx-npu'] });
    expect(parseSpec('mx-npu', '/app').name).toBeUndefined();
    expect(parseSpec('mx-npu', '/app', ['mx-npu'])).toMatchObject({ name: 'mx-npu' });
    expect(parseSpec('webgpu', '/app')).toMatchObject({ name: 'webgpu', packages: ['@mx/backend-webgpu', 'webgpu'] });
    expect(parseSpec('./local/be', '/app').dir).toBe(join('/app', 'local/be'));
    expect(parseSpec('/abs/be', '/app').dir).toBe('/abs/be');
  });

  it('finds the nearest package.json above the cwd unless MX_APP_ROOT says otherwise', () => {
    const app = makeApp({ backends: [] });
    const deep = join(app.root, 'src', 'lib');
    mkdirSync(deep, { recursive: true });
    expect(appRoot({}, deep)).toBe(app.root);
    expect(appRoot({ MX_APP_ROOT: '/somewhere' }, deep)).toBe('/somewhere');
  });
});

describe('discovery', () => {
  it('finds backends among declared dependencies from package.json alone, running no code', () => {
    const a = uniq('dep');
    const b = uniq('devdep');
    const app = makeApp({
      backends: [
        { pkg: `@acme/backend-${a}`, name: a, version: '2.3.4', priority: 200 },
        { pkg: `mx-${b}`, name: b },
        { pkg: 'undeclared-backend', name: uniq('undeclared') },
      ],
      deps: [`@acme/backend-${a}`, 'not-installed-optional'],
      devDeps: [`mx-${b}`],
    });
    const d = discover({ MX_APP_ROOT: app.root });
    expect(d.root).toBe(app.root);
    expect(d.envSpecs).toBeNull();
    expect(d.dependencies.map((c) => c.name).sort()).toEqual([a, b].sort());
    expect(d.dependencies.find((c) => c.name === a)).toMatchObject({
      packageName: `@acme/backend-${a}`,
      version: '2.3.4',
      source: 'dependency',
      from: app.dirs[`@acme/backend-${a}`],
      entry: join(app.dirs[`@acme/backend-${a}`]!, 'dist', 'index.js'),
      priority: 200,
      protocol: 1,
    });
    expect(loads(a) + loads(b)).toBe(0);
  });

  it('loads discovered dependencies when selected and uses them by priority', () => {
    const lo = uniq('lo');
    const hi = uniq('hi');
    inApp([
      { pkg: `mx-${lo}`, name: lo, priority: 10, devices: [{ id: 'cpu', memory: 'host' }] },
      { pkg: `mx-${hi}`, name: hi, priority: 90, devices: [{ id: 'cpu', memory: 'host' }] },
    ]);
    expect(backendsForDevice('cpu').map((b) => b.name)).toEqual([hi, lo]);
    expect(rec(lo)).toMatchObject({ source: 'dependency', status: 'available', packageName: `mx-${lo}`, version: '1.0.0', protocol: { major: 1, minor: 0 } });
    expect(loads(lo)).toBe(1);
    expect(strictMode()).toBe(false);
  });

  it('resolves a short name to @mx/backend-<name>', () => {
    inApp([{ pkg: '@mx/backend-cpu', name: 'cpu', priority: 100, devices: [{ id: 'cpu', memory: 'host' }] }], { deps: [], env: 'cpu' });
    expect(defaultDevice()).toBe('cpu');
    expect(rec('cpu')).toMatchObject({ source: 'env', packageName: '@mx/backend-cpu' });
  });

  it('MX_BACKENDS picks and orders backends, leaves the others unloaded', () => {
    const [x, y, z] = [uniq('x'), uniq('y'), uniq('z')];
    const app = inApp(
      [
        { pkg: `mx-${x}`, name: x, priority: 1, devices: [{ id: 'cpu', memory: 'host' }] },
        { pkg: `mx-${y}`, name: y, priority: 2, devices: [{ id: 'cpu', memory: 'host' }] },
        { pkg: `mx-${z}`, name: z, priority: 3, devices: [{ id: 'cpu', memory: 'host' }] },
        { pkg: 'local-backend', name: uniq('local'), dir: 'vendor/local-backend', devices: [{ id: 'loc:0', memory: 'loc' }] },
      ],
      { deps: [`mx-${x}`, `mx-${y}`, `mx-${z}`] },
    );
    process.env.MX_BACKENDS = ` ${x}, ./vendor/local-backend ,mx-${y}`;
    resetRegistry();
    expect(strictMode()).toBe(true);
    expect(backendsForDevice('cpu').map((b) => b.name)).toEqual([x, y]);
    expect(defaultDevice()).toBe('cpu');
    const local = backendRecords().find((r) => r.from === app.dirs['local-backend']);
    expect(local).toMatchObject({ source: 'env', status: 'available' });
    expect(rec(z)).toMatchObject({ status: 'not-loaded', source: 'dependency' });
    expect(rec(x)!.source).toBe('env');
    expect(loads(z)).toBe(0);
  });

  it('MX_BACKENDS is strict: a listed backend that cannot run is an error with its reason', () => {
    const gpu = uniq('gpu');
    inApp(
      [
        { pkg: `mx-${gpu}`, name: gpu, initReason: 'no GPU driver: libgpu.so.1: cannot open shared object file' },
        { pkg: 'mx-host', name: uniq('host'), devices: [{ id: 'cpu', memory: 'host' }] },
      ],
      { env: `${gpu},mx-host` },
    );
    // listing it is no error by itself
    expect(rec(gpu)).toMatchObject({ status: 'unavailable', source: 'env' });
    const e = thrown(() => defaultDevice());
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toContain(gpu);
    expect(e.message).toContain('no GPU driver: libgpu.so.1');
    expect(thrown(() => backendsForDevice('cpu')).code).toBe('BACKEND_UNAVAILABLE');
  });

  it('MX_BACKENDS naming a package that is not installed says what to install', () => {
    inApp([], { env: 'nosuchaccel' });
    const e = thrown(() => defaultDevice());
    expect(e.message).toContain('@mx/backend-nosuchaccel or nosuchaccel is not installed');
    expect(e.hint).toBe('npm install @mx/backend-nosuchaccel');
    expect(rec('nosuchaccel')).toMatchObject({ status: 'unavailable', source: 'env' });
  });

  it('package.json#mx.backends selects backends that are not dependencies', () => {
    const cfg = uniq('cfg');
    const app = inApp([{ pkg: 'extra-pkg', name: cfg, dir: 'backends/extra', devices: [{ id: 'cfg:0', memory: 'cfg' }] }], {
      mx: { backends: ['./backends/extra'] },
    });
    expect(defaultDevice()).toBe('cfg:0');
    expect(rec(cfg)).toMatchObject({ source: 'app-config', from: app.dirs['extra-pkg'], packageName: 'extra-pkg', status: 'available' });
    expect(strictMode()).toBe(false);
  });

  it('in auto mode an unavailable backend warns once and is skipped', () => {
    const warn = quiet();
    const bad = uniq('bad');
    const good = uniq('good');
    inApp([
      { pkg: `mx-${bad}`, name: bad, priority: 900, initReason: 'needs AVX-512', devices: [{ id: 'cpu', memory: 'host' }] },
      { pkg: `mx-${good}`, name: good, priority: 1, devices: [{ id: 'cpu', memory: 'host' }] },
    ]);
    expect(backendsForDevice('cpu').map((b) => b.name)).toEqual([good]);
    expect(defaultDevice()).toBe('cpu');
    const mine = warn.mock.calls.filter(([m]) => String(m).includes(bad));
    expect(mine).toHaveLength(1);
    expect(String(mine[0]![0])).toContain('needs AVX-512');
    expect(rec(bad)).toMatchObject({ status: 'unavailable', reason: 'needs AVX-512' });
  });

  it('refuses a manifest of another protocol without loading its code, naming both versions', () => {
    quiet();
    const next = uniq('next');
    inApp([{ pkg: `mx-${next}`, name: next, protocol: 2 }]);
    const r = rec(next)!;
    expect(r.status).toBe('failed');
    expect(r.reason).toContain('protocol 2');
    expect(r.reason).toContain(`protocol ${PROTOCOL_MAJOR}`);
    expect(loads(next)).toBe(0);
  });

  it('a protocol-2 backend listed in MX_BACKENDS throws PROTOCOL', () => {
    const next = uniq('next');
    inApp([{ pkg: `mx-${next}`, name: next, protocol: 2 }], { env: next });
    const e = thrown(() => defaultDevice());
    expect(e.code).toBe('PROTOCOL');
    expect(e.message).toContain('protocol 2');
    expect(e.hint).toMatch(/upgrade @mx\/core/);
  });

  it('a backend whose module throws while loading is failed with the message', () => {
    quiet();
    const boom = uniq('boom');
    inApp([
      { pkg: `mx-${boom}`, name: boom, throwOnLoad: 'No native build was found for platform=linux arch=riscv64' },
      { pkg: 'mx-fine', name: uniq('fine'), devices: [{ id: 'cpu', memory: 'host' }] },
    ]);
    expect(defaultDevice()).toBe('cpu');
    expect(rec(boom)!.status).toBe('failed');
    expect(rec(boom)!.reason).toContain('No native build was found for platform=linux arch=riscv64');
  });

  it('the same failure is BACKEND_LOAD when the backend was asked for', () => {
    const boom = uniq('boom');
    inApp([{ pkg: `mx-${boom}`, name: boom, throwOnLoad: 'corrupt binary' }]);
    const e = thrown(() => use(boom));
    expect(e.code).toBe('BACKEND_LOAD');
    expect(e.message).toContain('corrupt binary');
  });

  it('a module that registers itself while being loaded is the same backend, not a duplicate', () => {
    const self = uniq('self');
    inApp([{ pkg: `mx-${self}`, name: self, devices: [{ id: 'cpu', memory: 'host' }] }]);
    const registered: Backend[] = [];
    (globalThis as { __mxRegister?: (b: Backend) => void }).__mxRegister = (b) => {
      registered.push(b);
      registerBackend(b, 'file:///ignored/index.js');
    };
    expect(backendsForDevice('cpu').map((b) => b.name)).toEqual([self]);
    expect(registered).toHaveLength(1);
    expect(backendRecords().filter((r) => r.name === self)).toHaveLength(1);
    expect(rec(self)!.backend).toBe(registered[0]);
  });

  it('a backend registered in code shadows a dependency of the same name from another package', () => {
    const warn = quiet();
    const name = uniq('shadow');
    inApp([{ pkg: `mx-${name}`, name }]);
    const mine: Backend = {
      name,
      version: '9',
      protocol: { major: PROTOCOL_MAJOR, minor: 0 },
      priority: 1,
      init: () => null,
      devices: () => [{ id: 'cpu', memory: 'host' }],
      kernels: () => [],
      run() {},
    };
    registerBackend(mine);
    expect(backendsForDevice('cpu')).toEqual([mine]);
    expect(warn).not.toHaveBeenCalled();
    const all = backendRecords().filter((r) => r.name === name);
    expect(all.map((r) => [r.source, r.status])).toEqual([
      ['register', 'available'],
      ['dependency', 'not-loaded'],
    ]);
    expect(all[1]!.reason).toMatch(/^shadowed/);
    expect(loads(name)).toBe(0);
    // asking for the shadowed package explicitly is an error, not a second backend of that name
    expect(thrown(() => use(`mx-${name}`)).message).toContain('shadowed');
    expect(loads(name)).toBe(0);
  });

  it('use() loads a package by name and prefers it', () => {
    const a = uniq('pref');
    const b = uniq('other');
    inApp([
      { pkg: `mx-${a}`, name: a, priority: 1, devices: [{ id: 'cpu', memory: 'host' }] },
      { pkg: `mx-${b}`, name: b, priority: 100, devices: [{ id: 'cpu', memory: 'host' }] },
    ]);
    use(`mx-${a}`);
    expect(backendsForDevice('cpu').map((x) => x.name)).toEqual([a, b]);
  });

  it('a manifest without entry or protocol is reported, not loaded', () => {
    quiet();
    const app = inApp([]);
    const dir = join(app.root, 'node_modules', 'mx-halfdone');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'mx-halfdone', version: '0.0.1', mx: { backend: 'half' } }));
    writeFileSync(join(app.root, 'package.json'), JSON.stringify({ name: 'app', dependencies: { 'mx-halfdone': '*' } }));
    resetRegistry();
    expect(rec('half')).toMatchObject({ status: 'failed' });
    expect(rec('half')!.reason).toContain('"entry"');
  });

  it('a manifest whose entry file is missing says to reinstall or build it', () => {
    const name = uniq('unbuilt');
    const app = inApp([{ pkg: `mx-${name}`, name }], { env: name });
    rmSync(join(app.dirs[`mx-${name}`]!, 'dist'), { recursive: true });
    const e = thrown(() => defaultDevice());
    expect(e.code).toBe('BACKEND_LOAD');
    expect(e.message).toContain(join('dist', 'index.js'));
    expect(e.hint).toContain(`reinstall mx-${name}`);
  });
});
