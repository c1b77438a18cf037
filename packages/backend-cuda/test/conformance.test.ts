/**
 * The conformance kit on cuda:0: every (op, key) the backend declares passes every
 * case against core's reference kernels; the rest is reported unsupported. Needs a
 * GPU: elsewhere it is skipped with the backend's reason printed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { gpuReason } from './helpers.js';

const reason = gpuReason();
if (reason !== null) console.log(`cuda conformance skipped: ${reason}`);

it.skipIf(reason !== null)('passes the conformance kit for every kernel it declares', async () => {
  const app = mkdtempSync(join(tmpdir(), 'mx-cuda-conf-'));
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
  process.env.MX_APP_ROOT = app;
  const mx = await import('@mx/core');
  const { runConformance, formatReport } = await import('@mx/core/conformance');
  await import('@mx/backend-cpu');
  const { backend } = await import('../src/index.js');
  mx.use(backend);
  const report = await runConformance(backend, { device: 'cuda:0' });
  console.log(formatReport(report, 200));
  expect(report.failures).toEqual([]);
  const ran = new Set(report.results.filter((r) => r.status === 'pass').map((r) => `${r.op}:${r.key}`));
  expect(backend.kernels().map((k) => `${k.op}:${k.key}`).filter((k) => !ran.has(k))).toEqual([]);
}, 900_000);
