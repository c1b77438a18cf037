/**
 * What the end-to-end tests share: the packages they pack, the user's
 * environment (no compiler on PATH, offline), running commands, and tarballs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

export const REPO = fileURLToPath(new URL('../../..', import.meta.url));

/** The packages a user installs, by directory in the repo. */
export const PACKAGES = {
  core: 'packages/core',
  cpu: 'packages/backend-cpu',
  onednn: 'packages/backend-onednn',
  cuda: 'packages/backend-cuda',
  toy: 'examples/mx-backend-toy',
  js: 'examples/mx-backend-js',
} as const;
export type PackageKey = keyof typeof PACKAGES;

export interface Packed {
  name: string;
  version: string;
  file: string;
  bytes: number;
  /** Paths inside the tarball, without the leading 'package/'. */
  files: string[];
  /** The package.json inside the tarball (workspace: ranges already replaced). */
  manifest: Record<string, any>;
}

export interface AppInstall {
  dir: string;
  manager: 'npm' | 'pnpm';
  packages: PackageKey[];
  /** Wall time of the install command. */
  ms: number;
  /** Set when the install failed: the command's output, ending with why. */
  error?: string;
}

/** What the global setup hands to the tests (vitest's provide/inject). */
export interface Fixture {
  work: string;
  bin: string;
  env: Record<string, string>;
  packed: Record<PackageKey, Packed>;
  /** Registry packages the tarballs depend on, as tarballs made from the workspace's install. */
  vendored: string[];
  apps: { npm: AppInstall; pnpm: AppInstall; thirdParty: AppInstall; onednn: AppInstall; cuda: AppInstall };
}

declare module 'vitest' {
  export interface ProvidedContext {
    fixture: Fixture;
  }
}

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion (no shell). */
export function run(cmd: string, args: readonly string[], opts: { cwd: string; env: Record<string, string | undefined>; timeoutMs?: number }): Run {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')} could not run in ${opts.cwd}: ${r.error.message}`);
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

/** The output of a failed run, for assertion messages. */
export function describeRun(what: string, r: Run): string {
  return `${what} exited with ${r.signal ?? r.status}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-6000)}`;
}

// ---- the user's environment

/** Programs a build from source would need; none may be reachable in the user's environment. */
export const COMPILERS = ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'python', 'python3', 'node-gyp'];

function which(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    const f = join(dir, name);
    try {
      if (statSync(f).isFile()) return f;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * A PATH of one directory holding links to node, npm, npx, pnpm and sh (package
 * managers run lifecycle scripts with sh) only, an environment without the
 * workspace's npm/pnpm/turbo/vitest variables, and no registry to reach.
 */
export function userEnvironment(bin: string): Record<string, string> {
  mkdirSync(bin, { recursive: true });
  const from = process.env.PATH ?? '';
  const tools: Record<string, string | undefined> = { node: process.execPath, npm: which('npm', from), npx: which('npx', from), pnpm: which('pnpm', from), sh: which('sh', from) };
  for (const [name, target] of Object.entries(tools)) {
    if (!target) throw new Error(`${name} is not on PATH: the end-to-end tests need node, npm, npx, pnpm and sh`);
    symlinkSync(realpathSync(target), join(bin, name));
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(npm_|pnpm_|PNPM_|TURBO_|VITEST|NODE_OPTIONS$|NODE_PATH$|MX_|CC$|CXX$|INIT_CWD$)/.test(k)) continue;
    env[k] = v;
  }
  env.PATH = bin;
  env.CI = '1'; // no progress bars or prompts
  // Besides --offline: a registry that cannot answer, so that nothing can download.
  env.npm_config_registry = 'http://127.0.0.1:9/';
  env.npm_config_offline = 'true';
  for (const c of COMPILERS) {
    const found = which(c, env.PATH);
    if (found) throw new Error(`the user environment must have no ${c}, but ${found} is on its PATH`);
  }
  return env;
}

// ---- tarballs

/** The entries of a .tgz (ustar, with pax 'path' records), in order. */
export function tarEntries(file: string): { name: string; body: Buffer }[] {
  const buf = gunzipSync(readFileSync(file));
  const entries: { name: string; body: Buffer }[] = [];
  let pax: string | undefined;
  for (let off = 0; off + 512 <= buf.length; ) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number) => h.toString('utf8', a, a + n).replace(/\0.*$/s, '');
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = str(156, 1);
    const body = buf.subarray(off + 512, off + 512 + size);
    if (type === 'x') pax = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
    else if (type !== 'g') {
      const prefix = str(345, 155);
      entries.push({ name: pax ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100)), body });
      pax = undefined;
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/**
 * Writes `dir` (an installed package: the files it was published with) as an npm
 * tarball: a gzipped ustar archive of package/<path>, node_modules left out. Runs
 * no lifecycle script, unlike `npm pack`/`pnpm pack`.
 */
export function writePackageTarball(dir: string): Buffer {
  const blocks: Buffer[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        if (name !== 'node_modules') walk(p);
        continue;
      }
      if (!st.isFile()) continue;
      const path = `package/${relative(dir, p).split(sep).join('/')}`;
      const h = Buffer.alloc(512);
      // ustar names hold 100 bytes; longer paths split at a '/' into prefix (155) and name
      let [prefix, short] = ['', path];
      for (let i = path.indexOf('/'); Buffer.byteLength(short) > 100; i = path.indexOf('/', i + 1)) {
        if (i < 0 || Buffer.byteLength(path.slice(0, i)) > 155) throw new Error(`path too long for a tarball: ${path}`);
        [prefix, short] = [path.slice(0, i), path.slice(i + 1)];
      }
      const data = readFileSync(p);
      h.write(short, 0);
      h.write(((st.mode & 0o111 ? 0o755 : 0o644).toString(8).padStart(7, '0')) + '\0', 100);
      h.write('0000000\0', 108);
      h.write('0000000\0', 116);
      h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
      h.write('00000000000\0', 136);
      h.write('        ', 148);
      h.write('0', 156);
      h.write('ustar\0' + '00', 257);
      h.write(prefix, 345);
      let sum = 0;
      for (const b of h) sum += b;
      h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
      blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  };
  walk(dir);
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** Node's lookup of `name` from `from`: the real directory of the first node_modules/<name> above it. */
function findPackage(from: string, name: string): string | undefined {
  for (let d = from; ; d = dirname(d)) {
    const p = join(d, 'node_modules', name);
    if (existsSync(join(p, 'package.json'))) return realpathSync(p);
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The registry packages (name@version -> installed directory) that the packages in
 * `dirs` depend on (dependencies, optional dependencies, required peers),
 * transitively, as the workspace's install resolved them.
 * Workspace packages (outside node_modules) are not followed: they are packed.
 */
export function registryClosure(dirs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (dir: string): void => {
    const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, any> | undefined>;
    const optional = new Set(Object.keys(pj.optionalDependencies ?? {}));
    // npm installs peers too, unless they are marked optional
    const peers = Object.keys(pj.peerDependencies ?? {}).filter((n) => !pj.peerDependenciesMeta?.[n]?.optional);
    for (const name of [...Object.keys({ ...pj.dependencies, ...pj.optionalDependencies }), ...peers]) {
      const found = findPackage(dir, name);
      if (!found) {
        if (optional.has(name)) continue;
        throw new Error(`${name}, a dependency of ${dir}, is not installed in the workspace: run pnpm install`);
      }
      if (!found.split(sep).includes('node_modules')) continue;
      const { version } = JSON.parse(readFileSync(join(found, 'package.json'), 'utf8')) as { version: string };
      const id = `${name}@${version}`;
      if (out.has(id)) continue;
      out.set(id, found);
      visit(found);
    }
  };
  for (const d of dirs) visit(d);
  return out;
}

// ---- running things in an installed app

/** Throws the install's failure, so that tests of an app that did not install say why. */
export function installed(app: AppInstall): string {
  if (app.error) throw new Error(`the ${app.manager} install failed:\n${app.error}`);
  return app.dir;
}

/** Runs `node <script> ...args` with the user's environment plus `env`, in `cwd`. */
export function node(fx: Fixture, cwd: string, script: string, args: readonly string[] = [], env: Record<string, string> = {}): Run {
  return run(join(fx.bin, 'node'), [script, ...args], { cwd, env: { ...fx.env, ...env } });
}

/** Runs a script that prints one JSON object; fails with its output when it does not exit with 0. */
export function nodeJson<T = Record<string, any>>(fx: Fixture, cwd: string, script: string, args: readonly string[] = [], env: Record<string, string> = {}): { out: T; run: Run } {
  const r = node(fx, cwd, script, args, env);
  if (r.status !== 0) throw new Error(describeRun(`node ${script} ${args.join(' ')} in ${cwd}`, r));
  return { out: JSON.parse(r.stdout) as T, run: r };
}

/** `mx placement: Add(float32) on cpu -> toy` lines (MX_DEBUG_PLACEMENT=1) as { 'Add(float32)': 'toy' }. */
export function placements(stderr: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of stderr.matchAll(/^mx placement: (\S+\(.*?\)) on \S+ -> (\S+)/gm)) out[m[1]!] = m[2]!;
  return out;
}

/** The MX_BACKEND_UNAVAILABLE warnings a process printed. */
export function backendWarnings(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.includes('MX_BACKEND_UNAVAILABLE'));
}

/**
 * A fresh app root below an installed app: a directory whose package.json declares
 * `deps` (and `mx`), and which resolves packages from the installed app above it.
 */
export function appRoot(app: string, name: string, deps: readonly string[], mx?: unknown): string {
  const dir = join(app, 'roots', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pj = { name: `root-${name}`, private: true, type: 'module', dependencies: Object.fromEntries(deps.map((d) => [d, '*'])), ...(mx !== undefined && { mx }) };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pj, null, 2));
  return dir;
}
