/**
 * The release dry run of docs/releasing.md, in a scratch copy of the workspace's
 * manifests (a git repository of its own; the repo is never touched):
 * `changeset status` works on a clean checkout, a changeset bumps and
 * changelogs only its package (a minor release of @mx/core bumps no backend: their
 * peer ranges span the core releases that speak their protocol), and
 * `pnpm -r pack` packs the new versions with workspace: ranges replaced.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_MAJOR } from '@mx/core';
import { REPO, describeRun, run, tarEntries } from './fixture.js';

interface WorkspacePackage {
  name: string;
  version?: string;
  path: string;
  private: boolean;
}

let scratch: string;
let packages: WorkspacePackage[];
const env = { ...process.env, CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' };

function sh(cmd: string, args: string[], cwd = scratch) {
  const r = run(cmd, args, { cwd, env });
  if (r.status !== 0) throw new Error(describeRun(`${cmd} ${args.join(' ')}`, r));
  return (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
}
const changeset = (...args: string[]) => sh(join(scratch, 'node_modules', '.bin', 'changeset'), args);
const manifest = (pkg: WorkspacePackage) => JSON.parse(readFileSync(join(scratch, relative(REPO, pkg.path), 'package.json'), 'utf8'));
const published = () => packages.filter((p) => !p.private);

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'mx-release-'));
  packages = (JSON.parse(sh('pnpm', ['ls', '-r', '--depth', '-1', '--json'], REPO)) as WorkspacePackage[]).filter((p) => p.path !== REPO.replace(/\/$/, ''));
  for (const f of ['package.json', 'pnpm-workspace.yaml', 'pnpm-lock.yaml', '.changeset/config.json', ...packages.map((p) => join(relative(REPO, p.path), 'package.json'))]) {
    mkdirSync(dirname(join(scratch, f)), { recursive: true });
    cpSync(join(REPO, f), join(scratch, f));
  }
  const git = (...args: string[]) => sh('git', ['-c', 'user.name=mx', '-c', 'user.email=mx@example.invalid', ...args]);
  git('init', '-q', '-b', 'main');
  sh('pnpm', ['install', '--offline', '--frozen-lockfile', '--ignore-scripts']);
  git('add', '-A');
  git('commit', '-q', '-m', 'release base');
}, 120_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('a release dry run', () => {
  it('changeset status passes on a clean checkout', () => {
    expect(changeset('status')).toContain('NO packages to be bumped at major');
  });

  it('a minor release of @mx/core versions and changelogs @mx/core alone', () => {
    writeFileSync(join(scratch, '.changeset', 'core-feature.md'), '---\n"@mx/core": minor\n---\n\nA new op.\n');
    const status = changeset('status');
    changeset('version');
    expect(status).toMatch(/Packages to be bumped at minor:\s+🦋\s+info\s+🦋\s+- @mx\/core\n/);
    expect(status).toContain('NO packages to be bumped at major');

    const core = packages.find((p) => p.name === '@mx/core')!;
    expect(manifest(core).version).toBe('0.2.0');
    expect(readFileSync(join(scratch, relative(REPO, core.path), 'CHANGELOG.md'), 'utf8')).toMatch(/## 0\.2\.0\s+### Minor Changes\s+- A new op\./);
    for (const p of packages.filter((x) => x !== core)) {
      expect(manifest(p).version, `${p.name} was bumped by a core minor release`).toBe(p.version);
      expect(existsSync(join(scratch, relative(REPO, p.path), 'CHANGELOG.md')), `${p.name} got a changelog`).toBe(false);
    }
  });

  it('backends keep a peer range on @mx/core that admits the new release, and declare its protocol', () => {
    for (const p of published().filter((x) => manifest(x).mx?.backend)) {
      const m = manifest(p);
      expect(m.peerDependencies?.['@mx/core'], p.name).toBe('>=0.1.0 <1');
      expect(m.mx.protocol, p.name).toBe(PROTOCOL_MAJOR);
      expect(Object.keys(m.dependencies ?? {}), `${p.name} must not depend on @mx/core (a second copy)`).not.toContain('@mx/core');
    }
  });

  it('pnpm -r pack packs the new versions, workspace ranges replaced', () => {
    const out = join(scratch, 'out');
    sh('pnpm', ['-r', 'pack', '--pack-destination', out]);
    const tarball = (name: string, version: string) => join(out, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
    expect(existsSync(tarball('@mx/core', '0.2.0'))).toBe(true);
    for (const p of published().filter((x) => x.name !== '@mx/core')) {
      const file = tarball(p.name, p.version!);
      expect(existsSync(file), file).toBe(true);
      const pj = JSON.parse(tarEntries(file).find((e) => e.name === 'package/package.json')!.body.toString('utf8'));
      expect(JSON.stringify(pj), p.name).not.toContain('workspace:');
      if (pj.devDependencies?.['@mx/core']) expect(pj.devDependencies['@mx/core'], p.name).toBe('0.2.0');
    }
  });
});
