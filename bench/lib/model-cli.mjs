// The command line of the one-model tools (alternate.mjs, layers.mjs):
//   <name> [--runs N] [--flags]
// where the name is a folder of ../shared/models/onnx-light next to the
// repository (or MX_BENCH_MODELS/onnx-light) holding model.onnx. Returns the
// model's bytes, the run count, a flag test, and the thread count both
// runtimes get (MX_NUM_THREADS, else undefined: each side's default).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function modelCommand(defaultName, defaultRuns) {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const name = args.find((a, i) => !a.startsWith('--') && !(runsAt >= 0 && i === runsAt + 1)) ?? defaultName;
  const models = process.env.MX_BENCH_MODELS ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'models');
  return {
    name,
    runs: runsAt >= 0 ? Number(args[runsAt + 1]) : defaultRuns,
    flag: (f) => args.includes(f),
    bytes: readFileSync(join(models, 'onnx-light', name, 'model.onnx')),
    threads: Number(process.env.MX_NUM_THREADS ?? 0) || undefined,
  };
}
