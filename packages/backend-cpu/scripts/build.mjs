// Builds the cpu backend's .node and packs it into prebuilds/<platform>-<arch>/,
// where node-gyp-build finds it at run time:
//   1. node-gyp rebuild -j 2 in native/, adding @mx/core's bridge/bridge.gypi;
//   2. prebuildify --napi --strip packs that build (strip, name, copy .so files);
//   3. native/build is removed so a stale build/Release never shadows the prebuild.
// Environment: npm_config_nodedir (default: the running node's prefix),
// MX_CPU_SKIP_KERNELS=a.cc,b.cc (leave kernel files out of a local build),
// MX_STRIP=0 (keep the symbols, for profiling with perf).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const started = Date.now();
const root = fileURLToPath(new URL('..', import.meta.url));
const native = join(root, 'native');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function fail(message) {
  console.error(`${pkg.name} build: ${message}`);
  process.exit(1);
}

// pnpm does not pass nodedir from .npmrc to scripts, and without it node-gyp
// tries to download headers: point it at the running node's own headers.
const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h')))
  fail(`no Node headers in ${join(nodedir, 'include', 'node')}; set npm_config_nodedir to a Node installation`);
const env = { ...process.env, npm_config_nodedir: nodedir };

const gypi = join(dirname(require.resolve('@mx/core/package.json')), 'bridge', 'bridge.gypi');
if (!existsSync(gypi)) fail(`${gypi} is missing: @mx/core is incomplete`);

// gyp expands no commands in "includes", so the bridge comes in with -I.
const nodeGyp = join(dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
// MX_INCREMENTAL=1 (development): keep object files between builds and recompile only what changed.
const incremental = process.env.MX_INCREMENTAL === '1';
const run = (args) => {
  const r = spawnSync(process.execPath, [nodeGyp, ...args], { cwd: native, env, stdio: 'inherit' });
  if (r.status !== 0) fail(`node-gyp ${args[0]} failed (${r.error ? r.error.message : `exit code ${r.status}`})`);
};
if (!incremental) run(['rebuild', '-j', '2', '--', '-I', gypi]);
else {
  // configure again when kernel files were added or removed (the source list is expanded at configure time)
  run(['configure', '--', '-I', gypi]);
  run(['build', '-j', '2']);
}

// prebuildify would run node-gyp again, without the bridge: give it a no-op
// builder so it only packs native/build/Release.
const prebuildify = require('prebuildify');
const out = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
rmSync(out, { recursive: true, force: true });
await new Promise((resolve, reject) =>
  prebuildify(
    { napi: true, strip: process.env.MX_STRIP !== '0', cwd: native, out: root, name: pkg.name, nodeGyp: 'true', quiet: true },
    (err) => (err ? reject(err) : resolve()),
  ),
).catch((err) => fail(`prebuildify failed: ${err.message}`));
if (incremental) rmSync(join(native, 'build', 'Release', 'mx_backend_cpu.node'), { force: true });
else rmSync(join(native, 'build'), { recursive: true, force: true });

console.log(`${pkg.name}: built ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
