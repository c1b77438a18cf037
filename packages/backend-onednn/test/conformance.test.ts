/**
 * The conformance kit on the onednn backend alone: every (op, key) it declares
 * passes every case against the reference kernels; everything else is reported
 * unsupported (and listed in the test output).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const app = mkdtempSync(join(tmpdir(), 'mx-onednn-conf-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;

it('passes the conformance kit for every kernel it declares', async () => {
  const mx = await import('@mx/core');
  const { runConformance, formatReport } = await import('@mx/core/conformance');
  const { backend } = await import('../src/index.js');
  expect(backend.init()).toBeNull();
  mx.use(backend);
  const report = await runConformance(backend);
  console.log(formatReport(report, 60));
  expect(report.failures).toEqual([]);
  // every declared kernel ran cases (none is declared without being tested)
  const ran = new Set(report.results.filter((r) => r.status === 'pass').map((r) => `${r.op}:${r.key}`));
  expect(backend.kernels().map((k) => `${k.op}:${k.key}`).filter((k) => !ran.has(k))).toEqual([]);
}, 600_000);
