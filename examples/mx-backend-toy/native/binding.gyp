# One target, the backend's own sources only. scripts/build.mjs adds @mx/core's
# bridge (bridge/bridge.gypi: the N-API module, include paths, flags) with -I.
{
  'targets': [
    {
      'target_name': 'mx_backend_toy',
      'sources': ['src/toy.cc'],
    },
  ],
}
