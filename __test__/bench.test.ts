import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, runNode, tempDir } from './helpers';

// The options of `npm run bench`; the run itself is `npm test`'s last step (`--quick`).
const base = tempDir('kstone-bench-');
const bench = (...args: string[]) => runNode([join(root, 'bench', 'run.mjs'), ...args], { cwd: root });

/** A saved run of keystonedb and lmdb with every main row (keystonedb at 200, lmdb at 100). */
function savedRun(): Record<string, object> {
  const results: Record<string, object> = {};
  for (const w of ['load', 'get', 'range', 'scan', 'durable1', 'durable64', 'overwrite', 'delete']) {
    results[`${w}/keystonedb`] = { unit: 'items/s', rate: 200 };
    results[`${w}/lmdb`] = { unit: 'items/s', rate: 100 };
  }
  const load = { openMs: 1, diskBytes: 1, diskBytesCompacted: 1, cpuMs: 1, peakRssGrowthMiB: 1 };
  results['load/keystonedb'] = { ...results['load/keystonedb'], ...load };
  results['load/lmdb'] = { ...results['load/lmdb'], ...load };
  return results;
}

let saved = 0;
/** `--render` of `results` saved to a file, as a full run would have written it. */
function render(results: Record<string, object>) {
  const file = join(base, `run-${saved++}.json`);
  writeFileSync(file, JSON.stringify({ N: 3, reps: 3, quick: false, results }));
  return bench('--render', file, '--engines', 'keystonedb,lmdb');
}

describe('npm run bench', () => {
  it('lists its options with --help', async () => {
    const r = await bench('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run bench/);
    for (const option of ['--quick', '--items', '--reps', '--engines', '--workloads', '--out', '--render']) {
      expect(r.stdout).toContain(option);
    }
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--items', '0'], /--items must be a positive whole number, not 0/],
    [['--reps', 'two'], /--reps must be a positive whole number, not two/],
    [['--engines', 'keystonedb,mongo'], /unknown engine "mongo"/],
    [['--engines', 'lmdb'], /must include keystonedb/],
    [['--workloads', 'get,gets'], /unknown workload "gets"; --workloads takes load, get, range/],
  ])('refuses %j with a message and the option list, running nothing', async (args, message) => {
    const r = await bench(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('usage: npm run bench');
    expect(r.stderr).not.toMatch(/at .*run\.mjs:\d+/);
    expect(r.stdout).toBe('');
  });

  it('shows the spread of the per-turn ratios beside each median ratio', async () => {
    // A saved run of two engines: the load's three turns give ratios 1.00, 2.00 and 1.50 (the
    // median ratio is of the medians: 200 / 100); the get row has no per-turn rates, as in a
    // results file from before they were kept.
    const results = savedRun();
    results['load/keystonedb'] = { ...results['load/keystonedb'], rates: [100, 200, 300] };
    results['load/lmdb'] = { ...results['load/lmdb'], rates: [100, 100, 200] };
    const r = await render(results);
    expect(r.code).toBe(0);
    const line = (label: string) => r.stdout.split('\n').find((l) => l.startsWith(`| ${label}`)) ?? '';
    expect(line('bulk load')).toContain('| 2.00 ✓ | 1.00–2.00 | ≥ 1.5 |');
    expect(line('random point get')).toContain('| 2.00 ✓ | – | ≥ 1 |');
  });

  it('runs only the rows --workloads names, and writes such a partial run to results/tmp', async () => {
    const stamp = () => new Date().toISOString().slice(0, 10);
    const committed = join(root, 'bench', 'results', `${stamp()}.json`);
    const before = existsSync(committed) ? readFileSync(committed, 'utf8') : undefined;
    // keystonedb alone needs none of the peers' packages; with no peer, no ratio is claimed.
    const r = await bench('--workloads', 'get,ycsb-c', '--engines', 'keystonedb', '--items', '500', '--reps', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('A partial run (--workloads get,ycsb-c): only those rows.');
    expect(r.stdout).toMatch(/\| random point get \| gets\/s \(sync\) \| [\d,]+ \| – \| – \| ≥ 1 \|/);
    expect(r.stdout).toMatch(/\| C: read only \| [\d,]+ \| – \|/);
    for (const absent of ['bulk load', 'full scan', 'A: 50% read', 'fdatasync', 'dynalite']) {
      expect(r.stdout).not.toContain(absent);
    }
    const saved = JSON.parse(readFileSync(join(root, 'bench', 'results', 'tmp', `${stamp()}.json`), 'utf8'));
    expect(saved.workloads).toEqual(['get', 'ycsb-c']);
    expect(Object.keys(saved.results).sort()).toEqual(['get/keystonedb', 'ycsb-c/keystonedb']);
    // The committed results of a full run are left alone.
    expect(existsSync(committed) ? readFileSync(committed, 'utf8') : undefined).toBe(before);
  }, 120_000);

  it('states the most an fsynced put can lead dynalite by on the measured disk', async () => {
    // dynalite's put at 500/s is 2,000 µs a put; an fdatasync of 125 µs caps the lead at 16.
    const results = savedRun();
    results['durable1/dynalite'] = { unit: 'puts/s', rate: 500 };
    results['durable1/keystonedb@dynalite-n'] = { unit: 'puts/s', rate: 6000 };
    results['durable1/fsync'] = { p50Us: 125, p90Us: 150 };
    const r = await render(results);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('| put (keystonedb fsyncs, dynalite does not) | 500 | 6,000 | 12.0 | ≥ 100 |');
    expect(r.stdout).toContain(
      'by at most 2,000 / 125 µs (the fdatasync p50 beside the durable rows) = 16.0× on this disk',
    );
    // Without the disk's figure (a results file from before the probe), no bound is claimed.
    delete results['durable1/fsync'];
    const without = await render(results);
    expect(without.code).toBe(0);
    expect(without.stdout).not.toContain('by at most');
  });
});
