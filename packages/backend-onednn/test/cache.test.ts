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
