/**
 * Discovery and selection end to end, in an installed app. The app's
 * node_modules holds @mx/core, @mx/backend-cpu and the example backends toy
 * (native, priority 200) and js (priority 50); each case is an app root of its
 * own: a directory below it with its own package.json (and, for the broken
 * backends, its own node_modules), which resolves everything else from the
 * installed app above it.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { appRoot, backendWarnings, describeRun, installed, node, nodeJson, placements } from './fixture.js';

const fx = inject('fixture');
const app = () => installed(fx.apps.thirdParty);
const OPS = join('..', '..', 'ops.mjs');
const DEPS = ['@mx/core', '@mx/backend-cpu'];

/** An app root of its own below the installed app. */
const newRoot = (name: string, deps: string[], mx?: unknown) => appRoot(app(), name, deps, mx);

/** A package in an app root's own node_modules. */
function fakePackage(root: string, name: string, files: Record<string, string>): string {
  const dir = join(root, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

/** The ops script's result in `root`, with MX_DEBUG_PLACEMENT on. */
function ops(root: string, env: Record<string, string> = {}) {
  const { out, run } = nodeJson(fx, root, OPS, [], { MX_DEBUG_PLACEMENT: '1', ...env });
  return { out, stderr: run.stderr, placed: placements(run.stderr) };
}
const record = (out: Record<string, any>, name: string) => out.backends.find((b: { name: string }) => b.name === name);
const allOk = (out: Record<string, any>) => Object.values(out.checks).every((c: any) => c.ok);

describe('a backend is found', () => {
  it('only when the app declares it: installed but undeclared backends are not used', () => {
    const { out, placed } = ops(newRoot('only-cpu', DEPS));
    expect(out.backends.map((b: { name: string }) => b.name)).toEqual(['cpu']);
    expect(placed['Add(float32)']).toBe('cpu');
    expect(allOk(out)).toBe(true);
  });

  it('among the app dependencies, and runs the ops it declares by priority', () => {
    const { out, placed } = ops(newRoot('declared', [...DEPS, 'mx-backend-toy']));
    expect(record(out, 'toy')).toMatchObject({ package: 'mx-backend-toy', source: 'dependency', status: 'available' });
    expect(placed).toMatchObject({ 'Add(float32)': 'toy', 'MatMul(float32)': 'cpu' });
    expect(allOk(out)).toBe(true);
  });

  it('when MX_BACKENDS names it, which also orders the backends and leaves the others unloaded', () => {
    const root = newRoot('env', [...DEPS, 'mx-backend-toy', 'mx-backend-js']);
    const onlyCpu = ops(root, { MX_BACKENDS: 'cpu' });
    expect(record(onlyCpu.out, 'toy')).toMatchObject({ status: 'not-loaded', reason: 'not listed in MX_BACKENDS=cpu' });
    expect(new Set(Object.values(onlyCpu.placed))).toEqual(new Set(['cpu']));
    expect(allOk(onlyCpu.out)).toBe(true);

    // js has the lowest priority, but MX_BACKENDS puts it first: it runs what it has, cpu the rest
    const jsFirst = ops(root, { MX_BACKENDS: 'js,cpu' });
    expect(record(jsFirst.out, 'js')).toMatchObject({ source: 'env', status: 'available' });
    expect(record(jsFirst.out, 'toy').status).toBe('not-loaded');
    expect(jsFirst.placed).toMatchObject({ 'Add(float32)': 'js', 'Sigmoid(float32)': 'js', 'MatMul(float32)': 'cpu' });
    expect(allOk(jsFirst.out)).toBe(true);
  });

  it("when the app's package.json names it in mx.backends, even if it is not a declared dependency", () => {
    const { out, placed } = ops(newRoot('config', DEPS, { backends: ['mx-backend-toy'] }));
    expect(record(out, 'toy')).toMatchObject({ source: 'app-config', status: 'available' });
    expect(placed['Mul(float32)']).toBe('toy');
    expect(allOk(out)).toBe(true);
  });
});

describe('a backend that cannot run here', () => {
  let dir: string;
  beforeAll(() => {
    // the toy backend as installed on a platform it has no binary for
    dir = newRoot('no-binary', [...DEPS, 'mx-backend-toy']);
    const toy = join(dir, 'node_modules', 'mx-backend-toy');
    cpSync(join(app(), 'node_modules', 'mx-backend-toy'), toy, { recursive: true });
    rmSync(join(toy, 'prebuilds'), { recursive: true });
  });

  it('is an error naming the reason and the fix when it is asked for explicitly', () => {
    const { out } = ops(dir, { MX_BACKENDS: 'toy,cpu' });
    expect(out.error.code).toBe('BACKEND_UNAVAILABLE');
    expect(out.error.message).toContain('mx-backend-toy');
    expect(out.error.message).toContain(`no binary that loads on ${process.platform}-${process.arch}`);
    expect(out.error.message).toMatch(/fix: install a release of mx-backend-toy with prebuilds for .*or build it from source/);
    const doctor = node(fx, dir, join(app(), 'node_modules', '.bin', 'mx'), ['doctor'], { MX_BACKENDS: 'toy,cpu' });
    expect(doctor.status, describeRun('mx doctor', doctor)).toBe(1);
    expect(doctor.stdout).toMatch(/^ {2}toy {2}mx-backend-toy 0\.1\.0 {2}unavailable$/m);
    expect(doctor.stdout).toMatch(/^problem: .*the requested backend \(mx-backend-toy\) cannot be used \(unavailable\): mx-backend-toy has no binary/m);
  });

  it('is skipped with one warning when it was found automatically, and the app runs on cpu', () => {
    const { out, stderr, placed } = ops(dir);
    const warnings = backendWarnings(stderr);
    expect(warnings, stderr).toHaveLength(1);
    expect(warnings[0]).toMatch(/mx backend 'toy' is skipped: unavailable: mx-backend-toy has no binary that loads on/);
    expect(record(out, 'toy').status).toBe('unavailable');
    expect(placed['Add(float32)']).toBe('cpu');
    expect(allOk(out)).toBe(true);
  });
});

describe('an incompatible install', () => {
  it('with two copies of @mx/core is an error naming both', () => {
    const root = newRoot('two-cores', [...DEPS, 'mx-backend-dup']);
    const dup = fakePackage(root, 'mx-backend-dup', {
      'package.json': JSON.stringify({ name: 'mx-backend-dup', version: '1.0.0', type: 'module', mx: { backend: 'dup', entry: './index.js', protocol: 1 } }),
      'index.js': `import { registerBackend } from '@mx/core';\nimport { referenceBackend } from '@mx/core/reference';\nregisterBackend(referenceBackend({ name: 'dup' }), import.meta.url);\n`,
    });
    // the backend gets a core of its own, as when it lists @mx/core as a dependency instead of a peer
    cpSync(join(app(), 'node_modules', '@mx', 'core'), join(dup, 'node_modules', '@mx', 'core'), { recursive: true });
    const first = join(app(), 'node_modules', '@mx', 'core');
    const second = join(dup, 'node_modules', '@mx', 'core');

    const strict = ops(root, { MX_BACKENDS: 'dup,cpu' }).out;
    expect(strict.error.message).toContain('two copies of @mx/core are loaded in this process');
    expect(strict.error.message).toContain(first);
    expect(strict.error.message).toContain(second);

    const auto = ops(root);
    expect(backendWarnings(auto.stderr).join('\n')).toMatch(/two copies of @mx\/core/);
    expect(record(auto.out, 'dup').status).toBe('failed');
    expect(allOk(auto.out)).toBe(true);
  });

  it('of a backend built for another protocol major is refused, naming both versions, without running its code', () => {
    const root = newRoot('protocol', [...DEPS, 'mx-backend-future', 'mx-backend-mislabelled']);
    fakePackage(root, 'mx-backend-future', {
      'package.json': JSON.stringify({ name: 'mx-backend-future', version: '3.0.0', type: 'module', mx: { backend: 'future', entry: './index.js', protocol: 2 } }),
      'index.js': `console.error('THE FUTURE BACKEND RAN');\n`,
    });
    // says protocol 1 in package.json, but the object it exports speaks 2
    fakePackage(root, 'mx-backend-mislabelled', {
      'package.json': JSON.stringify({ name: 'mx-backend-mislabelled', version: '1.0.0', type: 'module', mx: { backend: 'mislabelled', entry: './index.js', protocol: 1 } }),
      'index.js': `import { referenceBackend } from '@mx/core/reference';\nexport default { ...referenceBackend({ name: 'mislabelled' }), protocol: { major: 2, minor: 0 } };\n`,
    });

    const strict = ops(root, { MX_BACKENDS: 'future,cpu' }).out;
    expect(strict.error.code).toBe('PROTOCOL');
    expect(strict.error.message).toMatch(/built for backend protocol 2, but @mx\/core \S+ speaks protocol 1/);
    expect(strict.error.hint).toContain('upgrade @mx/core');

    const auto = ops(root);
    expect(auto.stderr).not.toContain('THE FUTURE BACKEND RAN');
    expect(record(auto.out, 'future')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/protocol 2.*protocol 1/) });
    expect(record(auto.out, 'mislabelled')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/protocol 2.*protocol 1/) });
    expect(backendWarnings(auto.stderr)).toHaveLength(2);
    expect(allOk(auto.out)).toBe(true);
  });
});
