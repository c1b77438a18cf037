// Builds bench/peak/fma_peak.c with the system C compiler into a temporary
// directory and runs it: the FMA peak (1 and N threads) and the C add loop's GB/s.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../peak/fma_peak.c', import.meta.url));
const PINGPONG = fileURLToPath(new URL('../peak/core_pingpong.c', import.meta.url));

/**
 * The round trip of a cache line between CPUs 0 and 1 (bench/peak/core_pingpong.c),
 * in ns, or null where it cannot be measured (one CPU, no compiler, no pinning).
 * On a shared virtual machine it changes with where the host places the CPUs,
 * and multi-threaded runs slow down when it is high.
 */
export function measurePingPong() {
  const p = pingPonger();
  try {
    return p?.run() ?? null;
  } finally {
    p?.close();
  }
}

/**
 * The same measurement built once for many (about 25 ms each): `run()` gives
 * the round trip in ns or null, `close()` removes the program. null where it
 * does not build.
 */
export function pingPonger() {
  const cc = process.env.CC || 'cc';
  const dir = mkdtempSync(join(tmpdir(), 'mx-bench-pingpong-'));
  const exe = join(dir, 'core_pingpong');
  const close = () => rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync(cc, ['-O2', '-pthread', PINGPONG, '-o', exe], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    close();
    return null;
  }
  const run = () => {
    try {
      const m = /round trip (\d+) ns/.exec(execFileSync(exe, [], { encoding: 'utf8', timeout: 10000 }));
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  };
  return { run, close };
}

/**
 * @param {number} threads threads for the N-thread peak and the add loop
 * @param {number} [addFloats] length of the add loop's vectors (default 16M)
 * @returns {{ ok: true, isa: string, fma: object[], peak1: number, peakN: number, add: object, cc: string } | { ok: false, reason: string }}
 */
export function measurePeak(threads, addFloats = 1 << 24) {
  const cc = process.env.CC || 'cc';
  const dir = mkdtempSync(join(tmpdir(), 'mx-bench-peak-'));
  try {
    const exe = join(dir, 'fma_peak');
    try {
      execFileSync(cc, ['-O3', '-pthread', SOURCE, '-o', exe], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      return { ok: false, reason: `could not build the peak program with '${cc}': ${String(e.stderr || e.message).trim().split('\n')[0]}` };
    }
    const out = execFileSync(exe, [String(threads), String(threads), String(addFloats)], { encoding: 'utf8' });
    return { ok: true, cc, ...JSON.parse(out) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The C add loop alone, for timing it in turns with mx.add: build() compiles the
 * program once; run(n) times n more runs of it and returns their GB/s.
 * @param {number} threads
 * @param {number} floats
 */
export function addLoop(threads, floats) {
  const cc = process.env.CC || 'cc';
  const dir = mkdtempSync(join(tmpdir(), 'mx-bench-add-'));
  const exe = join(dir, 'fma_peak');
  try {
    execFileSync(cc, ['-O3', '-pthread', SOURCE, '-o', exe], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    run: (n) => JSON.parse(execFileSync(exe, ['--add', String(threads), String(floats), String(n)], { encoding: 'utf8' })),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The better of two peak runs, figure by figure (noise only ever lowers them). */
export function bestOf(a, b) {
  if (!a.ok || !b.ok) return a.ok ? a : b;
  return {
    ...a,
    fma: a.fma.map((v, i) => ({ variant: v.variant, gflops1: Math.max(v.gflops1, b.fma[i].gflops1), gflopsN: Math.max(v.gflopsN, b.fma[i].gflopsN) })),
    peak1: Math.max(a.peak1, b.peak1),
    peakN: Math.max(a.peakN, b.peakN),
    add: a.add.medianGBs >= b.add.medianGBs ? a.add : b.add,
  };
}
