/** Tarball sizes and install times: printed by every run, written to docs/install.md on request. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, type Fixture } from './fixture.js';

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

/** The measurements as Markdown tables. */
export function installReport(fx: Fixture): string {
  const rows = Object.values(fx.packed).map((p) => `| \`${p.name}\` ${p.version} | ${kib(p.bytes)} | ${p.files.length} |`);
  const installs = Object.values(fx.apps).map(
    (a) => `| ${a.manager} | ${a.packages.map((k) => fx.packed[k].name).join(', ')} | ${a.error ? 'failed' : `${(a.ms / 1000).toFixed(1)} s`} |`,
  );
  return [
    `Measured on ${process.platform}-${process.arch}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '| tarball (`pnpm pack`) | size | files |',
    '|---|---|---|',
    ...rows,
    '',
    `| installer | packages (plus ${fx.vendored.length} registry packages they depend on) | install time, offline |`,
    '|---|---|---|',
    ...installs,
  ].join('\n');
}

const BEGIN = '<!-- e2e:begin (written by packages/e2e with MX_E2E_UPDATE_DOCS=1) -->';
const END = '<!-- e2e:end -->';

/** Replaces the measurements between the markers of docs/install.md. */
export function updateInstallDoc(fx: Fixture): void {
  const file = join(REPO, 'docs', 'install.md');
  const doc = readFileSync(file, 'utf8');
  const [a, b] = [doc.indexOf(BEGIN), doc.indexOf(END)];
  if (a < 0 || b < a) throw new Error(`${file} lacks the markers ${BEGIN} ... ${END}`);
  writeFileSync(file, `${doc.slice(0, a + BEGIN.length)}\n${installReport(fx)}\n${doc.slice(b)}`);
}
