/**
 * @mx/backend-cpu: C++ kernels for the host CPU (threads and SIMD chosen at run
 * time). Importing the package registers the backend with @mx/core.
 *
 * @example
 *   import '@mx/backend-cpu';
 *   import * as mx from '@mx/core';
 *   const y = mx.add(mx.tensor([1, 2]), mx.tensor([3, 4])); // runs on 'cpu'
 */
import { registerBackend, type Backend } from '@mx/core';
import { loadNativeBackend } from '@mx/core/bridge';

/**
 * Loads the binary for this platform from `root` (default: this package) with
 * node-gyp-build; when that fails the result is an unavailable backend whose
 * init() says what was tried, why it failed and the fix.
 * @example
 *   const cpu = loadBackend();
 *   cpu.init(); // null when it can run here
 */
export function loadBackend(root?: string): Backend {
  return loadNativeBackend(import.meta.url, root);
}

export const backend: Backend = loadBackend();
export default backend;

registerBackend(backend, import.meta.url);
