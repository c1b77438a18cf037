/**
 * The registry: which backends exist, which may run, and in what order of preference.
 *
 * Sources, first wins when two give the same backend name: backends registered in
 * code (`import '@mx/backend-x'`, registerBackend, use()), MX_BACKENDS, the app's
 * package.json `mx.backends`, the app's dependencies (see discovery.ts).
 *
 * Modes:
 *  - auto: every backend found is loaded; one that cannot run here is skipped with
 *    one warning (code MX_BACKEND_UNAVAILABLE) the first time backends are queried.
 *  - strict (MX_BACKENDS set, use() called, or MX_STRICT=1): a backend named by
 *    MX_BACKENDS or use() that cannot run is an error on every query. MX_BACKENDS
 *    also restricts the set to the listed backends (plus those named by use()).
 *
 * Preference (backendsForDevice, defaultDevice): use() order, then MX_BACKENDS
 * order, then priority (higher first), then registration order.
 *
 * Lazy: discovery (JSON only) and loading run on the first backendRecords(),
 * backendsForDevice(), devices(), defaultDevice() or use() call. A backend module
 * imported by the app calls registerBackend itself.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { MxError, type MxErrorCode } from './errors.js';
import { PROTOCOL_MAJOR, type Backend, type DeviceInfo } from './protocol.js';
import { type Candidate, discover, packageOf, parseSpec, resolveSpec, type ParsedSpec } from './discovery.js';

export type BackendSource = 'import' | 'use' | 'env' | 'app-config' | 'dependency' | 'register';

export interface BackendRecord {
  /** Backend name ('cpu'). */
  readonly name: string;
  /** '@mx/backend-cpu'. */
  readonly packageName?: string;
  readonly version?: string;
  readonly source: BackendSource;
  /** Where it was found: package directory or module URL. */
  readonly from?: string;
  readonly priority: number;
  /** The manifest's major (minor 0) until the backend is loaded, then the backend's own. */
  readonly protocol?: { major: number; minor: number };
  status: 'available' | 'unavailable' | 'failed' | 'not-loaded';
  /** Why it is unavailable, failed or not loaded, with the fix where known. */
  reason?: string;
  /** Present when loaded. */
  backend?: Backend;
}

type Status = BackendRecord['status'];
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Entry {
  readonly rec: Mutable<BackendRecord>;
  entry?: string;
  /** Named by MX_BACKENDS or use(): failing is an error, not a warning. */
  strict: boolean;
  /** The load (or the decision not to load) happened. */
  settled: boolean;
  warned: boolean;
  code?: MxErrorCode;
  /** The reason without the fix, and the fix (for strict errors' message and hint). */
  why?: string;
  fix?: string;
  devices: readonly DeviceInfo[];
}

// ---- one copy of @mx/core per process

const CORE_KEY = Symbol.for('mx.core');
const coreRequire = createRequire(import.meta.url);
const CORE_VERSION = (coreRequire('../package.json') as { version: string }).version;
const self = { version: CORE_VERSION, url: import.meta.url };
const globals = globalThis as unknown as { [CORE_KEY]?: { version: string; url: string } };
const firstCore = (globals[CORE_KEY] ??= self);

function checkCore(): void {
  if (firstCore.url === self.url) return;
  throw new MxError(
    'DUPLICATE_CORE',
    `two copies of @mx/core are loaded in this process: ${firstCore.version} at ${firstCore.url} and ${self.version} at ${self.url}; ` +
      'backends registered with one are invisible to the other',
    { hint: 'install a single version of @mx/core (npm dedupe; make backends use @mx/core as a peer dependency)' },
  );
}

/** @mx/core's version and package directory (for `mx doctor`). */
export function coreInfo(): { version: string; location: string } {
  return { version: CORE_VERSION, location: dirname(dirname(fileURLToPath(import.meta.url))) };
}

// ---- state

let entries: Entry[] = [];
let discovered = false;
let root = '';
/** Names listed by MX_BACKENDS, in order; null when it is not set. */
let envOrder: string[] | null = null;
let useOrder: string[] = [];
let useCalled = false;
let version = 0;
/** The discovered entry whose module is being required: its own registerBackend call lands here. */
let loading: Entry | null = null;

function addEntry(rec: Mutable<BackendRecord>, extra: Partial<Entry> = {}): Entry {
  const e: Entry = { rec, strict: false, settled: false, warned: false, devices: [], ...extra };
  entries.push(e);
  return e;
}

function setStatus(e: Entry, status: Exclude<Status, 'available'>, code: MxErrorCode, reason: string, fix?: string): void {
  e.rec.status = status;
  e.rec.reason = fix ? `${reason}; fix: ${fix}` : reason;
  e.code = code;
  e.why = reason;
  e.fix = fix;
  e.settled = true;
}

function fromCandidate(c: Candidate): Entry {
  const e = addEntry({
    name: c.name,
    source: c.source,
    priority: c.priority,
    status: 'not-loaded',
    ...(c.packageName !== undefined && { packageName: c.packageName }),
    ...(c.version !== undefined && { version: c.version }),
    ...(c.from !== undefined && { from: c.from }),
    ...(c.protocol !== undefined && { protocol: { major: c.protocol, minor: 0 } }),
  });
  if (c.entry !== undefined) e.entry = c.entry;
  if (c.error) setStatus(e, c.error.status, c.error.code, c.error.reason, c.error.fix);
  else if (c.protocol !== PROTOCOL_MAJOR) setStatus(e, 'failed', 'PROTOCOL', ...protocolMismatch(c.protocol!, c.packageName ?? c.name));
  return e;
}

function protocolMismatch(major: number, pkg: string): [string, string] {
  return [
    `built for backend protocol ${major}, but @mx/core ${CORE_VERSION} speaks protocol ${PROTOCOL_MAJOR}`,
    major > PROTOCOL_MAJOR ? 'upgrade @mx/core' : `upgrade ${pkg} to a version built for protocol ${PROTOCOL_MAJOR}`,
  ];
}

/** Whether a record or candidate is what a spec designates. */
function matches(x: { name: string; packageName?: string; from?: string }, p: ParsedSpec): boolean {
  return x.name === p.name || (x.packageName !== undefined && p.packages.includes(x.packageName)) || (p.dir !== undefined && x.from === p.dir);
}

/**
 * Adds a candidate unless a record of the same package exists. Another package
 * with a taken name is shadowed by the earlier source: listed, never loaded.
 */
function merge(c: Candidate): Entry {
  const same = entries.find((e) => e.rec.name === c.name);
  if (!same) return fromCandidate(c);
  if (c.error || same.rec.from === c.from || (same.rec.packageName !== undefined && same.rec.packageName === c.packageName)) return same;
  const shadowed = fromCandidate(c);
  if (!shadowed.settled) setStatus(shadowed, 'not-loaded', 'BACKEND_UNAVAILABLE', `shadowed: a backend named '${c.name}' already comes from ${where(same)}`);
  return same;
}

function where(e: Entry): string {
  return e.rec.from ?? (e.rec.source === 'use' ? 'use()' : 'registerBackend()');
}

function ensure(): void {
  checkCore();
  if (discovered) return;
  discovered = true;
  const d = discover();
  root = d.root;
  const known = [...entries.map((e) => e.rec.name), ...d.dependencies.map((c) => c.name)];
  // A spec names an entry already known, else a dependency (found through this source), else a package to resolve.
  const specEntry = (spec: string, source: 'env' | 'app-config'): Entry => {
    const p = parseSpec(spec, root, known);
    const existing = entries.find((e) => matches(e.rec, p));
    if (existing) return existing;
    const dep = d.dependencies.find((c) => matches(c, p));
    return merge(dep ? { ...dep, source } : resolveSpec(p, root, source));
  };
  if (d.envSpecs) {
    envOrder = [];
    for (const spec of d.envSpecs) {
      const e = specEntry(spec, 'env');
      e.strict = true;
      envOrder.push(e.rec.name);
    }
  }
  for (const spec of d.configSpecs) specEntry(spec, 'app-config');
  for (const c of d.dependencies) merge(c);
  for (const e of [...entries]) settle(e);
}

/** Loads, checks and initializes an entry once, unless MX_BACKENDS leaves it out. */
function settle(e: Entry): void {
  if (e.settled) return;
  if (envOrder && !e.strict && !envOrder.includes(e.rec.name)) {
    e.rec.reason = `not listed in MX_BACKENDS=${process.env.MX_BACKENDS ?? ''}`;
    return;
  }
  e.settled = true;
  delete e.rec.reason;
  if (!e.rec.backend && !load(e)) return;
  const b = e.rec.backend!;
  if (!looksLikeBackend(b)) return setStatus(e, 'failed', 'BACKEND_LOAD', NOT_A_BACKEND);
  e.rec.protocol = { major: b.protocol.major, minor: b.protocol.minor };
  e.rec.version ??= b.version;
  if (b.protocol.major !== PROTOCOL_MAJOR) return setStatus(e, 'failed', 'PROTOCOL', ...protocolMismatch(b.protocol.major, e.rec.packageName ?? b.name));
  let step = 'init()';
  try {
    const why = b.init();
    if (why !== null && why !== undefined) return setStatus(e, 'unavailable', 'BACKEND_UNAVAILABLE', why);
    step = 'devices()';
    e.devices = b.devices();
  } catch (err) {
    return setStatus(e, 'failed', 'BACKEND_LOAD', `${step} threw: ${(err as Error)?.message ?? String(err)}`);
  }
  e.rec.status = 'available';
  version++;
}

const NOT_A_BACKEND = 'not a backend: it needs name, protocol, init, devices, kernels and run (see @mx/core protocol.ts)';

function looksLikeBackend(x: unknown): x is Backend {
  const b = x as Backend | null;
  return !!b && typeof b === 'object' && typeof b.name === 'string' && typeof b.protocol?.major === 'number' &&
    typeof b.init === 'function' && typeof b.devices === 'function' && typeof b.kernels === 'function' && typeof b.run === 'function';
}

function load(e: Entry): boolean {
  if (e.entry === undefined || !existsSync(e.entry)) {
    const pkg = e.rec.packageName ?? e.rec.name;
    setStatus(e, 'failed', 'BACKEND_LOAD', `entry module ${e.entry ?? '(none)'} does not exist`, `reinstall ${pkg} (or build it, if it is a local package)`);
    return false;
  }
  let mod: { default?: unknown; backend?: unknown };
  const outer = loading;
  loading = e;
  try {
    // Node >= 20.19 require()s ES modules without top-level await, synchronously.
    mod = coreRequire(e.entry) as typeof mod;
  } catch (err) {
    setStatus(e, 'failed', 'BACKEND_LOAD', `loading ${e.entry} threw: ${(err as Error)?.message ?? String(err)}`);
    return false;
  } finally {
    loading = outer;
  }
  const b = e.rec.backend ?? [mod.default, mod.backend, mod].find(looksLikeBackend);
  if (!b) {
    setStatus(e, 'failed', 'BACKEND_LOAD', `${e.entry} exports no backend as default or \`backend\`: ${NOT_A_BACKEND}`);
    return false;
  }
  if (b.name !== e.rec.name) {
    setStatus(e, 'failed', 'BACKEND_LOAD', `package.json says backend '${e.rec.name}' but ${e.entry} exports backend '${b.name}'`);
    return false;
  }
  e.rec.backend = b;
  return true;
}

function strictError(e: Entry): MxError {
  const what = e.rec.packageName ? `the requested backend (${e.rec.packageName})` : 'the requested backend';
  return new MxError(e.code ?? 'BACKEND_UNAVAILABLE', `${what} cannot be used (${e.rec.status}): ${e.why}`, {
    backend: e.rec.name,
    ...(e.fix !== undefined && { hint: e.fix }),
  });
}

/** A backend named by MX_BACKENDS or use() that cannot run. */
function strictFailure(): Entry | undefined {
  return entries.find((e) => e.strict && e.rec.status !== 'available' && e.rec.status !== 'not-loaded');
}

/** Available entries, most preferred first. */
function ordered(): Entry[] {
  const rank = (e: Entry): [number, number] => {
    const u = useOrder.indexOf(e.rec.name);
    if (u >= 0) return [0, u];
    const v = envOrder?.indexOf(e.rec.name) ?? -1;
    return v >= 0 ? [1, v] : [2, -e.rec.priority];
  };
  return entries.filter((e) => e.rec.status === 'available').sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1];
  });
}

function noBackendError(): MxError {
  const why = entries.map((e) => `  ${e.rec.name}: ${e.rec.status}${e.rec.reason ? `: ${e.rec.reason}` : ''}`);
  return new MxError('BACKEND_UNAVAILABLE', `no mx backend is available${why.length ? `:\n${why.join('\n')}` : ' (none is installed)'}`, {
    hint: 'npm install @mx/backend-cpu (run `npx mx doctor` to see what was found)',
  });
}

/** The entries queries use: throws for a strict failure, warns once about each other one that cannot run. */
function active(): Entry[] {
  ensure();
  const f = strictFailure();
  if (f) throw strictError(f);
  for (const e of entries) {
    if (e.rec.status === 'available' || e.rec.status === 'not-loaded' || e.warned) continue;
    e.warned = true;
    process.emitWarning(`mx backend '${e.rec.name}' is skipped: ${e.rec.status}: ${e.rec.reason}`, { code: 'MX_BACKEND_UNAVAILABLE' });
  }
  return ordered();
}

// ---- public API

/**
 * Registers a backend object. A backend module calls this when it is imported;
 * tests and apps may call it with any JS object implementing the protocol.
 * The first backend of a name wins; a later one is recorded as a failed duplicate.
 * @example
 *   import { registerBackend } from '@mx/core';
 *   registerBackend(myBackend, import.meta.url);
 */
export function registerBackend(backend: Backend, from?: string): void {
  checkCore();
  if (loading && loading.rec.name === backend.name) {
    loading.rec.backend = backend; // the discovered module registering itself while it loads
    return;
  }
  const pkg = from !== undefined ? packageOf(from) : undefined;
  const same = entries.find((e) => e.rec.name === backend.name);
  if (same?.rec.backend === backend) return;
  if (same && !same.rec.backend && !same.settled && pkg && same.rec.from === pkg.dir) {
    same.rec.backend = backend; // imported by the app before discovery loaded it
  } else {
    const e = addEntry({
      name: backend.name,
      source: from !== undefined ? 'import' : 'register',
      priority: backend.priority,
      status: 'not-loaded',
      ...(from !== undefined && { from }),
      ...(pkg && { packageName: pkg.name }),
      ...(pkg?.version !== undefined && { version: pkg.version }),
    });
    e.rec.backend = backend;
    if (same) return setStatus(e, 'failed', 'BACKEND_UNAVAILABLE', `duplicate: a backend named '${backend.name}' already comes from ${where(same)}`);
  }
  if (discovered) settle(entries.find((e) => e.rec.backend === backend)!);
}

/**
 * Selects backends explicitly, most preferred first: a backend name ('cpu'), a
 * package name, a package directory, or a backend object. Strict: throws
 * BACKEND_UNAVAILABLE (or PROTOCOL, BACKEND_LOAD) when one cannot run here.
 * @example
 *   mx.use('cuda', 'cpu');
 */
export function use(...specs: (string | Backend)[]): void {
  ensure();
  useCalled = true;
  for (const spec of specs) {
    let e: Entry;
    if (typeof spec === 'string') {
      const p = parseSpec(spec, root, entries.map((x) => x.rec.name));
      e = entries.find((x) => matches(x.rec, p)) ?? merge(resolveSpec(p, root, 'use'));
    } else {
      const same = entries.find((x) => x.rec.name === spec.name);
      if (same && same.rec.backend !== spec) {
        throw new MxError('BACKEND_UNAVAILABLE', `use(): a different backend named '${spec.name}' is already registered (from ${where(same)})`, {
          backend: spec.name,
        });
      }
      e = same ?? addEntry({ name: spec.name, source: 'use', priority: spec.priority, status: 'not-loaded', backend: spec });
    }
    // Strict for settle() to load it even when MX_BACKENDS leaves it out; a failure is thrown here, once,
    // so that `try { use('cuda') } catch { use('cpu') }` works.
    const wasStrict = e.strict;
    e.strict = true;
    settle(e);
    if (e.rec.status !== 'available') {
      e.strict = wasStrict;
      throw strictError(e);
    }
    if (!useOrder.includes(e.rec.name)) useOrder.push(e.rec.name);
  }
  version++;
}

/**
 * Every backend known, including those that are unavailable, failed or not loaded
 * (for diagnostics). Runs discovery and selection on first use; never throws for a
 * backend's failure.
 * @example
 *   for (const r of backendRecords()) console.log(r.name, r.status, r.reason ?? '');
 */
export function backendRecords(): readonly BackendRecord[] {
  ensure();
  return entries.map((e) => e.rec);
}

/** The backends in use (available and selected), most preferred first. */
export function activeBackends(): readonly Backend[] {
  return active().map((e) => e.rec.backend!);
}

/**
 * Available backends that serve `device`, most preferred first.
 * @example
 *   const [best] = backendsForDevice('cpu');
 */
export function backendsForDevice(device: string): readonly Backend[] {
  return active()
    .filter((e) => e.devices.some((d) => d.id === device))
    .map((e) => e.rec.backend!);
}

/**
 * Every device of the available backends, deduplicated by id, most preferred backend first.
 * @example
 *   console.log(devices().map((d) => d.id)); // ['cuda:0', 'cpu']
 */
export function devices(): readonly DeviceInfo[] {
  const seen = new Map<string, DeviceInfo>();
  for (const e of active()) for (const d of e.devices) if (!seen.has(d.id)) seen.set(d.id, d);
  return [...seen.values()];
}

/**
 * The first device of the most preferred available backend.
 * @example
 *   defaultDevice(); // 'cpu' when only host backends are installed
 */
export function defaultDevice(): string {
  const first = active().find((e) => e.devices.length > 0);
  if (!first) throw noBackendError();
  return first.devices[0]!.id;
}

/**
 * For diagnostics (`mx doctor`): the available backends, most preferred first, and
 * the error queries would throw now; no warning is emitted.
 * @example
 *   const { preferred, error } = selection();
 */
export function selection(): { preferred: readonly BackendRecord[]; error?: MxError } {
  ensure();
  const preferred = ordered();
  const f = strictFailure();
  const error = f ? strictError(f) : preferred.some((e) => e.devices.length > 0) ? undefined : noBackendError();
  return { preferred: preferred.map((e) => e.rec), ...(error && { error }) };
}

/** Increments whenever the available backends or their preference order change. */
export function registryVersion(): number {
  ensure();
  return version;
}

/** True when MX_BACKENDS is set, use() was called, or MX_STRICT=1: failures and per-op fallback are errors. */
export function strictMode(): boolean {
  checkCore();
  return useCalled || !!process.env.MX_BACKENDS?.trim() || process.env.MX_STRICT === '1';
}

/** For tests: forget every backend; discovery runs again on next use. */
export function resetRegistry(): void {
  checkCore();
  entries = [];
  discovered = false;
  root = '';
  envOrder = null;
  useOrder = [];
  useCalled = false;
  loading = null;
  version++;
}
