/**
 * Install as a user: the tarballs `pnpm pack` makes hold what a user needs (the
 * prebuilt binary above all), install with plain npm and with pnpm into an empty
 * directory outside the workspace, offline and with no compiler on PATH, and
 * work there: ops give correct results on cpu and `mx doctor` reports it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { COMPILERS, installed, nodeJson, placements, run, type AppInstall } from './fixture.js';

const fx = inject('fixture');
const platform = `${process.platform}-${process.arch}`;
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

describe('the tarballs', () => {
  it('of @mx/core hold the compiled code, the CLI, the C header and the bridge sources', () => {
    expect(fx.packed.core.files).toEqual(
      expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/conformance/index.js', 'dist/bridge.js', 'include/mx_backend.h', 'bridge/mx_bridge.cc', 'bridge/bridge.gypi']),
    );
  });

  it.each(['cpu', 'toy'] as const)('of the native backend %s hold the prebuilt binary for this platform', (key) => {
    const p = fx.packed[key];
    const binary = `prebuilds/${platform}/${p.name.replace('/', '+')}.node`;
    expect(p.files, `${p.file} lacks ${binary}`).toContain(binary);
    expect(p.files).toContain(p.manifest.mx.entry.replace(/^\.\//, ''));
  });

  it('ship no tests, sources maps of tests, node_modules or local builds', () => {
    for (const p of Object.values(fx.packed)) {
      expect(p.files.filter((f) => /^(test|node_modules|native\/build)\//.test(f) || f.includes('/node_modules/')), p.name).toEqual([]);
    }
  });

  it('need no build at install: no install scripts and no binding.gyp at the package root', () => {
    for (const p of Object.values(fx.packed)) {
      expect(Object.keys(p.manifest.scripts ?? {}).filter((s) => INSTALL_SCRIPTS.includes(s)), p.name).toEqual([]);
      expect(p.files, p.name).not.toContain('binding.gyp');
    }
  });

  it('depend on @mx/core only as a peer (backends), and otherwise only on registry packages the offline install provides', () => {
    const vendored = new Set(fx.vendored.map((id) => id.slice(0, id.lastIndexOf('@'))));
    for (const p of Object.values(fx.packed)) {
      const deps = Object.keys({ ...p.manifest.dependencies, ...p.manifest.optionalDependencies });
      expect(deps.filter((d) => !vendored.has(d)), `${p.name}: dependencies not available offline`).toEqual([]);
      if (p.manifest.mx?.backend) {
        expect(deps, p.name).not.toContain('@mx/core');
        expect(p.manifest.peerDependencies?.['@mx/core'], `${p.name} peer range`).toMatch(/\d/);
      }
    }
  });
});

function userChecks(app: AppInstall, doctor: string[]) {
  it('installed offline, with no compiler on PATH, without building anything', () => {
    const dir = installed(app);
    console.log(`${app.manager} install of ${app.packages.join(' + ')}: ${(app.ms / 1000).toFixed(1)} s`);
    const probe = `for (const c of ${JSON.stringify(COMPILERS)}) console.log(c, require('child_process').spawnSync(c, ['--version']).error?.code ?? 'found')`;
    expect(run(join(fx.bin, 'node'), ['-e', probe], { cwd: dir, env: fx.env }).stdout.trim().split('\n')).toEqual(COMPILERS.map((c) => `${c} ENOENT`));
    // node-gyp-build prefers build/Release: a local build would shadow the prebuild
    expect(existsSync(join(dir, 'node_modules', '@mx', 'backend-cpu', 'native', 'build'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules', '@mx', 'backend-cpu', 'build'))).toBe(false);
  });

  it('imports @mx/core, finds cpu among its dependencies and gets correct results from it', () => {
    const dir = installed(app);
    const { out, run: r } = nodeJson(fx, dir, 'ops.mjs', [], { MX_DEBUG_PLACEMENT: '1' });
    expect(out.error).toBeUndefined();
    expect(out.device).toBe('cpu');
    expect(out.backends).toEqual([expect.objectContaining({ name: 'cpu', package: '@mx/backend-cpu', source: 'dependency', status: 'available' })]);
    for (const [name, c] of Object.entries(out.checks)) expect(c, name).toEqual({ ok: true });
    expect(Object.keys(out.checks)).toHaveLength(8);
    expect(new Set(Object.values(placements(r.stderr)))).toEqual(new Set(['cpu']));
  });

  it(`${doctor.join(' ')} reports the platform, cpu and its kernels`, () => {
    const dir = installed(app);
    const r = run(join(fx.bin, doctor[0]!), [...doctor.slice(1)], { cwd: dir, env: fx.env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`platform  ${process.platform} ${process.arch}`);
    expect(r.stdout).toMatch(/^ {2}cpu {2}@mx\/backend-cpu \S+ {2}available$/m);
    expect(r.stdout).toContain(`source    dependency (${join(dir, 'node_modules')}`);
    expect(r.stdout).toMatch(/^ {6}MatMul: float32/m);
    expect(r.stdout).toContain('default device: cpu');
    const json = run(join(fx.bin, doctor[0]!), [...doctor.slice(1), '--json'], { cwd: dir, env: fx.env });
    const report = JSON.parse(json.stdout);
    expect(report.appRoot).toBe(dir);
    expect(report.backends[0].ops.Add).toEqual(expect.arrayContaining(['float32', 'int64']));
  });
}

describe('installed with npm', () => {
  userChecks(fx.apps.npm, ['npx', '--no', 'mx', 'doctor']);

  it('npm sees every dependency and peer range satisfied', () => {
    const dir = installed(fx.apps.npm);
    const r = run(join(fx.bin, 'npm'), ['ls', '--all', '--json', '--offline'], { cwd: dir, env: fx.env });
    expect(JSON.parse(r.stdout).problems ?? [], r.stdout).toEqual([]);
  });
});

describe('installed with pnpm', () => {
  userChecks(fx.apps.pnpm, ['pnpm', 'exec', 'mx', 'doctor']);
});
