# PyTorch on the same GPU as gpu-bench.mjs: torch.matmul 4096^3 in float32 (TF32
# off, as mx's default), float16, bfloat16; torchvision resnet50 eager (random
# weights, float32) at batch 1 and 16. Median ms of timed repetitions after
# warm-up, each ended by torch.cuda.synchronize(). Prints JSON.
import json, os, statistics, time
import torch

reps = int(os.environ.get("MX_BENCH_REPS", "20"))
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

def timed(fn):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)

out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "matmul": {}, "resnet50": {}}
n = 4096
for name, dt in [("float32", torch.float32), ("float16", torch.float16), ("bfloat16", torch.bfloat16)]:
    a = torch.rand(n, n, device="cuda", dtype=dt) - 0.5
    ms = timed(lambda: torch.matmul(a, a))
    out["matmul"][name] = {"ms": ms, "tflops": 2 * n**3 / (ms * 1e-3) / 1e12}
try:
    import torchvision
    model = torchvision.models.resnet50(weights=None).cuda().eval()
    with torch.no_grad():
        for batch in (1, 16):
            x = torch.rand(batch, 3, 224, 224, device="cuda")
            out["resnet50"]["batch%d" % batch] = {"ms": timed(lambda: model(x))}
except Exception as e:  # torchvision absent or failing: say so
    out["resnet50"] = {"error": repr(e)}
print(json.dumps(out, indent=2))
