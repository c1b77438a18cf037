/**
 * @mx/backend-onednn: oneDNN primitives for the cpu device (conv, matmul, pooling,
 * normalization, softmax, activations) on core's host memory. It serves 'cpu'
 * with a higher priority than @mx/backend-cpu, which runs every op this backend
 * does not declare, on the same queue, with no copies. Importing the package
 * registers the backend with @mx/core.
 *
 * @example
 *   import '@mx/backend-cpu';
 *   import '@mx/backend-onednn';
 *   import * as mx from '@mx/core';
 *   const y = mx.conv(mx.ones([1, 3, 8, 8]), mx.ones([4, 3, 3, 3])); // runs on onednn
 *   const z = mx.add(y, 1);                                           // runs on cpu
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { registerBackend, type Backend } from '@mx/core';
import { nativeBackend, unavailableBackend } from '@mx/core/bridge';

const require = createRequire(import.meta.url);
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const pkg = require('../package.json') as { version: string; mx: { priority: number } };
const info = { name: 'onednn', version: pkg.version, priority: pkg.mx.priority };

/**
 * Loads the binary for this platform from `root` (prebuilds/<platform>-<arch>/)
 * with node-gyp-build. A missing binary gives an unavailable backend whose init()
 * says what was tried and the fix; a binary whose oneDNN library cannot load
 * (see MX_ONEDNN_LIB in the README) reports the dynamic loader's message from init().
 * @example
 *   const onednn = loadBackend();
 *   onednn.init(); // null when oneDNN runs here
 */
export function loadBackend(root: string = packageRoot): Backend {
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  let tried = `${root} (prebuilds/${process.platform}-${process.arch}/)`;
  try {
    tried = nodeGypBuild.resolve(root);
    return nativeBackend(require(tried), info);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).trim();
    return unavailableBackend(
      info,
      `cannot load the onednn backend's native binary for ${process.platform}-${process.arch} from ${tried}: ${why}; ` +
        'fix: reinstall @mx/backend-onednn (its prebuilds/ holds the binaries), or build it from source with `pnpm --filter @mx/backend-onednn build`',
    );
  }
}

export const backend: Backend = loadBackend();
export default backend;

registerBackend(backend, import.meta.url);
