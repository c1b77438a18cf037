// Builds the onednn backend and packs it into prebuilds/<platform>-<arch>/:
//   1. node-gyp in native/kernels: libmx_onednn.so (the kernels, linked to the
//      system's libdnnl.so.2 from Debian's libdnnl-dev);
//   2. node-gyp in native/ with @mx/core's bridge/bridge.gypi: the .node (bridge +
//      a loader that opens libmx_onednn.so at init);
//   3. prebuildify --napi --strip packs the .node;
//   4. libmx_onednn.so, libdnnl.so.2 and the libraries oneDNN needs that a plain
//      Linux lacks (libgomp.so.1, libOpenCL.so.1) are copied beside it, with an
//      $ORIGIN rpath (patchelf), so a user install needs no system oneDNN.
// The same steps as @mx/backend-cpu's build (headers without network, prebuildify
// with a no-op builder), plus the kernel library and the bundling.
// Environment: npm_config_nodedir (default: the running node's prefix);
// MX_INCREMENTAL=1 keeps object files between builds (development).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const started = Date.now();
const root = fileURLToPath(new URL('..', import.meta.url));
const native = join(root, 'native');
const kernels = join(native, 'kernels');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// Libraries bundled beside the kernel library: oneDNN and what it links that a
// Linux without oneDNN lacks (libstdc++, libm, libc are taken from the system).
const BUNDLED = ['libdnnl.so.2', 'libgomp.so.1', 'libOpenCL.so.1'];

function fail(message) {
  console.error(`${pkg.name} build: ${message}`);
  process.exit(1);
}

if (process.platform !== 'linux') fail(`building on ${process.platform} is not supported yet (Linux with Debian's libdnnl-dev only)`);
if (!existsSync('/usr/include/oneapi/dnnl/dnnl.hpp')) fail('oneDNN headers are missing: apt-get install -y libdnnl-dev patchelf');

// pnpm does not pass nodedir from .npmrc to scripts, and without it node-gyp
// tries to download headers: point it at the running node's own headers.
const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h')))
  fail(`no Node headers in ${join(nodedir, 'include', 'node')}; set npm_config_nodedir to a Node installation`);
const env = { ...process.env, npm_config_nodedir: nodedir };

const coreDir = dirname(require.resolve('@mx/core/package.json'));
const gypi = join(coreDir, 'bridge', 'bridge.gypi');
if (!existsSync(gypi)) fail(`${gypi} is missing: @mx/core is incomplete`);

const nodeGyp = join(dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
const incremental = process.env.MX_INCREMENTAL === '1';
const spawn = (cmd, args, cwd) => spawnSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
function gyp(cwd, gypArgs) {
  const run = (args) => {
    const r = spawnSync(process.execPath, [nodeGyp, ...args], { cwd, env, stdio: 'inherit' });
    if (r.status !== 0) fail(`node-gyp ${args[0]} in ${cwd} failed (${r.error ? r.error.message : `exit code ${r.status}`})`);
  };
  // gyp expands no commands in "includes": the bridge and variables come in as -I/-D.
  if (!incremental) run(['rebuild', '-j', '2', '--', ...gypArgs]);
  else {
    run(['configure', '--', ...gypArgs]); // source lists are expanded at configure time
    run(['build', '-j', '2']);
  }
}
function tool(cmd, args) {
  const r = spawn(cmd, args);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed (${r.error ? r.error.message : `exit code ${r.status}`}); is ${cmd} installed? (apt-get install -y patchelf binutils)`);
  return r.stdout;
}

gyp(kernels, [`-Dmx_include=${join(coreDir, 'include')}`]);
const lib = join(kernels, 'build', 'Release', 'libmx_onednn.so');
if (!existsSync(lib)) fail(`${lib} was not built`);
gyp(native, ['-I', gypi]);

// prebuildify would run node-gyp again, without the bridge: give it a no-op
// builder so it only packs native/build/Release (which holds no .so files).
const prebuildify = require('prebuildify');
const out = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
rmSync(out, { recursive: true, force: true });
await new Promise((resolve, reject) =>
  prebuildify(
    { napi: true, strip: true, cwd: native, out: root, name: pkg.name, nodeGyp: 'true', quiet: true },
    (err) => (err ? reject(err) : resolve()),
  ),
).catch((err) => fail(`prebuildify failed: ${err.message}`));

// Bundle: where the system resolves each library for the kernel library (ldd
// lists indirect dependencies too), copied with links followed.
const found = new Map();
for (const line of tool('ldd', [lib]).split('\n')) {
  const m = /^\s*(\S+) => (\/\S+)/.exec(line);
  if (m) found.set(m[1], m[2]);
}
const target = join(out, 'libmx_onednn.so');
copyFileSync(lib, target);
tool('strip', ['--strip-unneeded', target]);
for (const name of BUNDLED) {
  const from = found.get(name);
  if (!from) fail(`${name} is not among the libraries of ${lib}; is libdnnl-dev (oneDNN 2.x) installed?`);
  copyFileSync(from, join(out, name));
}
for (const name of ['libmx_onednn.so', 'libdnnl.so.2']) tool('patchelf', ['--set-rpath', '$ORIGIN', join(out, name)]);

if (incremental) rmSync(join(native, 'build', 'Release', 'mx_backend_onednn.node'), { force: true });
else for (const dir of [native, kernels]) rmSync(join(dir, 'build'), { recursive: true, force: true });

console.log(`${pkg.name}: built ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
