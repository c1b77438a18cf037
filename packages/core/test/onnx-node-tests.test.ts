/**
 * The ONNX node-test runner (scripts/node-tests.mjs) on the cpu backend, over a
 * few tests: passing ones, one mx cannot represent, two skipped by design, and
 * one whose process is killed mid-test (the run must go on). Needs ../shared/onnx-tests beside the
 * repo and a built @mx/backend-cpu; skips with the reason otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const core = fileURLToPath(new URL('..', import.meta.url));
const tests = resolve(core, '../../../shared/onnx-tests/node');
const cpu = resolve(core, '../backend-cpu');
const missing = !existsSync(tests)
  ? `the ONNX node tests are not at ${tests}`
  : !existsSync(join(cpu, 'dist/index.js')) || !existsSync(join(cpu, 'prebuilds'))
    ? '@mx/backend-cpu is not built'
    : !existsSync(join(core, 'dist/onnx/index.js'))
      ? '@mx/core is not built (tsc -b)'
      : undefined;
if (missing) console.log(`skipping the node-test runner test: ${missing}`);

it.skipIf(missing)('runs node tests in child processes, classifies them and survives a crash', () => {
  const json = join(mkdtempSync(join(tmpdir(), 'mx-nt-')), 'r.json');
  const names = ['test_add', 'test_relu', 'test_reshape_negative_dim', 'test_if', 'test_loop11', 'test_sequence_insert_at_back', 'test_cast_FLOAT_to_FLOAT8E4M3FN', 'test_softmax_axis_0', 'test_string_concat', 'test_bernoulli'];
  const r = spawnSync(process.execPath, [join(core, 'scripts/node-tests.mjs'), '--filter', `^(${names.join('|')})$`, '--no-write', '--json', json, '--chunk', '3'], {
    encoding: 'utf8',
    env: { ...process.env, MX_NODE_TESTS_CRASH: 'test_relu' },
  });
  expect(r.status, r.stderr).toBe(0);
  const results = Object.fromEntries((JSON.parse(readFileSync(json, 'utf8')) as { name: string; status: string; reason?: string; op: string }[]).map((x) => [x.name, x]));
  expect(Object.keys(results).sort()).toEqual(names.slice().sort());
  expect(results.test_relu!.status).toBe('error');
  expect(results.test_relu!.reason).toMatch(/crashed \(SIGKILL\)/);
  for (const n of ['test_add', 'test_cast_FLOAT_to_FLOAT8E4M3FN', 'test_reshape_negative_dim', 'test_if', 'test_loop11', 'test_sequence_insert_at_back', 'test_softmax_axis_0']) expect(results[n]!.status, `${n}: ${results[n]!.reason}`).toBe('pass');
  // unsupported by design: skipped, with the decision as the reason
  expect(results.test_string_concat).toMatchObject({ status: 'skipped', op: 'StringConcat' });
  expect(results.test_string_concat!.reason).toMatch(/^string tensors: /);
  expect(results.test_bernoulli!.reason).toMatch(/^random outputs: /);
  expect(r.stdout).toMatch(/7 of 10 pass \(fail 0, error 1, unsupported 0, skipped 2\)/);
}, 120_000);
