/* Prints the kernel table of a backend's .node as JSON lines [op, domain, key],
 * without a GPU: it opens the binary with lazy binding (its N-API imports are
 * never called) and reads mx_backend_get()'s table, which needs no init. */
#include <dlfcn.h>
#include <stdio.h>

#include "mx_backend.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  void* h = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  mx_backend_get_fn get = (mx_backend_get_fn)dlsym(h, "mx_backend_get");
  if (!get) return 1;
  const mx_backend_v1* t = get();
  for (int32_t i = 0; i < t->num_kernels(); i++) {
    const mx_kernel_def* k = t->kernel(i);
    printf("[\"%s\",\"%s\",\"%s\"]\n", k->op, k->domain, k->key);
  }
  return 0;
}
