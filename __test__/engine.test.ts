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
      [{ spinMicros: -1 }, /spinMicros must be a whole number from 0 to 10000, not -1/],
      [{ spinMicros: 10_001 }, /spinMicros must be a whole number from 0 to 10000/],
      [{ spinMicros: 2.5 }, /spinMicros must be a whole number/],
      [{ spinMicros: '200' }, /spinMicros must be a whole number/],
    ];
    for (const [options, message] of cases) {
      const err = await Database.create(fresh(), options as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe('spinMicros: the JavaScript thread spins while a call is in flight', () => {
  // The spin keeps the event loop turning with setImmediate; Node lists a pending one as an
  // 'Immediate' resource of this thread.
  const immediates = () => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
  const sent = () => new Promise<void>((resolve) => queueMicrotask(resolve));

  it('keeps the loop turning while a write is in flight, and stops once none is', async () => {
    const db = await Database.create(fresh(), { spinMicros: 10_000 });
    // The test runner may have an Immediate of its own pending now and then (one was seen
    // once in a full run), so each check counts from just before the call.
    for (let i = 0; i < 5; i++) {
      const idle = immediates();
      const put = db.put({ pk: `k${i}`, v: i }, { durability: 'sync' });
      await sent(); // the tick's writes are sent in a microtask
      expect(immediates()).toBeGreaterThan(idle);
      await put;
      // The next turn of the spin sees nothing in flight and does not come back.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(immediates()).toBeLessThanOrEqual(idle);
    }
    // Reads through the pool spin too.
    const idle = immediates();
    const got = db.get({ pk: 'k3' });
    expect(immediates()).toBeGreaterThan(idle);
    expect(await got).toEqual({ pk: 'k3', v: 3 });
    await db.close();
  });

  it('stops at the limit even while a call is still in flight', async () => {
    // A full compaction of a few thousand items takes far longer than 1 µs, but on a busy
    // machine it can finish within the two turns of the loop this test waits: an attempt in
    // which it did proves nothing, so the test tries again (and fails if none caught it running).
    let checked = 0;
    for (let attempt = 0; attempt < 5 && checked === 0; attempt++) {
      const db = await Database.create(fresh(), { spinMicros: 1 });
      await Promise.all(Array.from({ length: 3000 }, (_, i) => db.put({ pk: `k${i}`, pad: 'x'.repeat(200) })));
      await new Promise((resolve) => setTimeout(resolve, 1)); // the puts' spin has ended
      const idle = immediates();
      let done = false;
      const compacting = db.compact().then(() => {
        done = true;
      });
      expect(immediates()).toBe(idle + 1);
      // Two turns of the loop: the spin's first turn is already past its 1 µs.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      const during = immediates();
      if (!done) {
        expect(during).toBeLessThanOrEqual(idle);
        checked += 1;
      }
      await compacting;
      await db.close();
    }
    expect(checked).toBe(1);
  });

  it('never spins with spinMicros: 0, and writes and reads still work', async () => {
    const db = await Database.create(fresh(), { spinMicros: 0 });
    const idle = immediates();
    const put = db.put({ pk: 'a', v: 1 }, { durability: 'sync' });
    await sent();
    expect(immediates()).toBe(idle);
    await put;
    const got = db.get({ pk: 'a' });
    expect(immediates()).toBe(idle);
    expect(await got).toEqual({ pk: 'a', v: 1 });
    await db.close();
  });
});

describe('writes that need no fsync commit on the calling thread', () => {
  const inline = (db: Database) => db.stats().inlineCommits;

  it('commits buffered and none writes there, never sync ones, and they are in the WAL', async () => {
    const path = fresh();
    const db = await Database.create(path);
    for (let i = 0; i < 20; i++) await db.put({ pk: `s${i}`, v: i }, { durability: 'sync' });
    expect(inline(db)).toBe(0);
    for (let i = 0; i < 40; i++) await db.put({ pk: `b${i}`, v: i }, { durability: i % 2 ? 'buffered' : 'none' });
    await db.delete({ pk: 'b0' }, { durability: 'buffered' });
    // One may go the usual way (the WAL lock was busy).
    expect(inline(db)).toBeGreaterThanOrEqual(39);
    expect(db.getSync({ pk: 'b0' })).toBeUndefined();
    for (let i = 1; i < 40; i++) expect(db.getSync({ pk: `b${i}` })).toEqual({ pk: `b${i}`, v: i });
    await db.close();
    const again = await Database.open(path);
    expect(again.getSync({ pk: 'b39' })).toEqual({ pk: 'b39', v: 39 });
    expect(again.getSync({ pk: 'b0' })).toBeUndefined();
    await again.close();
  });

  it("follows the database's default durability", async () => {
    const buffered = await Database.create(fresh(), { durability: 'buffered' });
    for (let i = 0; i < 10; i++) await buffered.put({ pk: `k${i}`, v: i });
    expect(inline(buffered)).toBeGreaterThanOrEqual(9);
    await buffered.close();
    const sync = await Database.create(fresh());
    for (let i = 0; i < 10; i++) await sync.put({ pk: `k${i}`, v: i });
    expect(inline(sync)).toBe(0);
    await sync.close();
  });

  it('never overtakes an earlier write of the same handle that is still in flight', async () => {
    const db = await Database.create(fresh());
    for (let i = 0; i < 20; i++) {
      let firstDone = false;
      const first = db.put({ pk: `o${i}`, v: 'first' }, { durability: 'sync' }).then(() => {
        firstDone = true;
      });
      await Promise.resolve(); // the first put's tick has been sent; its answer cannot have come
      const second = db.put({ pk: `o${i}`, v: 'second' }, { durability: 'buffered' });
      expect(firstDone).toBe(false);
      await Promise.all([first, second]);
      expect(db.getSync({ pk: `o${i}` })).toEqual({ pk: `o${i}`, v: 'second' });
    }
    await db.close();
  });

  it('is refused by the binding while a write call of the handle is queued or committing', async () => {
    const { native } = await import('../dist/src/native.js');
    const { PackedWrites, encodeItem, decodeItem } = await import('../dist/src/codec.js');
    const nd = await native.openDatabase(fresh(), 'create', undefined, undefined);
    const packed = (v: string, others: number) => {
      const ops = new PackedWrites();
      for (let j = 0; j < others; j++) ops.add('default', true, { pk: `other${j}`, v });
      ops.add('default', true, { pk: 'k', v });
      return { tables: ops.tables, bytes: Buffer.from(ops.bytes()) };
    };
    const out = Buffer.alloc(256);
    const valueOfK = () => decodeItem(out.subarray(0, nd.getSync('default', encodeItem({ pk: 'k' }), out))).v;
    let refused = 0;
    try {
      for (let i = 0; i < 10; i++) {
        // A call of 3,000 puts takes milliseconds to commit on the write thread.
        const first = packed(`first${i}`, 3000);
        const queued = nd.writeItems(first.tables, first.bytes, false, 'sync');
        const second = packed(`second${i}`, 0);
        const now = nd.writeItemsNow(second.tables, second.bytes, 'buffered');
        await queued;
        if (now === null) {
          refused += 1;
          await expect(nd.writeItems(second.tables, second.bytes, false, 'buffered')).resolves.toEqual([null]);
        } else {
          expect(now).toEqual([null]);
        }
        // Either way the second write landed after the first.
        expect(valueOfK()).toBe(`second${i}`);
      }
      expect(refused).toBeGreaterThan(0);
    } finally {
      nd.close();
    }
  });

  it('sends a large tick the usual way, and settles each write of a tick on its own', async () => {
    const db = await Database.create(fresh(), { durability: 'buffered' });
    const large = Array.from({ length: 200 }, (_, i) => db.put({ pk: `l${i}`, pad: 'x'.repeat(100) }));
    await Promise.all(large);
    expect(inline(db)).toBe(0);
    expect(db.getSync({ pk: 'l199' })).toEqual({ pk: 'l199', pad: 'x'.repeat(100) });
    // A tick of two puts committed on this thread: one fails alone (its key has the wrong type).
    const good = db.put({ pk: 'g', v: 1 });
    const bad = db.put({ pk: 42 } as unknown as { pk: string });
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(good).resolves.toEqual({});
    expect(inline(db)).toBe(1);
    expect(db.getSync({ pk: 'g' })).toEqual({ pk: 'g', v: 1 });
    await db.close();
  });
});

describe("getSync's read over bound buffers (readBoundItem)", () => {
  const fresh = () => join(base, `bound${Math.random().toString(36).slice(2)}`);

  it('reads the key from the bound key buffer, and refuses a read before a bind or past its end', async () => {
    const { native } = await import('../dist/src/native.js');
    const { PackedWrites, encodeItem, decodeItem } = await import('../dist/src/codec.js');
    const nd = await native.openDatabase(fresh(), 'create', undefined, undefined);
    try {
      const ops = new PackedWrites();
      ops.add('default', true, { pk: 'a', v: 1 });
      ops.add('default', true, { pk: 'bb', v: 2 });
      await nd.writeItems(ops.tables, Buffer.from(ops.bytes()), false, 'sync');
      const reader = nd.tableReader('default');
      expect(() => native.readBoundItem(reader, 0)).toThrow(/bindReadBuffers first/);
      const key = Buffer.alloc(64);
      const out = Buffer.alloc(4);
      native.bindReadBuffers(reader, key, out);
      const a = encodeItem({ pk: 'a' });
      a.copy(key);
      // Too large for `out`: nothing copied, the length returned; then read into a larger one.
      const n = native.readBoundItem(reader, a.length);
      expect(n).toBeGreaterThan(out.length);
      const larger = Buffer.alloc(256);
      native.bindReadBuffers(reader, key, larger);
      expect(native.readBoundItem(reader, a.length)).toBe(n);
      expect(decodeItem(larger.subarray(0, n))).toEqual({ pk: 'a', v: 1 });
      // The key is read from the buffer at each call: rewritten in place, another item is read.
      const b = encodeItem({ pk: 'bb' });
      b.copy(key);
      expect(decodeItem(larger.subarray(0, native.readBoundItem(reader, b.length)))).toEqual({ pk: 'bb', v: 2 });
      expect(native.readBoundItem(reader, encodeItem({ pk: 'c' }).copy(key))).toBe(-1);
      expect(() => native.readBoundItem(reader, key.length + 1)).toThrow(/past the end of the bound key buffer/);
      // A length that is not a whole key is refused as bad input, not read as one.
      expect(() => native.readBoundItem(reader, 1)).toThrow();
      nd.close();
      expect(() => native.readBoundItem(reader, b.length)).toThrow(/closed/i);
    } finally {
      nd.close();
    }
  });
});
