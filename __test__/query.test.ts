import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Database, type Item, NumberValue, TableSchema, ValidationError } from '../dist/index.js';
import { tempDir } from './helpers';

const base = tempDir('kstone-query-');
let n = 0;
const fresh = () => join(base, `db${n++}`);
const events = TableSchema.builder().partitionKey('pk', 'S').sortKey('sk', 'N').build();
const names = TableSchema.builder().partitionKey('pk', 'S').sortKey('sk', 'S').build();

async function seeded(count = 200) {
  const db = await Database.create(fresh(), { durability: 'none' });
  const t = await db.createTable('events', events);
  await Promise.all(Array.from({ length: count }, (_, i) => t.put({ pk: 'p', sk: i, even: i % 2 === 0 })));
  await t.put({ pk: 'other', sk: 1 });
  return { db, t };
}

const sks = (items: Item[]) => items.map((i) => Number(i.sk));

describe('Query', () => {
  it('supports every key-condition operator', async () => {
    const { db, t } = await seeded(20);
    const q = async (cond: string, values: Record<string, number | string>) =>
      sks((await t.query({ keyConditionExpression: cond, expressionAttributeValues: { ':p': 'p', ...values } })).items);
    expect(await q('pk = :p', {})).toEqual([...Array(20).keys()]);
    expect(await q('pk = :p AND sk = :v', { ':v': 7 })).toEqual([7]);
    expect(await q('pk = :p AND sk < :v', { ':v': 3 })).toEqual([0, 1, 2]);
    expect(await q('pk = :p AND sk <= :v', { ':v': 3 })).toEqual([0, 1, 2, 3]);
    expect(await q('pk = :p AND sk > :v', { ':v': 16 })).toEqual([17, 18, 19]);
    expect(await q('pk = :p AND sk >= :v', { ':v': 17 })).toEqual([17, 18, 19]);
    expect(await q('pk = :p AND sk BETWEEN :a AND :b', { ':a': 5, ':b': 8 })).toEqual([5, 6, 7, 8]);
    expect(await q(':p = pk AND :v > sk', { ':v': 2 })).toEqual([0, 1]);
    const s = await db.createTable('names', names);
    for (const sk of ['apple', 'apricot', 'banana', 'ap', 'b']) await s.put({ pk: 'p', sk });
    const b = await s.query({
      keyConditionExpression: 'pk = :p AND begins_with(sk, :pre)',
      expressionAttributeValues: { ':p': 'p', ':pre': 'ap' },
    });
    expect(b.items.map((i) => i.sk)).toEqual(['ap', 'apple', 'apricot']);
    await expect(
      t.query({ keyConditionExpression: 'pk = :p OR sk = :v', expressionAttributeValues: { ':p': 'p', ':v': 1 } }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      t.query({ keyConditionExpression: 'sk = :v', expressionAttributeValues: { ':v': 1 } }),
    ).rejects.toThrow();
    await expect(
      t.query({ keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': 'p', ':unused': 1 } }),
    ).rejects.toThrow(/unused/);
    await db.close();
  });

  it('walks 10,000 items in pages of 7, each exactly once, forwards and backwards, and resumes exactly', async () => {
    const { db, t } = await seeded(10_000);
    for (const scanIndexForward of [true, false]) {
      const seen: number[] = [];
      let start: Item | undefined;
      let pages = 0;
      do {
        const page = await t.query({
          keyConditionExpression: 'pk = :p',
          expressionAttributeValues: { ':p': 'p' },
          limit: 7,
          scanIndexForward,
          exclusiveStartKey: start,
        });
        expect(page.items.length).toBeLessThanOrEqual(7);
        seen.push(...sks(page.items));
        start = page.lastEvaluatedKey;
        if (start !== undefined) expect(Object.keys(start).sort()).toEqual(['pk', 'sk']);
        pages++;
      } while (start !== undefined);
      const want = [...Array(10_000).keys()];
      expect(seen).toEqual(scanIndexForward ? want : want.reverse());
      // 1428 full pages of 7 and a last page of 4, which has no lastEvaluatedKey.
      expect(pages).toBe(1429);
    }
    let count = 0;
    for await (const _ of t.queryIterator({
      keyConditionExpression: 'pk = :p',
      expressionAttributeValues: { ':p': 'p' },
    })) {
      count++;
    }
    expect(count).toBe(10_000);
    await db.close();
  });

  it('ends a page at 1 MB and resumes there', async () => {
    const db = await Database.create(fresh(), { durability: 'none' });
    const t = await db.createTable('big', events);
    const pad = 'x'.repeat(10_000);
    await Promise.all(Array.from({ length: 250 }, (_, i) => t.put({ pk: 'p', sk: i, pad })));
    const first = await t.query({ keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': 'p' } });
    expect(first.count).toBeGreaterThan(90);
    expect(first.count).toBeLessThan(110);
    expect(first.lastEvaluatedKey).toEqual({ pk: 'p', sk: first.count - 1 });
    const rest = await t.query({
      keyConditionExpression: 'pk = :p',
      expressionAttributeValues: { ':p': 'p' },
      exclusiveStartKey: first.lastEvaluatedKey,
    });
    expect(sks(rest.items)[0]).toBe(first.count);
    await db.close();
  });

  it('applies the filter after the limit, projects, and counts as DynamoDB does', async () => {
    const { db, t } = await seeded(20);
    const page = await t.query({
      keyConditionExpression: 'pk = :p',
      filterExpression: 'even = :t',
      projectionExpression: 'sk',
      expressionAttributeValues: { ':p': 'p', ':t': true },
      limit: 10,
    });
    expect(page.scannedCount).toBe(10);
    expect(page.count).toBe(5);
    expect(page.items).toEqual([0, 2, 4, 6, 8].map((sk) => ({ sk })));
    expect(page.lastEvaluatedKey).toEqual({ pk: 'p', sk: 9 });
    const counted = t.querySync({
      keyConditionExpression: 'pk = :p',
      expressionAttributeValues: { ':p': 'p' },
      select: 'COUNT',
    });
    expect(counted).toEqual({ items: [], count: 20, scannedCount: 20 });
    await db.close();
  });

  it('sorts string sort keys by UTF-8 bytes, as DynamoDB does (not by UTF-16 code units)', async () => {
    const db = await Database.create(fresh());
    const t = await db.createTable('strings', names);
    const keys = ['z', 'a', '\u{1F600}', '\uFFFD', 'é', 'A'];
    for (const sk of keys) await t.put({ pk: 'p', sk });
    const page = await t.query({ keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': 'p' } });
    const utf8 = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(page.items.map((i) => i.sk)).toEqual(utf8);
    expect(utf8).not.toEqual([...keys].sort());
    await db.close();
  });

  it('sorts numeric sort keys numerically over random decimals, negatives and 38 digits', async () => {
    const db = await Database.create(fresh(), { durability: 'none' });
    const t = await db.createTable('nums', events);
    const values: string[] = [
      '0',
      '-1',
      '1',
      '-0.5',
      '0.5',
      '99999999999999999999999999999999999999',
      '-99999999999999999999999999999999999999',
      '1E-130',
      '-1E+125',
    ];
    for (let i = 0; i < 300; i++) {
      const digits = String(Math.floor(Math.random() * 1e9)).padStart(3, '0');
      const exp = Math.floor(Math.random() * 40) - 20;
      values.push(`${Math.random() < 0.5 ? '-' : ''}${digits.slice(0, 1)}.${digits.slice(1)}E${exp}`);
    }
    const unique = [...new Map(values.map((v) => [Number(v), v])).values()];
    await Promise.all(unique.map((v) => t.put({ pk: 'n', sk: new NumberValue(v) })));
    const got: number[] = [];
    for await (const item of t.queryIterator({
      keyConditionExpression: 'pk = :p',
      expressionAttributeValues: { ':p': 'n' },
      wrapNumbers: true,
    })) {
      got.push(Number((item.sk as NumberValue).value));
    }
    expect(got).toEqual(unique.map(Number).sort((a, b) => a - b));
    await db.close();
  });
});

describe('querySync', () => {
  it('returns pages larger than its reused buffer whole, and the same pages as query', async () => {
    const db = await Database.create(fresh(), { durability: 'none' });
    const t = await db.createTable('events', events);
    // 300 items of ~1 KiB: a page of 300 KiB, far past the 16 KiB buffer reads start with.
    const blob = (i: number) => `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26)));
    await Promise.all(Array.from({ length: 300 }, (_, i) => t.put({ pk: 'p', sk: i, blob: blob(i) })));
    const q = { keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': 'p' } };
    for (let round = 0; round < 3; round++) {
      // The first round gets a buffer of its own; later ones fit the grown buffer.
      const page = t.querySync(q);
      expect(sks(page.items)).toEqual([...Array(300).keys()]);
      expect(page.items.every((item) => item.blob === blob(Number(item.sk)))).toBe(true);
      expect(page).toEqual(await t.query(q));
      // A small page after a large one reads only its own bytes of the buffer.
      const small = t.querySync({ ...q, limit: 2 });
      expect(small.items).toEqual([
        { pk: 'p', sk: 0, blob: blob(0) },
        { pk: 'p', sk: 1, blob: blob(1) },
      ]);
      expect(small.lastEvaluatedKey).toEqual({ pk: 'p', sk: 1 });
    }
    await db.close();
  });
});

describe('Scan', () => {
  it('pages through the table and its segments are disjoint and together cover it', async () => {
    const { db, t } = await seeded(1000);
    const all: string[] = [];
    for await (const item of t.scanIterator({ limit: 13 })) all.push(`${item.pk}/${item.sk}`);
    expect(all).toHaveLength(1001);
    expect(new Set(all).size).toBe(1001);
    for (const totalSegments of [1, 3, 16, 1_000_000]) {
      const seen = new Set<string>();
      const segments = totalSegments === 1_000_000 ? [0, 1, 999_999] : [...Array(totalSegments).keys()];
      let total = 0;
      for (const segment of segments) {
        for await (const item of t.scanIterator({ segment, totalSegments })) {
          const k = `${item.pk}/${item.sk}`;
          expect(seen.has(k), `${k} in two segments`).toBe(false);
          seen.add(k);
          total++;
        }
      }
      if (totalSegments !== 1_000_000) expect(total).toBe(1001);
    }
    await expect(t.scan({ segment: 3, totalSegments: 3 })).rejects.toThrow(/segment must be less than/);
    await expect(t.scan({ segment: 0 })).rejects.toThrow(/give both or neither/);
    await expect(t.scan({ segment: 0, totalSegments: 1_000_001 })).rejects.toThrow(/totalSegments/);
    const filtered = await t.scan({ filterExpression: 'sk < :v', expressionAttributeValues: { ':v': 10 } });
    expect(filtered.count).toBe(11);
    expect(filtered.scannedCount).toBe(1001);
    await db.close();
  });
});
