/**
 * Discovery: finds backend packages by reading package.json files only. No backend
 * code runs here; the registry decides what to load.
 *
 * Where backends come from (registry.ts applies the order and the policy):
 *  - MX_BACKENDS: a comma list of specs;
 *  - the app's package.json `mx.backends` (array or comma string of specs);
 *  - the app's declared dependencies (dependencies, optionalDependencies,
 *    peerDependencies, devDependencies) whose package.json has an `mx` field.
 * Packages are resolved with Node's resolver from the app root, never by scanning
 * node_modules (that breaks under pnpm and Plug'n'Play).
 *
 * A spec is one of:
 *  - a path to a package directory: starts with '.', '/' or is absolute;
 *  - a backend name ('cpu' means '@mx/backend-cpu'): a first-party name, or the
 *    `backend` of a manifest found among the app's dependencies;
 *  - otherwise, anything with '/', '@' or '-' is a package name;
 *  - any other bare word `x` tries '@mx/backend-x', then the package 'x'.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MxErrorCode } from './errors.js';
import type { BackendManifest } from './protocol.js';

export const FIRST_PARTY = ['cpu', 'onednn', 'cuda', 'rocm'] as const;
const DEP_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'devDependencies'] as const;

export type DiscoverySource = 'env' | 'app-config' | 'dependency' | 'use';

/** A backend found on disk (or a spec that could not be satisfied: `error` set). */
export interface Candidate {
  name: string;
  packageName?: string;
  version?: string;
  source: DiscoverySource;
  /** Package directory. */
  from?: string;
  /** Absolute path of the entry module (from the manifest's `entry`). */
  entry?: string;
  priority: number;
  /** The manifest's protocol major. */
  protocol?: number;
  error?: { status: 'unavailable' | 'failed'; code: MxErrorCode; reason: string; fix?: string };
}

/** What a spec may designate; a backend record matches it by any of these. */
export interface ParsedSpec {
  readonly spec: string;
  readonly name?: string;
  /** Package names to try, in order. */
  readonly packages: readonly string[];
  readonly dir?: string;
}

interface PackageJson {
  name?: string;
  version?: string;
  mx?: Partial<BackendManifest> & { backends?: string | string[] };
  [field: string]: unknown;
}

/** The app root: MX_APP_ROOT, else the nearest directory with a package.json above the cwd. */
export function appRoot(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (env.MX_APP_ROOT) return resolve(cwd, env.MX_APP_ROOT);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(cwd);
  }
}

/** Splits 'cuda, cpu' or ['cuda', 'cpu'] into trimmed, non-empty specs. */
export function splitSpecs(list: string | readonly string[] | undefined): string[] {
  if (list === undefined) return [];
  const items = typeof list === 'string' ? list.split(',') : list;
  return items.map((s) => String(s).trim()).filter(Boolean);
}

/** `knownNames`: backend names that mean themselves besides the first-party ones. */
export function parseSpec(spec: string, root: string, knownNames: Iterable<string> = []): ParsedSpec {
  if (spec.startsWith('.') || isAbsolute(spec)) return { spec, packages: [], dir: resolve(root, spec) };
  const known = new Set<string>([...FIRST_PARTY, ...knownNames]);
  if (known.has(spec)) return { spec, name: spec, packages: [`@mx/backend-${spec}`] };
  if (/[/@-]/.test(spec)) return { spec, packages: [spec] };
  return { spec, name: spec, packages: [`@mx/backend-${spec}`, spec] };
}

function readJson(file: string): PackageJson {
  return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
}
function tryReadJson(file: string): PackageJson | undefined {
  try {
    return readJson(file);
  } catch {
    return undefined;
  }
}

/**
 * The package.json of `pkg` as resolved from the app root; for specs also from where
 * @mx/core is installed (under pnpm, a package that @mx/core's optional peers name).
 */
function resolvePackageJson(pkg: string, root: string, alsoFromCore = false): string | undefined {
  for (const base of alsoFromCore ? [join(root, 'package.json'), import.meta.url] : [join(root, 'package.json')]) {
    try {
      return createRequire(base).resolve(`${pkg}/package.json`);
    } catch {
      // not resolvable from here
    }
  }
  return undefined;
}

/** Reads a package directory's manifest into a candidate; undefined when it declares no backend. */
function candidateAt(dir: string, source: DiscoverySource): Candidate | undefined {
  const pj = readJson(join(dir, 'package.json'));
  const mx = pj.mx;
  if (!mx || typeof mx.backend !== 'string') return undefined;
  const c: Candidate = {
    name: mx.backend,
    source,
    from: dir,
    priority: typeof mx.priority === 'number' ? mx.priority : 0,
    ...(pj.name !== undefined && { packageName: pj.name }),
    ...(pj.version !== undefined && { version: pj.version }),
    ...(typeof mx.protocol === 'number' && { protocol: mx.protocol }),
  };
  if (typeof mx.entry !== 'string' || typeof mx.protocol !== 'number') {
    c.error = {
      status: 'failed',
      code: 'BACKEND_LOAD',
      reason: `${join(dir, 'package.json')}: "mx" must have string "entry" and number "protocol"`,
      fix: 'fix the backend package',
    };
  } else {
    c.entry = resolve(dir, mx.entry);
  }
  return c;
}

/**
 * Resolves one spec to a candidate. Never throws: a spec that names nothing usable
 * comes back with `error` set, so that the registry can report it.
 */
export function resolveSpec(p: ParsedSpec, root: string, source: DiscoverySource): Candidate {
  const fail = (reason: string, fix?: string, name = p.name ?? p.spec): Candidate => ({
    name,
    source,
    priority: 0,
    error: { status: 'unavailable', code: 'BACKEND_UNAVAILABLE', reason, ...(fix !== undefined && { fix }) },
  });
  let dir = p.dir;
  if (dir === undefined) {
    const found = p.packages.map((pkg) => resolvePackageJson(pkg, root, true)).find((f) => f !== undefined);
    if (found === undefined) {
      return fail(`package ${p.packages.join(' or ')} is not installed (resolved from ${root})`, `npm install ${p.packages[0]}`);
    }
    dir = dirname(found);
  }
  try {
    if (!existsSync(join(dir, 'package.json'))) return fail(`${dir} has no package.json`, 'point it at a backend package directory');
    return (
      candidateAt(dir, source) ??
      fail(`${join(dir, 'package.json')} has no "mx": { "backend": ... } field: not an mx backend`, 'check the name of the package')
    );
  } catch (e) {
    return fail(`cannot read ${join(dir, 'package.json')}: ${(e as Error).message}`);
  }
}

export interface Discovered {
  readonly root: string;
  /** MX_BACKENDS specs, in order; null when MX_BACKENDS is not set. */
  readonly envSpecs: readonly string[] | null;
  /** `mx.backends` of the app's package.json. */
  readonly configSpecs: readonly string[];
  /** Backends among the app's declared dependencies (those that resolve and declare `mx.backend`). */
  readonly dependencies: readonly Candidate[];
}

/** Reads the app's package.json and the manifests of its dependencies. JSON only. */
export function discover(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Discovered {
  const root = appRoot(env, cwd);
  const envSpecs = env.MX_BACKENDS !== undefined && env.MX_BACKENDS.trim() !== '' ? splitSpecs(env.MX_BACKENDS) : null;
  const app = tryReadJson(join(root, 'package.json')) ?? {};
  const names = new Set<string>();
  for (const field of DEP_FIELDS) {
    const deps = app[field];
    if (deps && typeof deps === 'object') for (const n of Object.keys(deps)) names.add(n);
  }
  const dependencies: Candidate[] = [];
  for (const n of names) {
    const file = resolvePackageJson(n, root);
    if (file === undefined) continue; // an optional dependency that is not installed, or a package that hides package.json
    try {
      const c = candidateAt(dirname(file), 'dependency');
      if (c) dependencies.push(c);
    } catch {
      // unreadable package.json of a package that is not ours to judge
    }
  }
  return { root, envSpecs, configSpecs: splitSpecs(app.mx?.backends), dependencies };
}

/** The package (name, version, dir) containing a file path or file: URL, for backends registered by import. */
export function packageOf(fileOrUrl: string): { name: string; version?: string; dir: string } | undefined {
  let path: string;
  try {
    path = fileOrUrl.startsWith('file:') ? fileURLToPath(fileOrUrl) : resolve(fileOrUrl);
  } catch {
    return undefined;
  }
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    // A package.json without a name (e.g. dist/package.json with only "type") is not the package root.
    const pj = existsSync(file) ? tryReadJson(file) : undefined;
    if (pj?.name !== undefined) return { dir, name: pj.name, ...(pj.version !== undefined && { version: pj.version }) };
    if (dirname(dir) === dir) return undefined;
  }
}
