# The mx bridge for a native backend's binding.gyp, the way node-gyp's addon.gypi
# works for addons: a backend's build passes it to gyp with
#   node-gyp rebuild -- -I <@mx/core>/bridge/bridge.gypi
# (gyp expands no commands in "includes", so the path comes from the build
# script, resolved with require.resolve('@mx/core/package.json')). Paths here are
# relative to this file. The backend's own target lists its sources only.
{
  'target_defaults': {
    'sources': ['mx_bridge.cc'],
    'include_dirs': ['../include', '.'],
    'defines': ['NAPI_VERSION=8'],
    # One binary for every CPU of the architecture: no -march; kernels opt in to
    # wider ISAs per function and dispatch at run time.
    'cflags': ['-O3', '-fvisibility=hidden'],
    'cflags!': ['-fno-exceptions'],
    'cflags_cc': ['-std=c++17', '-fexceptions', '-frtti', '-fvisibility-inlines-hidden'],
    'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++17'],
    'ldflags': ['-pthread'],
    'xcode_settings': {
      'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
      'GCC_ENABLE_CPP_RTTI': 'YES',
      'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
      'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
      'OTHER_CFLAGS': ['-O3'],
    },
    'msvs_settings': {
      'VCCLCompilerTool': { 'ExceptionHandling': 1, 'AdditionalOptions': ['/std:c++17'] },
    },
  },
}
