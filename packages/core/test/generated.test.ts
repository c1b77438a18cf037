import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { generateOpExports } from '../src/gen.js';
import * as mx from '../src/index.js';

it('src/generated/ops.ts matches the op table (run `pnpm --filter @mx/core gen` after changing ops)', () => {
  const committed = readFileSync(new URL('../src/generated/ops.ts', import.meta.url), 'utf8');
  expect(committed).toBe(generateOpExports());
});

it('every op of the table is a named export and, where it has one, a Tensor method', () => {
  for (const [name, schema] of Object.entries(mx.OPS)) {
    const fn = (schema as { fn?: string }).fn ?? name[0]!.toLowerCase() + name.slice(1);
    expect(typeof (mx as unknown as Record<string, unknown>)[fn], fn).toBe('function');
  }
  expect(typeof (mx.Tensor.prototype as unknown as Record<string, unknown>).add).toBe('function');
  expect(typeof (mx.Tensor.prototype as unknown as Record<string, unknown>).matmul).toBe('function');
});
