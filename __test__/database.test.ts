import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ClosedError,
  Database,
  KeystoneError,
  NotFoundError,
  ValidationError,
} from '../dist/index.js';
import { tempDir } from './helpers';

const base = tempDir();
let n = 0;
const fresh = () => join(base, `db${n++}`);

describe('Database lifecycle', () => {
  it('creates a directory holding a WAL segment', async () => {
    const path = fresh();
    const db = await Database.create(path);
    expect(db.isOpen).toBe(true);
    expect(readdirSync(path).some((f) => /^wal_\d{6,}\.log$/.test(f))).toBe(true);
    await db.close();
    expect(db.isOpen).toBe(false);
  });

  it('create fails with AlreadyExists on an existing database and on a non-empty directory', async () => {
    const path = fresh();
    await (await Database.create(path)).close();
    await expect(Database.create(path)).rejects.toBeInstanceOf(AlreadyExistsError);
    const other = fresh();
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'hello');
    await expect(Database.create(other)).rejects.toMatchObject({ code: 'AlreadyExists' });
  });

  it('open fails with NotFound on a missing database unless create: true', async () => {
    const path = fresh();
    await expect(Database.open(path)).rejects.toBeInstanceOf(NotFoundError);
    expect(existsSync(path)).toBe(false);
    const db = await Database.open(path, { create: true });
    await db.put({ pk: 'a' });
    await db.close();
    const again = await Database.open(path);
    expect(await again.get({ pk: 'a' })).toEqual({ pk: 'a' });
    await again.close();
  });

  it('rejects calls after close with ClosedError, and closing twice is harmless', async () => {
    const db = await Database.create(fresh());
    await db.close();
    await db.close();
    await expect(db.put({ pk: 'x' })).rejects.toBeInstanceOf(ClosedError);
    await expect(db.get({ pk: 'x' })).rejects.toMatchObject({ code: 'Closed' });
    await expect(db.delete({ pk: 'x' })).rejects.toBeInstanceOf(KeystoneError);
    expect(() => db.getSync({ pk: 'x' })).toThrow(ClosedError);
  });

  it('rejects bad paths and options with Validation', async () => {
    await expect(Database.create('')).rejects.toBeInstanceOf(ValidationError);
    // @ts-expect-error: the durability must be one of the three modes
    await expect(Database.create(fresh(), { durability: 'sometimes' })).rejects.toMatchObject({
      code: 'Validation',
      message: expect.stringContaining('durability'),
    });
  });
});

describe('put, get, delete', () => {
  it('round-trips every attribute type and survives close and reopen', async () => {
    const path = fresh();
    const item = {
      pk: 'user#1',
      name: 'Alice',
      age: 30,
      ratio: -0.125,
      admin: false,
      nothing: null,
      avatar: new Uint8Array([0, 1, 254, 255]),
      tags: new Set(['a', 'b']),
      scores: new Set([1, 2.5]),
      blobs: new Set([new Uint8Array([1]), new Uint8Array([2, 3])]),
      address: { city: 'Oslo', lines: ['1 Main St', { floor: 3 }], empty: {} },
      list: [],
      unicode: 'ĉu vi 👋 — 日本',
    };
    const db = await Database.create(path);
    await db.put(item);
    expect(await db.get({ pk: 'user#1' })).toEqual(item);
    expect(db.getSync({ pk: 'user#1' })).toEqual(item);
    await db.close();
    const reopened = await Database.open(path);
    expect(await reopened.get({ pk: 'user#1' })).toEqual(item);
    await reopened.close();
  });

  it('getSync returns each item whole when keys and items of many lengths alternate', async () => {
    // getSync reuses views of its buffers by length (src/views.ts): lengths 64 apart share a
    // slot. An item over 16 KiB replaces the buffer the item is read into, and a key over 256
    // bytes the one its key is encoded into, after both were bound to the table's reader.
    const db = await Database.create(fresh());
    const lengths = [0, 1, 5, 63, 64, 65, 69, 127, 128, 129, 133, 191, 300, 364, 20_000, 20_064];
    const keyLengths = [3, 3, 3, 3, 3, 3, 3, 3, 400, 3, 1900, 3, 3, 3, 3, 3];
    const items = lengths.map((len, i) => ({
      pk: `k${'x'.repeat(keyLengths[i] ?? 0)}${i}`,
      v: 'v'.repeat(len),
      i,
    }));
    for (const item of items) await db.put(item);
    for (let round = 0; round < 3; round++) {
      for (const item of items) expect(db.getSync({ pk: item.pk })).toEqual(item);
      for (const item of [...items].reverse()) expect(db.getSync({ pk: item.pk })?.v).toHaveLength(item.v.length);
      expect(db.getSync({ pk: `missing${round}` })).toBeUndefined();
    }
    await db.close();
  });

  it('get of a missing key is undefined; delete removes and deleting again is fine', async () => {
    const db = await Database.create(fresh());
    expect(await db.get({ pk: 'nobody' })).toBeUndefined();
    await db.put({ pk: 'k', v: 1 });
    await db.put({ pk: 'k', v: 2 });
    expect(await db.get({ pk: 'k' })).toEqual({ pk: 'k', v: 2 });
    await db.delete({ pk: 'k' });
    expect(await db.get({ pk: 'k' })).toBeUndefined();
    await db.delete({ pk: 'k' });
    await db.close();
  });

  it('keeps an attribute named __proto__ as data', async () => {
    const db = await Database.create(fresh());
    const item = JSON.parse('{"pk":"p","__proto__":{"polluted":true}}');
    await db.put(item);
    const back = await db.get({ pk: 'p' });
    expect(Object.keys(back ?? {})).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await db.close();
  });

  it('rejects items without a string pk, with a message naming the attribute', async () => {
    const db = await Database.create(fresh());
    const bad: unknown[] = [{ name: 'x' }, { pk: 5 }, { pk: '' }, { pk: 'x'.repeat(2049) }, null, 'pk', [1]];
    for (const item of bad) {
      // @ts-expect-error: deliberately wrong shapes
      const err = await db.put(item).catch((e: unknown) => e);
      expect(err, JSON.stringify(item)).toBeInstanceOf(ValidationError);
    }
    await expect(db.put({ pk: 'x'.repeat(2048) })).resolves.toEqual({});
    // @ts-expect-error: pk must be a string
    await expect(db.put({ pk: 1 })).rejects.toThrow(/`pk`/);
    await db.close();
  });

  it('rejects values DynamoDB cannot store, naming where they are', async () => {
    const db = await Database.create(fresh());
    const cases: [unknown, RegExp][] = [
      [{ pk: 'a', n: Number.NaN }, /^n: NaN/],
      [{ pk: 'a', deep: { x: Number.POSITIVE_INFINITY } }, /^deep\.x:/],
      [{ pk: 'a', s: new Set() }, /empty set/],
      [{ pk: 'a', s: new Set(['a', 1]) }, /string set holds a number/],
      [{ pk: 'a', d: new Date() }, /Date cannot be stored/],
      [{ pk: 'a', f: () => 1 }, /function cannot be stored/],
      [{ pk: 'a', u: undefined }, /undefined cannot be stored/],
      [{ pk: 'a', l: [1, [Symbol('s')]] }, /^l\[1\]\[0\]:/],
    ];
    for (const [item, message] of cases) {
      // @ts-expect-error: deliberately unstorable values
      await expect(db.put(item)).rejects.toThrow(message);
    }
    let deep: unknown = 'leaf';
    for (let i = 0; i < 40; i++) deep = [deep];
    // @ts-expect-error: deliberately too deep
    await expect(db.put({ pk: 'a', deep })).rejects.toThrow(/deeper than 32/);
    expect(await db.get({ pk: 'a' })).toBeUndefined();
    await db.close();
  });

  it('commits many concurrent writes, each exactly once', async () => {
    const path = fresh();
    const db = await Database.create(path);
    await Promise.all(Array.from({ length: 500 }, (_, i) => db.put({ pk: `k${i}`, i })));
    await db.close();
    const again = await Database.open(path);
    for (let i = 0; i < 500; i++) expect(again.getSync({ pk: `k${i}` })).toEqual({ pk: `k${i}`, i });
    await again.close();
  });

  it('honours per-database and per-write durability modes across reopen', async () => {
    for (const durability of ['sync', 'buffered', 'none'] as const) {
      const path = fresh();
      const db = await Database.create(path, { durability, syncIntervalMs: 5 });
      await db.put({ pk: 'a', durability });
      await db.put({ pk: 'b' }, { durability: 'sync' });
      await db.close();
      const again = await Database.open(path);
      expect(await again.get({ pk: 'a' })).toEqual({ pk: 'a', durability });
      expect(await again.get({ pk: 'b' })).toEqual({ pk: 'b' });
      await again.close();
    }
  });

  it('rotates WAL segments and recovers across all of them', async () => {
    const path = fresh();
    const db = await Database.create(path, { walSegmentBytes: 4096 });
    for (let i = 0; i < 200; i++) await db.put({ pk: `k${i}`, pad: 'x'.repeat(100) }, { durability: 'none' });
    await db.close();
    expect(readdirSync(path).filter((f) => f.startsWith('wal_')).length).toBeGreaterThan(3);
    const again = await Database.open(path);
    for (let i = 0; i < 200; i++) expect(again.getSync({ pk: `k${i}` })?.pad).toHaveLength(100);
    await again.close();
  });
});
