/**
 * Third-party backends, installed from their tarballs beside @mx/core and
 * @mx/backend-cpu: mx-backend-toy (C++ against mx_backend.h and the bridge,
 * prebuilt with node-gyp + prebuildify; Add, Mul, Relu for float32, priority
 * 200) and mx-backend-js (TypeScript only, the JS protocol; priority 50).
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { appRoot, installed, node, nodeJson, placements } from './fixture.js';

const fx = inject('fixture');
const app = () => installed(fx.apps.thirdParty);
const TOY = ['Add(float32)', 'Mul(float32)', 'Relu(float32)'];
const JS = ['Add', 'Sub', 'Mul', 'Div', 'Neg', 'Exp', 'Relu', 'Sigmoid', 'Tanh'].map((op) => `${op}(float32)`);

describe('the native example backend (mx-backend-toy)', () => {
  it("is discovered from the app's dependencies, runs its ops, and everything else falls back to cpu", () => {
    const { out, run } = nodeJson(fx, app(), 'ops.mjs', [], { MX_DEBUG_PLACEMENT: '1' });
    expect(out.backends).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'toy', package: 'mx-backend-toy', source: 'dependency', status: 'available' }),
        expect.objectContaining({ name: 'cpu', source: 'dependency', status: 'available' }),
      ]),
    );
    for (const [name, c] of Object.entries(out.checks)) expect(c, name).toEqual({ ok: true });
    const placed = placements(run.stderr);
    for (const k of TOY) expect(placed[k], k).toBe('toy');
    // js (priority 50) implements Sub and Sigmoid too, but cpu (100) comes first
    expect(placed).toMatchObject({ 'Sub(float32)': 'cpu', 'Sigmoid(float32)': 'cpu', 'MatMul(float32)': 'cpu', 'ReduceSum(float32)': 'cpu' });
  });

  it('computes the results itself: alone (MX_BACKENDS) its ops are right and the others have no backend', () => {
    const { out } = nodeJson(fx, app(), 'ops.mjs', [], { MX_BACKENDS: 'mx-backend-toy' });
    expect(out.backends.filter((b: { status: string }) => b.status === 'available').map((b: { name: string }) => b.name)).toEqual(['toy']);
    for (const name of ['add', 'mul', 'relu', 'chain']) expect(out.checks[name], name).toEqual({ ok: true });
    for (const name of ['sub', 'matmul']) expect(out.checks[name], name).toMatchObject({ ok: false, code: 'UNSUPPORTED' });
  });

  it('is listed by mx doctor with its kernels and serves the cpu device first', () => {
    const r = node(fx, app(), join(app(), 'node_modules', '.bin', 'mx'), ['doctor', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const toy = report.backends.find((b: { name: string }) => b.name === 'toy');
    expect(toy).toMatchObject({ package: 'mx-backend-toy', priority: 200, protocol: '1.2', status: 'available', devices: ['cpu'] });
    expect(toy.ops).toEqual({ Add: ['float32'], Mul: ['float32'], Relu: ['float32'] });
    expect(report.devices).toEqual([expect.objectContaining({ id: 'cpu', backends: ['toy', 'cpu', 'js'] })]);
  });

  it('passes the conformance kit for its kernels and is reported unsupported for the rest', () => {
    const { out } = nodeJson(fx, app(), 'conformance.mjs', ['toy']);
    expect(out.failures).toEqual([]);
    expect(out.passed.sort()).toEqual([...TOY].sort());
    expect(out.counts.pass).toBeGreaterThan(20);
    expect(out.unsupported).toBeGreaterThan(1000);
    expect(out.counts.unsupported).toBe(out.unsupported);
  });
});

describe('the TypeScript example backend (mx-backend-js)', () => {
  /** An app root that depends on @mx/core and mx-backend-js only: no native code at all. */
  const jsOnly = () => appRoot(app(), 'js-only', ['@mx/core', 'mx-backend-js']);

  it('alone runs the ops it has, and names the op no backend has', () => {
    const { out, run } = nodeJson(fx, jsOnly(), join('..', '..', 'ops.mjs'), [], { MX_DEBUG_PLACEMENT: '1' });
    expect(out.device).toBe('cpu');
    expect(out.backends).toEqual([expect.objectContaining({ name: 'js', package: 'mx-backend-js', source: 'dependency', status: 'available' })]);
    for (const name of ['add', 'mul', 'relu', 'sub', 'sigmoid', 'chain']) expect(out.checks[name], name).toEqual({ ok: true });
    expect(out.checks.matmul).toMatchObject({ ok: false, code: 'UNSUPPORTED', error: expect.stringContaining('MatMul') });
    expect(new Set(Object.values(placements(run.stderr)))).toEqual(new Set(['js']));
  });

  it('passes the conformance kit for its kernels', () => {
    const { out } = nodeJson(fx, jsOnly(), join('..', '..', 'conformance.mjs'), ['js']);
    expect(out.failures).toEqual([]);
    expect(out.passed.sort()).toEqual([...JS].sort());
  });
});
