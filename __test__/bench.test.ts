import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, runNode, tempDir } from './helpers';

// The options of `npm run bench`; the run itself is `npm test`'s last step (`--quick`).
const base = tempDir('kstone-bench-');
const bench = (...args: string[]) => runNode([join(root, 'bench', 'run.mjs'), ...args], { cwd: root });

describe('npm run bench', () => {
  it('lists its options with --help', async () => {
    const r = await bench('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run bench/);
    for (const option of ['--quick', '--items', '--reps', '--engines', '--out', '--render']) {
      expect(r.stdout).toContain(option);
    }
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--items', '0'], /--items must be a positive whole number, not 0/],
    [['--reps', 'two'], /--reps must be a positive whole number, not two/],
    [['--engines', 'keystonedb,mongo'], /unknown engine "mongo"/],
    [['--engines', 'lmdb'], /must include keystonedb/],
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
    const rows = ['load', 'get', 'range', 'scan', 'durable1', 'durable64', 'overwrite', 'delete'];
    const results: Record<string, object> = {};
    for (const w of rows) {
      results[`${w}/keystonedb`] = { unit: 'items/s', rate: 200 };
      results[`${w}/lmdb`] = { unit: 'items/s', rate: 100 };
    }
    const load = { openMs: 1, diskBytes: 1, diskBytesCompacted: 1, cpuMs: 1, peakRssGrowthMiB: 1 };
    results['load/keystonedb'] = { unit: 'items/s', rate: 200, rates: [100, 200, 300], ...load };
    results['load/lmdb'] = { unit: 'items/s', rate: 100, rates: [100, 100, 200], ...load };
    const file = join(base, 'run.json');
    writeFileSync(file, JSON.stringify({ N: 3, reps: 3, quick: false, results }));
    const r = await bench('--render', file, '--engines', 'keystonedb,lmdb');
    expect(r.code).toBe(0);
    const line = (label: string) => r.stdout.split('\n').find((l) => l.startsWith(`| ${label}`)) ?? '';
    expect(line('bulk load')).toContain('| 2.00 ✓ | 1.00–2.00 | ≥ 1.5 |');
    expect(line('random point get')).toContain('| 2.00 ✓ | – | ≥ 1 |');
  });
});
