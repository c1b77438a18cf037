/* Runs native/src/cudnn.cc against test/fake-cudnn.c without a GPU: binds the
 * library given, then makes `calls` Conv calls of one shape and prints what
 * cudnn_conv answered. The CUDA runtime and backend functions it needs are
 * harness-stubs.h's (FAKE_OOM, FAKE_FAULT).
 *   cudnn-harness LIB DTYPE CALLS ACCUMULATE NDIM X... W... Y... NS STRIDES... ND DILATIONS... NP PADS... GROUP */
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "harness-stubs.h"
#include "runtime.h"


int main(int argc, char** argv) {
  if (argc < 6) return 2;
  int a = 1;
  void* lib = dlopen(argv[a++], RTLD_NOW | RTLD_LOCAL);
  if (!lib) return fprintf(stderr, "%s\n", dlerror()), 2;
  printf("bind: %s\n", mxcuda::cudnn_bind(lib));
  fflush(stdout);
  const int dtype = atoi(argv[a++]), calls = atoi(argv[a++]), accumulate = atoi(argv[a++]);
  mx_tensor t[3] = {};
  const int ndim = atoi(argv[a++]);
  for (int i = 0; i < 3; i++) {
    t[i].dtype = dtype;
    t[i].ndim = ndim;
    t[i].data = (void*)(size_t)(0x1000 * (i + 1));
    for (int d = 0; d < ndim; d++) t[i].shape[d] = atoll(argv[a++]);
  }
  static const char* names[3] = {"strides", "dilations", "pads"};
  std::vector<int64_t> values[3];
  std::vector<mx_attr> items;
  for (int k = 0; k < 3; k++) {
    const int n = atoi(argv[a++]);
    for (int i = 0; i < n; i++) values[k].push_back(atoll(argv[a++]));
    mx_attr at = {};
    at.name = names[k], at.type = MX_ATTR_INTS, at.count = n, at.ints = values[k].data();
    if (n) items.push_back(at);
  }
  mx_attr group = {};
  group.name = "group", group.type = MX_ATTR_INT, group.i = atoll(argv[a++]);
  items.push_back(group);
  mx_attrs attrs = {(int32_t)items.size(), items.data()};
  mxcuda::Stream stream = {};
  stream.s = (cudaStream_t)0x5eed;
  char msg[512] = "";
  mx_kernel_ctx ctx = {};
  ctx.size = sizeof ctx, ctx.num_inputs = 2, ctx.inputs = t, ctx.num_outputs = 1, ctx.outputs = &t[2];
  ctx.attrs = &attrs, ctx.stream = &stream, ctx.msg = msg, ctx.msg_cap = sizeof msg;
  for (int i = 0; i < calls; i++) {
    int status = -1;
    const bool took = mxcuda::cudnn_conv(&ctx, accumulate != 0, &status);
    printf("call %d: %s status=%d%s%s\n", i, took ? "cudnn" : "declined", status, *msg ? " " : "", msg);
    fflush(stdout);
  }
  return 0;
}
