/**
 * mx-backend-toy: the entry module that package.json#mx.entry names. It loads the
 * prebuilt binary for this platform and hands it to @mx/core's bridge; when no
 * binary can load, it is an "unavailable" backend whose reason says what was
 * tried and the fix, so the app keeps running on its other backends.
 *
 * Importing it registers the backend; apps that list it as a dependency need not
 * import it at all (discovery finds it through package.json).
 *
 * @example
 *   import * as mx from '@mx/core';
 *   const y = mx.add(mx.tensor([1, 2]), mx.tensor([3, 4])); // Add(float32) runs on 'toy'
 *   console.log(await y.data()); // Float32Array [4, 6]
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { registerBackend, type Backend } from '@mx/core';
import { nativeBackend, unavailableBackend } from '@mx/core/bridge';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = require('../package.json') as { name: string; version: string; mx: { backend: string; priority: number } };
const info = { name: pkg.mx.backend, version: pkg.version, priority: pkg.mx.priority };

function load(): Backend {
  try {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    return nativeBackend(require(nodeGypBuild.resolve(root)), info);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).trim();
    return unavailableBackend(
      info,
      `${pkg.name} has no binary that loads on ${process.platform}-${process.arch} (${why}); ` +
        `fix: install a release of ${pkg.name} with prebuilds for ${process.platform}-${process.arch}, or build it from source: ` +
        `npm run build in ${root} (needs a C++ toolchain and the devDependencies)`,
    );
  }
}

export const backend: Backend = load();
export default backend;

registerBackend(backend, import.meta.url);
