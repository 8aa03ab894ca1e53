import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, runNode, tempDir } from './helpers';

const base = tempDir('kstone-cli-');
const kstone = (...args: string[]) => runNode([join(root, 'dist', 'src', 'cli', 'kstone.js'), ...args], { cwd: base });
const { version } = require('../package.json') as { version: string };

/** A failure is one line on stderr, prefixed with the tool's name. */
function expectOneLineError(stderr: string, pattern: RegExp) {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^kstone: /);
  expect(lines[0]).toMatch(pattern);
}

describe('kstone CLI', () => {
  it('prints its version', async () => {
    const r = await kstone('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`kstone ${version}`);
  });

  it('creates, puts, gets and deletes through the command line', async () => {
    const db = join(base, 'demo.keystone');
    expect((await kstone('create', db)).code).toBe(0);
    const put = await kstone('put', db, 'user#1', '{"name":"Alice","age":30,"tags":["a"]}');
    expect(put.code, put.stderr).toBe(0);
    const get = await kstone('get', db, 'user#1');
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual({ pk: 'user#1', name: 'Alice', age: 30, tags: ['a'] });
    expect((await kstone('delete', db, 'user#1')).code).toBe(0);
    const gone = await kstone('get', db, 'user#1');
    expect(gone.code).toBe(1);
    expectOneLineError(gone.stderr, /no item with pk "user#1"/);
  });

  it('puts an item with only a key when no JSON is given', async () => {
    const db = join(base, 'keyonly');
    await kstone('create', db);
    expect((await kstone('put', db, 'k')).code).toBe(0);
    expect(JSON.parse((await kstone('get', db, 'k')).stdout)).toEqual({ pk: 'k' });
  });

  it('prints stats and health as JSON, and compacts', async () => {
    const db = join(base, 'ops');
    await kstone('create', db);
    for (let i = 0; i < 5; i++) await kstone('put', db, `k${i}`, `{"i":${i}}`);
    await kstone('delete', db, 'k0');
    const compact = await kstone('compact', db);
    expect(compact.code, compact.stderr).toBe(0);
    expect(compact.stdout).toMatch(/SST files/);
    const stats = await kstone('stats', db);
    expect(stats.code).toBe(0);
    // One SST for the default table, one for the catalog; compaction totals count since open.
    expect(JSON.parse(stats.stdout)).toMatchObject({
      sstFilesPerLevel: [0, 2, 0, 0, 0, 0, 0],
      compaction: { totalCompactions: 0 },
    });
    const health = await kstone('health', db);
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout).status).toMatch(/^(healthy|degraded)$/);
    expect(JSON.parse((await kstone('get', db, 'k3')).stdout)).toEqual({ pk: 'k3', i: 3 });
    const verify = await kstone('verify', db);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/checked 2 SST files/);
  });

  it.each([
    ['create', 'create <path>'],
    ['put', 'put [options] <path> <pk> [json]'],
    ['get', 'get [options] <path> <pk>'],
    ['delete', 'delete [options] <path> <pk>'],
    ['stats', 'stats [options] <path>'],
    ['health', 'health [options] <path>'],
    ['compact', 'compact [options] <path>'],
    ['verify', 'verify [options] <path>'],
  ])('has --help for %s', async (command, usage) => {
    const r = await kstone(command, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: kstone ');
    expect(r.stdout.replace('[options] ', '')).toContain(usage.replace('[options] ', ''));
  });

  it('fails with a non-zero exit code and one line for each kind of mistake', async () => {
    const db = join(base, 'errors');
    await kstone('create', db);
    const cases: [string[], number, RegExp][] = [
      [['create', db], 1, /already exists/],
      [['get', join(base, 'missing'), 'k'], 1, /no database at/],
      [['put', db, 'k', '{not json'], 2, /not valid JSON/],
      [['put', db, 'k', '[1,2]'], 2, /must be a JSON object/],
      [['put', db, 'k', '{"pk":"other"}'], 2, /sets pk to "other"/],
      [['put', db], 2, /missing required argument/],
      [['frobnicate'], 2, /unknown command/],
    ];
    for (const [args, code, pattern] of cases) {
      const r = await kstone(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expectOneLineError(r.stderr, pattern);
    }
  });
});
