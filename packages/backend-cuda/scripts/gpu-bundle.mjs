// Packs what the GPU check needs into gpu/bundle.tar.xz (git-ignored; travels to
// a GPU machine as a `carry` path, with no Node and no registry there):
//   node                      this machine's node binary
//   repo/packages/{core,backend-cpu,backend-cuda}   package.json, dist, prebuilds, scripts
//   repo/node_modules/        @mx/* as relative links to repo/packages, and real
//                             copies of the run-time dependencies (protobufjs,
//                             onnx-proto, node-gyp-build and what they require)
//   shared/onnx-tests/node, shared/models   the external truth, beside repo/ as in the workspace
// Build the packages first (pnpm build). Prints the bundle's size; the carry limit is 64 MiB.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const repo = join(root, '..', '..');
const shared = process.env.MX_SHARED ?? join(repo, '..', 'shared');
const out = join(root, 'gpu');
const stage = join(out, 'stage');
const fail = (m) => (console.error(`gpu-bundle: ${m}`), process.exit(1));

rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'repo', 'node_modules', '@mx'), { recursive: true });
cpSync(process.execPath, join(stage, 'node'));

const packages = { core: ['package.json', 'dist', 'scripts'], 'backend-cpu': ['package.json', 'dist', 'prebuilds'], 'backend-cuda': ['package.json', 'dist', 'prebuilds', 'scripts'] };
for (const [name, parts] of Object.entries(packages)) {
  const from = join(repo, 'packages', name);
  for (const part of parts) {
    if (!existsSync(join(from, part))) fail(`${join(from, part)} is missing: run pnpm build first`);
    cpSync(join(from, part), join(stage, 'repo', 'packages', name, part), { recursive: true, dereference: true });
  }
  symlinkSync(join('..', '..', 'packages', name), join(stage, 'repo', 'node_modules', '@mx', name));
}

// Run-time dependencies, copied with their dependency closure (flat, as npm would).
const seen = new Set();
function copyDep(name, fromDir) {
  if (seen.has(name)) return;
  seen.add(name);
  let dir;
  try {
    dir = realpathSync(join(fromDir, 'node_modules', name));
  } catch {
    const up = dirname(fromDir);
    if (up === fromDir) fail(`cannot find ${name}`);
    seen.delete(name);
    return copyDep(name, up);
  }
  cpSync(dir, join(stage, 'repo', 'node_modules', name), { recursive: true, dereference: true });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  // pnpm keeps a package's dependencies beside it in the store
  for (const dep of Object.keys(pkg.dependencies ?? {})) copyDep(dep, dirname(dir.slice(0, dir.lastIndexOf('/node_modules/') + '/node_modules'.length)));
}
for (const dep of ['protobufjs', 'onnx-proto']) copyDep(dep, join(repo, 'packages', 'core'));
copyDep('node-gyp-build', root);

for (const part of ['onnx-tests/node', 'models']) {
  if (!existsSync(join(shared, part))) fail(`${join(shared, part)} is missing (set MX_SHARED)`);
  cpSync(join(shared, part), join(stage, 'shared', part), { recursive: true, dereference: true });
}

const tarball = join(out, 'bundle.tar.xz');
rmSync(tarball, { force: true });
const tar = spawnSync('tar', ['-C', stage, '-cJf', tarball, '.'], { stdio: 'inherit', env: { ...process.env, XZ_OPT: '-9 -T2' } });
if (tar.status !== 0) fail('tar failed');
rmSync(stage, { recursive: true, force: true });
const mib = statSync(tarball).size / 2 ** 20;
console.log(`gpu-bundle: ${relative(process.cwd(), tarball)} ${mib.toFixed(1)} MiB${mib > 60 ? ' (too close to the 64 MiB carry limit)' : ''}`);
