/**
 * native/src/cublaslt.cc against a stand-in cuBLASLt (test/fake-cublaslt.c)
 * through test/cublaslt-harness.cc, without a GPU: which symbols binding needs
 * and what mx doctor then says; the descriptor, layout, preference and heuristic
 * calls per dtype and transpose (Gemm's row-major Y = A B + bias as cuBLASLt's
 * column-major Y^T = B^T A^T + bias); one plan per shape (replays only run); and
 * every fallback: a failure status while planning or running (remembered per
 * shape), no usable suggestion, a workspace that does not fit (this call only),
 * a faulted device (an error, not a fallback). What real cuBLASLt does with these
 * calls needs a GPU (gpu-check.sh). Skipped where no CUDA toolkit headers are
 * found (cublaslt.cc includes runtime.h).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MX_DTYPE as MX, buildHarness, compile as cc, cudaInclude, root, runHarness } from './helpers.js';

const include = cudaInclude();
const dir = mkdtempSync(join(tmpdir(), 'mx-cublaslt-fake-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lib = (variant: string) => join(dir, variant, 'libcublasLt.so.13');

beforeAll(() => {
  if (!include) return;
  const fake = join(root, 'test', 'fake-cublaslt.c');
  for (const v of ['full', 'no-heuristic']) mkdirSync(join(dir, v));
  cc(['cc', '-shared', '-fPIC', '-O1', '-o', lib('full'), fake]);
  cc(['cc', '-shared', '-fPIC', '-O1', '-DFAKE_NO_HEURISTIC', '-o', lib('no-heuristic'), fake]);
  buildHarness('cublaslt-harness.cc', 'cublaslt.cc', include, join(dir, 'harness'));
}, 120_000);

/** One Gemm call: dtype, transA, transB, M, N, K, alpha (and the bias address, hex). */
const gemm = (o: { dtype?: number; ta?: 0 | 1; tb?: 0 | 1; m?: number; n?: number; k?: number; alpha?: number; bias?: string } = {}) =>
  [o.dtype ?? MX.float32, o.ta ?? 0, o.tb ?? 0, o.m ?? 2, o.n ?? 3, o.k ?? 4, o.alpha ?? 1, ...(o.bias ? [o.bias] : [])].join(',');
function run(specs: string[], o: { lib?: string; env?: Record<string, string> } = {}) {
  return runHarness(join(dir, 'harness'), [o.lib ?? lib('full'), ...specs], { MX_CUDA_CUBLASLT: 'verbose', ...o.env });
}
const inUse = 'bind: in use for Gemm with a bias vector (float32, float16, bfloat16)';

describe.skipIf(!include)('cuBLASLt binding and Gemm planning against a stand-in library', () => {
  it('binds when every symbol resolves, and says why not otherwise', () => {
    expect(run([]).bind).toBe(inUse);
    expect(run([gemm()], { lib: lib('no-heuristic') }).lines).toEqual([
      'bind: found, not used (lacks cublasLtMatmulAlgoGetHeuristic)', 'call 0: declined status=0',
    ]);
    const off = run([gemm()], { env: { MX_CUDA_CUBLASLT: '0' } });
    expect(off.lines).toEqual(['bind: found, not used (MX_CUDA_CUBLASLT=0)', 'call 0: declined status=0']);
  });

  it('plans once per shape: exact float32, the bias epilogue, Y^T = B^T A^T; replays only run', () => {
    const r = run([gemm(), gemm({ alpha: 0.5 }), gemm()]);
    expect(r.lines.slice(1, 18)).toEqual([
      'cublasLtCreate',
      'cublasLtMatmulDescCreate compute=68 scale=0',
      'cublasLtMatmulDescSetAttribute attr=3 size=4 value=0',
      'cublasLtMatmulDescSetAttribute attr=4 size=4 value=0',
      'cublasLtMatmulDescSetAttribute attr=7 size=4 value=4',
      'cublasLtMatmulDescSetAttribute attr=8 size=8 value=0x3000',
      // B [K, N] row-major is N x K column-major; A [M, K] is K x M; Y [M, N] is N x M
      'cublasLtMatrixLayoutCreate 0x100 type=0 rows=3 cols=4 ld=3',
      'cublasLtMatrixLayoutCreate 0x200 type=0 rows=4 cols=2 ld=4',
      'cublasLtMatrixLayoutCreate 0x300 type=0 rows=3 cols=2 ld=3',
      'cublasLtMatmulPreferenceSetAttribute attr=1 size=8 value=33554432',
      'cublasLtMatmulPreferenceSetAttribute attr=5 size=4 value=256',
      'cublasLtMatmulPreferenceSetAttribute attr=6 size=4 value=256',
      'cublasLtMatmulPreferenceSetAttribute attr=7 size=4 value=256',
      'cublasLtMatmulPreferenceSetAttribute attr=8 size=4 value=256',
      'cublasLtMatmulAlgoGetHeuristic a=0x100 b=0x200 c=0x300 d=0x300 requested=4 returned=1',
      'cublasLtMatmul alpha=1 A=0x2000/0x100 B=0x1000/0x200 beta=0 C=0x4000/0x300 D=0x4000/0x300 algo=100 workspace=(nil),0 stream=0x5eed',
      'call 0: cublaslt status=0',
    ]);
    expect(r.lines).toContain('cublasLtMatmul alpha=0.5 A=0x2000/0x100 B=0x1000/0x200 beta=0 C=0x4000/0x300 D=0x4000/0x300 algo=100 workspace=(nil),0 stream=0x5eed');
    expect(r.count('cublasLtMatmulAlgoGetHeuristic')).toBe(1);
    expect(r.count('cublasLtMatmulDescCreate')).toBe(1);
    expect(r.count('cublasLtMatmulDescSetAttribute attr=8')).toBe(1);
    expect(r.count('cublasLtCreate')).toBe(1);
    expect(r.calls).toEqual(['call 0: cublaslt status=0', 'call 1: cublaslt status=0', 'call 2: cublaslt status=0']);
    expect(r.stderr).toContain("mx cuda: cuBLASLt Gemm float32 M=2 N=3 K=4 transA=0 transB=0 with a bias: the heuristic's suggestion 0, workspace 0 bytes");
  });

  it('passes 16-bit types with float compute and scale, TF32 only when allowed, and float64 not at all', () => {
    const half = run([gemm({ dtype: MX.float16 })]);
    expect(half.lines).toContain('cublasLtMatmulDescCreate compute=68 scale=0');
    expect(half.lines).toContain('cublasLtMatrixLayoutCreate 0x100 type=2 rows=3 cols=4 ld=3');
    const bf = run([gemm({ dtype: MX.bfloat16 })]);
    expect(bf.lines).toContain('cublasLtMatrixLayoutCreate 0x300 type=14 rows=3 cols=2 ld=3');
    expect(run([gemm()], { env: { MX_CUDA_ALLOW_TF32: '1' } }).lines).toContain('cublasLtMatmulDescCreate compute=77 scale=0');
    expect(run([gemm({ dtype: MX.bfloat16 })], { env: { MX_CUDA_ALLOW_TF32: '1' } }).lines).toContain('cublasLtMatmulDescCreate compute=68 scale=0');
    const f64 = run([gemm({ dtype: MX.float64 })]);
    expect(f64.lines).toEqual([inUse, 'call 0: declined status=0']);
  });

  it('maps transposed operands onto their stored layouts and plans each shape and alignment apart', () => {
    const t = run([gemm({ ta: 1, tb: 1, m: 5, n: 6, k: 7 })]);
    expect(t.lines.slice(1, 10)).toEqual([
      'cublasLtCreate', 'cublasLtMatmulDescCreate compute=68 scale=0',
      'cublasLtMatmulDescSetAttribute attr=3 size=4 value=1', 'cublasLtMatmulDescSetAttribute attr=4 size=4 value=1',
      'cublasLtMatmulDescSetAttribute attr=7 size=4 value=4', 'cublasLtMatmulDescSetAttribute attr=8 size=8 value=0x3000',
      // B [N, K] row-major is K x N column-major (op T); A [K, M] is M x K (op T)
      'cublasLtMatrixLayoutCreate 0x100 type=0 rows=7 cols=6 ld=7',
      'cublasLtMatrixLayoutCreate 0x200 type=0 rows=5 cols=7 ld=5',
      'cublasLtMatrixLayoutCreate 0x300 type=0 rows=6 cols=5 ld=6',
    ]);
    // another shape: a second plan; a bias at another 256-aligned address: the same plan, the pointer reset;
    // a bias aligned to 2 bytes: a plan of its own
    const r = run([gemm(), gemm({ m: 8 }), gemm({ bias: '3100' }), gemm({ dtype: MX.float16, bias: '3102' })]);
    expect(r.count('cublasLtMatmulAlgoGetHeuristic')).toBe(3);
    expect(r.lines.filter((l) => l.startsWith('cublasLtMatmulDescSetAttribute attr=8'))).toEqual([
      'cublasLtMatmulDescSetAttribute attr=8 size=8 value=0x3000', 'cublasLtMatmulDescSetAttribute attr=8 size=8 value=0x3000',
      'cublasLtMatmulDescSetAttribute attr=8 size=8 value=0x3100', 'cublasLtMatmulDescSetAttribute attr=8 size=8 value=0x3102',
    ]);
    expect(r.calls.every((c) => c.endsWith('cublaslt status=0'))).toBe(true);
  });

  it('takes the first usable suggestion and declines the shape when none is', () => {
    const second = run([gemm()], { env: { FAKE_HEUR: '15,0;0,4096' } });
    expect(second.lines.slice(-4)).toEqual([
      'cudaMallocAsync 4096',
      'cublasLtMatmul alpha=1 A=0x2000/0x100 B=0x1000/0x200 beta=0 C=0x4000/0x300 D=0x4000/0x300 algo=101 workspace=0xa000,4096 stream=0x5eed',
      'cudaFreeAsync 0xa000', 'call 0: cublaslt status=0',
    ]);
    const none = run([gemm(), gemm()], { env: { FAKE_HEUR: '' } });
    expect(none.calls).toEqual(['call 0: declined status=0', 'call 1: declined status=0']);
    expect(none.count('cublasLtMatmulAlgoGetHeuristic')).toBe(1);
    expect(none.count('destroy ')).toBe(4);
    expect(none.stderr).toContain('mx cuda: cuBLASLt declined Gemm M=2 N=3 K=4 with a bias: no suggested algorithm fits (0 suggested)');
  });

  it('falls back per shape on a failure status, per call when the workspace does not fit, and reports a faulted device', () => {
    const heur = run([gemm(), gemm()], { env: { FAKE_HEUR_STATUS: '15' } });
    expect(heur.calls).toEqual(['call 0: declined status=0', 'call 1: declined status=0']);
    expect(heur.count('cublasLtMatmulAlgoGetHeuristic')).toBe(1);
    expect(heur.stderr).toContain('cublasLtMatmulAlgoGetHeuristic returned CUBLAS_STATUS_FAKE_FAILURE (15)');
    const attr = run([gemm(), gemm()], { env: { FAKE_SET_FAIL: '7' } });
    expect(attr.calls).toEqual(['call 0: declined status=0', 'call 1: declined status=0']);
    expect(attr.count('cublasLtMatmulDescCreate')).toBe(1);
    expect(attr.stderr).toContain('cublasLtMatmulDescSetAttribute (EPILOGUE) returned CUBLAS_STATUS_FAKE_FAILURE (7)');
    const failing = run([gemm(), gemm(), gemm({ m: 8 })], { env: { FAKE_MATMUL: '15' } });
    expect(failing.calls).toEqual(['call 0: declined status=0', 'call 1: declined status=0', 'call 2: declined status=0']);
    expect(failing.count('cublasLtMatmul ')).toBe(2);
    expect(failing.stderr).toContain('cublasLtMatmul returned CUBLAS_STATUS_FAKE_FAILURE (15)');
    const oom = run([gemm(), gemm()], { env: { FAKE_HEUR: '0,4096', FAKE_OOM: '1' } });
    expect(oom.calls).toEqual(['call 0: declined status=0', 'call 1: declined status=0']);
    expect(oom.count('cudaMallocAsync')).toBe(2);
    expect(oom.count('cublasLtMatmul ')).toBe(0);
    const fault = run([gemm()], { env: { FAKE_MATMUL: '13', FAKE_FAULT: '1' } });
    expect(fault.calls).toEqual(['call 0: cublaslt status=4 cuBLASLt matmul on cuda:0 failed with CUDA error 700']);
  });
});
