# The onednn backend's .node: @mx/core's bridge (added by scripts/build.mjs) and
# the loader that opens the kernel library (kernels/binding.gyp) at init.
{
  'targets': [
    {
      'target_name': 'mx_backend_onednn',
      'sources': ['src/loader.cc'],
      'libraries': ['-ldl'],
    },
  ],
}
