/* Prints native/src/cudnn_layout.h's mapping of Conv shapes onto cuDNN's legacy
 * descriptors, one JSON line per case read from stdin (whitespace-separated
 * integers: ndim, X dims, W dims, Y dims, then count and values of strides,
 * dilations and pads, then group). Needs no CUDA or cuDNN. */
#include <cstdio>
#include <vector>

#include "../native/src/cudnn_layout.h"

static void list(const char* name, const int* v, int n, bool last = false) {
  printf("\"%s\":[", name);
  for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", v[i]);
  printf("]%s", last ? "" : ",");
}

int main() {
  int ndim;
  while (scanf("%d", &ndim) == 1) {
    if (ndim < 1 || ndim > 8) return 2;
    int64_t x[8], w[8], y[8];
    for (int64_t* t : {x, w, y})
      for (int i = 0; i < ndim; i++)
        if (scanf("%lld", (long long*)&t[i]) != 1) return 2;
    std::vector<int64_t> attr[3];
    for (auto& a : attr) {
      int n;
      if (scanf("%d", &n) != 1 || n < 0) return 2;
      a.resize(n);
      for (auto& v : a)
        if (scanf("%lld", (long long*)&v) != 1) return 2;
    }
    long long group;
    if (scanf("%lld", &group) != 1) return 2;
    mxcuda::CudnnConvLayout L;
    const char* why = mxcuda::cudnn_conv_layout(ndim, x, w, y, (int)attr[0].size(), attr[0].data(), (int)attr[1].size(), attr[1].data(),
                                                (int)attr[2].size(), attr[2].data(), group, &L);
    if (why) {
      printf("{\"why\":\"%s\"}\n", why);
      continue;
    }
    printf("{\"nb\":%d,", L.nb);
    list("x", L.x, L.nb), list("xs", L.xs, L.nb), list("y", L.y, L.nb), list("ys", L.ys, L.nb), list("w", L.w, L.nb);
    list("pad", L.pad, L.nconv), list("stride", L.stride, L.nconv), list("dil", L.dil, L.nconv);
    printf("\"group\":%d}\n", L.group);
  }
  return 0;
}
