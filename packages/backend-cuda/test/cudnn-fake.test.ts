/**
 * native/src/cudnn.cc against a stand-in cuDNN (test/fake-cudnn.c) through
 * test/cudnn-harness.cc, without a GPU: which symbols and sub-libraries binding
 * needs and what mx doctor then says; the descriptor, math-type and algorithm
 * calls per dtype; one plan per shape (replays only run); and every fallback:
 * shapes cuDNN cannot express, a failure status (remembered per shape), a
 * workspace that does not fit (this call only), a faulted device (an error, not
 * a fallback). What real cuDNN does with these calls needs a GPU (gpu-check.sh).
 * Skipped where no CUDA toolkit headers are found (cudnn.cc includes runtime.h).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MX_DTYPE as MX, buildHarness, compile as cc, cudaInclude, root, runHarness } from './helpers.js';

const include = cudaInclude();
const dir = mkdtempSync(join(tmpdir(), 'mx-cudnn-fake-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lib = (variant: string) => join(dir, variant, 'libcudnn.so.9');

beforeAll(() => {
  if (!include) return;
  const fake = join(root, 'test', 'fake-cudnn.c');
  for (const v of ['full', 'incomplete', 'no-v7']) mkdirSync(join(dir, v));
  cc(['cc', '-shared', '-fPIC', '-O1', '-o', lib('full'), fake]);
  cc(['cc', '-shared', '-fPIC', '-O1', '-DFAKE_NO_V7', '-o', lib('no-v7'), fake]);
  writeFileSync(join(dir, 'empty.c'), '');
  for (const so of ['libcudnn_graph.so.9', 'libcudnn_ops.so.9', 'libcudnn_cnn.so.9', 'libcudnn_ops_infer.so.8', 'libcudnn_cnn_infer.so.8'])
    cc(['cc', '-shared', '-fPIC', '-o', join(dir, 'full', so), join(dir, 'empty.c'), `-Wl,-soname,${so}`]);
  // cuDNN 9 without its convolution sub-library
  for (const so of ['libcudnn.so.9', 'libcudnn_graph.so.9', 'libcudnn_ops.so.9']) copyFileSync(join(dir, 'full', so), join(dir, 'incomplete', so));
  buildHarness('cudnn-harness.cc', 'cudnn.cc', include, join(dir, 'harness'));
}, 120_000);

type Conv = { x: number[]; w: number[]; y: number[]; strides?: number[]; dilations?: number[]; pads?: number[]; group?: number };
const conv3x3: Conv = { x: [1, 3, 8, 8], w: [4, 3, 3, 3], y: [1, 4, 8, 8], pads: [1, 1, 1, 1] };
function run(o: { lib?: string; dtype?: number; calls?: number; accumulate?: boolean; conv?: Conv; env?: Record<string, string> } = {}) {
  const c = o.conv ?? conv3x3;
  const args = [o.lib ?? lib('full'), o.dtype ?? MX.float32, o.calls ?? 1, o.accumulate ? 1 : 0, c.x.length, ...c.x, ...c.w, ...c.y,
    ...[c.strides, c.dilations, c.pads].flatMap((a = []) => [a.length, ...a]), c.group ?? 1].map(String);
  return runHarness(join(dir, 'harness'), args, { MX_CUDA_CUDNN: 'verbose', ...o.env });
}

describe.skipIf(!include)('cuDNN binding and Conv planning against a stand-in library', () => {
  it('binds cuDNN 8 and 9 with their sub-libraries, and says why not otherwise', () => {
    expect(run().bind).toBe('bind: in use for Conv and FusedConv (float32, float64, float16, bfloat16)');
    expect(run({ env: { FAKE_VERSION: '8907' } }).bind).toBe('bind: in use for Conv and FusedConv (float32, float64, float16, bfloat16)');
    expect(run({ env: { FAKE_VERSION: '100000' } }).bind).toBe('bind: found, not used (cuDNN 10 is not one this build knows; 8 and 9 are)');
    expect(run({ lib: lib('incomplete') }).bind).toMatch(/^bind: found, not used \(cannot load its sub-library libcudnn_cnn\.so\.9: /);
    expect(run({ lib: lib('no-v7') }).bind).toBe('bind: found, not used (lacks cudnnGetConvolutionForwardAlgorithm_v7)');
    const off = run({ env: { MX_CUDA_CUDNN: '0' } });
    expect(off.bind).toBe('bind: found, not used (MX_CUDA_CUDNN=0)');
    expect(off.calls).toEqual(['call 0: declined status=0']);
    expect(off.count('cudnnCreate')).toBe(0);
  });

  it('plans once per shape: exact float32 descriptors, then replays only run', () => {
    const r = run({ calls: 3 });
    expect(r.lines.slice(1, 11)).toEqual([
      'cudnnCreate',
      'cudnnSetTensorNdDescriptor 0x100 dtype=0 dims=1,3,8,8 strides=192,64,8,1',
      'cudnnSetTensorNdDescriptor 0x200 dtype=0 dims=1,4,8,8 strides=256,64,8,1',
      'cudnnSetFilterNdDescriptor dtype=0 format=0 dims=4,3,3,3',
      'cudnnSetConvolutionNdDescriptor pad=1,1 stride=1,1 dil=1,1 mode=1 compute=0',
      'cudnnSetConvolutionGroupCount 1',
      'cudnnSetConvolutionMathType 3',
      'cudnnGetConvolutionForwardAlgorithm_v7 requested=8 returned=1',
      'cudnnGetConvolutionForwardWorkspaceSize algo=1 bytes=0',
      'cudnnSetStream 0x5eed',
    ]);
    expect(r.count('cudnnConvolutionForward x=0x1000 w=0x2000 y=0x3000 algo=1 workspace=(nil),0 alpha=1 beta=0')).toBe(3);
    expect(r.count('cudnnGetConvolutionForwardAlgorithm_v7')).toBe(1);
    expect(r.count('cudnnSetStream')).toBe(1);
    expect(r.calls).toEqual(['call 0: cudnn status=0', 'call 1: cudnn status=0', 'call 2: cudnn status=0']);
    expect(r.stderr).toContain('mx cuda: cuDNN Conv x[1,3,8,8] w[4,3,3,3]: algorithm 1, math type 3, workspace 0 bytes');
  });

  it('gives 16-bit types tensor cores with float accumulation, float64 double, and adds to Y when asked', () => {
    const half = run({ dtype: MX.float16, env: { FAKE_PERF: '1,0,1,0' } });
    expect(half.lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/dtype=2 dims=1,3,8,8/), 'cudnnSetFilterNdDescriptor dtype=2 format=0 dims=4,3,3,3',
      'cudnnSetConvolutionNdDescriptor pad=1,1 stride=1,1 dil=1,1 mode=1 compute=0', 'cudnnSetConvolutionMathType 1',
    ]));
    expect(run({ dtype: MX.bfloat16, env: { FAKE_PERF: '1,0,1,0' } }).lines).toContain('cudnnSetFilterNdDescriptor dtype=9 format=0 dims=4,3,3,3');
    const f64 = run({ dtype: MX.float64, accumulate: true, env: { FAKE_F64: '1', FAKE_PERF: '0,0,0,0' } });
    expect(f64.lines).toEqual(expect.arrayContaining([
      'cudnnSetConvolutionNdDescriptor pad=1,1 stride=1,1 dil=1,1 mode=1 compute=1', 'cudnnSetConvolutionMathType 0',
      'cudnnConvolutionForward x=0x1000 w=0x2000 y=0x3000 algo=0 workspace=(nil),0 alpha=1 beta=1',
    ]));
  });

  it('keeps float32 exact unless TF32 is allowed: tensor-op suggestions are passed over', () => {
    const perf = '6,0,1,0;1,0,3,0';
    const strict = run({ env: { FAKE_PERF: perf } });
    expect(strict.lines).toContain('cudnnConvolutionForward x=0x1000 w=0x2000 y=0x3000 algo=1 workspace=(nil),0 alpha=1 beta=0');
    expect(strict.lines.filter((l) => l.startsWith('cudnnSetConvolutionMathType'))).toEqual(['cudnnSetConvolutionMathType 3']);
    const tf32 = run({ env: { FAKE_PERF: perf, MX_CUDA_ALLOW_TF32: '1' } });
    expect(tf32.lines.filter((l) => l.startsWith('cudnnSetConvolutionMathType'))).toEqual(['cudnnSetConvolutionMathType 0', 'cudnnSetConvolutionMathType 1']);
    expect(tf32.lines).toContain('cudnnConvolutionForward x=0x1000 w=0x2000 y=0x3000 algo=6 workspace=(nil),0 alpha=1 beta=0');
    const none = run({ calls: 2, env: { FAKE_PERF: '6,0,1,0;2,3000,3,0' } });
    expect(none.calls).toEqual(['call 0: declined status=0', 'call 1: declined status=0']);
    expect(none.count('cudnnGetConvolutionForwardAlgorithm_v7')).toBe(1);
    expect(none.stderr).toContain('no suggested algorithm fits (2 suggested, float32 without TF32)');
  });

  it('maps 1-D grouped convolutions, and leaves shapes it cannot express to the own kernel without calling cuDNN', () => {
    const c1 = run({ conv: { x: [2, 4, 10], w: [6, 2, 3], y: [2, 6, 5], strides: [2], dilations: [2], pads: [2, 1], group: 2 } });
    expect(c1.lines).toEqual(expect.arrayContaining([
      'cudnnSetTensorNdDescriptor 0x100 dtype=0 dims=2,4,1,10 strides=40,10,10,1',
      'cudnnSetFilterNdDescriptor dtype=0 format=0 dims=6,2,1,3',
      'cudnnSetConvolutionNdDescriptor pad=0,2 stride=1,2 dil=1,2 mode=1 compute=0', 'cudnnSetConvolutionGroupCount 2',
    ]));
    const upper = run({ calls: 2, conv: { x: [1, 8, 224, 224], w: [8, 8, 3, 3], y: [1, 8, 112, 112], strides: [2, 2], pads: [0, 0, 1, 1] } });
    expect(upper.calls).toEqual(['call 0: declined status=0', 'call 1: declined status=0']);
    expect(upper.count('cudnnSetTensorNdDescriptor')).toBe(0);
    expect(upper.stderr).toContain('mx cuda: cuDNN declined Conv x[1,8,224,224] w[8,8,3,3]: asymmetric pads');
  });

  it('falls back per shape on a failure status, per call when the workspace does not fit, and reports a faulted device', () => {
    const failing = run({ calls: 2, env: { FAKE_FORWARD: '3000' } });
    expect(failing.calls).toEqual(['call 0: declined status=0', 'call 1: declined status=0']);
    expect(failing.count('cudnnConvolutionForward')).toBe(1);
    expect(failing.count('destroy ')).toBe(4);
    expect(failing.stderr).toContain('cudnnConvolutionForward returned CUDNN_STATUS_FAKE_FAILURE (3000)');
    const ws = run({ env: { FAKE_PERF: '1,0,3,4096' } });
    expect(ws.lines.slice(-4)).toEqual([
      'cudaMallocAsync 4096', 'cudnnConvolutionForward x=0x1000 w=0x2000 y=0x3000 algo=1 workspace=0xa000,4096 alpha=1 beta=0',
      'cudaFreeAsync 0xa000', 'call 0: cudnn status=0',
    ]);
    const oom = run({ calls: 2, env: { FAKE_PERF: '1,0,3,4096', FAKE_OOM: '1' } });
    expect(oom.calls).toEqual(['call 0: declined status=0', 'call 1: declined status=0']);
    expect(oom.count('cudaMallocAsync')).toBe(2);
    expect(oom.count('cudnnConvolutionForward')).toBe(0);
    const fault = run({ env: { FAKE_FORWARD: '5000', FAKE_FAULT: '1' } });
    expect(fault.calls).toEqual(['call 0: cudnn status=4 cuDNN convolution on cuda:0 failed with CUDA error 700']);
  });
});
