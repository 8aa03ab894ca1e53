#!/usr/bin/env node
// Runs every cargo-fuzz target in fuzz/ (or those named) for N seconds each, one at a time, and
// prints executions, exec/s and crashes per target. Needs a nightly toolchain; cargo-fuzz is
// installed (pinned) if missing.
//   npm run fuzz -- --seconds 300
//   npm run fuzz -- --seconds 60 --target sst_file --target manifest
//   npm run fuzz -- --smoke      (what `npm test` runs: 3 s per target, starting from the
//                                 committed seeds, new inputs kept out of the repository)
// A crash leaves its input in fuzz/artifacts/<target>/; reproduce it with
//   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    target: { type: 'string', multiple: true },
    smoke: { type: 'boolean', default: false },
  },
});
const seconds = values.smoke ? 3 : Number(values.seconds);
if (!Number.isInteger(seconds) || seconds < 1) {
  console.error(`fuzz: --seconds must be a positive integer, not "${values.seconds}"`);
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fuzzDir = join(root, 'fuzz');
const all = [
  ...readFileSync(join(fuzzDir, 'Cargo.toml'), 'utf8').matchAll(/^\[\[bin\]\]\s*\nname\s*=\s*"([^"]+)"/gm),
].map((m) => m[1]);
const targets = values.target ?? all;
const unknown = targets.filter((t) => !all.includes(t));
if (unknown.length > 0) {
  console.error(`fuzz: unknown target(s) ${unknown.join(', ')}; targets are ${all.join(', ')}`);
  process.exit(2);
}

const CARGO_FUZZ_VERSION = '0.13.2';
const nightly = spawnSync('cargo', ['+nightly', '--version'], { encoding: 'utf8' });
if (nightly.status !== 0) {
  console.error('fuzz: cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly');
  process.exit(1);
}
if (spawnSync('cargo', ['fuzz', '--version'], { encoding: 'utf8' }).status !== 0) {
  console.log(`fuzz: installing cargo-fuzz ${CARGO_FUZZ_VERSION}`);
  const install = spawnSync('cargo', ['install', 'cargo-fuzz', '--version', CARGO_FUZZ_VERSION, '--locked'], {
    stdio: 'inherit',
  });
  if (install.status !== 0) {
    console.error('fuzz: could not install cargo-fuzz');
    process.exit(install.status ?? 1);
  }
}

const build = spawnSync('cargo', ['+nightly', 'fuzz', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('fuzz: `cargo +nightly fuzz build` failed (is cargo-fuzz installed?)');
  process.exit(build.status ?? 1);
}

const stat = (out, name) => {
  const m = out.match(new RegExp(`stat::${name}:\\s*(\\d+)`));
  return m ? Number(m[1]) : undefined;
};

const rows = [];
for (const target of targets) {
  process.stdout.write(`fuzz: ${target} for ${seconds} s... `);
  const started = Date.now();
  // A smoke run writes what it finds to a scratch corpus and only reads the committed one.
  const scratch = values.smoke ? mkdtempSync(join(tmpdir(), `kstone-fuzz-${target}-`)) : undefined;
  const corpora = scratch ? [scratch, join(fuzzDir, 'corpus', target)] : [];
  const r = spawnSync(
    'cargo',
    ['+nightly', 'fuzz', 'run', target, ...corpora, '--', `-max_total_time=${seconds}`, '-print_final_stats=1'],
    { cwd: root, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
  );
  if (scratch) {
    rmSync(scratch, { recursive: true, force: true });
  }
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const artifact = out.match(/Test unit written to (\S+)/)?.[1];
  const crashed = r.status !== 0;
  const row = {
    target,
    executions: stat(out, 'number_of_executed_units'),
    execPerSec: stat(out, 'average_exec_per_sec'),
    peakRssMb: stat(out, 'peak_rss_mb'),
    seconds: Math.round((Date.now() - started) / 1000),
    crash: crashed ? (artifact ?? `exit ${r.status ?? r.signal}`) : '',
  };
  rows.push(row);
  console.log(crashed ? `CRASH (${row.crash})` : `${row.executions ?? '?'} executions`);
  if (crashed) {
    console.log(out.split('\n').slice(-40).join('\n'));
  }
}

const header = ['target', 'executions', 'exec/s', 'peak RSS MB', 'seconds', 'crash'];
const table = rows.map((r) => [
  r.target,
  r.executions?.toLocaleString('en-US') ?? '?',
  r.execPerSec?.toLocaleString('en-US') ?? '?',
  String(r.peakRssMb ?? '?'),
  String(r.seconds),
  r.crash || 'none',
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(`\n${line(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
for (const row of table) {
  console.log(line(row));
}
const crashes = rows.filter((r) => r.crash);
if (crashes.length > 0) {
  console.log(
    `\n${crashes.length} target(s) crashed; reproduce with cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>`,
  );
}
process.exit(crashes.length > 0 ? 1 : 0);
