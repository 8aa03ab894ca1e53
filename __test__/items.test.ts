import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClosedError, Database, ItemTooLargeError, NumberValue, TableSchema, ValidationError } from '../dist/index.js';
import { tempDir } from './helpers';

const base = tempDir('kstone-items-');
let n = 0;
const fresh = () => join(base, `db${n++}`);

describe('update and returnValues', () => {
  it('SETs and REMOVEs attributes, creating a missing item, and returns what returnValues asks for', async () => {
    const db = await Database.create(fresh());
    const created = await db.update(
      { pk: 'u' },
      {
        updateExpression: 'SET #n = :n, visits = :one',
        expressionAttributeNames: { '#n': 'name' },
        expressionAttributeValues: { ':n': 'Ann', ':one': 1 },
        returnValues: 'ALL_NEW',
      },
    );
    expect(created.attributes).toEqual({ pk: 'u', name: 'Ann', visits: 1 });
    const updatedOld = await db.update(
      { pk: 'u' },
      {
        updateExpression: 'SET visits = visits + :one',
        expressionAttributeValues: { ':one': 1 },
        returnValues: 'UPDATED_OLD',
      },
    );
    expect(updatedOld.attributes).toEqual({ visits: 1 });
    const updatedNew = await db.update(
      { pk: 'u' },
      {
        updateExpression: 'SET visits = visits + :one',
        expressionAttributeValues: { ':one': 1 },
        returnValues: 'UPDATED_NEW',
      },
    );
    expect(updatedNew.attributes).toEqual({ visits: 3 });
    const allOld = await db.update({ pk: 'u' }, { updateExpression: 'REMOVE visits', returnValues: 'ALL_OLD' });
    expect(allOld.attributes).toEqual({ pk: 'u', name: 'Ann', visits: 3 });
    expect(
      await db.update({ pk: 'u' }, { updateExpression: 'SET a = :a', expressionAttributeValues: { ':a': 1 } }),
    ).toEqual({});
    expect(await db.get({ pk: 'u' })).toEqual({ pk: 'u', name: 'Ann', a: 1 });
    await expect(
      db.update({ pk: 'u' }, { updateExpression: 'SET pk = :v', expressionAttributeValues: { ':v': 'x' } }),
    ).rejects.toThrow(/part of the key/);
    await expect(
      db.update({ pk: 'u' }, { updateExpression: 'SET = :v', expressionAttributeValues: { ':v': 1 } }),
    ).rejects.toThrow(/Syntax error/);
    await db.close();
  });

  it('returns exactly the updated paths, nested ones included, for UPDATED_OLD and UPDATED_NEW', async () => {
    const db = await Database.create(fresh());
    await db.put({ pk: 'n', a: { b: 1, c: 2 }, l: [10, 20, 30], keep: 'x', gone: true });
    const update = {
      updateExpression: 'SET a.b = :v, l[1] = :w REMOVE gone',
      expressionAttributeValues: { ':v': 5, ':w': 21 },
    };
    const old = await db.update({ pk: 'n' }, { ...update, returnValues: 'UPDATED_OLD' });
    expect(old.attributes).toEqual({ a: { b: 1 }, l: [20], gone: true });
    await db.put({ pk: 'n', a: { b: 1, c: 2 }, l: [10, 20, 30], keep: 'x', gone: true });
    const now = await db.update({ pk: 'n' }, { ...update, returnValues: 'UPDATED_NEW' });
    expect(now.attributes).toEqual({ a: { b: 5 }, l: [21] });
    expect(await db.get({ pk: 'n' })).toEqual({ pk: 'n', a: { b: 5, c: 2 }, l: [10, 21, 30], keep: 'x' });
    await db.close();
  });

  it('returns the replaced or deleted item with ALL_OLD, and nothing for a missing one', async () => {
    const db = await Database.create(fresh());
    expect(await db.put({ pk: 'k', v: 1 }, { returnValues: 'ALL_OLD' })).toEqual({});
    expect(await db.put({ pk: 'k', v: 2 }, { returnValues: 'ALL_OLD' })).toEqual({ attributes: { pk: 'k', v: 1 } });
    expect(await db.delete({ pk: 'k' }, { returnValues: 'ALL_OLD' })).toEqual({ attributes: { pk: 'k', v: 2 } });
    expect(await db.delete({ pk: 'k' }, { returnValues: 'ALL_OLD' })).toEqual({});
    await db.close();
  });

  it('applies concurrent increments exactly once each', async () => {
    const db = await Database.create(fresh());
    await Promise.all(
      Array.from({ length: 200 }, () =>
        db.update({ pk: 'c' }, { updateExpression: 'ADD n :one', expressionAttributeValues: { ':one': 1 } }),
      ),
    );
    expect(await db.get({ pk: 'c' })).toEqual({ pk: 'c', n: 200 });
    await db.close();
  });

  it('projects get results', async () => {
    const db = await Database.create(fresh());
    await db.put({ pk: 'p', a: { b: [1, 2, { c: 3 }] }, x: 'y' });
    expect(
      await db.get({ pk: 'p' }, { projectionExpression: 'a.b[2].c, #x', expressionAttributeNames: { '#x': 'x' } }),
    ).toEqual({ a: { b: [{ c: 3 }] }, x: 'y' });
    await db.close();
  });
});

describe('numbers and limits', () => {
  it('keeps 38 significant digits exactly and returns numbers a double cannot hold as NumberValue', async () => {
    const db = await Database.create(fresh());
    const big = '12345678901234567890123456789012345678';
    const tiny = '-0.00000000000000000000000000000000000012345678901234567890123456789012345678';
    await db.put({
      pk: 'n',
      big: new NumberValue(big),
      tiny: NumberValue.from(tiny),
      small: 42,
      f: 0.1,
      bi: 9007199254740993n,
      trimmed: new NumberValue('001.500'),
    });
    const got = (await db.get({ pk: 'n' })) ?? {};
    expect(got.big).toBeInstanceOf(NumberValue);
    expect((got.big as NumberValue).value).toBe(big);
    expect((got.tiny as NumberValue).value).toBe(tiny);
    expect(got.small).toBe(42);
    expect(got.f).toBe(0.1);
    expect((got.bi as NumberValue).toBigInt()).toBe(9007199254740993n);
    expect(got.trimmed).toBe(1.5);
    const wrapped = await db.get({ pk: 'n' }, { wrapNumbers: true });
    expect(wrapped?.small).toEqual(new NumberValue('42'));
    await expect(db.put({ pk: 'x', n: new NumberValue(`${big}9`) })).rejects.toThrow(/39 significant digits/);
    await expect(db.put({ pk: 'x', n: new NumberValue('1E+126') })).rejects.toThrow(/out of range|range/);
    await db.close();
  });

  it('reads back integers at the edges of the fast decoding path exactly, through every read', async () => {
    const db = await Database.create(fresh());
    const numbers = [0, -1, 7, 10, -10, 999_999_999_999_999, -999_999_999_999_999, 1_000_000_000_000_000, 2 ** 53 - 1];
    const floats = [0.5, -0.25, 1e21, 1e-7, 123456.789];
    const item = { pk: 'edges', set: new Set([3, -4, 100_000]), list: [...numbers, ...floats] };
    const named = Object.fromEntries(numbers.map((v, i) => [`n${i}`, v]));
    await db.put({ ...item, ...named });
    const want = { ...item, ...named };
    expect(db.getSync({ pk: 'edges' })).toEqual(want);
    expect(await db.get({ pk: 'edges' })).toEqual(want);
    const page = await db.scan({});
    expect(page.items).toEqual([want]);
    const wrapped = db.getSync({ pk: 'edges' }, { wrapNumbers: true });
    expect(wrapped?.n5).toEqual(new NumberValue('999999999999999'));
    expect(wrapped?.n1).toEqual(new NumberValue('-1'));
    await db.close();
  });

  it('encodes every safe integer as the same text String(n) gives, without creating that string', async () => {
    const { encodeItem } = await import('../dist/src/codec.js');
    const edges = [0, -0, 1, -1, 9, 10, 11, 99, 100, -100, 10 ** 15 - 1, 10 ** 15, 2 ** 53 - 1, -(2 ** 53 - 1)];
    const powers = Array.from({ length: 16 }, (_, i) => [10 ** i - 1, 10 ** i, -(10 ** i)]).flat();
    let seed = 7;
    const random = Array.from({ length: 2000 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * 2 ** (seed % 54)) * (seed % 2 ? -1 : 1);
    });
    for (const n of [...edges, ...powers, ...random]) {
      // A string attribute of the same text has the same bytes after its type tag.
      const asNumber = Buffer.from(encodeItem({ v: n }));
      const asText = Buffer.from(encodeItem({ v: String(n) }));
      expect(asNumber.subarray(5).equals(asText.subarray(5)), `${n}`).toBe(true);
      expect([asNumber[4], asText[4]]).toEqual([0x02, 0x01]);
    }
    const db = await Database.create(fresh());
    await db.put({ pk: 'ints', list: random });
    expect(db.getSync({ pk: 'ints' })?.list).toEqual(random.map((n) => (n === 0 ? 0 : n)));
    await db.close();
  });

  it('decodes attribute names correctly whatever their length, script or reuse', async () => {
    const db = await Database.create(fresh());
    // Many distinct short names (the decoder caches them by a hash of their bytes), long names,
    // non-ASCII names, and names that differ in one byte.
    const names = [
      ...Array.from({ length: 3000 }, (_, i) => `a${i}`),
      'x'.repeat(24),
      'x'.repeat(25),
      `${'y'.repeat(200)}z`,
      'naïve',
      'naive',
      '名前',
      'ab',
      'ba',
    ];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < names.length; i += 100) {
        const item = Object.fromEntries(names.slice(i, i + 100).map((n, j) => [n, `${round}:${i + j}`]));
        await db.put({ pk: `k${i}`, ...item });
        expect(db.getSync({ pk: `k${i}` })).toEqual({ pk: `k${i}`, ...item });
      }
    }
    await db.close();
  });

  it('builds decoded objects of a repeated shape exactly as property by property, whatever the names', async () => {
    const { encodeItem, decodeItem, decodeItems } = await import('../dist/src/codec.js');
    const { clearShapes } = await import('../dist/src/shapes.js');
    clearShapes();
    // Names that must not change the compiled code, reorder properties or set the prototype.
    const tricky = [
      '"',
      "'",
      '\\',
      '`',
      '$' + '{x}',
      '\n',
      '\u2028',
      '}',
      '};throw 1;//',
      '名前',
      '0',
      '10',
      '2',
      'constructor',
    ];
    const shapes: Record<string, unknown>[] = [
      { pk: 'a', n: 1, s: 'x', b: true, z: null, bin: new Uint8Array([1, 2]), set: new Set(['p', 'q']) },
      Object.fromEntries(tricky.map((name, i) => [name, i % 2 ? `v${i}` : i])),
      { pk: 'nested', m: { inner: { deep: [{ a: 1 }, { a: 2, b: [3] }] }, list: [{ x: 'y' }] } },
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`attr${i}`, i])),
    ];
    const protoItem = JSON.parse('{"pk": "p", "__proto__": "an attribute", "after": 1}');
    shapes.push(protoItem);
    for (const item of shapes) {
      const bytes = Buffer.from(encodeItem(item));
      // Enough decodes that the shape is compiled, and some after.
      for (let i = 0; i < 10; i++) {
        const got = decodeItem(bytes);
        expect(got).toEqual(item);
        expect(Object.keys(got)).toEqual(Object.keys(item));
        expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
      }
    }
    const got = decodeItem(Buffer.from(encodeItem(protoItem)));
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toBe('an attribute');
    // Many more shapes than the cache has slots, interleaved, through a page of items.
    const many = Array.from({ length: 2000 }, (_, i) => ({ pk: `k${i}`, [`a${i % 600}`]: i, [`b${i % 7}`]: 'v' }));
    const page = Buffer.concat(
      many.map((item) => {
        const b = Buffer.from(encodeItem(item));
        return Buffer.concat([Buffer.from([(b.length & 0x7f) | 0x80, b.length >> 7]), b]);
      }),
    );
    for (let round = 0; round < 3; round++) {
      const items = decodeItems(page);
      expect(items).toEqual(many);
      expect(items.map((i) => Object.keys(i).join())).toEqual(many.map((i) => Object.keys(i).join()));
    }
  });

  it('decodes runs of items whose names differ from the last item only slightly, and short strings of any text', async () => {
    const { encodeItem, decodeItem, decodeItems } = await import('../dist/src/codec.js');
    const { clearShapes } = await import('../dist/src/shapes.js');
    clearShapes();
    // Shapes that a decoder predicting the last item's names could confuse: the same names but
    // one more or one fewer, one name differing in its last byte or its length, names of 127 and
    // 128 bytes (a length of two varint bytes), non-ASCII names, '__proto__', and nested maps.
    const shapes = [
      ['pk', 'name', 'city'],
      ['pk', 'name', 'citx'],
      ['pk', 'name', 'cit'],
      ['pk', 'name', 'city', 'plan'],
      ['pk', 'name'],
      ['pk', 'n'.repeat(127), 'city'],
      ['pk', 'n'.repeat(128), 'city'],
      ['pk', '名前', 'city'],
      ['pk', '__proto__', 'city'],
      ['pk', 'nested', 'city'],
    ];
    // Short strings around the 12-byte cut, ASCII and not; values of every kind.
    const strings = [
      '',
      'a',
      'Oslo',
      'x'.repeat(12),
      'y'.repeat(13),
      'é',
      'Kyötö',
      '名',
      '😀',
      '\u007f',
      '\u0080',
      'ab\u00ff',
    ];
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const randomValue = (name: string, depth: number): unknown => {
      if (name === 'nested' && depth === 0) {
        return { city: strings[rand(strings.length)], list: [strings[rand(strings.length)], rand(100)] };
      }
      switch (rand(4)) {
        case 0:
          return rand(1000);
        case 1:
          return rand(2) === 0;
        default:
          return strings[rand(strings.length)];
      }
    };
    const items: Record<string, unknown>[] = [];
    while (items.length < 3000) {
      const names = shapes[rand(shapes.length)] as string[];
      const run = 1 + rand(12);
      for (let i = 0; i < run; i++) {
        const item: Record<string, unknown> = {};
        for (const name of names) {
          Object.defineProperty(item, name, {
            value: randomValue(name, 0),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        items.push(item);
      }
    }
    const encoded = items.map((item) => Buffer.from(encodeItem(item)));
    for (let i = 0; i < items.length; i++) {
      const got = decodeItem(encoded[i] as Buffer);
      expect(got).toEqual(items[i]);
      expect(Object.keys(got)).toEqual(Object.keys(items[i] as object));
    }
    // The same through pages of 50, as a query returns them: each item is `varint length | item`.
    const varint = (n: number) => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, n >> 7]);
    for (let start = 0; start < items.length; start += 50) {
      const part = encoded.slice(start, start + 50);
      const page = Buffer.concat(part.flatMap((b) => [Buffer.from(varint(b.length)), b]));
      const got = decodeItems(page);
      expect(got).toEqual(items.slice(start, start + 50));
      expect(got.map((i) => Object.keys(i).join())).toEqual(
        items.slice(start, start + 50).map((i) => Object.keys(i).join()),
      );
    }
  });

  it('enforces 400 KB items, 2048-byte partition keys and 1024-byte sort keys at the limit and one past', async () => {
    const db = await Database.create(fresh());
    // Item size = names + values: "pk" (2) + 1 + "v" (1) + value.
    const fits = 400 * 1024 - 2 - 1 - 1;
    await expect(db.put({ pk: 'a', v: 'x'.repeat(fits) })).resolves.toEqual({});
    await expect(db.put({ pk: 'a', v: 'x'.repeat(fits + 1) })).rejects.toBeInstanceOf(ItemTooLargeError);
    await expect(db.put({ pk: 'p'.repeat(2048) })).resolves.toEqual({});
    await expect(db.put({ pk: 'p'.repeat(2049) })).rejects.toThrow(/2049 bytes; the limit is 2048/);
    const t = await db.createTable('sorted', TableSchema.builder().partitionKey('pk', 'S').sortKey('sk', 'S').build());
    await expect(t.put({ pk: 'a', sk: 's'.repeat(1024) })).resolves.toEqual({});
    await expect(t.put({ pk: 'a', sk: 's'.repeat(1025) })).rejects.toThrow(/1025 bytes; the limit is 1024/);
    await expect(db.put({ pk: 'a', s: new Set<string>() })).rejects.toThrow(/empty set/);
    await expect(db.put({ pk: 'a', s: new Set([1, 1.0, 2]) })).resolves.toEqual({});
    await db.close();
  });

  it('stores binary keys and sorts them bytewise', async () => {
    const db = await Database.create(fresh());
    const t = await db.createTable('bin', TableSchema.builder().partitionKey('pk', 'B').sortKey('sk', 'B').build());
    const pk = new Uint8Array([0, 255, 0]);
    const sks = [[2], [0, 1], [1], [255], [0], [1, 0]].map((a) => new Uint8Array(a));
    for (const sk of sks) await t.put({ pk, sk });
    const page = await t.query({ keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': pk } });
    expect(page.items.map((i) => [...(i.sk as Uint8Array)])).toEqual([[0], [0, 1], [1], [1, 0], [2], [255]]);
    expect(await t.get({ pk, sk: new Uint8Array([1, 0]) })).toEqual({ pk, sk: new Uint8Array([1, 0]) });
    await db.close();
  });
});

describe('batches', () => {
  it('batchWrite applies puts and deletes across tables atomically and batchGet reads them', async () => {
    const db = await Database.create(fresh());
    const t = await db.createTable('other', TableSchema.builder().partitionKey('id', 'N').build());
    await db.put({ pk: 'gone' });
    await db.batchWrite({
      requestItems: {
        default: [{ putRequest: { item: { pk: 'a', v: 1 } } }, { deleteRequest: { key: { pk: 'gone' } } }],
        other: [{ putRequest: { item: { id: 7, name: 'seven' } } }],
      },
    });
    const got = await db.batchGet({
      requestItems: {
        default: { keys: [{ pk: 'a' }, { pk: 'gone' }, { pk: 'missing' }] },
        other: { keys: [{ id: 7 }], projectionExpression: '#n', expressionAttributeNames: { '#n': 'name' } },
      },
    });
    expect(got).toEqual({
      responses: { default: [{ pk: 'a', v: 1 }], other: [{ name: 'seven' }] },
      unprocessedKeys: {},
    });
    // One bad request: nothing of the batch is applied.
    await expect(
      db.batchWrite({
        requestItems: { default: [{ putRequest: { item: { pk: 'b' } } }, { putRequest: { item: { nopk: 1 } } }] },
      }),
    ).rejects.toThrow(/request 2 \(default\)/);
    expect(await db.get({ pk: 'b' })).toBeUndefined();
    await expect(
      db.batchWrite({
        requestItems: { default: [{ putRequest: { item: { pk: 'd' } } }, { deleteRequest: { key: { pk: 'd' } } }] },
      }),
    ).rejects.toThrow(/duplicates/);
    const many = Array.from({ length: 26 }, (_, i) => ({ putRequest: { item: { pk: `m${i}` } } }));
    await expect(db.batchWrite({ requestItems: { default: many } })).rejects.toThrow(/at most 25/);
    await expect(db.batchWrite({ requestItems: { default: many.slice(0, 25) } })).resolves.toEqual({
      unprocessedItems: {},
    });
    const keys = Array.from({ length: 101 }, (_, i) => ({ pk: `m${i}` }));
    await expect(db.batchGet({ requestItems: { default: { keys } } })).rejects.toThrow(/at most 100/);
    expect(
      (await db.batchGet({ requestItems: { default: { keys: keys.slice(0, 100) } } })).responses.default,
    ).toHaveLength(25);
    await expect(db.batchGet({ requestItems: { nope: { keys: [{ id: 1 }] } } })).rejects.toMatchObject({
      code: 'ResourceNotFound',
    });
    await t.put({ id: 8 });
    await db.close();
  });
});

describe('the boundary', () => {
  it('commits the writes of one tick as one group: one fsync for many puts', async () => {
    const db = await Database.create(fresh());
    const before = db.stats().walSyncs;
    await Promise.all(Array.from({ length: 500 }, (_, i) => db.put({ pk: `t${i}` })));
    const syncs = db.stats().walSyncs - before;
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(2);
    // A bad item in the tick fails alone.
    const results = await Promise.allSettled([
      db.put({ pk: 'ok1' }),
      db.put({ pk: 5 } as never),
      db.put({ pk: 'ok2' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
    expect(await db.get({ pk: 'ok2' })).toEqual({ pk: 'ok2' });
    await db.close();
  });

  it('commits writes of different ticks that queue up during an fsync as one group, in order', async () => {
    const db = await Database.create(fresh());
    const before = db.stats().walSyncs;
    // 400 puts, two from each of 200 ticks (as requests of a server would make them), none
    // awaited before the next: they queue up behind the write thread and share fsyncs.
    const writes: Promise<unknown>[] = [];
    const settled = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => e,
      );
    // A large tick first, sent in parts: the ticks after it queue up behind them.
    const large = Array.from({ length: 2000 }, (_, i) => db.put({ pk: `large${i}` }, { durability: 'sync' }));
    await new Promise<void>((done) => {
      let i = 0;
      const next = () => {
        writes.push(
          settled(i === 100 ? db.put({ pk: 9 } as never) : db.put({ pk: 'same', v: i }, { durability: 'sync' })),
        );
        writes.push(settled(db.put({ pk: `k${i}` }, { durability: 'sync' })));
        if (++i < 200) setImmediate(next);
        else done();
      };
      next();
    });
    const results = await Promise.all(writes);
    await Promise.all(large);
    const syncs = db.stats().walSyncs - before;
    // One fsync per tick would be 200 and more.
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(100);
    // The bad put of tick 100 failed alone; every other write landed, and the last one wins.
    expect(results.filter((r) => r !== 'ok')).toHaveLength(1);
    expect(results[200]).toBeInstanceOf(ValidationError);
    expect(await db.get({ pk: 'same' })).toEqual({ pk: 'same', v: 199 });
    const page = await db.scan({});
    expect(page.items).toHaveLength(2201);
    await db.close();
  });

  it('sends a large tick in parts that apply in the order the writes were issued', async () => {
    const db = await Database.create(fresh());
    const writes: Promise<unknown>[] = [];
    // 6,000 writes in one tick: sent in parts while later ones are still being encoded.
    for (let i = 0; i < 3000; i++) {
      writes.push(db.put({ pk: 'same', v: i }));
      if (i === 1500) writes.push(db.put({ pk: 7 } as never));
      // Deletes a key put ~1,400 writes earlier, in an earlier part.
      else if (i % 700 === 0 && i > 0) writes.push(db.delete({ pk: `k${i - 699}` }));
      else writes.push(db.put({ pk: `k${i}`, v: i }));
    }
    const results = await Promise.allSettled(writes);
    const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(rejected).toEqual([3001]);
    expect((results[3001] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
    expect(db.getSync({ pk: 'same' })).toEqual({ pk: 'same', v: 2999 });
    for (let i = 1; i < 3000; i++) {
      if (i === 1500 || i % 700 === 0) continue;
      const deleted = (i + 699) % 700 === 0 && i + 699 < 3000;
      expect(db.getSync({ pk: `k${i}` })).toEqual(deleted ? undefined : { pk: `k${i}`, v: i });
    }
    await db.close();
  });

  it('keeps the order of a tick of large parts, each a group of its own, and a small last part', async () => {
    const db = await Database.create(fresh());
    // ~2.1 KB per write: a part of 512 is ~1.1 MB, over a group's 1 MiB, so each part commits
    // alone; the last part, 152 writes, may join the group of calls queued before it.
    const pad = 'x'.repeat(2100);
    for (let round = 0; round < 5; round++) {
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 1100; i++) {
        writes.push(db.put({ pk: 'same', v: i, pad }));
        if (i === 1099) writes.push(db.delete({ pk: `k${round}-0` }));
        else writes.push(db.put({ pk: `k${round}-${i}`, pad }));
      }
      await Promise.all(writes);
      expect(db.getSync({ pk: 'same' })).toEqual({ pk: 'same', v: 1099, pad });
      expect(db.getSync({ pk: `k${round}-0` })).toBeUndefined();
      expect(db.getSync({ pk: `k${round}-1098` })).toEqual({ pk: `k${round}-1098`, pad });
    }
    await db.close();
  });

  it('keeps every write of a tick intact while the next ticks reuse its buffer', async () => {
    const db = await Database.create(fresh());
    const pending: Promise<unknown>[] = [];
    // Several ticks of writes in flight at once, each packed into the buffer the previous used.
    for (let tick = 0; tick < 6; tick++) {
      for (let i = 0; i < 400; i++) {
        pending.push(db.put({ pk: `k${tick}-${i}`, tick, text: `${tick}:${i}`.repeat(6 - tick) }));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
    for (let tick = 0; tick < 6; tick++) {
      for (let i = 0; i < 400; i++) {
        const want = { pk: `k${tick}-${i}`, tick, text: `${tick}:${i}`.repeat(6 - tick) };
        expect(db.getSync({ pk: `k${tick}-${i}` })).toEqual(want);
      }
    }
    await db.close();
  });

  it('close() rejects writes that had not reached the engine with Closed, lets running calls finish, and never crashes', async () => {
    const path = fresh();
    const db = await Database.create(path);
    await db.put({ pk: 'seed' });
    const running = db.get({ pk: 'seed' });
    const queued = db.put({ pk: 'late' });
    const closing = db.close();
    await expect(queued).rejects.toBeInstanceOf(ClosedError);
    await expect(running).resolves.toEqual({ pk: 'seed' });
    await closing;
    await expect(db.get({ pk: 'seed' })).rejects.toBeInstanceOf(ClosedError);
    const again = await Database.open(path);
    expect(await again.get({ pk: 'late' })).toBeUndefined();
    await again.close();
  });
});
