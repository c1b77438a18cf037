/**
 * Steady state creates no primitives: repeated calls with the same shapes and
 * attributes reuse the cached primitive (oneDNN's verbose log shows one
 * creation per primitive, then only executions), while a new shape or a new
 * attribute value creates a new one. Runs in a fresh process, where
 * ONEDNN_VERBOSE is read when oneDNN loads.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = pathToFileURL(join(root, 'dist', 'index.js')).href;

it('creates each primitive once and reuses it', () => {
  const code = `
    const { loadBackend } = await import(${JSON.stringify(entry)});
    const b = loadBackend();
    if (b.init() !== null) throw new Error(b.init());
    const keep = [];
    const t = (shape) => ({ storage: { data: new ArrayBuffer(4 * shape.reduce((a, c) => a * c, 1)), byteOffset: 0 }, dtype: 'float32', shape });
    const conv = (n) => ({ op: 'Conv', domain: '', key: 'float32', device: 'cpu', inputs: [t([n, 16, 12, 12]), t([16, 16, 3, 3]), t([16])], outputs: [t([n, 16, 12, 12])],
      attrs: { kernel_shape: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 1 } });
    const elu = (alpha) => ({ op: 'Elu', domain: '', key: 'float32', device: 'cpu', inputs: [t([64, 512])], outputs: [t([64, 512])], attrs: { alpha } });
    for (let round = 0; round < 3; round++) {
      for (const call of [conv(1), conv(1), elu(1), conv(2), elu(0.5), elu(1)]) { keep.push(call); b.run(call); }
      await b.queue('cpu').sync();
      process.stdout.write('round done\\n');
    }
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, ONEDNN_VERBOSE: '2' }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const rounds = r.stdout.split('round done\n');
  expect(rounds).toHaveLength(4);
  const count = (text: string, kind: string, prim: string) =>
    text.split('\n').filter((l) => l.startsWith(`onednn_verbose,${kind}`) && l.split(',')[3] === prim).length;
  // first round: two conv shapes (batch 1 and 2), two Elu alphas, one creation each
  expect(count(rounds[0]!, 'create', 'convolution')).toBe(2);
  expect(count(rounds[0]!, 'create', 'eltwise')).toBe(2);
  for (const later of rounds.slice(1, 3)) {
    expect(later.split('\n').filter((l) => l.startsWith('onednn_verbose,create'))).toEqual([]);
    expect(count(later, 'exec', 'convolution')).toBe(3);
    expect(count(later, 'exec', 'eltwise')).toBe(3);
  }
});

it('reorders the weights of a constant W once per constant id, and computes with them', () => {
  // 32 channels over 24x24: the blocked-layout conv (reorders of X, W and Y).
  // W carries a constant id (a model's initializer): its reorder runs on the
  // first call only; a new id on the same buffer (new contents) reorders again.
  const code = `
    const { loadBackend } = await import(${JSON.stringify(entry)});
    const b = loadBackend();
    if (b.init() !== null) throw new Error(b.init());
    const t = (shape, fill) => {
      const data = new ArrayBuffer(4 * shape.reduce((a, c) => a * c, 1));
      if (fill) new Float32Array(data).forEach((_, i, a) => (a[i] = fill(i)));
      return { storage: { data, byteOffset: 0 }, dtype: 'float32', shape };
    };
    const x = t([1, 32, 24, 24], (i) => ((i * 7) % 11) / 11 - 0.5);
    const w = t([32, 32, 3, 3], () => 1);
    const y = t([1, 32, 24, 24]);
    const conv = () => ({ op: 'Conv', domain: '', key: 'float32', device: 'cpu', inputs: [x, w, null], outputs: [y],
      attrs: { kernel_shape: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 1 } });
    const center = () => new Float32Array(y.storage.data)[12 * 24 + 12];
    // sum over 32 channels of the 3x3 window around (12, 12) of X, times the weight value
    const xs = new Float32Array(x.storage.data);
    let s = 0;
    for (let c = 0; c < 32; c++) for (let i = 11; i <= 13; i++) for (let j = 11; j <= 13; j++) s += xs[c * 576 + i * 24 + j];
    const round = async (id, value) => {
      new Float32Array(w.storage.data).fill(value);
      w.storage.constId = id;
      b.run(conv());
      b.run(conv());
      await b.queue('cpu').sync();
      process.stdout.write('round ' + (Math.abs(center() - value * s) < 1e-3 ? 'ok' : 'wrong ' + center() + ' vs ' + value * s) + '\\n');
    };
    await round(5, 1);
    await round(5, 1);
    await round(6, 2);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, ONEDNN_VERBOSE: '2' }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const parts = r.stdout.split(/round (ok|wrong[^\n]*)\n/);
  expect(parts.filter((_, i) => i % 2 === 1)).toEqual(['ok', 'ok', 'ok']);
  const reorders = (text: string) => text.split('\n').filter((l) => l.startsWith('onednn_verbose,exec') && l.split(',')[3] === 'reorder').length;
  const [first, second, third] = [parts[0]!, parts[2]!, parts[4]!];
  // per call: X in and Y out; W only on the first call of each constant id
  expect(reorders(first)).toBe(5);
  expect(reorders(second)).toBe(4);
  expect(reorders(third)).toBe(5);
});
