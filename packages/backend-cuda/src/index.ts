/**
 * @mx/backend-cuda: CUDA kernels for the `cuda:N` devices. Importing the package
 * registers the backend with @mx/core. Where there is no NVIDIA driver or GPU the
 * package still loads: the backend is unavailable, init() says why (the CUDA
 * runtime's own message), and the other backends keep working.
 *
 * @example
 *   import '@mx/backend-cuda';
 *   import * as mx from '@mx/core';
 *   const a = mx.tensor([[1, 2], [3, 4]], { device: 'cuda:0' });
 *   console.log(await mx.matmul(a, a).data());
 */
import { registerBackend, type Backend } from '@mx/core';
import { loadNativeBackend } from '@mx/core/bridge';

/**
 * Loads the binary for this platform from `root` (default: this package) with
 * node-gyp-build; when that fails the result is an unavailable backend whose
 * init() says what was tried, why it failed and the fix.
 * @example
 *   const cuda = loadBackend();
 *   cuda.init(); // null when a GPU can be used, else the reason
 */
export function loadBackend(root?: string): Backend {
  return loadNativeBackend(import.meta.url, root);
}

export const backend: Backend = loadBackend();
export default backend;

registerBackend(backend, import.meta.url);
