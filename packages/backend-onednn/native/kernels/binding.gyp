# libmx_onednn.so: the oneDNN kernels and the backend table the .node forwards
# to. Built by scripts/build.mjs without the bridge; it passes mx_include (the
# directory of @mx/core's mx_backend.h). Every *.cc here is compiled, so a new
# kernel file needs no edit. Links Debian's libdnnl-dev (oneDNN 2.6, OpenMP).
{
  'targets': [
    {
      'target_name': 'mx_onednn',
      'type': 'shared_library',
      'product_prefix': 'lib',
      'sources': ["<!@(node -p \"require('fs').readdirSync('.').filter((f) => f.endsWith('.cc')).sort().join(' ')\")"],
      'include_dirs': ['<(mx_include)'],
      'libraries': ['-ldnnl', '-lgomp'],
      # One binary for every CPU of the architecture: oneDNN picks its ISA at run time.
      'cflags': ['-O2', '-fvisibility=hidden'],
      'cflags!': ['-fno-exceptions'],
      'cflags_cc': ['-std=c++17', '-fexceptions', '-frtti', '-fvisibility-inlines-hidden'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++17'],
      'ldflags': ['-pthread', '-Wl,--no-undefined'],
    },
  ],
}
