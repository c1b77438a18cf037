/**
 * The prepared GPU check (scripts/gpu-check.sh) fails at once, with a clear
 * reason in its output and in $OUT/summary.txt, on a machine without an NVIDIA
 * GPU; on a GPU machine it is run by hand (see README), not by this suite.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { root } from './helpers.js';

const hasGpu = spawnSync('sh', ['-c', 'nvidia-smi -L']).status === 0;

it.skipIf(hasGpu)('stops before doing anything where there is no GPU, and says why', () => {
  const out = mkdtempSync(join(tmpdir(), 'mx-gpu-check-'));
  try {
    const r = spawnSync('bash', [join(root, 'scripts', 'gpu-check.sh')], { env: { ...process.env, OUT: out }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^gpu-check: no NVIDIA GPU here: nvidia-smi (is not installed|failed|lists none)/);
    expect(readFileSync(join(out, 'summary.txt'), 'utf8')).toBe(r.stderr);
    expect(r.stdout).toBe('');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
