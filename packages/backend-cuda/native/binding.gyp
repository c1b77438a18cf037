# The cuda backend's .node. Build it with `node scripts/build.mjs` (pnpm build):
# nvcc compiles native/src/kernels/*.cu into an archive first, then this target
# links it whole (static kernel registrations) with the static CUDA runtime, plus
# @mx/core's bridge (bridge/bridge.gypi). Without nvcc (cuda_home empty) the
# target is a stub whose init() says the package was built without CUDA.
{
  'variables': { 'cuda_home%': '', 'cuda_archive%': '' },
  'targets': [
    {
      'target_name': 'mx_backend_cuda',
      'conditions': [
        ['cuda_home==""', { 'sources': ['src/stub.cc'] }, {
          'sources': ['src/backend.cc', 'src/libs.cc', 'src/cudnn.cc', 'src/cublaslt.cc'],
          'include_dirs': ['<(cuda_home)/include'],
          'libraries': [
            '-Wl,--whole-archive', '<(cuda_archive)', '-Wl,--no-whole-archive',
            '-L<(cuda_home)/lib64', '-lcudart_static', '-ldl', '-lrt', '-lpthread',
          ],
        }],
      ],
    },
  ],
}
