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
import { registerBackend, type Backend } from '@mx/core';
import { loadNativeBackend } from '@mx/core/bridge';

/**
 * Loads the binary for this platform from `root` (default: this package) with
 * node-gyp-build; when that fails the result is an unavailable backend whose
 * init() says what was tried, why it failed and the fix.
 * @example
 *   const onednn = loadBackend();
 *   onednn.init(); // null when it can run here
 */
export function loadBackend(root?: string): Backend {
  return loadNativeBackend(import.meta.url, root);
}

export const backend: Backend = loadBackend();
export default backend;

registerBackend(backend, import.meta.url);
