/**
 * Global setup of the end-to-end tests, once per run:
 *  1. `pnpm pack` @mx/core, @mx/backend-cpu and the example backends (built by
 *     the workspace build) into a temporary directory outside the workspace;
 *  2. the registry packages they depend on become tarballs too, made from the
 *     workspace's own install, and the apps pin them with `overrides`: installs
 *     run with --offline and download nothing (npm's cache is not filled by a
 *     pnpm install, and pnpm's store may lack newer releases of their dependencies);
 *  3. installs, in a PATH without any compiler: an npm app with @mx/core and
 *     @mx/backend-cpu, the same with pnpm, and an npm app that adds the two
 *     example backends (discovery and third-party tests run in it).
 * A failed install is recorded, not thrown: the install test reports it, and
 * tests of the other apps still run. MX_E2E_KEEP=1 keeps the directory;
 * MX_E2E_UPDATE_DOCS=1 writes the sizes and times into docs/install.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import type { TestProject } from 'vitest/node';
import { PACKAGES, REPO, registryClosure, run, tarEntries, userEnvironment, writePackageTarball, describeRun, type AppInstall, type Fixture, type PackageKey, type Packed } from './fixture.js';
import { installReport, updateInstallDoc } from './report.js';

function pack(key: PackageKey, dest: string): Packed {
  const dir = join(REPO, PACKAGES[key]);
  const r = run('pnpm', ['pack', '--pack-destination', dest, '--json'], { cwd: dir, env: process.env });
  if (r.status !== 0) throw new Error(describeRun(`pnpm pack in ${dir}`, r));
  const { name, version, filename } = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { name: string; version: string; filename: string };
  const file = filename.includes(sep) ? filename : join(dest, filename);
  const entries = tarEntries(file);
  const manifest = entries.find((e) => e.name === 'package/package.json');
  if (!manifest) throw new Error(`${file} has no package/package.json`);
  return { name, version, file, bytes: readFileSync(file).length, files: entries.map((e) => e.name.replace(/^package\//, '')), manifest: JSON.parse(manifest.body.toString('utf8')) };
}

function install(manager: 'npm' | 'pnpm', dir: string, packages: PackageKey[], fx: Omit<Fixture, 'apps'>, overrides: Record<string, string>): AppInstall {
  mkdirSync(dir, { recursive: true });
  const app: Record<string, unknown> = { name: `mx-e2e-${manager}-app`, version: '1.0.0', private: true, type: 'module' };
  // npm reads overrides from package.json; pnpm from pnpm-workspace.yaml (a settings file for one project too)
  if (manager === 'npm') app.overrides = overrides;
  else writeFileSync(join(dir, 'pnpm-workspace.yaml'), `overrides:\n${Object.entries(overrides).map(([k, v]) => `  '${k}': '${v}'\n`).join('')}`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify(app, null, 2) + '\n');
  const tarballs = packages.map((k) => fx.packed[k].file);
  const args = manager === 'npm' ? ['install', '--offline', '--no-audit', '--no-fund', ...tarballs] : ['add', '--offline', ...tarballs];
  const r = run(manager, args, { cwd: dir, env: fx.env, timeoutMs: 180_000 });
  const result: AppInstall = { dir, manager, packages, ms: Math.round(r.ms) };
  if (r.status !== 0) {
    const offline = /ENOTCACHED|NO_OFFLINE|offline mode/i.test(r.stdout + r.stderr);
    result.error = describeRun(`${manager} ${args.join(' ')}`, r) + (offline ? '\n=> the install needed the network (a package is in neither the tarballs nor the cache)' : '');
  }
  for (const f of ['ops.mjs', 'conformance.mjs', 'workers.mjs']) cpSync(join(import.meta.dirname, 'apps', f), join(dir, f));
  return result;
}

/** Packs, vendors and installs into `work`; returns what the tests need. */
function prepare(work: string): Fixture {
  const tarballs = join(work, 'tarballs');
  const registry = join(work, 'registry');
  mkdirSync(registry, { recursive: true });

  const packed = Object.fromEntries((Object.keys(PACKAGES) as PackageKey[]).map((k) => [k, pack(k, tarballs)])) as Record<PackageKey, Packed>;
  const overrides: Record<string, string> = {};
  const vendored: string[] = [];
  for (const [id, dir] of registryClosure(Object.values(PACKAGES).map((p) => join(REPO, p)))) {
    const name = id.slice(0, id.lastIndexOf('@'));
    if (overrides[name]) throw new Error(`two versions of ${name} in the dependencies of the packed packages: the offline install pins one per name`);
    const file = join(registry, `${id.replace(/^@/, '').replace('/', '-')}.tgz`);
    writeFileSync(file, writePackageTarball(dir));
    overrides[name] = `file:${file}`;
    vendored.push(id);
  }

  const env = userEnvironment(join(work, 'bin'));
  const base = { work, bin: join(work, 'bin'), env, packed, vendored };
  return {
    ...base,
    apps: {
      npm: install('npm', join(work, 'npm-app'), ['core', 'cpu'], base, overrides),
      pnpm: install('pnpm', join(work, 'pnpm-app'), ['core', 'cpu'], base, overrides),
      thirdParty: install('npm', join(work, 'third-party-app'), ['core', 'cpu', 'toy', 'js'], base, overrides),
      onednn: install('npm', join(work, 'onednn-app'), ['core', 'cpu', 'onednn'], base, overrides),
      cuda: install('npm', join(work, 'cuda-app'), ['core', 'cpu', 'cuda'], base, overrides),
    },
  };
}

export default function setup(project: TestProject): () => void {
  const work = mkdtempSync(join(tmpdir(), 'mx-e2e-'));
  const cleanup = () => {
    if (process.env.MX_E2E_KEEP === '1') console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  };
  try {
    if (work.startsWith(REPO)) throw new Error(`the temporary directory ${work} is inside the workspace`);
    const fixture = prepare(work);
    console.log(installReport(fixture));
    if (process.env.MX_E2E_UPDATE_DOCS === '1') updateInstallDoc(fixture);
    project.provide('fixture', fixture);
  } catch (e) {
    cleanup();
    throw e;
  }
  return cleanup;
}
