// A user's script, run inside an installed app: imports @mx/core (discovery finds
// the backends), runs a few ops on the default device and compares each result
// with the same math done here in plain JavaScript. Prints one JSON object:
//   { device, backends: [{ name, source, status, reason }], checks: { name: { ok, error?, code? } } }
// A check whose op no backend implements reports the MxError's code instead.
import * as mx from '@mx/core';

/** Deterministic values in [-2, 2). */
function values(n, seed) {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2);
}
const f32 = (xs) => Array.from(Float32Array.from(xs));
const A = f32(values(6, 1)); // [2,3]
const B = f32(values(3, 2)); // [3]
const M = f32(values(12, 3)); // [3,4]
const N = f32(values(8, 4)); // [4,2]

const bcast = (f) => A.map((a, i) => f(a, B[i % 3]));
const matmul = () => {
  const out = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += M[i * 4 + k] * N[k * 2 + j];
    out.push(s);
  }
  return out;
};

const a = () => mx.tensor(A, { shape: [2, 3] });
const b = () => mx.tensor(B, { shape: [3] });
const CHECKS = {
  add: [() => mx.add(a(), b()), () => bcast((x, y) => x + y)],
  mul: [() => mx.mul(a(), b()), () => bcast((x, y) => x * y)],
  relu: [() => mx.relu(a()), () => A.map((x) => Math.max(x, 0))],
  sub: [() => mx.sub(a(), b()), () => bcast((x, y) => x - y)],
  sigmoid: [() => mx.sigmoid(a()), () => A.map((x) => 1 / (1 + Math.exp(-x)))],
  matmul: [() => mx.matmul(mx.tensor(M, { shape: [3, 4] }), mx.tensor(N, { shape: [4, 2] })), matmul],
  reduceSum: [() => mx.reduceSum(a(), [1], { keepdims: 0 }), () => [A[0] + A[1] + A[2], A[3] + A[4] + A[5]]],
  chain: [() => mx.relu(mx.add(mx.mul(a(), b()), 0.5)), () => bcast((x, y) => Math.max(x * y + 0.5, 0))],
};

const out = { checks: {} };
try {
  out.device = mx.defaultDevice();
} catch (e) {
  out.error = { code: e.code, message: e.message, hint: e.hint };
}
out.backends = mx.backendRecords().map((r) => ({ name: r.name, package: r.packageName, source: r.source, status: r.status, reason: r.reason }));
if (!out.error) {
  for (const [name, [compute, expected]] of Object.entries(CHECKS)) {
    try {
      const got = Array.from(await compute().data());
      const want = expected();
      const bad = want.findIndex((w, i) => !(Math.abs(got[i] - w) <= 1e-5 + 1e-5 * Math.abs(w)));
      out.checks[name] = got.length === want.length && bad < 0 ? { ok: true } : { ok: false, error: `got ${got}, expected ${want}` };
    } catch (e) {
      out.checks[name] = { ok: false, code: e.code, error: e.message };
    }
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
