// Builds the cuda backend and packs it into prebuilds/<platform>-<arch>/:
//   1. nvcc compiles native/src/kernels/*.cu (MX_JOBS at a time, default 2) into
//      a fat binary per file: SASS for sm_75, sm_80, sm_86, sm_89, sm_90 and PTX
//      for sm_90 (MX_CUDA_ARCHS=75,90 overrides, the last one also gets PTX);
//   2. ar packs them into native/build-cu/libmx_cuda_kernels.a;
//   3. node-gyp in native/ with @mx/core's bridge/bridge.gypi links the .node:
//      bridge + backend.cc/libs.cc + the whole archive + cudart_static (the
//      driver, libcuda.so.1, is opened by the runtime on first use);
//   4. prebuildify --napi --strip packs it (no-op builder, as @mx/backend-cpu).
// Without nvcc (CUDA_HOME if set, else PATH, /usr/local/cuda) it says so and builds a stub
// .node that reports the backend unavailable, so the package still installs.
// Environment: CUDA_HOME, MX_CUDA_ARCHS, MX_JOBS, npm_config_nodedir,
// MX_INCREMENTAL=1 (recompile only changed .cu files, keep object files).
import { spawn as spawnAsync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const started = Date.now();
const root = fileURLToPath(new URL('..', import.meta.url));
const native = join(root, 'native');
const kernelsDir = join(native, 'src', 'kernels');
const cuBuild = join(native, 'build-cu');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const incremental = process.env.MX_INCREMENTAL === '1';

function fail(message) {
  console.error(`${pkg.name} build: ${message}`);
  process.exit(1);
}
if (process.platform !== 'linux') fail(`building on ${process.platform} is not supported yet (Linux with CUDA 13 only)`);

const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h')))
  fail(`no Node headers in ${join(nodedir, 'include', 'node')}; set npm_config_nodedir to a Node installation`);
const env = { ...process.env, npm_config_nodedir: nodedir };

const coreDir = dirname(require.resolve('@mx/core/package.json'));
const gypi = join(coreDir, 'bridge', 'bridge.gypi');
if (!existsSync(gypi)) fail(`${gypi} is missing: @mx/core is incomplete`);
const nodeGyp = join(dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');

/** The CUDA installation: CUDA_HOME when set (and only it), else the nvcc on PATH, else /usr/local/cuda. */
function findCuda() {
  const usable = (c) => existsSync(join(c, 'bin', 'nvcc')) && existsSync(join(c, 'lib64', 'libcudart_static.a'));
  if (process.env.CUDA_HOME) return usable(process.env.CUDA_HOME) ? process.env.CUDA_HOME : undefined;
  const candidates = [];
  const which = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) {
    const real = spawnSync('readlink', ['-f', which.stdout.trim()], { encoding: 'utf8' }).stdout.trim();
    candidates.push(dirname(dirname(real || which.stdout.trim())));
  }
  candidates.push('/usr/local/cuda');
  return candidates.find(usable);
}

const archs = (process.env.MX_CUDA_ARCHS || '75,80,86,89,90').split(',').map((a) => a.trim()).filter(Boolean);
function nvccFlags(cuda) {
  const gencode = archs.flatMap((a, i) => [
    '-gencode',
    i === archs.length - 1 ? `arch=compute_${a},code=[sm_${a},compute_${a}]` : `arch=compute_${a},code=sm_${a}`,
  ]);
  return [
    // 186: "pointless comparison of unsigned integer with zero" in templates shared by signed and unsigned types
    '-std=c++17', '-O3', '--expt-relaxed-constexpr', '-diag-suppress', '186', '-Xcompiler', '-fPIC,-fvisibility=hidden',
    `-I${join(coreDir, 'include')}`, `-I${join(native, 'src')}`, `-I${join(cuda, 'include')}`, ...gencode,
  ];
}

/** Compiles every .cu file, `jobs` at a time; returns the object files. */
async function compileKernels(cuda) {
  mkdirSync(cuBuild, { recursive: true });
  const nvcc = join(cuda, 'bin', 'nvcc');
  const sources = readdirSync(kernelsDir).filter((f) => f.endsWith('.cu')).sort();
  const headers = [...readdirSync(kernelsDir).filter((f) => f.endsWith('.cuh')).map((f) => join(kernelsDir, f)), join(native, 'src', 'runtime.h')];
  const newestHeader = Math.max(...headers.map((h) => statSync(h).mtimeMs));
  const flags = nvccFlags(cuda);
  const jobs = Math.max(1, Number(process.env.MX_JOBS) || 2);
  const todo = [];
  const objects = sources.map((s) => {
    const src = join(kernelsDir, s);
    const obj = join(cuBuild, s.replace(/\.cu$/, '.o'));
    const fresh = incremental && existsSync(obj) && statSync(obj).mtimeMs > Math.max(statSync(src).mtimeMs, newestHeader);
    if (!fresh) todo.push({ src, obj, name: s });
    return obj;
  });
  let next = 0;
  const failures = [];
  const worker = async () => {
    while (next < todo.length) {
      const { src, obj, name } = todo[next++];
      const t0 = Date.now();
      const code = await new Promise((resolve) => {
        const p = spawnAsync(nvcc, [...flags, '-c', src, '-o', obj], { stdio: 'inherit', env });
        p.on('close', resolve);
        p.on('error', () => resolve(-1));
      });
      if (code !== 0) failures.push(name);
      else console.log(`  nvcc ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  if (failures.length) fail(`nvcc failed on ${failures.join(', ')}`);
  return objects;
}

function gyp(args) {
  const run = (a) => {
    const r = spawnSync(process.execPath, [nodeGyp, ...a], { cwd: native, env, stdio: 'inherit' });
    if (r.status !== 0) fail(`node-gyp ${a[0]} failed (${r.error ? r.error.message : `exit code ${r.status}`})`);
  };
  if (!incremental) run(['rebuild', '-j', '2', '--', ...args]);
  else {
    run(['configure', '--', ...args]);
    run(['build', '-j', '2']);
  }
}

const cuda = findCuda();
if (!cuda) {
  console.warn(
    `${pkg.name} build: nvcc was not found (${process.env.CUDA_HOME ? `CUDA_HOME=${process.env.CUDA_HOME}` : 'PATH, /usr/local/cuda'}): building a stub that reports the ` +
      'backend unavailable. Install CUDA 13 (nvcc, libcudart_static.a) and rebuild for a working backend.',
  );
  gyp(['-I', gypi, '-Dcuda_home=']);
} else {
  if (!incremental) rmSync(cuBuild, { recursive: true, force: true });
  console.log(`${pkg.name}: CUDA at ${cuda}, architectures sm_${archs.join(', sm_')} (+PTX for sm_${archs.at(-1)})`);
  const objects = await compileKernels(cuda);
  const archive = join(cuBuild, 'libmx_cuda_kernels.a');
  rmSync(archive, { force: true });
  const ar = spawnSync('ar', ['rcs', archive, ...objects], { stdio: 'inherit' });
  if (ar.status !== 0) fail('ar failed (apt-get install -y binutils)');
  gyp(['-I', gypi, `-Dcuda_home=${cuda}`, `-Dcuda_archive=${archive}`]);
}

const prebuildify = require('prebuildify');
const out = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
rmSync(out, { recursive: true, force: true });
await new Promise((resolve, reject) =>
  prebuildify(
    { napi: true, strip: true, cwd: native, out: root, name: pkg.name, nodeGyp: 'true', quiet: true },
    (err) => (err ? reject(err) : resolve()),
  ),
).catch((err) => fail(`prebuildify failed: ${err.message}`));

if (incremental) rmSync(join(native, 'build', 'Release', 'mx_backend_cuda.node'), { force: true });
else for (const dir of [join(native, 'build'), cuBuild]) rmSync(dir, { recursive: true, force: true });

console.log(`${pkg.name}: built ${out}${cuda ? '' : ' (stub: no CUDA)'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
