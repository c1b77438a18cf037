/**
 * @mx/backend-cpu: C++ kernels for the host CPU (threads and SIMD chosen at run
 * time). Importing the package registers the backend with @mx/core.
 *
 * @example
 *   import '@mx/backend-cpu';
 *   import * as mx from '@mx/core';
 *   const y = mx.add(mx.tensor([1, 2]), mx.tensor([3, 4])); // runs on 'cpu'
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { registerBackend, type Backend } from '@mx/core';
import { nativeBackend, unavailableBackend } from '@mx/core/bridge';

const require = createRequire(import.meta.url);
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const pkg = require('../package.json') as { version: string; mx: { priority: number } };
const info = { name: 'cpu', version: pkg.version, priority: pkg.mx.priority };

/**
 * Loads the binary for this platform from `root` (prebuilds/<platform>-<arch>/,
 * or build/Release) with node-gyp-build. When that fails the result is an
 * unavailable backend whose init() says what was tried, why it failed and the fix.
 * @example
 *   const cpu = loadBackend();
 *   cpu.init(); // null when it can run here
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
      `cannot load the cpu backend's native binary for ${process.platform}-${process.arch} from ${tried}: ${why}; ` +
        'fix: reinstall @mx/backend-cpu (its prebuilds/ holds the binaries), or build it from source with `pnpm --filter @mx/backend-cpu build`',
    );
  }
}

export const backend: Backend = loadBackend();
export default backend;

registerBackend(backend, import.meta.url);
