import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Database, ValidationError } from '../dist/index.js';
import { tempDir } from './helpers';

const base = tempDir('kstone-engine-');
let n = 0;
const fresh = () => join(base, `db${n++}`);
const small = {
  durability: 'none',
  memtableBudgetBytes: 64 * 1024,
  blockSizeBytes: 1024,
  obsoleteFileRetentionMs: 0,
} as const;

describe('storage engine through the API', () => {
  it('flushes to SST files with a MANIFEST, and stats() describes them', async () => {
    const path = fresh();
    const db = await Database.create(path, { ...small, compaction: { enabled: false } });
    for (let i = 0; i < 2000; i++) await db.put({ pk: `k${i}`, pad: 'x'.repeat(100) });
    await db.flush();
    const files = readdirSync(path);
    expect(files).toContain('MANIFEST');
    expect(files.filter((f) => /^\d{6,}\.sst$/.test(f)).length).toBeGreaterThan(1);
    const s = db.stats();
    expect(s.totalSstFiles).toBeGreaterThan(1);
    expect(s.sstFilesPerLevel).toHaveLength(7);
    expect(s.sstFilesPerLevel[0]).toBe(s.totalSstFiles);
    expect(s.totalDiskSizeBytes).toBeGreaterThan(s.walSizeBytes);
    expect(s.totalFlushBytes).toBeGreaterThan(0);
    expect(s.compaction.totalCompactions).toBe(0);
    expect(db.getSync({ pk: 'k1234' })).toEqual({ pk: 'k1234', pad: 'x'.repeat(100) });
    await db.close();
  });

  it('compact() after overwrites and deletes cuts files and disk, and stats say so', async () => {
    const path = fresh();
    const db = await Database.create(path, { ...small, compaction: { enabled: false } });
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 1500 }, (_, i) => db.put({ pk: `k${i}`, round, pad: 'y'.repeat(80) })));
      await db.flush();
    }
    await Promise.all(Array.from({ length: 500 }, (_, i) => db.delete({ pk: `k${i}` })));
    await db.flush();
    const before = db.stats();
    await db.compact();
    const after = db.stats();
    expect(after.totalSstFiles).toBeLessThan(before.totalSstFiles);
    expect(after.totalDiskSizeBytes).toBeLessThan(before.totalDiskSizeBytes);
    expect(after.compaction.totalCompactions).toBeGreaterThanOrEqual(1);
    expect(after.compaction.totalRecordsDeduplicated).toBeGreaterThanOrEqual(2 * 1500);
    expect(after.compaction.totalTombstonesRemoved).toBe(500);
    expect(after.compaction.totalBytesReclaimed).toBeGreaterThan(0);
    expect(await db.get({ pk: 'k10' })).toBeUndefined();
    expect(await db.get({ pk: 'k1000' })).toEqual({ pk: 'k1000', round: 2, pad: 'y'.repeat(80) });
    await db.close();
    const again = await Database.open(path);
    expect(again.getSync({ pk: 'k1499' })).toMatchObject({ round: 2 });
    await again.close();
  });

  it('compacts in the background as level 0 fills', async () => {
    const db = await Database.create(fresh(), { ...small, compaction: { l0Trigger: 2, checkIntervalMs: 20 } });
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 300; i++) await db.put({ pk: `k${i}`, round });
      await db.flush();
    }
    for (let i = 0; i < 200 && db.stats().compaction.totalCompactions === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(db.stats().compaction.totalCompactions).toBeGreaterThan(0);
    expect(db.getSync({ pk: 'k7' })).toEqual({ pk: 'k7', round: 5 });
    await db.close();
  });

  it('verify() reads every file and names a damaged one', async () => {
    const path = fresh();
    const db = await Database.create(path, { ...small, compaction: { enabled: false } });
    for (let i = 0; i < 1000; i++) await db.put({ pk: `k${i}`, pad: 'z'.repeat(100) });
    await db.compact();
    await db.put({ pk: 'in-the-wal' });
    const healthy = await db.verify();
    expect(healthy.problems).toEqual([]);
    expect(healthy.sstEntries).toBeGreaterThanOrEqual(1000);
    expect(healthy.walBatches).toBeGreaterThanOrEqual(1);
    await db.close();
    const sst = readdirSync(path)
      .filter((f) => f.endsWith('.sst'))
      .map((f) => join(path, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0] as string;
    const bytes = readFileSync(sst);
    bytes[200] = (bytes[200] ?? 0) ^ 0xff;
    writeFileSync(sst, bytes);
    const again = await Database.open(path);
    const damaged = await again.verify();
    expect(damaged.problems).toHaveLength(1);
    expect(damaged.problems[0]).toContain(basename(sst));
    await again.close();
  });

  it('reports health', async () => {
    const db = await Database.create(fresh());
    const h = db.health();
    expect(h).toEqual({
      status: expect.stringMatching(/^(healthy|degraded)$/),
      warnings: expect.any(Array),
      errors: [],
    });
    if (h.status === 'degraded') expect(h.warnings.join()).toMatch(/disk/);
    await db.close();
    expect(() => db.health()).toThrow(/closed/);
  });

  it('rejects misspelt and out-of-range options with Validation', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ durabilty: 'sync' }, /unknown option 'durabilty'/],
      [{ compaction: { l0trigger: 4 } }, /unknown option 'compaction.l0trigger'/],
      [{ compression: 'gzip' }, /compression must be/],
      [{ bloomFalsePositiveRate: 1.5 }, /bloomFalsePositiveRate/],
      [{ memtableBudgetBytes: 10 }, /memtableBudgetBytes/],
      [{ memtableBudgetBytes: 1.5e6 + 0.5 }, /whole number/],
      [{ compaction: { l0Trigger: 30 } }, /l0StopTrigger/],
    ];
    for (const [options, message] of cases) {
      const err = await Database.create(fresh(), options as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(message);
    }
  });
});
