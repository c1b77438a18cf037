#!/usr/bin/env bash
# Everything that needs an NVIDIA GPU, in one call on a machine that has one:
#   1. the conformance kit on cuda:0 (every declared kernel against core's reference);
#   2. the ONNX backend node tests with MX_BACKENDS=cuda,cpu;
#   3. ../shared/models through mx.onnx on cuda:0 (CPU fallback per node);
#   4. benchmarks in the same run: mx (gpu-bench.mjs) with cuBLAS/cuDNN when found and
#      with its own kernels only, and PyTorch (torch-bench.py). cuBLAS/cuDNN come from
#      the system or from PyTorch's wheels (MX_CUDA_LIBS overrides); the summary says
#      which cuDNN and cuBLASLt mx doctor found and whether they were in use, and how
#      many Conv shapes of the models step cuDNN planned or declined and how many Gemm
#      shapes cuBLASLt did (MX_CUDA_CUDNN=verbose MX_CUDA_CUBLASLT=verbose there).
# Results go to $OUT (default ./gpu-out): one file per step and summary.txt.
# MX_GPU_STEPS=conformance,bench-mx,... runs a subset (default: all of doctor,
# conformance, onnx-node-tests, models, bench-mx, bench-mx-own, bench-torch); MX_GPU_STEP_LIMIT
# is each step's time limit in seconds (default 240).
# Needs gpu/bundle.tar.xz (pnpm --filter @mx/backend-cuda gpu-bundle) carried with
# the working tree. Fails within seconds, saying why, where there is no GPU.
#   bash packages/backend-cuda/scripts/gpu-check.sh
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bundle="$here/../gpu/bundle.tar.xz"
OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
summary="$OUT/summary.txt"
die() { echo "gpu-check: $*" | tee -a "$summary" >&2; exit 2; }

: > "$summary"
command -v nvidia-smi >/dev/null 2>&1 || die "no NVIDIA GPU here: nvidia-smi is not installed (this check needs a machine with an NVIDIA GPU and driver)"
gpus="$(nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader 2>&1)" \
  || die "no NVIDIA GPU here: nvidia-smi failed: $gpus"
[ -n "$gpus" ] || die "no NVIDIA GPU here: nvidia-smi lists none"
[ -f "$bundle" ] || die "$bundle is missing: run 'pnpm build && pnpm --filter @mx/backend-cuda gpu-bundle' and carry packages/backend-cuda/gpu"
echo "GPU: $gpus" | tee -a "$summary"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)" | tee -a "$summary"

work="$(mktemp -d)"
tar -C "$work" -xJf "$bundle" || die "cannot unpack $bundle"
node="$work/node"
repo="$work/repo"
cuda="$repo/packages/backend-cuda"
# The bundle's repo/ is the app: its node_modules holds @mx/* (links) and their dependencies.
echo '{"name":"gpu-check","private":true,"dependencies":{"@mx/backend-cuda":"*","@mx/backend-cpu":"*"}}' > "$repo/package.json"
export MX_APP_ROOT="$repo"

steps=",${MX_GPU_STEPS:-doctor,conformance,onnx-node-tests,models,bench-mx,bench-mx-own,bench-torch},"
picked() { case "$steps" in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
step() {  # step NAME TIMEOUT COMMAND...: runs, records exit code and time
  local name="$1" limit="${MX_GPU_STEP_LIMIT:-$2}"; shift 2
  case "$steps" in *",$name,"*) ;; *) return 0 ;; esac
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
  local rc=$?
  echo "$name: exit $rc in $((SECONDS - t0)) s (details: $name.txt)" | tee -a "$summary"
  tail -n 3 "$OUT/$name.txt" | sed 's/^/    /' | tee -a "$summary"
}

# cuBLAS/cuDNN: the system's, or those PyTorch's wheels ship, unless MX_CUDA_LIBS is set: every
# nvidia/*/lib folder of the nvidia-* wheels (cuBLAS, cuDNN and what they load: nvrtc, the CUDA
# runtime...) and torch/lib (older wheels bundle cuDNN there). They go first in MX_CUDA_LIBS and in
# LD_LIBRARY_PATH, where cuDNN's own loads of its sub-libraries and their dependencies look.
if [ -z "${MX_CUDA_LIBS:-}" ] && command -v python3 >/dev/null 2>&1; then
  libs="$(python3 - <<'PY' 2>/dev/null
import glob, importlib, os
dirs = []
def add(d):
    if os.path.isdir(d) and glob.glob(os.path.join(d, "lib*.so*")) and d not in dirs:
        dirs.append(d)
for name in ("nvidia", "torch"):
    try:
        mod = importlib.import_module(name)
    except Exception:
        continue
    for root in getattr(mod, "__path__", []):
        if name == "nvidia":
            for d in sorted(glob.glob(os.path.join(root, "*", "lib"))):
                add(d)
        else:
            add(os.path.join(root, "lib"))
print(":".join(dirs))
PY
)"
  if [ -n "$libs" ]; then
    export MX_CUDA_LIBS="$libs"
    export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "MX_CUDA_LIBS=$libs (from PyTorch's wheels; also first in LD_LIBRARY_PATH)" | tee -a "$summary"
  fi
fi

step doctor 60 env MX_BACKENDS=cuda,cpu "$node" "$repo/packages/core/dist/cli.js" doctor
# Which cuDNN and cuBLASLt mx found and whether Conv and Gemm use them (the doctor line: "in use
# for ..." or why not).
if picked doctor; then
  echo "cuDNN: $(grep -o 'cuDNN[^;]*' "$OUT/doctor.txt" | head -n 1 || true)" | tee -a "$summary"
  echo "cuBLASLt: $(grep -o 'cuBLASLt[^;]*' "$OUT/doctor.txt" | head -n 1 || true)" | tee -a "$summary"
fi

cat > "$repo/conformance.mjs" <<'JS'
import * as mx from '@mx/core';
import { runConformance, formatReport } from '@mx/core/conformance';
import '@mx/backend-cpu';
import { backend } from '@mx/backend-cuda';
if (backend.init() !== null) { console.error('cuda unavailable: ' + backend.init()); process.exit(2); }
mx.use(backend);
const report = await runConformance(backend, { device: 'cuda:0' });
console.log(formatReport(report, 100000));
const ran = new Set(report.results.filter((r) => r.status === 'pass').map((r) => r.op + ':' + r.key));
const untested = backend.kernels().map((k) => k.op + ':' + k.key).filter((k) => !ran.has(k));
console.log('declared kernels that passed no case: ' + untested.length + (untested.length ? ' ' + untested.join(' ') : ''));
process.exitCode = report.failures.length || untested.length ? 1 : 0;
JS
step conformance 240 "$node" "$repo/conformance.mjs"

step onnx-node-tests 240 env MX_BACKENDS=cuda,cpu "$node" "$repo/packages/core/scripts/node-tests.mjs" --backend cuda \
  --out "$OUT/onnx-node-tests.md" --json "$OUT/onnx-node-tests.json"

cat > "$repo/models.mjs" <<'JS'
// Each shared model on cuda:0 against its expected outputs (rtol 1e-3, atol 1e-4).
import * as mx from '@mx/core';
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
const root = process.argv[2];
const dirs = [];
for (const d of readdirSync(root)) {
  if (existsSync(join(root, d, 'model.onnx'))) dirs.push(join(root, d));
  else if (existsSync(join(root, d)) && !d.includes('.')) for (const e of readdirSync(join(root, d))) if (existsSync(join(root, d, e, 'model.onnx'))) dirs.push(join(root, d, e));
}
let bad = 0;
for (const dir of dirs) {
  const t0 = performance.now();
  try {
    const m = await mx.onnx.load(join(dir, 'model.onnx'), { device: 'cuda:0' });
    const set = join(dir, 'test_data_set_0');
    const inputs = {};
    const pb = (f) => mx.onnx.hostToTensor(mx.onnx.readTensor(mx.onnx.decodeTensor(readFileSync(join(set, f)))), 'cpu');
    m.inputs.forEach((inp, i) => { inputs[inp.name] = pb(`input_${i}.pb`); });
    const out = await m.run(inputs);
    let worst = 0;
    for (const [i, o] of m.outputs.entries()) {
      const want = await pb(`output_${i}.pb`).data();
      const got = await out[o.name].data();
      for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(Number(got[k]) - Number(want[k])) / (1e-4 + 1e-3 * Math.abs(Number(want[k]))));
    }
    console.log(`${worst <= 1 ? 'pass' : 'FAIL'} ${dir.slice(root.length + 1)} (worst error ${worst.toFixed(3)} of the tolerance, ${(performance.now() - t0).toFixed(0)} ms)`);
    if (worst > 1) bad++;
  } catch (e) {
    bad++;
    console.log(`ERROR ${dir.slice(root.length + 1)}: ${String(e?.message ?? e).split('\n')[0]}`);
  }
}
process.exitCode = bad ? 1 : 0;
JS
step models 240 env MX_BACKENDS=cuda,cpu MX_CUDA_CUDNN=verbose MX_CUDA_CUBLASLT=verbose "$node" "$repo/models.mjs" "$work/shared/models"
if picked models; then
  planned=$(grep -c '^mx cuda: cuDNN Conv ' "$OUT/models.txt" || true)
  declined=$(grep -c '^mx cuda: cuDNN declined ' "$OUT/models.txt" || true)
  echo "cuDNN in the models step: $planned Conv shapes planned, $declined declined (reasons in models.txt)" | tee -a "$summary"
  planned=$(grep -c '^mx cuda: cuBLASLt Gemm ' "$OUT/models.txt" || true)
  declined=$(grep -c '^mx cuda: cuBLASLt declined ' "$OUT/models.txt" || true)
  echo "cuBLASLt in the models step: $planned Gemm shapes with a bias planned, $declined declined (reasons in models.txt)" | tee -a "$summary"
fi

cp "$here/gpu-bench.mjs" "$repo/gpu-bench.mjs"
resnet="$work/shared/models/onnx-light/resnet50/model.onnx"
step bench-mx 240 env MX_BACKENDS=cuda,cpu "$node" "$repo/gpu-bench.mjs" "$resnet"
# The same with mx's own kernels only (no vendor library), to see what cuBLAS and cuDNN add.
step bench-mx-own 240 env MX_BACKENDS=cuda,cpu MX_CUDA_LIBS=none "$node" "$repo/gpu-bench.mjs" "$resnet"
if command -v python3 >/dev/null 2>&1 && python3 -c 'import torch' 2>/dev/null; then
  step bench-torch 240 python3 "$here/torch-bench.py"
elif [[ "$steps" == *",bench-torch,"* ]]; then
  echo "bench-torch: skipped, python3 with torch is not installed here" | tee -a "$summary"
fi
rm -rf "$work"
echo "done: results in $OUT" | tee -a "$summary"
