/**
 * Runs the conformance kit on the fake asynchronous device (reference kernels
 * behind device memory and a queue). It proves the kit and every declared case:
 * each case must run end to end through the engine, and bad-input cases must be
 * rejected by validation.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import * as mx from '../src/index.js';
import { referenceBackend } from '../src/backends/reference.js';
import { formatReport, runConformance, CASES } from '../src/conformance/index.js';
import { resetRegistry } from '../src/registry.js';
import { fakeDevice } from './fake-device.js';

const app = mkdtempSync(join(tmpdir(), 'mx-conf-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;

it('every op in the table has conformance cases', () => {
  const withCases = new Set(CASES.map((c) => c.op));
  expect(Object.keys(mx.OPS).filter((op) => !withCases.has(op))).toEqual([]);
});

it('the kit runs every case on an asynchronous device backend', async () => {
  resetRegistry();
  const gpu = fakeDevice();
  mx.registerBackend(gpu);
  mx.registerBackend(referenceBackend()); // host memory for shape-like (value) inputs
  const report = await runConformance(gpu, { device: 'fake:0' });
  console.log(formatReport(report, 20).split('\n').slice(0, 25).join('\n'));
  expect(report.failures).toEqual([]);
  expect(report.counts.pass).toBeGreaterThan(1000);
  expect(gpu.violations).toEqual([]);
}, 600_000);
