// Builds native/ into prebuilds/<platform>-<arch>/mx-backend-toy.node, where
// node-gyp-build finds it at run time. The steps every native mx backend takes:
//   1. node-gyp rebuild, with @mx/core's bridge/bridge.gypi passed by -I (gyp
//      expands no commands inside "includes", so the path is resolved here);
//   2. prebuildify --napi --strip packs native/build/Release into prebuilds/;
//   3. native/build is removed: node-gyp-build would prefer a stale build/Release.
// npm_config_nodedir: where Node's headers are (default: the running node's
// prefix), so node-gyp never downloads them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const native = join(root, 'native');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const fail = (message) => {
  console.error(`${pkg.name} build: ${message}`);
  process.exit(1);
};

const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) fail(`no Node headers under ${nodedir}; set npm_config_nodedir`);
const gypi = join(dirname(require.resolve('@mx/core/package.json')), 'bridge', 'bridge.gypi');
if (!existsSync(gypi)) fail(`${gypi} is missing: install @mx/core (a devDependency)`);

const nodeGyp = join(dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
const gyp = spawnSync(process.execPath, [nodeGyp, 'rebuild', '-j', '2', '--', '-I', gypi], {
  cwd: native,
  env: { ...process.env, npm_config_nodedir: nodedir },
  stdio: 'inherit',
});
if (gyp.status !== 0) fail(`node-gyp failed (${gyp.error?.message ?? `exit code ${gyp.status}`})`);

// nodeGyp: 'true' makes prebuildify pack the build above instead of building again without the bridge.
rmSync(join(root, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true, force: true });
await new Promise((resolve, reject) =>
  require('prebuildify')({ napi: true, strip: true, cwd: native, out: root, name: pkg.name, nodeGyp: 'true', quiet: true }, (err) =>
    err ? reject(err) : resolve(),
  ),
).catch((err) => fail(`prebuildify failed: ${err.message}`));
rmSync(join(native, 'build'), { recursive: true, force: true });
console.log(`${pkg.name}: built prebuilds/${process.platform}-${process.arch}/${pkg.name}.node`);
