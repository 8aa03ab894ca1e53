#!/usr/bin/env node
// keystonedb against the embedded stores a Node developer would pick instead, on identical
// workloads, each engine in a fresh child process and directory, in one run on one machine.
// Reports medians and ratios (keystonedb / best peer); writes bench/results/<date>.{json,md}.
//   npm run bench                 N = 200,000, 3 repetitions
//   npm run bench -- --quick      a one-minute smoke run (N = 2,000, 1 repetition)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { probeFsync } from './disk.mjs';
import { WORKLOADS as YCSB } from './ycsb.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ALL_ENGINES = ['keystonedb', 'lmdb', 'lmdb-nosync', 'classic-level', 'rocksdb', 'sqlite'];
const USAGE = `usage: npm run bench -- [options]
  --quick            a one-minute smoke run (N = 2,000, 1 repetition)
  --items <n>        items per engine (default 200,000)
  --reps <n>         repetitions per workload; the median is reported (default 3)
  --engines <a,b,…>  engines to run (default: all of ${ALL_ENGINES.join(', ')})
  --workloads <a,…>  only these rows (default: all): load, get, range, scan, durable1,
                     durable64, overwrite, delete, ycsb (or ycsb-a … ycsb-f), dynalite;
                     such a partial run writes to bench/results/tmp unless --out is given
  --out <dir>        where to write <date>.json and .md (default bench/results)
  --render <file>    print the table of an earlier run's .json instead of running (writes nothing)
  --help             this text`;
function usage(problem) {
  if (problem === undefined) console.log(USAGE);
  else console.error(`bench: ${problem}\n\n${USAGE}`);
  process.exit(problem === undefined ? 0 : 2);
}
let values;
try {
  ({ values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      items: { type: 'string' },
      reps: { type: 'string' },
      engines: { type: 'string' },
      workloads: { type: 'string' },
      out: { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  usage(err.message);
}
if (values.help) usage();
const quick = values.quick;
const count = (name, fallback) => {
  const n = Number(values[name] ?? fallback);
  if (!Number.isSafeInteger(n) || n < 1) usage(`--${name} must be a positive whole number, not ${values[name]}`);
  return n;
};
const N = count('items', quick ? 2000 : 200_000);
const reps = count('reps', quick ? 1 : 3);
const ENGINES = values.engines === undefined ? ALL_ENGINES : values.engines.split(',');
for (const e of ENGINES) if (!ALL_ENGINES.includes(e)) usage(`unknown engine ${JSON.stringify(e)}`);
if (!ENGINES.includes('keystonedb')) usage('--engines must include keystonedb: every ratio is keystonedb / best peer');
// Sizes that depend on --quick, as functions so that --render shows those of the run it prints.
const dynaliteItems = (isQuick) => (isQuick ? 500 : 5000);
const probeFsyncs = (isQuick) => (isQuick ? 50 : 500);
const DYNALITE_N = dynaliteItems(quick);

// [workload, label, target ratio, durable?] — on durable rows the best peer is the best durable
// one: lmdb (noSync) does not fsync, so it is shown but not compared against there.
const WORKLOADS = [
  ['load', 'bulk load, batches of 1000, durable per batch', 1.5, true],
  ['get', 'random point get', 1.0, false],
  ['range', 'range of 100 (Query of one partition for keystonedb)', 1.0, false],
  ['scan', 'full scan', 1.0, false],
  ['durable1', 'durable single put, 1 in flight', 0.9, true],
  ['durable64', 'durable single put, 64 in flight', 5, true],
  ['overwrite', 'random overwrite of N/4, batches of 1000', 1.0, true],
  ['delete', 'single durable deletes, 64 in flight', 1.0, true],
];
const NOT_DURABLE = new Set(['lmdb-nosync']);
// Rows bound by the disk's fsync latency: [workload, writes that can share one fsync].
const FSYNC_BOUND = [
  ['durable1', 1],
  ['durable64', 64],
];
const PROBED = new Set(FSYNC_BOUND.map(([w]) => w));
// [workload, label]: dynalite does not fsync, so its put is shown against both of keystonedb's.
const DYNALITE_WORKLOADS = [
  ['get', 'get'],
  ['durable1', 'put (keystonedb fsyncs, dynalite does not)'],
  ['buffered1', "put, same durability (keystonedb 'buffered')"],
  ['range', 'query of 100'],
];

// --workloads: the rows to run, by workload name, or a group's name (every YCSB workload, every
// dynalite row). A partial run's table shows only those rows.
const SELECTABLE = [...WORKLOADS.map(([w]) => w), 'ycsb', ...Object.keys(YCSB), 'dynalite'];
const chosen = values.workloads === undefined ? undefined : values.workloads.split(',');
for (const w of chosen ?? []) {
  if (!SELECTABLE.includes(w))
    usage(`unknown workload ${JSON.stringify(w)}; --workloads takes ${SELECTABLE.join(', ')}`);
}
const selected = (workload, group) => chosen === undefined || chosen.includes(workload) || chosen.includes(group);

// The peers are the bench's own dependencies (bench/package.json), installed on first use.
// A run of keystonedb alone needs none of them.
const needsPeers = ENGINES.some((e) => e !== 'keystonedb') || selected('dynalite');
if (values.render === undefined && needsPeers && !existsSync(join(here, 'node_modules', 'lmdb'))) {
  console.error('bench: installing the peers (bench/package.json)…');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('bench: could not install the peers; see above');
    process.exit(1);
  }
}

function runOnce(engine, workload, items) {
  const dir = mkdtempSync(join(tmpdir(), `kstone-bench-${engine}-`));
  try {
    const r = spawnSync(process.execPath, [join(here, 'worker.mjs'), engine, workload, String(items), dir], {
      encoding: 'utf8',
      timeout: 15 * 60_000,
    });
    if (r.status !== 0) throw new Error(`${engine} ${workload} failed: ${r.stderr || r.error}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const medians = (runs) => {
  const pick = (k) => (runs[0][k] === undefined ? undefined : median(runs.map((r) => r[k])));
  return {
    unit: runs[0].unit,
    rate: pick('rate'),
    openMs: pick('openMs'),
    diskBytes: pick('diskBytes'),
    diskBytesCompacted: pick('diskBytesCompacted'),
    cpuMs: pick('cpuMs'),
    peakRssGrowthMiB: pick('peakRssGrowthMiB'),
    // Each turn's rate, in turn order: the table shows the spread of the per-turn ratios.
    rates: runs.map((r) => r.rate),
  };
};

/**
 * The lowest and highest of a row's per-turn ratios (keystonedb's rate in a turn over the best
 * compared peer's in the same turn), or undefined with fewer than two turns or from a results
 * file that has no per-turn rates. Turns alternate the engines, so a turn's engines ran close
 * together in time: this spread is the row's noise, which its median ratio alone hides.
 */
function turnRatioRange(workload, compared) {
  const ours = results[`${workload}/keystonedb`]?.rates;
  if (ours === undefined) return undefined;
  const ratios = [];
  for (let i = 0; i < ours.length; i++) {
    const best = Math.max(...compared.map((e) => results[`${workload}/${e}`]?.rates?.[i] ?? 0));
    if (best > 0 && ours[i] !== undefined) ratios.push(ours[i] / best);
  }
  return ratios.length < 2 ? undefined : [Math.min(...ratios), Math.max(...ratios)];
}

// One workload for every engine, the repetitions taken in turns (each engine's first, then
// each engine's second, …), so that a slow phase of the machine (disk or CPU, minutes long on
// this kind of host) falls on every engine's runs rather than on one engine's three.
// With `probe`, each turn ends with a probe of the disk's fsync latency (`disk.mjs`).
function measureAll(workload, engines, items, { label = workload, key = (engine) => engine, probe = false } = {}) {
  const runs = new Map(engines.map((e) => [e, []]));
  const failed = new Set();
  const probes = [];
  for (let r = 1; r <= reps; r++) {
    for (const engine of engines) {
      if (failed.has(engine)) continue;
      process.stderr.write(`bench: ${label} ${engine} (${r}/${reps})…\n`);
      try {
        runs.get(engine).push(runOnce(engine, workload, items));
      } catch (err) {
        // One engine failing one workload must not lose the rest of the run: report it in the table.
        console.error(`bench: ${err.message.split('\n')[0]}`);
        failed.add(engine);
      }
    }
    if (probe) probes.push(probeFsync(probeFsyncs(quick)));
  }
  if (probes.length > 0) {
    results[`${workload}/fsync`] = {
      p50Us: median(probes.map((p) => p.p50Us)),
      p90Us: median(probes.map((p) => p.p90Us)),
    };
  }
  for (const engine of engines) {
    results[`${workload}/${key(engine)}`] = failed.has(engine)
      ? { unit: 'failed', failed: true }
      : medians(runs.get(engine));
  }
}

const results = {};
const t0 = Date.now();
const rendering = values.render !== undefined;
// --render prints an earlier run's table as that run measured it, and writes nothing.
const saved = rendering ? JSON.parse(readFileSync(values.render, 'utf8')) : undefined;
if (saved !== undefined) Object.assign(results, saved.results);
const run = saved ?? {
  N,
  reps,
  quick,
  machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
  date: new Date().toISOString(),
  ...(chosen === undefined ? {} : { workloads: chosen }),
};
for (const [workload] of rendering ? [] : WORKLOADS.filter(([w]) => selected(w))) {
  measureAll(workload, ENGINES, N, { probe: PROBED.has(workload) });
}
for (const workload of rendering ? [] : Object.keys(YCSB).filter((w) => selected(w, 'ycsb'))) {
  measureAll(workload, ENGINES, N);
}
for (const [workload] of rendering || !selected('dynalite') ? [] : DYNALITE_WORKLOADS) {
  measureAll(workload, ['dynalite', 'keystonedb'], DYNALITE_N, {
    label: `${workload} (N = ${DYNALITE_N})`,
    key: (engine) => (engine === 'keystonedb' ? 'keystonedb@dynalite-n' : engine),
  });
}

// Whether keystonedb's side of a row ran (a partial run has only the rows it was given).
const ran = (workload) => results[`${workload}/keystonedb`] !== undefined;
const fmt = (x) => (x === undefined ? '–' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));
const peers = ENGINES.filter((e) => e !== 'keystonedb');
const lines = [];
lines.push(
  `N = ${run.N.toLocaleString('en-US')} items (~150 B), median of ${run.reps}; ${run.machine ?? 'machine not recorded'}; ${run.date ?? 'date not recorded'}`,
);
if (run.workloads !== undefined) lines.push(`A partial run (--workloads ${run.workloads.join(',')}): only those rows.`);
const mainRows = WORKLOADS.filter(([w]) => ran(w));
if (mainRows.length > 0) {
  lines.push('On durable rows the best peer is the best durable one: lmdb (noSync) does not fsync.');
  lines.push('');
  lines.push(`| workload | unit | ${ENGINES.join(' | ')} | keystonedb / best peer | by turn | target |`);
  lines.push(`| --- | --- | ${ENGINES.map(() => '---').join(' | ')} | --- | --- | --- |`);
}
const summary = {};
for (const [w, label, target, durable] of mainRows) {
  const row = ENGINES.map((e) => results[`${w}/${e}`]?.rate);
  const compared = peers.filter((e) => !(durable && NOT_DURABLE.has(e)));
  const best = Math.max(0, ...compared.map((e) => results[`${w}/${e}`]?.rate ?? 0));
  // Without a peer in the run (--engines keystonedb), there is no ratio.
  const ratio = best > 0 ? results[`${w}/keystonedb`].rate / best : undefined;
  summary[w] = ratio;
  const units = [...new Set(ENGINES.map((e) => results[`${w}/${e}`]?.unit))].join('; ');
  const range = turnRatioRange(w, compared);
  const spread = range === undefined ? '–' : `${range[0].toFixed(2)}–${range[1].toFixed(2)}`;
  lines.push(
    `| ${label} | ${units} | ${row.map(fmt).join(' | ')} | ${ratio === undefined ? '–' : `${ratio.toFixed(2)} ${ratio >= target ? '✓' : '✗'}`} | ${spread} | ≥ ${target} |`,
  );
}
const load = (e) => results[`load/${e}`];
// The rows of the load's other figures, when the load ran.
if (load('keystonedb') !== undefined) {
  const bestOpen = peers.length === 0 ? undefined : Math.min(...peers.map((e) => load(e).openMs));
  lines.push(
    `| open existing (ms) | ms | ${ENGINES.map((e) => fmt(load(e).openMs)).join(' | ')} | ${fmt(load('keystonedb').openMs)} ms (best peer ${fmt(bestOpen)}) | | ≤ 5 ms |`,
  );
  lines.push(
    `| disk after load (MiB) | MiB | ${ENGINES.map((e) => fmt(load(e).diskBytes / 2 ** 20)).join(' | ')} | | | |`,
  );
  const levelDisk = load('classic-level')?.diskBytesCompacted;
  lines.push(
    `| disk after compaction (MiB) | MiB | ${ENGINES.map((e) => fmt(load(e).diskBytesCompacted / 2 ** 20)).join(' | ')} | ${levelDisk === undefined ? '–' : `${(load('keystonedb').diskBytesCompacted / levelDisk).toFixed(2)} × LevelDB`} | | ≤ 1.3 |`,
  );
  const sqliteRss = load('sqlite')?.peakRssGrowthMiB;
  lines.push(
    `| peak RSS growth in load (MiB) | MiB | ${ENGINES.map((e) => fmt(load(e).peakRssGrowthMiB)).join(' | ')} | ${sqliteRss === undefined ? '–' : `${(load('keystonedb').peakRssGrowthMiB / sqliteRss).toFixed(2)} × SQLite`} | | ≤ 1 |`,
  );
  lines.push(`| CPU time of load (ms) | ms | ${ENGINES.map((e) => fmt(load(e).cpuMs)).join(' | ')} | | | |`);
}
// The fsync bound of the durable-put rows that ran.
if (FSYNC_BOUND.some(([w]) => ran(w))) {
  lines.push('');
  lines.push(
    `The disk beside the durable-put rows: 160 B write + fdatasync in a preallocated file, ${probeFsyncs(run.quick)} in a row after each turn of the row (\`disk.mjs\`, median of the turns). A durable put waits for an fsync, so with k puts in flight at most k per fsync latency are acknowledged a second:`,
  );
  lines.push('');
  lines.push('| row | fdatasync p50 / p90 (µs) | bound: k / p50 (puts/s) | keystonedb (puts/s) | keystonedb / bound |');
  lines.push('| --- | --- | --- | --- | --- |');
  for (const [w, k] of FSYNC_BOUND.filter(([w]) => ran(w))) {
    const probe = results[`${w}/fsync`];
    const label = WORKLOADS.find(([x]) => x === w)?.[1] ?? w;
    // A results file from before the probe existed (--render) shows the row as not measured.
    const bound = probe === undefined ? undefined : (k * 1e6) / probe.p50Us;
    const rate = results[`${w}/keystonedb`]?.rate;
    const share = bound === undefined || rate === undefined ? '–' : (rate / bound).toFixed(2);
    lines.push(
      `| ${label} | ${probe === undefined ? '–' : `${Math.round(probe.p50Us)} / ${Math.round(probe.p90Us)}`} | ${fmt(bound)} | ${fmt(rate)} | ${share} |`,
    );
  }
}
if (Object.keys(YCSB).some(ran)) {
  lines.push('');
  lines.push(
    'YCSB core workloads (zipfian 0.99; one client; reads sync where the engine has it, writes durable), ops/s:',
  );
  lines.push('');
  lines.push(`| workload | ${ENGINES.join(' | ')} | keystonedb / best durable peer |`);
  lines.push(`| --- | ${ENGINES.map(() => '---').join(' | ')} | --- |`);
  for (const [w, { what }] of Object.entries(YCSB)) {
    if (!ran(w)) continue;
    const rates = ENGINES.map((e) => results[`${w}/${e}`]?.rate);
    const best = Math.max(0, ...peers.filter((e) => !NOT_DURABLE.has(e)).map((e) => results[`${w}/${e}`]?.rate ?? 0));
    const ratio = best > 0 ? (results[`${w}/keystonedb`].rate / best).toFixed(2) : '–';
    lines.push(`| ${what} | ${rates.map(fmt).join(' | ')} | ${ratio} |`);
  }
}
if (DYNALITE_WORKLOADS.some(([w]) => results[`${w}/keystonedb@dynalite-n`] !== undefined)) {
  lines.push('');
  lines.push(
    `DynamoDB-API peer: dynalite via the AWS SDK DocumentClient over loopback HTTP, N = ${dynaliteItems(run.quick)}:`,
  );
  lines.push('');
  lines.push('| workload | dynalite | keystonedb | keystonedb / dynalite | target |');
  lines.push('| --- | --- | --- | --- | --- |');
  for (const [w, label] of DYNALITE_WORKLOADS) {
    const d = results[`${w}/dynalite`]?.rate;
    const k = results[`${w}/keystonedb@dynalite-n`]?.rate;
    // A results file from before a row existed (--render) shows the row as not measured.
    const ratio = d === undefined || k === undefined ? '–' : (k / d).toFixed(1);
    lines.push(`| ${label} | ${fmt(d)} | ${fmt(k)} | ${ratio} | ≥ 100 |`);
  }
  // An fsynced put takes at least one fdatasync, which caps its lead over a put that takes none.
  const dynalitePut = results['durable1/dynalite']?.rate;
  const fsyncP50 = results['durable1/fsync']?.p50Us;
  if (dynalitePut !== undefined && fsyncP50 !== undefined) {
    const putUs = 1e6 / dynalitePut;
    lines.push('');
    lines.push(
      `keystonedb's fsynced put waits for at least one fdatasync, so it can lead dynalite's put (${fmt(putUs)} µs each, with no fsync) by at most ${fmt(putUs)} / ${Math.round(fsyncP50)} µs (the fdatasync p50 beside the durable rows) = ${(putUs / fsyncP50).toFixed(1)}× on this disk.`,
    );
  }
}
lines.push('');
lines.push(`(${rendering ? 're-rendered from saved results' : `${Math.round((Date.now() - t0) / 1000)} s`})`);
const md = lines.join('\n');
console.log(md);
if (rendering) process.exit(0);
// Quick and partial runs go to results/tmp (not committed): only a full run replaces the results.
const outDir = values.out ?? join(here, quick || chosen !== undefined ? join('results', 'tmp') : 'results');
mkdirSync(outDir, { recursive: true });
const stamp = new Date().toISOString().slice(0, 10);
writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify({ ...run, results, summary }, null, 2)}\n`);
writeFileSync(join(outDir, `${stamp}.md`), `${md}\n`);
