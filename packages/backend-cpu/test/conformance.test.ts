/**
 * The conformance kit on the cpu backend: every (op, dtype) the op table allows
 * either passes every case against the reference kernels or is reported as
 * unsupported (and listed in the test output).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const app = mkdtempSync(join(tmpdir(), 'mx-cpu-conf-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;

it('passes the conformance kit', async () => {
  const mx = await import('@mx/core');
  const { runConformance, formatReport } = await import('@mx/core/conformance');
  const { backend } = await import('../src/index.js');
  expect(backend.init()).toBeNull();
  mx.use(backend);
  const report = await runConformance(backend);
  console.log(formatReport(report, 40));
  expect(report.failures).toEqual([]);
  expect(report.counts.pass).toBeGreaterThan(5000);
}, 600_000);
