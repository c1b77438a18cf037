// Timing of one workload: warm-up, the agreement check, then samples alternating
// between mx and onnxruntime-node (and mx on other backends, when the workload has
// that third side: the onednn column).
import { performance } from 'node:perf_hooks';

const quantile = (sorted, q) => {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.ceil(i)] - sorted[lo]) * (i - lo);
};
export const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), min: s[0], q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
};

const WARM_MS = 300; // warm-up lasts at least this long per side
const MIN_SAMPLE_MS = 5; // a sample repeats a fast call until it lasts this long
const BUDGET_MS = 4000; // default sample count: what fits in this, both sides together

/**
 * max |mx - ort| / max |ort| over all outputs (0 = identical, Infinity = different
 * shapes or NaN placement): a fast kernel that computes the wrong thing must show.
 */
export function relativeDiff({ mx: a, ort: b }) {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let k = 0; k < a.length; k++) {
    if (a[k].length !== b[k].length) return Infinity;
    for (let i = 0; i < a[k].length; i++) {
      const x = Number(a[k][i]);
      const y = Number(b[k][i]);
      if (Number.isNaN(x) || Number.isNaN(y)) {
        if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
        continue;
      }
      diff = Math.max(diff, Math.abs(x - y));
      scale = Math.max(scale, Math.abs(y));
    }
  }
  return diff === 0 ? 0 : diff / Math.max(scale, Number.MIN_VALUE);
}

const permutations = (xs) => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));

/** ms per call of `inner` back-to-back awaited calls. */
async function time(fn, inner) {
  const t0 = performance.now();
  for (let i = 0; i < inner; i++) await fn();
  return (performance.now() - t0) / inner;
}

/**
 * Sets the workload up, warms both sides, compares their outputs, and times them.
 * @param {object} w a workload of workloads.mjs
 * @param {object} ctx what its setup takes: { mx, ort, threads, modelsDir }
 * @param {{ warmup: number, reps?: number, progress: (what: string) => void }} opts
 * @returns per side { median, min, q1, q3 } in ms per call, plus reps, inner, agreement
 */
export async function measure(w, ctx, { warmup, reps, progress }) {
  const run = await w.setup(ctx);
  try {
    // sides: mx, ort, and alt (mx on other backends) when the workload made one
    const sides = run.alt ? ['mx', 'ort', 'alt'] : ['mx', 'ort'];
    const est = { mx: 0, ort: 0, alt: 0 };
    const t0 = performance.now();
    for (let i = 0; i < warmup || performance.now() - t0 < sides.length * WARM_MS; i++) {
      progress(`warm-up ${i + 1}`);
      for (const side of sides) est[side] = await time(run[side], 1);
    }
    const outs = await run.outputs();
    const agreement = relativeDiff(outs);
    const altAgreement = run.alt ? relativeDiff({ mx: outs.alt, ort: outs.ort }) : undefined;
    // where the alt side's kernels ran (mx.profile counts the calls per backend)
    let altCalls;
    if (run.alt && typeof ctx.mx.profile === 'function') {
      const p = await ctx.mx.profile(() => run.alt());
      altCalls = {};
      for (const c of p.calls) altCalls[c.backend] = (altCalls[c.backend] ?? 0) + 1;
    }
    const inner = Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(...sides.map((k) => est[k]))));
    const perRound = sides.reduce((t, k) => t + est[k], 0) * inner;
    const n = reps ?? Math.min(51, Math.max(7, Math.round((BUDGET_MS * sides.length) / 2 / perRound)));
    const samples = { mx: [], ort: [], alt: [] };
    // Each round runs the sides in the next of all their orders, so that each
    // side runs first, and right after each other side, equally often (a side
    // that runs after ORT finds cold caches and sleeping threads more often).
    const orders = permutations(sides);
    for (let r = 0; r < n; r++) {
      progress(`sample ${r + 1}/${n}`);
      for (const side of orders[r % orders.length]) samples[side].push(await time(run[side], inner));
    }
    return { reps: n, inner, agreement, mx: stats(samples.mx), ort: stats(samples.ort), ...(run.alt && { alt: stats(samples.alt), altAgreement, altCalls }) };
  } finally {
    await run.dispose();
  }
}
