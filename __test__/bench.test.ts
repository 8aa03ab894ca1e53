import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, runNode } from './helpers';

// The options of `npm run bench`; the run itself is `npm test`'s last step (`--quick`).
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
});
