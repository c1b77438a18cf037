# The cpu backend's .node. Build it with `node scripts/build.mjs` (pnpm build),
# which adds @mx/core's bridge (bridge/bridge.gypi) and packs the result into
# prebuilds/. Every src/kernels/*.cc is compiled, so a new kernel file needs no
# edit here; MX_CPU_SKIP_KERNELS=a.cc,b.cc leaves files out of a local build.
{
  'targets': [
    {
      'target_name': 'mx_backend_cpu',
      'sources': [
        'src/backend.cc',
        "<!@(node -p \"require('fs').readdirSync('src/kernels').filter((f) => f.endsWith('.cc') && !(process.env.MX_CPU_SKIP_KERNELS || '').split(',').includes(f)).sort().map((f) => 'src/kernels/' + f).join(' ')\")",
      ],
      'include_dirs': ['src/kernels'],
    },
  ],
}
