// Runs the conformance kit of @mx/core on one installed backend, as its author
// would: `node conformance.mjs <backend name>`. Prints the text report to stderr
// and, on stdout, one JSON object: { counts, failures, unsupported, passed: the
// backend's own kernels ('Op(key)') whose every case passed }. View ops (Reshape,
// Identity...) have no kernels and pass on any backend: they are left out of `passed`.
import * as mx from '@mx/core';
import { formatReport, runConformance } from '@mx/core/conformance';

const name = process.argv[2];
const record = mx.backendRecords().find((r) => r.name === name);
if (!record?.backend) throw new Error(`backend ${name} was not found: ${JSON.stringify(mx.backendRecords().map((r) => r.name))}`);
mx.use(record.backend);
const report = await runConformance(record.backend);
process.stderr.write(formatReport(report) + '\n');
const id = (r) => `${r.op}(${r.key})`;
const failed = new Set(report.failures.map(id));
const passed = record.backend.kernels().map(id).filter((k) => !failed.has(k) && report.results.some((r) => id(r) === k && r.status === 'pass'));
process.stdout.write(JSON.stringify({ counts: report.counts, failures: report.failures, passed, unsupported: report.unsupported.length }) + '\n');
