/**
 * Hostile input from JavaScript: every case calls the public API with something wrong and
 * expects a `KeystoneError` with a stable `code` (or a `TypeError` where JavaScript itself
 * raises one) whose message says what is wrong. The process must survive all of it, and the
 * items written at the start must come back intact, also after a reopen.
 *
 * A case that fails here is a bug in keystonedb, not in the case: the expectations state the
 * correct behaviour, not whatever the code happens to do.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Database,
  type Item,
  KeystoneError,
  type KeystoneErrorCode,
  NumberValue,
  type Table,
  TableSchema,
} from '../dist/index.js';
import { tempDir } from './helpers';

const base = tempDir('kstone-hostile-');
let n = 0;
const fresh = () => join(base, `db${n++}`);

type Expected = KeystoneErrorCode | 'TypeError';
interface Case {
  name: string;
  run: () => unknown;
  code: Expected;
  message: RegExp;
}

const SUCCEEDED = Symbol('succeeded');

/** Runs `run` (sync or async) and returns what it threw, or SUCCEEDED. Databases it opens are closed. */
async function outcome(run: () => unknown): Promise<unknown> {
  try {
    const value = await run();
    if (value instanceof Database) await value.close();
    return SUCCEEDED;
  } catch (err) {
    return err;
  }
}

function describeError(err: unknown): string {
  if (err instanceof KeystoneError) return err.code;
  if (err instanceof TypeError) return 'TypeError';
  if (err instanceof Error)
    return `${err.constructor.name}(${String((err as { code?: unknown }).code)}): ${err.message}`;
  return `a thrown ${typeof err}: ${String(err)}`;
}

async function expectFailure(c: Case): Promise<void> {
  const err = await outcome(c.run);
  if (err === SUCCEEDED) expect.fail(`${c.name}: the call succeeded; expected ${c.code} matching ${c.message}`);
  expect(describeError(err), `${c.name}: ${String((err as Error)?.message)}`).toBe(c.code);
  expect((err as Error).message, c.name).toMatch(c.message);
}

function runCases(cases: Case[]): void {
  const seen = new Set<string>();
  for (const c of cases) {
    expect(seen.has(c.name), `duplicate case name ${c.name}`).toBe(false);
    seen.add(c.name);
    it(c.name, () => expectFailure(c));
  }
}

const counts: Record<string, number> = {};
function category(name: string, cases: Case[]): void {
  counts[name] = cases.length;
  describe(name, () => runCases(cases));
}

let db: Database;
let sorted: Table;
let binary: Table;
let closedDb: Database;

/** Written before any hostile call; read back intact at the end and after a reopen. */
const SEEDS: Item[] = [
  {
    pk: 'seed#1',
    name: 'Alice',
    age: 30,
    tags: new Set(['admin', 'ops']),
    scores: new Set([1, 2.5]),
    blob: new Uint8Array([0, 255, 7]),
    nested: { list: [1, 'two', null, true, { deep: [new Uint8Array([1])] }] },
    big: new NumberValue('12345678901234567890123456789012345678'),
  },
  {
    pk: 'seed#2',
    empty: '',
    zero: 0,
    tiny: -1.5e-100,
    flag: false,
    nothing: null,
    bin: new Set([new Uint8Array([9])]),
  },
  JSON.parse('{"pk":"seed#3","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":1}},"prototype":7}'),
  { pk: 'seed#€😀', v: 'unicode ✓ 😀 \u0000 nul' },
];
const SORTED_SEEDS: Item[] = [0, 1, 2, 3, 4].map((sk) => ({ pk: 'p', sk, v: `v${sk}` }));
const PK_BIN = new Uint8Array([1, 2, 3]);

beforeAll(async () => {
  db = await Database.create(fresh());
  await db.createTable('sorted', TableSchema.builder().partitionKey('pk', 'S').sortKey('sk', 'N').build());
  await db.createTable('binary', TableSchema.builder().partitionKey('pk', 'B').build());
  await db.createTable('sortS', TableSchema.builder().partitionKey('pk', 'S').sortKey('sk', 'S').build());
  sorted = db.table('sorted');
  binary = db.table('binary');
  for (const item of SEEDS) await db.put(item as never);
  for (const item of SORTED_SEEDS) await sorted.put(item);
  await sorted.put({ pk: 'q', sk: 1 });
  await binary.put({ pk: PK_BIN, v: 1 });
  closedDb = await Database.create(fresh());
  await closedDb.createTable('sorted', TableSchema.builder().partitionKey('pk', 'S').sortKey('sk', 'N').build());
  await closedDb.put({ pk: 'x' });
  await closedDb.close();
});

afterAll(async () => {
  if (db?.isOpen) await db.close();
});

// ---------------------------------------------------------------------------------------------
// Wrong types for every argument.

class Widget {
  pk = 'rej#widget';
}
const HOSTILE: [string, () => unknown][] = [
  ['null', () => null],
  ['undefined', () => undefined],
  ['a number', () => 42],
  ['NaN', () => Number.NaN],
  ['a string', () => 'rej#str'],
  ['a boolean', () => true],
  ['a bigint', () => 10n],
  ['an array', () => [{ pk: 'rej#arr' }]],
  ['a function', () => () => ({ pk: 'rej#fn' })],
  ['a symbol', () => Symbol('pk')],
  ['a Promise', () => Promise.resolve({ pk: 'rej#promise' })],
  ['a class instance', () => new Widget()],
  ['a Map', () => new Map([['pk', 'rej#map']])],
  ['a Date', () => new Date(0)],
  ['a RegExp', () => /pk/],
  ['a Uint8Array', () => new Uint8Array([1])],
  ['a Buffer', () => Buffer.from('{"pk":"rej#buf"}')],
];
const PLAIN_OBJECT = /must be a plain object/;

const itemMethods: [string, (bad: unknown) => unknown][] = [
  ['db.put(item)', (bad) => db.put(bad as never)],
  ['db.get(key)', (bad) => db.get(bad as never)],
  ['db.getSync(key)', (bad) => db.getSync(bad as never)],
  ['db.delete(key)', (bad) => db.delete(bad as never)],
  [
    'db.update(key)',
    (bad) => db.update(bad as never, { updateExpression: 'SET v = :v', expressionAttributeValues: { ':v': 1 } }),
  ],
  ['table.put(item)', (bad) => sorted.put(bad as never)],
  ['table.getSync(key)', (bad) => binary.getSync(bad as never)],
];
const itemArgCases: Case[] = itemMethods.flatMap(([method, call]) =>
  HOSTILE.map(([what, make]) => ({
    name: `${method} with ${what}`,
    run: () => call(make()),
    code: 'Validation' as const,
    message: PLAIN_OBJECT,
  })),
);

const paramsCases: Case[] = [
  ...HOSTILE.map(([what, make]) => ({
    name: `query(${what})`,
    run: () => db.query(make() as never),
    code: 'Validation' as const,
    message: /keyConditionExpression/,
  })),
  ...['null', 'a number', 'a string', 'a function', 'a symbol', 'a Promise'].map((what) => ({
    name: `querySync(${what})`,
    run: () => db.querySync((HOSTILE.find(([w]) => w === what)?.[1] ?? (() => null))() as never),
    code: 'Validation' as const,
    message: /keyConditionExpression/,
  })),
  ...['null', 'a number', 'a string', 'a boolean', 'a function', 'a symbol', 'an array', 'a Promise'].map((what) => ({
    // An array or a Promise (a forgotten await) is no parameter object either.
    name: `scan(${what})`,
    run: () => db.scan((HOSTILE.find(([w]) => w === what)?.[1] ?? (() => null))() as never),
    code: 'Validation' as const,
    message: /scan parameters must be a plain object/,
  })),
  ...['null', 'undefined', 'a number', 'a string', 'an array', 'a function', 'a Promise', 'a Map'].map((what) => ({
    name: `update(key, ${what})`,
    run: () => db.update({ pk: 'rej#u' }, (HOSTILE.find(([w]) => w === what)?.[1] ?? (() => null))() as never),
    code: 'Validation' as const,
    message: /updateExpression/,
  })),
  ...['null', 'undefined', 'a number', 'a string', 'a Map', 'a Promise', 'a symbol'].flatMap((what) => {
    const make = HOSTILE.find(([w]) => w === what)?.[1] ?? (() => null);
    return [
      {
        name: `transactWrite(${what})`,
        run: () => db.transactWrite(make() as never),
        code: 'Validation' as const,
        message: /array of actions/,
      },
      {
        name: `transactGet(${what})`,
        run: () => db.transactGet(make() as never),
        code: 'Validation' as const,
        message: /array of actions/,
      },
    ];
  }),
  ...['null', 'undefined', 'a number', 'a string', 'an array'].flatMap((what) => {
    const make = HOSTILE.find(([w]) => w === what)?.[1] ?? (() => null);
    return [
      {
        name: `batchGet(${what})`,
        run: () => db.batchGet(make() as never),
        code: 'Validation' as const,
        message: /batchGet parameters must be a plain object/,
      },
      {
        name: `batchWrite(${what})`,
        run: () => db.batchWrite(make() as never),
        code: 'Validation' as const,
        message: /batchWrite parameters must be a plain object/,
      },
    ];
  }),
];

/** An options argument that is not an object (or undefined) is a mistake, not "no options". */
const BAD_OPTIONS: [string, unknown][] = [
  ['null', null],
  ['a number', 42],
  ['a string', 'ALL_OLD'],
  ['a symbol', Symbol('o')],
];
const optionsCases: Case[] = BAD_OPTIONS.flatMap(([what, bad]) => [
  { name: `put options ${what}`, run: () => db.put({ pk: 'acc#put' }, bad as never) },
  { name: `get options ${what}`, run: () => db.get({ pk: 'seed#1' }, bad as never) },
  { name: `getSync options ${what}`, run: () => db.getSync({ pk: 'seed#1' }, bad as never) },
  { name: `delete options ${what}`, run: () => db.delete({ pk: 'acc#none' }, bad as never) },
  {
    name: `batchWrite options ${what}`,
    run: () => db.batchWrite({ requestItems: { default: [{ putRequest: { item: { pk: 'acc#bw' } } }] } }, bad as never),
  },
  {
    name: `transactWrite options ${what}`,
    run: () => db.transactWrite([{ put: { item: { pk: 'acc#tw' } } }], bad as never),
  },
  {
    name: `transactGet options ${what}`,
    run: () => db.transactGet([{ get: { key: { pk: 'seed#1' } } }], bad as never),
  },
]).map((c) => ({ ...c, code: 'Validation' as const, message: /options/ }));

const BAD_NAMES: [string, unknown][] = [
  ['null', null],
  ['undefined', undefined],
  ['a number', 42],
  ['an array', ['sorted']],
  ['an object', { name: 'sorted' }],
  ['a symbol', Symbol('sorted')],
];
const schema = () => TableSchema.builder().partitionKey('id', 'S').build();
const nameCases: Case[] = BAD_NAMES.flatMap(([what, bad]) => [
  { name: `createTable(${what}, schema)`, run: () => db.createTable(bad as never, schema()) },
  { name: `table(${what}).getSync`, run: () => db.table(bad as never).getSync({ pk: 'x' }) },
  { name: `describeTable(${what})`, run: () => db.describeTable(bad as never) },
  { name: `deleteTable(${what})`, run: () => db.deleteTable(bad as never) },
  // An undefined or null tableName means the default table; other non-strings are mistakes.
  ...(bad === null || bad === undefined
    ? []
    : [
        {
          name: `transactGet tableName ${what}`,
          run: () => db.transactGet([{ get: { tableName: bad as never, key: { pk: 'seed#1' } } }]),
        },
      ]),
]).map((c) => ({ ...c, code: 'Validation' as const, message: /table|name/i }));

const schemaCases: Case[] = [
  ...(
    [
      ['null', null],
      ['undefined', undefined],
      ['a number', 42],
      ['a string', 'S'],
      ['an empty object', {}],
      ['a Map', new Map()],
    ] as [string, unknown][]
  ).map(([what, bad]) => ({
    name: `createTable('tbl', ${what})`,
    run: () => db.createTable('tblx', bad as never),
    code: 'Validation' as const,
    message: /schema/,
  })),
  {
    name: 'createTable with key type X',
    run: () => db.createTable('tbl1', { partitionKey: { name: 'a', type: 'X' } } as never),
    code: 'Validation',
    message: /'S', 'N' or 'B'/,
  },
  {
    name: 'createTable with a numeric key name',
    run: () => db.createTable('tbl2', { partitionKey: { name: 5, type: 'S' } } as never),
    code: 'Validation',
    message: /name/,
  },
  {
    name: 'createTable with an empty key name',
    run: () => db.createTable('tbl3', { partitionKey: { name: '', type: 'S' } } as never),
    code: 'Validation',
    message: /name/,
  },
  {
    name: 'createTable with a null sort key',
    run: () => db.createTable('tbl4', { partitionKey: { name: 'a', type: 'S' }, sortKey: null } as never),
    code: 'Validation',
    message: /sort key/,
  },
  {
    name: 'createTable with sort key = partition key',
    run: () =>
      db.createTable('tbl5', { partitionKey: { name: 'a', type: 'S' }, sortKey: { name: 'a', type: 'S' } } as never),
    code: 'Validation',
    message: /different attribute/,
  },
  {
    name: 'createTable with a 2-character name',
    run: () => db.createTable('ab', schema()),
    code: 'Validation',
    message: /table name 'ab' is invalid/,
  },
  {
    name: 'createTable with a space in the name',
    run: () => db.createTable('a b', schema()),
    code: 'Validation',
    message: /is invalid/,
  },
  {
    name: 'createTable with a 256-character name',
    run: () => db.createTable('x'.repeat(256), schema()),
    code: 'Validation',
    message: /3 to 255/,
  },
  {
    name: 'createTable of an existing table',
    run: () => db.createTable('sorted', schema()),
    code: 'ResourceInUse',
    message: /already exists/,
  },
  {
    name: 'createTable of the default table',
    run: () => db.createTable('default', schema()),
    code: 'ResourceInUse',
    message: /already exists/,
  },
  {
    name: 'table(missing).get',
    run: () => db.table('missing').get({ id: 1 }),
    code: 'ResourceNotFound',
    message: /missing/,
  },
  { name: "table('').getSync", run: () => db.table('').getSync({ id: 1 }), code: 'ResourceNotFound', message: /''/ },
  {
    name: 'describeTable(missing)',
    run: () => db.describeTable('missing'),
    code: 'ResourceNotFound',
    message: /missing/,
  },
  { name: 'deleteTable(missing)', run: () => db.deleteTable('missing'), code: 'ResourceNotFound', message: /missing/ },
  { name: 'deleteTable(default)', run: () => db.deleteTable('default'), code: 'Validation', message: /default table/ },
  {
    name: 'TableSchema partitionKey with an empty name',
    run: () => TableSchema.builder().partitionKey('', 'S'),
    code: 'Validation',
    message: /non-empty attribute name/,
  },
  {
    name: 'TableSchema partitionKey with type X',
    run: () => TableSchema.builder().partitionKey('a', 'X' as never),
    code: 'Validation',
    message: /'S', 'N' or 'B'/,
  },
];

/** A field of the right name but the wrong type must be a ValidationError naming the field, not a binding error. */
const fieldCases: Case[] = [
  {
    name: 'put conditionExpression: 5',
    run: () => db.put({ pk: 'rej#f1' }, { conditionExpression: 5 as never }),
    message: /conditionExpression/,
  },
  { name: 'put durability: 5', run: () => db.put({ pk: 'rej#f2' }, { durability: 5 as never }), message: /durability/ },
  {
    name: 'put returnValuesOnConditionCheckFailure: X (no condition)',
    run: () => db.put({ pk: 'acc#f3' }, { returnValuesOnConditionCheckFailure: 'X' as never }),
    message: /returnValuesOnConditionCheckFailure/,
  },
  {
    name: 'delete durability: 5',
    run: () => db.delete({ pk: 'rej#f4' }, { durability: 5 as never }),
    message: /durability/,
  },
  {
    name: 'get projectionExpression: 5',
    run: () => db.get({ pk: 'seed#1' }, { projectionExpression: 5 as never }),
    message: /projectionExpression/,
  },
  {
    name: 'get expressionAttributeNames: 5',
    run: () => db.get({ pk: 'seed#1' }, { projectionExpression: '#a', expressionAttributeNames: 5 as never }),
    message: /expressionAttributeNames/,
  },
  {
    name: "get expressionAttributeNames: { '#a': 5 }",
    run: () => db.get({ pk: 'seed#1' }, { projectionExpression: '#a', expressionAttributeNames: { '#a': 5 as never } }),
    message: /#a/,
  },
  {
    name: 'query scanIndexForward: "no"',
    run: () =>
      sorted.query({
        keyConditionExpression: 'pk = :p',
        expressionAttributeValues: { ':p': 'p' },
        scanIndexForward: 'no' as never,
      }),
    message: /scanIndexForward/,
  },
  {
    name: 'query filterExpression: 5',
    run: () =>
      sorted.query({
        keyConditionExpression: 'pk = :p',
        expressionAttributeValues: { ':p': 'p' },
        filterExpression: 5 as never,
      }),
    message: /filterExpression/,
  },
  {
    name: 'scan segment: "0"',
    run: () => sorted.scan({ segment: '0' as never, totalSegments: 2 }),
    message: /segment/,
  },
  {
    name: 'transactWrite clientRequestToken: 5',
    run: () => db.transactWrite([{ put: { item: { pk: 'rej#f5' } } }], { clientRequestToken: 5 as never }),
    message: /clientRequestToken/,
  },
  {
    name: 'transactWrite tableName: 5',
    run: () => db.transactWrite([{ put: { tableName: 5 as never, item: { pk: 'rej#f6' } } }]),
    message: /table/,
  },
  {
    name: 'batchGet projectionExpression: 5',
    run: () =>
      db.batchGet({ requestItems: { default: { keys: [{ pk: 'seed#1' }], projectionExpression: 5 as never } } }),
    message: /projectionExpression/,
  },
  {
    name: 'update updateExpression: 5',
    run: () => db.update({ pk: 'rej#f7' }, { updateExpression: 5 as never }),
    message: /updateExpression/,
  },
  {
    name: 'update returnValues: BOGUS',
    run: () => db.update({ pk: 'rej#f8' }, { updateExpression: 'REMOVE a', returnValues: 'BOGUS' as never }),
    message: /returnValues must be/,
  },
  {
    name: 'put returnValues: ALL_NEW',
    run: () => db.put({ pk: 'rej#f9' }, { returnValues: 'ALL_NEW' as never }),
    message: /returnValues must be 'NONE' or 'ALL_OLD'/,
  },
  {
    name: 'put durability: bogus',
    run: () => db.put({ pk: 'rej#f10' }, { durability: 'bogus' as never }),
    message: /durability must be 'sync', 'buffered' or 'none'/,
  },
  {
    name: 'put expressionAttributeValues: 5',
    run: () => db.put({ pk: 'rej#f11' }, { conditionExpression: 'a = :v', expressionAttributeValues: 5 as never }),
    message: PLAIN_OBJECT,
  },
  {
    name: 'put expressionAttributeValues: [1]',
    run: () => db.put({ pk: 'rej#f12' }, { conditionExpression: 'a = :v', expressionAttributeValues: [1] as never }),
    message: PLAIN_OBJECT,
  },
].map((c) => ({ ...c, code: 'Validation' as const }));

category('wrong types: items and keys', itemArgCases);
category('wrong types: parameter objects', paramsCases);
category('wrong types: options arguments', optionsCases);
category('wrong types: table names', nameCases);
category('wrong types: schemas and tables', schemaCases);
category('wrong types: fields', fieldCases);

// ---------------------------------------------------------------------------------------------
// Items.

const nest = (depth: number, wrap: (v: unknown) => unknown): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = wrap(v);
  return v;
};
const sparse = (): unknown[] => {
  const a: unknown[] = new Array(3);
  a[0] = 1;
  a[2] = 3;
  return a;
};
const cyclic = () => {
  const o: Record<string, unknown> = { pk: 'rej#cyc' };
  o.self = o;
  return o;
};
const putValue = (v: unknown) => () => db.put({ pk: 'rej#v', v } as never);
const V = 'Validation' as const;

const itemCases: Case[] = [
  {
    name: 'missing partition key',
    run: () => db.put({ v: 1 } as never),
    code: V,
    message: /no partition key attribute `pk`/,
  },
  { name: 'numeric partition key', run: () => db.put({ pk: 1 } as never), code: V, message: /must be of type S/ },
  {
    name: 'binary partition key on S',
    run: () => db.put({ pk: new Uint8Array(1) } as never),
    code: V,
    message: /type S/,
  },
  { name: 'string partition key on B', run: () => binary.put({ pk: 'x' }), code: V, message: /type B/ },
  {
    name: 'Int16Array partition key on B',
    run: () => binary.put({ pk: new Int16Array(2) } as never),
    code: V,
    message: /Int16Array/,
  },
  { name: 'empty partition key', run: () => db.put({ pk: '' }), code: V, message: /must not be empty/ },
  { name: 'empty binary key', run: () => binary.put({ pk: new Uint8Array(0) }), code: V, message: /empty/ },
  { name: 'missing sort key', run: () => sorted.put({ pk: 'rej#s' }), code: V, message: /sort key/ },
  { name: 'string sort key on N', run: () => sorted.put({ pk: 'rej#s', sk: 'a' }), code: V, message: /type N/ },
  { name: 'NaN sort key', run: () => sorted.put({ pk: 'rej#s', sk: Number.NaN }), code: V, message: /NaN/ },
  {
    name: 'partition key of 2049 bytes',
    run: () => db.put({ pk: 'p'.repeat(2049) }),
    code: V,
    message: /2049 bytes; the limit is 2048/,
  },
  {
    name: 'partition key of 2049 UTF-8 bytes',
    run: () => db.put({ pk: `${'€'.repeat(683)}` }),
    code: V,
    message: /2048/,
  },
  { name: 'get with a 2049-byte key', run: () => db.get({ pk: 'p'.repeat(2049) }), code: V, message: /2048/ },
  { name: 'delete with a 2049-byte key', run: () => db.delete({ pk: 'p'.repeat(2049) }), code: V, message: /2048/ },
  {
    name: 'sort key of 1025 bytes',
    run: () => db.table('sortS').put({ pk: 'a', sk: 's'.repeat(1025) }),
    code: V,
    message: /1025 bytes; the limit is 1024/,
  },
  {
    name: 'get with a 1025-byte sort key',
    run: () => db.table('sortS').get({ pk: 'a', sk: 's'.repeat(1025) }),
    code: V,
    message: /1024/,
  },
  {
    name: 'key with an extra attribute',
    run: () => db.get({ pk: 'seed#1', x: 1 } as never),
    code: V,
    message: /not part of the table's key/,
  },
  { name: 'empty key object', run: () => db.get({} as never), code: V, message: /key attributes/ },
  {
    name: 'item over 400 KB',
    run: () => db.put({ pk: 'rej#big', v: 'x'.repeat(400 * 1024) }),
    code: 'ItemTooLarge',
    message: /over DynamoDB's limit of 409600 bytes/,
  },
  {
    name: 'binary item over 400 KB',
    run: () => db.put({ pk: 'rej#big', v: new Uint8Array(400 * 1024) }),
    code: 'ItemTooLarge',
    message: /400 KB/,
  },
  {
    name: 'item over 400 KB by attribute names',
    run: () =>
      db.put({ pk: 'rej#big', ['n'.repeat(60000)]: 1, ['m'.repeat(60000)]: 1, v: 'x'.repeat(300000) } as never),
    code: 'ItemTooLarge',
    message: /attribute names count/,
  },
  {
    name: 'update growing an item past 400 KB',
    run: () =>
      db.update(
        { pk: 'seed#1' },
        { updateExpression: 'SET huge = :h', expressionAttributeValues: { ':h': 'y'.repeat(410 * 1024) } },
      ),
    code: 'ItemTooLarge',
    message: /400 KB/,
  },
  { name: 'NaN', run: putValue(Number.NaN), code: V, message: /NaN is not a number DynamoDB can store/ },
  { name: 'Infinity', run: putValue(Number.POSITIVE_INFINITY), code: V, message: /Infinity/ },
  { name: '-Infinity', run: putValue(Number.NEGATIVE_INFINITY), code: V, message: /-Infinity/ },
  { name: 'Number.MAX_VALUE', run: putValue(Number.MAX_VALUE), code: V, message: /out of range \(overflow/ },
  { name: 'Number.MIN_VALUE', run: putValue(Number.MIN_VALUE), code: V, message: /out of range \(underflow/ },
  { name: '1e126', run: putValue(1e126), code: V, message: /overflow/ },
  { name: '1e-131', run: putValue(1e-131), code: V, message: /underflow/ },
  {
    name: 'NumberValue of 39 digits',
    run: putValue(new NumberValue('1'.repeat(39))),
    code: V,
    message: /39 significant digits/,
  },
  {
    name: 'NumberValue 1e999999999999',
    run: putValue(new NumberValue('1e999999999999')),
    code: V,
    message: /overflow/,
  },
  {
    name: 'NumberValue 1e-99999999999999999999',
    run: putValue(new NumberValue('1e-99999999999999999999')),
    code: V,
    message: /underflow/,
  },
  { name: 'NumberValue 1E+126', run: putValue(new NumberValue('1E+126')), code: V, message: /range/ },
  { name: 'bigint 10^38 + 1 (39 digits)', run: putValue(10n ** 38n + 1n), code: V, message: /39 significant digits/ },
  { name: 'bigint -(10^38 + 1)', run: putValue(-(10n ** 38n + 1n)), code: V, message: /39 significant digits/ },
  { name: 'bigint 2^1000', run: putValue(2n ** 1000n), code: V, message: /302 significant digits/ },
  { name: 'bigint 10^200 (exponent out of range)', run: putValue(10n ** 200n), code: V, message: /overflow/ },
  { name: "NumberValue('abc')", run: () => new NumberValue('abc'), code: V, message: /not a decimal number/ },
  { name: "NumberValue('')", run: () => new NumberValue(''), code: V, message: /not a decimal number/ },
  { name: "NumberValue('0x10')", run: () => new NumberValue('0x10'), code: V, message: /not a decimal number/ },
  { name: "NumberValue('1e')", run: () => new NumberValue('1e'), code: V, message: /not a decimal number/ },
  { name: 'NumberValue(NaN)', run: () => new NumberValue(Number.NaN), code: V, message: /NaN/ },
  { name: 'NumberValue({})', run: () => new NumberValue({} as never), code: V, message: /not a decimal number/ },
  { name: 'empty string set', run: putValue(new Set<string>()), code: V, message: /empty set/ },
  {
    name: 'string set holding a number',
    run: putValue(new Set(['a', 1])),
    code: V,
    message: /string set holds a number/,
  },
  {
    name: 'number set holding a string',
    run: putValue(new Set([1, 'a'])),
    code: V,
    message: /number set holds a string/,
  },
  {
    name: 'binary set holding a string',
    run: putValue(new Set([new Uint8Array(1), 'a'])),
    code: V,
    message: /binary set/,
  },
  {
    name: 'set of objects',
    run: putValue(new Set([{ a: 1 }])),
    code: V,
    message: /sets may hold strings, numbers or binaries/,
  },
  { name: 'set of arrays', run: putValue(new Set([[1]])), code: V, message: /sets may hold/ },
  { name: 'set of booleans', run: putValue(new Set([true])), code: V, message: /sets may hold/ },
  { name: 'set of nulls', run: putValue(new Set([null])), code: V, message: /sets may hold/ },
  { name: 'set of Int16Arrays', run: putValue(new Set([new Int16Array(1)])), code: V, message: /sets may hold/ },
  {
    name: 'number set with Infinity',
    run: putValue(new Set([1, Number.POSITIVE_INFINITY])),
    code: V,
    message: /Infinity/,
  },
  {
    name: 'number set with a 41-digit bigint',
    run: putValue(new Set([10n ** 40n + 1n])),
    code: V,
    message: /41 significant/,
  },
  {
    name: 'number set with 1 and 1.0',
    run: putValue(new Set([new NumberValue('1'), new NumberValue('1.0')])),
    code: V,
    message: /same number/,
  },
  {
    name: 'binary set with equal members',
    run: putValue(new Set([new Uint8Array([1]), new Uint8Array([1])])),
    code: V,
    message: /more than once/,
  },
  { name: 'lists nested 33 deep', run: putValue(nest(32, (v) => [v])), code: V, message: /deeper than 32 levels/ },
  {
    name: 'maps nested 33 deep',
    run: putValue(nest(32, (v) => ({ m: v }))),
    code: V,
    message: /deeper than 32 levels/,
  },
  { name: 'nesting 10,000 deep', run: putValue(nest(10000, (v) => ({ m: [v] }))), code: V, message: /deeper than 32/ },
  { name: 'a cyclic object', run: () => db.put(cyclic() as never), code: V, message: /deeper than 32/ },
  { name: 'undefined value', run: putValue(undefined), code: V, message: /type undefined cannot be stored/ },
  { name: 'undefined in a list', run: putValue([1, undefined]), code: V, message: /v\[1\]: a value of type undefined/ },
  { name: 'undefined in a map', run: putValue({ a: undefined }), code: V, message: /v\.a: a value of type undefined/ },
  { name: 'sparse array', run: putValue(sparse()), code: V, message: /v\[1\]/ },
  { name: 'function value', run: putValue(() => 1), code: V, message: /type function/ },
  { name: 'symbol value', run: putValue(Symbol('s')), code: V, message: /type symbol/ },
  { name: 'Map value', run: putValue(new Map()), code: V, message: /Map cannot be stored/ },
  { name: 'Date value', run: putValue(new Date()), code: V, message: /Date cannot be stored/ },
  { name: 'RegExp value', run: putValue(/x/), code: V, message: /RegExp cannot be stored/ },
  { name: 'Promise value', run: putValue(Promise.resolve(1)), code: V, message: /Promise cannot be stored/ },
  { name: 'WeakMap value', run: putValue(new WeakMap()), code: V, message: /WeakMap/ },
  { name: 'class instance value', run: putValue(new Widget()), code: V, message: /Widget cannot be stored/ },
  { name: 'boxed String value', run: putValue(new String('x')), code: V, message: /String cannot be stored/ },
  { name: 'Int16Array value', run: putValue(new Int16Array(2)), code: V, message: /Int16Array/ },
  { name: 'Float64Array value', run: putValue(new Float64Array(2)), code: V, message: /Float64Array/ },
  { name: 'ArrayBuffer value', run: putValue(new ArrayBuffer(2)), code: V, message: /ArrayBuffer/ },
  { name: 'DataView value', run: putValue(new DataView(new ArrayBuffer(2))), code: V, message: /DataView/ },
  { name: 'Error value', run: putValue(new Error('x')), code: V, message: /Error cannot be stored/ },
  {
    name: 'empty attribute name',
    run: () => db.put({ pk: 'rej#n', '': 1 } as never),
    code: V,
    message: /attribute name is empty/,
  },
  { name: 'empty map key', run: () => db.put({ pk: 'rej#n', m: { '': 1 } }), code: V, message: /map key is empty/ },
  {
    name: 'attribute name of 65536 bytes',
    run: () => db.put({ pk: 'rej#n', ['a'.repeat(65536)]: 1 } as never),
    code: V,
    message: /65536 bytes; DynamoDB allows at most 65535/,
  },
  {
    name: 'map key of 65536 bytes',
    run: () => db.put({ pk: 'rej#n', m: { ['a'.repeat(65536)]: 1 } }),
    code: V,
    message: /65535/,
  },
  {
    name: 'revoked Proxy as item',
    run: () => {
      const r = Proxy.revocable({ pk: 'rej#p' }, {});
      r.revoke();
      return db.put(r.proxy);
    },
    code: 'TypeError',
    message: /revoked/,
  },
  {
    name: 'revoked Proxy as value',
    run: () => {
      const r = Proxy.revocable({}, {});
      r.revoke();
      return db.put({ pk: 'rej#p', v: r.proxy } as never);
    },
    code: 'TypeError',
    message: /revoked/,
  },
  {
    name: 'forged NumberValue with text abc',
    run: () => {
      const v = Object.create(NumberValue.prototype) as NumberValue;
      Object.defineProperty(v, 'value', { value: 'abc' });
      return db.put({ pk: 'rej#nv', v });
    },
    code: V,
    message: /not a valid number/,
  },
];
category('items', itemCases);

describe('items: user code that throws while being encoded surfaces its own error', () => {
  const boom = new Error('getter boom');
  const throwing = () => ({
    pk: 'rej#g',
    get v(): number {
      throw boom;
    },
  });
  const cases: [string, () => unknown][] = [
    ['put', () => db.put(throwing() as never)],
    ['put (nested)', () => db.put({ pk: 'rej#g', m: throwing() } as never)],
    ['get key', () => db.get(throwing() as never)],
    [
      'update values',
      () =>
        db.update({ pk: 'rej#g' }, { updateExpression: 'SET a = :v', expressionAttributeValues: throwing() as never }),
    ],
    ['transactWrite', () => db.transactWrite([{ put: { item: throwing() as never } }])],
    ['batchWrite', () => db.batchWrite({ requestItems: { default: [{ putRequest: { item: throwing() as never } }] } })],
    [
      'Proxy get trap',
      () =>
        db.put(
          new Proxy(
            { pk: 'rej#g', v: 1 },
            {
              get: () => {
                throw boom;
              },
            },
          ),
        ),
    ],
    [
      'Proxy ownKeys trap',
      () =>
        db.put(
          new Proxy(
            { pk: 'rej#g' },
            {
              ownKeys: () => {
                throw boom;
              },
            },
          ),
        ),
    ],
    [
      'Proxy getPrototypeOf trap',
      () =>
        db.put(
          new Proxy(
            { pk: 'rej#g' },
            {
              getPrototypeOf: () => {
                throw boom;
              },
            },
          ),
        ),
    ],
  ];
  counts['items: throwing getters and proxies'] = cases.length;
  for (const [name, run] of cases) {
    it(name, async () => {
      expect(await outcome(run)).toBe(boom);
    });
  }
  it('a transparent Proxy of a plain object is stored as its target', async () => {
    await db.put(new Proxy({ pk: 'acc#proxy', v: 1 }, {}));
    expect(await db.get({ pk: 'acc#proxy' })).toEqual({ pk: 'acc#proxy', v: 1 });
  });
});

describe('items: strings with lone surrogates round-trip exactly or are rejected', () => {
  /** Either a Validation error, or the exact string back. */
  async function roundTripsOrRejects(
    item: Item,
    read: () => Promise<Item | undefined>,
    check: (got: Item | undefined) => void,
  ) {
    const err = await outcome(() => db.put(item as never));
    if (err !== SUCCEEDED) {
      expect(describeError(err)).toBe('Validation');
      expect((err as Error).message).toMatch(/surrogate|UTF-8|unicode/i);
      return;
    }
    check(await read());
  }
  counts['items: lone surrogates'] = 4;
  it('a high surrogate in a value', () =>
    roundTripsOrRejects(
      { pk: 'sur#1', v: 'a\uD800b' },
      () => db.get({ pk: 'sur#1' }),
      (got) => expect(got?.v).toBe('a\uD800b'),
    ));
  it('a low surrogate in an attribute name', () =>
    roundTripsOrRejects(
      { pk: 'sur#2', 'n\uDC00': 1 },
      () => db.get({ pk: 'sur#2' }),
      (got) => expect(Object.keys(got ?? {})).toContain('n\uDC00'),
    ));
  it('a lone surrogate in a string set', () =>
    roundTripsOrRejects(
      { pk: 'sur#3', s: new Set(['\uD83D']) },
      () => db.get({ pk: 'sur#3' }),
      (got) => expect(got?.s).toEqual(new Set(['\uD83D'])),
    ));
  it('two keys differing only in their lone surrogate never overwrite each other', async () => {
    const a = await outcome(() => db.put({ pk: 'sur#k\uD800', v: 'first' }));
    const b = await outcome(() => db.put({ pk: 'sur#k\uDC00', v: 'second' }));
    if (a !== SUCCEEDED || b !== SUCCEEDED) {
      expect([a, b].filter((e) => e !== SUCCEEDED).map(describeError)).toEqual(
        [a, b].filter((e) => e !== SUCCEEDED).map(() => 'Validation'),
      );
      return;
    }
    expect((await db.get({ pk: 'sur#k\uD800' }))?.v).toBe('first');
    expect((await db.get({ pk: 'sur#k\uDC00' }))?.v).toBe('second');
  });
});

describe('items: prototype-polluting names are stored as data', () => {
  const polluted = () => (({}) as Record<string, unknown>).polluted;
  counts['items: prototype pollution'] = 5;
  it('__proto__, constructor and prototype attributes round-trip as own data', async () => {
    const item = JSON.parse(
      '{"pk":"acc#proto","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"prototype":{"polluted":3},"m":{"__proto__":{"polluted":4}}}',
    );
    await db.put(item);
    const got = (await db.get({ pk: 'acc#proto' })) as Record<string, unknown>;
    expect(Object.keys(got).sort()).toEqual(['__proto__', 'constructor', 'm', 'pk', 'prototype']);
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toEqual({ polluted: 1 });
    expect(Object.getOwnPropertyDescriptor(got.m, '__proto__')?.value).toEqual({ polluted: 4 });
    expect(polluted()).toBeUndefined();
  });
  it('an update through a #name placeholder for __proto__ writes data', async () => {
    const out = await db.update(
      { pk: 'acc#proto' },
      {
        updateExpression: 'SET #p.#q = :v, #c.#r = :v',
        expressionAttributeNames: { '#p': '__proto__', '#q': 'polluted', '#c': 'constructor', '#r': 'prototype' },
        expressionAttributeValues: { ':v': 'yes' },
        returnValues: 'ALL_NEW',
      },
    );
    expect(Object.getOwnPropertyDescriptor(out.attributes, '__proto__')?.value).toEqual({ polluted: 'yes' });
    expect(polluted()).toBeUndefined();
  });
  it('a map value with a __proto__ key passes through expressionAttributeValues as data', async () => {
    await db.update(
      { pk: 'acc#proto2' },
      {
        updateExpression: 'SET m = :m',
        expressionAttributeValues: { ':m': JSON.parse('{"__proto__":{"polluted":5}}') },
      },
    );
    const page = await db.scan({
      filterExpression: 'pk = :k',
      expressionAttributeValues: { ':k': 'acc#proto2' },
    });
    const m = page.items[0]?.m as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(m, '__proto__')?.value).toEqual({ polluted: 5 });
    expect(polluted()).toBeUndefined();
  });
  it('__proto__ as a placeholder key is rejected', async () => {
    await expectFailure({
      name: '__proto__ placeholder',
      run: () =>
        db.get(
          { pk: 'seed#1' },
          { projectionExpression: 'pk', expressionAttributeNames: JSON.parse('{"__proto__":"x"}') },
        ),
      code: 'Validation',
      message: /ExpressionAttributeNames contains invalid key/,
    });
    expect(polluted()).toBeUndefined();
  });
  it('a table named __proto__ keeps its batchGet response as an own property', async () => {
    const t = await db.createTable('__proto__', TableSchema.builder().partitionKey('pk', 'S').build());
    await t.put({ pk: 'in-proto-table' });
    const out = await db.batchGet({ requestItems: JSON.parse('{"__proto__":{"keys":[{"pk":"in-proto-table"}]}}') });
    expect(Object.getPrototypeOf(out.responses)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out.responses, '__proto__')?.value).toEqual([{ pk: 'in-proto-table' }]);
    expect(polluted()).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Expressions.

const many = (k: number, f: (i: number) => string, sep: string) => Array.from({ length: k }, (_, i) => f(i)).join(sep);
const values = (k: number) => Object.fromEntries(Array.from({ length: k }, (_, i) => [`:v${i}`, i]));
const update =
  (updateExpression: string, extra: Record<string, unknown> = {}) =>
  () =>
    db.update({ pk: 'rej#e' }, { updateExpression, ...extra });
const condition =
  (conditionExpression: string, extra: Record<string, unknown> = {}) =>
  () =>
    db.put({ pk: 'rej#e' }, { conditionExpression, ...extra });
const filter =
  (filterExpression: string, extra: Record<string, unknown> = {}) =>
  () =>
    db.scan({ filterExpression, ...extra });
const keyCondition =
  (keyConditionExpression: string, extra: Record<string, unknown> = {}) =>
  () =>
    sorted.query({ keyConditionExpression, expressionAttributeValues: { ':p': 'p' }, ...extra });
const projection = (projectionExpression: string) => () => db.get({ pk: 'seed#1' }, { projectionExpression });
const one = { expressionAttributeValues: { ':v': 1 } };
const parens = (depth: number, s: string) => `${'('.repeat(depth)}${s}${')'.repeat(depth)}`;
const GARBAGE = '\u0000\u0001\uFFFE\uD800\u007F\u00FF\u200B';

const expressionCases: Case[] = [
  { name: 'update: SET without actions', run: update('SET'), code: V, message: /Syntax error/ },
  { name: 'update: empty', run: update(''), code: V, message: /can not be empty/ },
  { name: 'update: only spaces', run: update('   '), code: V, message: /empty|Syntax/ },
  { name: 'update: unbalanced (', run: update('SET a = (:v', one), code: V, message: /Syntax error/ },
  { name: 'update: unbalanced )', run: update('SET a = :v)', one), code: V, message: /Syntax error/ },
  {
    name: 'update: unknown function',
    run: update('SET a = foo(:v)', one),
    code: V,
    message: /Invalid function name; function: foo/,
  },
  { name: 'update: missing value', run: update('SET a = :v'), code: V, message: /attribute value: :v/ },
  { name: 'update: missing name', run: update('SET #n = :v', one), code: V, message: /attribute name: #n/ },
  {
    name: 'update: unused value',
    run: update('SET a = :v', { expressionAttributeValues: { ':v': 1, ':w': 2 } }),
    code: V,
    message: /unused in expressions: keys: \{:w\}/,
  },
  {
    name: 'update: unused name',
    run: update('SET a = :v', { ...one, expressionAttributeNames: { '#n': 'x' } }),
    code: V,
    message: /unused in expressions: keys: \{#n\}/,
  },
  { name: 'update: reserved word name', run: update('SET name = :v', one), code: V, message: /reserved keyword: name/ },
  {
    name: 'update: reserved word status',
    run: update('SET status = :v', one),
    code: V,
    message: /reserved keyword: status/,
  },
  { name: 'update: overlapping paths', run: update('SET a = :v, a = :v', one), code: V, message: /overlap/ },
  {
    name: 'update: the key attribute',
    run: update('SET pk = :v', { expressionAttributeValues: { ':v': 'x' } }),
    code: V,
    message: /part of the key/,
  },
  { name: 'update: binary garbage', run: update(GARBAGE), code: V, message: /Syntax error/ },
  {
    name: 'update: 100 KB',
    run: update(`SET ${many(10000, (i) => `a${i} = :v`, ', ')}`, one),
    code: V,
    message: /maximum allowed size/,
  },
  {
    name: 'update: 10,000 nested parentheses',
    run: update(`SET a = ${parens(10000, ':v')}`, one),
    code: V,
    message: /size|nested/,
  },
  {
    name: 'update: 2,000 nested parentheses',
    run: update(`SET a = ${parens(2000, ':v')}`, one),
    code: V,
    message: /nested more than/,
  },
  {
    name: 'update: 200 nested if_not_exists',
    run: update(`SET a = ${'if_not_exists(a, '.repeat(200)}:v${')'.repeat(200)}`, one),
    code: V,
    message: /nested more than/,
  },
  { name: 'condition: syntax', run: condition('a = = :v', one), code: V, message: /Syntax error; token: "="/ },
  { name: 'condition: empty', run: condition(''), code: V, message: /can not be empty/ },
  { name: 'condition: unknown function', run: condition('nope(a)'), code: V, message: /function: nope/ },
  {
    name: 'condition: reserved word',
    run: condition('attribute_exists(data)'),
    code: V,
    message: /reserved keyword: data/,
  },
  { name: 'condition: missing value', run: condition('a = :nope'), code: V, message: /:nope/ },
  { name: 'condition: binary garbage', run: condition(GARBAGE), code: V, message: /Syntax error/ },
  {
    name: 'condition: 101 IN operands',
    run: condition(`a IN (${many(101, (i) => `:v${i}`, ',')})`, { expressionAttributeValues: values(101) }),
    code: V,
    message: /Too many operands for the IN operator; number of operands: 101/,
  },
  {
    name: 'condition: 1000 IN operands',
    run: condition(`a IN (${many(1000, (i) => `:v${i}`, ',')})`, { expressionAttributeValues: values(1000) }),
    code: V,
    message: /Too many operands|maximum allowed size/,
  },
  {
    name: 'condition: 100 KB',
    run: condition(
      many(12500, () => 'a = :v', ' OR '),
      one,
    ),
    code: V,
    message: /maximum allowed size/,
  },
  {
    name: 'condition: 10,000 nested parentheses',
    run: condition(parens(10000, 'a = :v'), one),
    code: V,
    message: /size|nested/,
  },
  {
    name: 'condition: 2,040 nested parentheses',
    run: condition(parens(2040, 'a = :v'), one),
    code: V,
    message: /nested more than 128/,
  },
  {
    name: 'condition: 1,000 NOTs',
    run: condition(`${'NOT '.repeat(1000)}a = :v`, one),
    code: V,
    message: /nested more than/,
  },
  {
    name: 'condition: 600 nested size()',
    run: condition(`${'size('.repeat(600)}a${')'.repeat(600)} > :v`, one),
    code: V,
    message: /nested more than/,
  },
  {
    name: 'condition: placeholder key without colon',
    run: condition('a = :v', { expressionAttributeValues: { v: 1 } }),
    code: V,
    message: /ExpressionAttributeValues contains invalid key/,
  },
  {
    name: 'condition: name key without #',
    run: condition('attribute_exists(#a)', { expressionAttributeNames: { a: 'x', '#a': 'a' } }),
    code: V,
    message: /ExpressionAttributeNames contains invalid key/,
  },
  { name: 'filter: syntax', run: filter('a >'), code: V, message: /Invalid FilterExpression: Syntax error/ },
  {
    name: 'filter: 10,000 nested parentheses',
    run: filter(parens(10000, 'a = :v'), one),
    code: V,
    message: /size|nested/,
  },
  {
    name: 'filter: 2,040 nested parentheses',
    run: filter(parens(2040, 'a = :v'), one),
    code: V,
    message: /nested more than/,
  },
  { name: 'filter: garbage', run: filter(GARBAGE), code: V, message: /Syntax error/ },
  {
    name: 'key condition: OR',
    run: keyCondition('pk = :p OR pk = :p'),
    code: V,
    message: /Invalid operator used in KeyConditionExpression: OR/,
  },
  {
    name: 'key condition: non-key attribute',
    run: keyCondition('a = :p'),
    code: V,
    message: /missed key schema element: pk/,
  },
  {
    name: 'key condition: sort key only',
    run: () => sorted.query({ keyConditionExpression: 'sk = :s', expressionAttributeValues: { ':s': 1 } }),
    code: V,
    message: /missed key schema element: pk/,
  },
  {
    name: 'key condition: missing value',
    run: () => sorted.query({ keyConditionExpression: 'pk = :p' }),
    code: V,
    message: /attribute value: :p/,
  },
  {
    name: 'key condition: wrong key type',
    run: () => sorted.query({ keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': 1 } }),
    code: V,
    message: /type S/,
  },
  {
    name: 'key condition: 10,000 nested parentheses',
    run: keyCondition(parens(10000, 'pk = :p')),
    code: V,
    message: /size|nested/,
  },
  {
    name: 'key condition: 2,040 nested parentheses',
    run: keyCondition(parens(2040, 'pk = :p')),
    code: V,
    message: /nested more than/,
  },
  {
    name: 'querySync key condition: 2,040 nested parentheses',
    run: () =>
      sorted.querySync({ keyConditionExpression: parens(2040, 'pk = :p'), expressionAttributeValues: { ':p': 'p' } }),
    code: V,
    message: /nested more than/,
  },
  { name: 'key condition: garbage', run: keyCondition(GARBAGE), code: V, message: /Syntax error/ },
  {
    name: 'projection: double comma',
    run: projection('a,,b'),
    code: V,
    message: /Invalid ProjectionExpression: Syntax error/,
  },
  { name: 'projection: empty', run: projection(''), code: V, message: /can not be empty/ },
  { name: 'projection: negative index', run: projection('a[-1]'), code: V, message: /Syntax error/ },
  { name: 'projection: huge index', run: projection('a[99999999999999999999]'), code: V, message: /Syntax error/ },
  {
    name: 'projection: 100 KB',
    run: projection(many(20000, (i) => `a${i}`, ',')),
    code: V,
    message: /maximum allowed size/,
  },
  { name: 'projection: garbage', run: projection(GARBAGE), code: V, message: /Syntax error/ },
  {
    name: 'transactWrite condition: 2,040 nested parentheses',
    run: () =>
      db.transactWrite([
        { conditionCheck: { key: { pk: 'seed#1' }, conditionExpression: parens(2040, 'a = :v'), ...one } },
      ]),
    code: V,
    message: /action 1 \(default\): .*nested more than/,
  },
];
category('expressions', expressionCases);

// ---------------------------------------------------------------------------------------------
// Query and Scan parameters.

const q = (extra: Record<string, unknown>) => () =>
  sorted.query({ keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': 'p' }, ...extra });
const s = (extra: Record<string, unknown>) => () => sorted.scan(extra);
const LIMIT = /limit must be a whole number from 1 to/;

const pagingCases: Case[] = [
  ...(
    [
      ['0', 0],
      ['-1', -1],
      ['1.5', 1.5],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ["'5'", '5'],
      ['null', null],
      ['5n', 5n],
    ] as [string, unknown][]
  ).flatMap(([what, limit]) => [
    { name: `query limit ${what}`, run: q({ limit }), code: V, message: LIMIT },
    { name: `scan limit ${what}`, run: s({ limit }), code: V, message: LIMIT },
  ]),
  {
    name: 'querySync limit 0',
    run: () =>
      sorted.querySync({ keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': 'p' }, limit: 0 }),
    code: V,
    message: LIMIT,
  },
  {
    name: 'scanIterator limit 0',
    run: async () => {
      for await (const _ of sorted.scanIterator({ limit: 0 })) expect.fail('yielded an item');
    },
    code: V,
    message: LIMIT,
  },
  {
    name: 'queryIterator(null)',
    run: async () => {
      for await (const _ of sorted.queryIterator(null as never)) expect.fail('yielded an item');
    },
    code: V,
    message: /keyConditionExpression/,
  },
  { name: 'scan segment without totalSegments', run: s({ segment: 0 }), code: V, message: /give both or neither/ },
  {
    name: 'scan totalSegments without segment',
    run: s({ totalSegments: 2 }),
    code: V,
    message: /give both or neither/,
  },
  {
    name: 'scan totalSegments 0',
    run: s({ segment: 0, totalSegments: 0 }),
    code: V,
    message: /from 1 to 1000000, not 0/,
  },
  {
    name: 'scan totalSegments 1,000,001',
    run: s({ segment: 0, totalSegments: 1000001 }),
    code: V,
    message: /not 1000001/,
  },
  {
    name: 'scan segment = totalSegments',
    run: s({ segment: 2, totalSegments: 2 }),
    code: V,
    message: /less than totalSegments \(2\), not 2/,
  },
  { name: 'scan segment -1', run: s({ segment: -1, totalSegments: 2 }), code: V, message: /-1/ },
  { name: 'scan segment 0.5', run: s({ segment: 0.5, totalSegments: 2 }), code: V, message: /segment/ },
  { name: 'scan segment NaN', run: s({ segment: Number.NaN, totalSegments: 2 }), code: V, message: /segment/ },
  { name: 'scan totalSegments 1.5', run: s({ segment: 0, totalSegments: 1.5 }), code: V, message: /totalSegments/ },
  {
    name: 'scan totalSegments 2^32 + 1',
    run: s({ segment: 0, totalSegments: 2 ** 32 + 1 }),
    code: V,
    message: /totalSegments/,
  },
  { name: 'scan totalSegments -1', run: s({ segment: 0, totalSegments: -1 }), code: V, message: /totalSegments/ },
  {
    name: 'query exclusiveStartKey in another partition',
    run: q({ exclusiveStartKey: { pk: 'q', sk: 1 } }),
    code: V,
    message: /not in the queried partition/,
  },
  {
    name: 'query exclusiveStartKey of another attribute',
    run: q({ exclusiveStartKey: { foo: 1 } }),
    code: V,
    message: /`foo`, which is not part of the table's key/,
  },
  {
    name: 'query exclusiveStartKey without sort key',
    run: q({ exclusiveStartKey: { pk: 'p' } }),
    code: V,
    message: /exactly the key attributes/,
  },
  {
    name: 'query exclusiveStartKey with a wrong sort key type',
    run: q({ exclusiveStartKey: { pk: 'p', sk: 'x' } }),
    code: V,
    message: /type N/,
  },
  {
    name: 'query exclusiveStartKey as a string',
    run: q({ exclusiveStartKey: 'pk=p' }),
    code: V,
    message: PLAIN_OBJECT,
  },
  {
    name: 'query exclusiveStartKey as an array',
    run: q({ exclusiveStartKey: [{ pk: 'p', sk: 1 }] }),
    code: V,
    message: PLAIN_OBJECT,
  },
  {
    name: 'scan exclusiveStartKey with an extra attribute',
    run: s({ exclusiveStartKey: { pk: 'p', sk: 1, x: 1 } }),
    code: V,
    message: /`x`/,
  },
  {
    name: 'scan exclusiveStartKey {}',
    run: s({ exclusiveStartKey: {} }),
    code: V,
    message: /exactly the key attributes/,
  },
  { name: 'query select BOGUS', run: q({ select: 'BOGUS' }), code: V, message: /select must be 'ALL_ATTRIBUTES'/ },
  {
    name: 'query select COUNT with a projection',
    run: q({ select: 'COUNT', projectionExpression: 'v' }),
    code: V,
    message: /COUNT cannot be combined/,
  },
  {
    name: 'scan select SPECIFIC_ATTRIBUTES without a projection',
    run: s({ select: 'SPECIFIC_ATTRIBUTES' }),
    code: V,
    message: /needs a projectionExpression/,
  },
];
category('query and scan parameters', pagingCases);

describe('query and scan: numbers past 2^32 are honoured or rejected, never wrapped', () => {
  counts['query and scan: integer wrapping'] = 3;
  /** The whole partition (5 items) in one page, or a Validation error naming the value. */
  async function wholeOrRejected(limit: number) {
    let page: Awaited<ReturnType<Table['query']>> | undefined;
    const err = await outcome(async () => {
      page = await sorted.query({ keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': 'p' }, limit });
    });
    if (err === SUCCEEDED) {
      expect(page?.count, `limit ${limit} gave a page of ${page?.count}`).toBe(5);
      expect(page?.lastEvaluatedKey).toBeUndefined();
    } else {
      expect(describeError(err)).toBe('Validation');
      expect((err as Error).message).toContain(String(limit));
    }
  }
  it('limit 2^32', () => wholeOrRejected(2 ** 32));
  it('limit 2^32 + 1', () => wholeOrRejected(2 ** 32 + 1));
  it('limit 2^53', () => wholeOrRejected(2 ** 53));
});

// ---------------------------------------------------------------------------------------------
// Batches and transactions.

const keys = (k: number, prefix = 'rej#b') => Array.from({ length: k }, (_, i) => ({ pk: `${prefix}${i}` }));
const puts = (k: number) => keys(k).map((item) => ({ putRequest: { item } }));
const txPuts = (k: number) => keys(k).map((item) => ({ put: { item } }));
const txGets = (k: number) => keys(k).map((key) => ({ get: { key } }));
const holes = <T>(second: T): T[] => {
  const a: T[] = new Array(2);
  a[1] = second;
  return a;
};

const batchCases: Case[] = [
  {
    name: 'batchGet of 0 keys',
    run: () => db.batchGet({ requestItems: { default: { keys: [] } } }),
    code: V,
    message: /at least one key/,
  },
  { name: 'batchGet of no tables', run: () => db.batchGet({ requestItems: {} }), code: V, message: /at least one key/ },
  {
    name: 'batchGet of 101 keys',
    run: () => db.batchGet({ requestItems: { default: { keys: keys(101) } } }),
    code: V,
    message: /at most 100 keys, not 101/,
  },
  {
    name: 'batchGet of 101 keys across tables',
    run: () =>
      db.batchGet({
        requestItems: { default: { keys: keys(60) }, sorted: { keys: keys(41).map((k) => ({ ...k, sk: 1 })) } },
      }),
    code: V,
    message: /not 101/,
  },
  {
    name: 'batchGet with duplicate keys',
    run: () => db.batchGet({ requestItems: { default: { keys: [{ pk: 'seed#1' }, { pk: 'seed#1' }] } } }),
    code: V,
    message: /contains duplicates/,
  },
  {
    name: 'batchGet of a missing table',
    run: () => db.batchGet({ requestItems: { nope: { keys: [{ pk: 'x' }] } } }),
    code: 'ResourceNotFound',
    message: /'nope'/,
  },
  {
    name: 'batchGet with a malformed key',
    run: () => db.batchGet({ requestItems: { default: { keys: [{ id: 1 }] } } }),
    code: V,
    message: /`id`/,
  },
  {
    name: 'batchGet keys as a string',
    run: () => db.batchGet({ requestItems: { default: { keys: 'abc' as never } } }),
    code: V,
    message: /keys/,
  },
  {
    name: 'batchGet request null',
    run: () => db.batchGet({ requestItems: { default: null as never } }),
    code: V,
    message: /default/,
  },
  {
    name: 'batchGet keys with a hole',
    run: () => db.batchGet({ requestItems: { default: { keys: holes({ pk: 'seed#1' }) } } }),
    code: V,
    message: /key/,
  },
  {
    name: 'batchWrite of 0 requests',
    run: () => db.batchWrite({ requestItems: { default: [] } }),
    code: V,
    message: /at least one request/,
  },
  {
    name: 'batchWrite of 26 requests',
    run: () => db.batchWrite({ requestItems: { default: puts(26) } }),
    code: V,
    message: /at most 25 requests, not 26/,
  },
  {
    name: 'batchWrite of 26 requests across tables',
    run: () =>
      db.batchWrite({
        requestItems: { default: puts(13), sorted: keys(13).map((k) => ({ putRequest: { item: { ...k, sk: 1 } } })) },
      }),
    code: V,
    message: /not 26/,
  },
  {
    name: 'batchWrite put and delete of one key',
    run: () =>
      db.batchWrite({
        requestItems: {
          default: [{ putRequest: { item: { pk: 'rej#d' } } }, { deleteRequest: { key: { pk: 'rej#d' } } }],
        },
      }),
    code: V,
    message: /contains duplicates/,
  },
  {
    name: 'batchWrite of two puts of one key',
    run: () =>
      db.batchWrite({
        requestItems: {
          default: [{ putRequest: { item: { pk: 'rej#d', a: 1 } } }, { putRequest: { item: { pk: 'rej#d', a: 2 } } }],
        },
      }),
    code: V,
    message: /contains duplicates/,
  },
  {
    name: 'batchWrite to a missing table',
    run: () => db.batchWrite({ requestItems: { nope: puts(1) } }),
    code: 'ResourceNotFound',
    message: /'nope'/,
  },
  {
    name: 'batchWrite with one item too large',
    run: () =>
      db.batchWrite({
        requestItems: { default: [...puts(2), { putRequest: { item: { pk: 'rej#big', v: 'x'.repeat(410000) } } }] },
      }),
    code: 'ItemTooLarge',
    message: /request 3 \(default\)/,
  },
  {
    name: 'batchWrite with neither put nor delete',
    run: () => db.batchWrite({ requestItems: { default: [{} as never] } }),
    code: V,
    message: /putRequest or deleteRequest/,
  },
  {
    name: 'batchWrite requests as a string',
    run: () => db.batchWrite({ requestItems: { default: 'abc' as never } }),
    code: V,
    message: /default/,
  },
  {
    name: 'batchWrite requests null',
    run: () => db.batchWrite({ requestItems: { default: null as never } }),
    code: V,
    message: /default/,
  },
  {
    name: 'batchWrite request null',
    run: () => db.batchWrite({ requestItems: { default: [null as never] } }),
    code: V,
    message: /putRequest or deleteRequest/,
  },
  {
    name: 'batchWrite requests with a hole',
    run: () => db.batchWrite({ requestItems: { default: holes(puts(1)[0] as never) } }),
    code: V,
    message: /putRequest or deleteRequest/,
  },
  {
    name: 'batchWrite durability bogus',
    run: () => db.batchWrite({ requestItems: { default: puts(1) } }, { durability: 'x' as never }),
    code: V,
    message: /durability must be/,
  },
  { name: 'transactWrite of 0 actions', run: () => db.transactWrite([]), code: V, message: /1 to 100 actions, not 0/ },
  {
    name: 'transactWrite of 101 actions',
    run: () => db.transactWrite(txPuts(101)),
    code: V,
    message: /1 to 100 actions, not 101/,
  },
  {
    name: 'transactWrite of two actions on one item',
    run: () => db.transactWrite([{ put: { item: { pk: 'rej#t' } } }, { delete: { key: { pk: 'rej#t' } } }]),
    code: V,
    message: /multiple operations on one item/,
  },
  {
    name: 'transactWrite action 5',
    run: () => db.transactWrite([5 as never]),
    code: V,
    message: /action 1 must be an object/,
  },
  {
    name: 'transactWrite action {}',
    run: () => db.transactWrite([{} as never]),
    code: V,
    message: /needs one of put, update, delete, conditionCheck/,
  },
  {
    name: 'transactWrite put: null',
    run: () => db.transactWrite([{ put: null as never }]),
    code: V,
    message: /action 1/,
  },
  {
    name: 'transactWrite with a hole',
    run: () => db.transactWrite(holes({ put: { item: { pk: 'rej#t' } } })),
    code: V,
    message: /action 1/,
  },
  {
    name: 'transactWrite update without expression',
    run: () => db.transactWrite([{ update: { key: { pk: 'rej#t' } } } as never]),
    code: V,
    message: /needs an updateExpression/,
  },
  {
    name: 'transactWrite conditionCheck without expression',
    run: () => db.transactWrite([{ conditionCheck: { key: { pk: 'rej#t' } } } as never]),
    code: V,
    message: /needs a conditionExpression/,
  },
  {
    name: 'transactWrite to a missing table',
    run: () => db.transactWrite([{ put: { tableName: 'nope', item: { pk: 'rej#t' } } }]),
    code: 'ResourceNotFound',
    message: /'nope'/,
  },
  {
    name: 'transactWrite with a wrong key',
    run: () => db.transactWrite([{ delete: { key: { id: 1 } } }]),
    code: V,
    message: /action 1 \(default\).*`id`/,
  },
  {
    name: 'transactWrite item too large',
    run: () => db.transactWrite([{ put: { item: { pk: 'rej#t', v: 'x'.repeat(410000) } } }]),
    code: 'ItemTooLarge',
    message: /action 1/,
  },
  {
    name: 'transactWrite clientRequestToken empty',
    run: () => db.transactWrite(txPuts(1), { clientRequestToken: '' }),
    code: V,
    message: /1 to 36 characters/,
  },
  {
    name: 'transactWrite clientRequestToken of 37',
    run: () => db.transactWrite(txPuts(1), { clientRequestToken: 'x'.repeat(37) }),
    code: V,
    message: /1 to 36 characters/,
  },
  {
    name: 'transactWrite false condition',
    run: () =>
      db.transactWrite([
        { conditionCheck: { key: { pk: 'rej#nobody' }, conditionExpression: 'attribute_exists(pk)' } },
        ...txPuts(1),
      ]),
    code: 'TransactionCanceled',
    message: /ConditionalCheckFailed, None/,
  },
  { name: 'transactGet of 0 actions', run: () => db.transactGet([]), code: V, message: /1 to 100 actions, not 0/ },
  { name: 'transactGet of 101 actions', run: () => db.transactGet(txGets(101)), code: V, message: /not 101/ },
  { name: 'transactGet action null', run: () => db.transactGet([null as never]), code: V, message: /needs get/ },
  {
    name: 'transactGet with a hole',
    run: () => db.transactGet(holes({ get: { key: { pk: 'seed#1' } } })),
    code: V,
    message: /needs get/,
  },
  {
    name: 'transactGet of a missing table',
    run: () => db.transactGet([{ get: { tableName: 'nope', key: { pk: 'x' } } }]),
    code: 'ResourceNotFound',
    message: /'nope'/,
  },
  {
    name: 'transactGet key null',
    run: () => db.transactGet([{ get: { key: null as never } }]),
    code: V,
    message: PLAIN_OBJECT,
  },
];
category('batches and transactions', batchCases);

// ---------------------------------------------------------------------------------------------
// Every method after close().

const kq = { keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': 'x' } };
const closedCalls: [string, () => unknown][] = [
  ['put', () => closedDb.put({ pk: 'a' })],
  ['put with condition', () => closedDb.put({ pk: 'a' }, { conditionExpression: 'attribute_not_exists(pk)' })],
  ['get', () => closedDb.get({ pk: 'x' })],
  ['getSync', () => closedDb.getSync({ pk: 'x' })],
  ['delete', () => closedDb.delete({ pk: 'x' })],
  ['delete with returnValues', () => closedDb.delete({ pk: 'x' }, { returnValues: 'ALL_OLD' })],
  [
    'update',
    () => closedDb.update({ pk: 'x' }, { updateExpression: 'SET v = :v', expressionAttributeValues: { ':v': 1 } }),
  ],
  ['query', () => closedDb.query(kq)],
  ['querySync', () => closedDb.querySync(kq)],
  ['queryIterator', () => closedDb.queryIterator(kq).next()],
  ['scan', () => closedDb.scan()],
  ['scanIterator', () => closedDb.scanIterator().next()],
  ['batchGet', () => closedDb.batchGet({ requestItems: { default: { keys: [{ pk: 'x' }] } } })],
  ['batchWrite', () => closedDb.batchWrite({ requestItems: { default: [{ putRequest: { item: { pk: 'a' } } }] } })],
  ['transactWrite', () => closedDb.transactWrite([{ put: { item: { pk: 'a' } } }])],
  ['transactGet', () => closedDb.transactGet([{ get: { key: { pk: 'x' } } }])],
  ['createTable', () => closedDb.createTable('newer', TableSchema.builder().partitionKey('a', 'S').build())],
  ['table', () => closedDb.table('sorted')],
  ['listTables', () => closedDb.listTables()],
  ['describeTable', () => closedDb.describeTable('sorted')],
  ['deleteTable', () => closedDb.deleteTable('sorted')],
  ['flush', () => closedDb.flush()],
  ['compact', () => closedDb.compact()],
  ['stats', () => closedDb.stats()],
  ['health', () => closedDb.health()],
];
category(
  'calls after close()',
  closedCalls.map(([name, run]) => ({
    name: `${name} after close()`,
    run,
    code: 'Closed' as const,
    message: /the database is closed/,
  })),
);

describe('calls after close() through a Table handle taken before', () => {
  const handleCalls: [string, (t: Table) => unknown][] = [
    ['put', (t) => t.put({ pk: 'x', sk: 2 })],
    ['get', (t) => t.get({ pk: 'x', sk: 1 })],
    ['getSync', (t) => t.getSync({ pk: 'x', sk: 1 })],
    ['delete', (t) => t.delete({ pk: 'x', sk: 1 })],
    ['update', (t) => t.update({ pk: 'x', sk: 1 }, { updateExpression: 'REMOVE a' })],
    ['query', (t) => t.query(kq)],
    ['querySync', (t) => t.querySync(kq)],
    ['scan', (t) => t.scan()],
    ['describe', (t) => t.describe()],
  ];
  counts['calls after close(): table handles'] = handleCalls.length;
  for (const [name, call] of handleCalls) {
    it(`table.${name} after close()`, async () => {
      const other = await Database.create(fresh());
      const t = await other.createTable(
        'sorted',
        TableSchema.builder().partitionKey('pk', 'S').sortKey('sk', 'N').build(),
      );
      await other.close();
      await expectFailure({ name, run: () => call(t as Table), code: 'Closed', message: /closed/ });
    });
  }
  it('close() twice is harmless', async () => {
    await expect(closedDb.close()).resolves.toBeUndefined();
    expect(closedDb.isOpen).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Database.create and Database.open.

const PATH = /database path must be a non-empty string/;
const openCases: Case[] = [
  ...(
    [
      ['null', null],
      ['undefined', undefined],
      ['a number', 42],
      ['an empty string', ''],
      ['an array', ['/tmp/x']],
      ['an object', { path: '/tmp/x' }],
      ['a symbol', Symbol('path')],
      ['a Promise', Promise.resolve('/tmp/x')],
      ['a URL', new URL('file:///tmp/kstone-hostile-url')],
      ['a Buffer', Buffer.from('/tmp/kstone-hostile-buf')],
      ['a function', () => '/tmp/x'],
    ] as [string, unknown][]
  ).flatMap(([what, bad]) => [
    { name: `Database.create(${what})`, run: () => Database.create(bad as never), code: V, message: PATH },
    { name: `Database.open(${what})`, run: () => Database.open(bad as never), code: V, message: PATH },
  ]),
  {
    name: 'Database.create with a NUL in the path',
    run: () => Database.create(`${fresh()}\0x`),
    code: 'Io',
    message: /NUL byte/,
  },
  {
    name: 'Database.open of a missing database',
    run: () => Database.open(fresh()),
    code: 'NotFound',
    message: /no database at .*create: true/,
  },
  {
    name: 'Database.create over a regular file',
    run: () => {
      const file = fresh();
      writeFileSync(file, 'not a database');
      return Database.create(file);
    },
    code: 'Io',
    message: /Not a directory/,
  },
  ...(
    [
      ['null', null],
      ['a number', 42],
      ['a string', 'sync'],
      ['a boolean', true],
      ['a symbol', Symbol('o')],
    ] as [string, unknown][]
  ).flatMap(([what, bad]) => [
    {
      name: `Database.create options ${what}`,
      run: () => Database.create(fresh(), bad as never),
      code: V,
      message: /options must be an object/,
    },
    {
      name: `Database.open options ${what}`,
      run: () => Database.open(fresh(), bad as never),
      code: V,
      message: /options must be an object/,
    },
  ]),
];
const option = (o: Record<string, unknown>) => () => Database.create(fresh(), o as never);
const optionCases: Case[] = [
  { name: 'unknown option', run: option({ durabilty: 'none' }), code: V, message: /unknown option 'durabilty'/ },
  {
    name: 'unknown compaction option',
    run: option({ compaction: { enable: false } }),
    code: V,
    message: /unknown option 'compaction.enable'/,
  },
  {
    name: 'unknown option on open',
    run: () => Database.open(fresh(), { create: true, bogus: 1 } as never),
    code: V,
    message: /unknown option 'bogus'/,
  },
  {
    name: 'compaction: 5',
    run: option({ compaction: 5 }),
    code: V,
    message: /compaction options must be a plain object/,
  },
  {
    name: 'compaction: null',
    run: option({ compaction: null }),
    code: V,
    message: /compaction options must be a plain object/,
  },
  { name: 'durability: bogus', run: option({ durability: 'bogus' }), code: V, message: /durability must be/ },
  { name: 'durability: 5', run: option({ durability: 5 }), code: V, message: /durability/ },
  {
    name: 'compression: gzip',
    run: option({ compression: 'gzip' }),
    code: V,
    message: /compression must be 'none', 'lz4' or 'zstd'/,
  },
  {
    name: 'memtableBudgetBytes: -1',
    run: option({ memtableBudgetBytes: -1 }),
    code: V,
    message: /memtableBudgetBytes must be a whole number/,
  },
  { name: 'memtableBudgetBytes: 0', run: option({ memtableBudgetBytes: 0 }), code: V, message: /not 0/ },
  { name: 'memtableBudgetBytes: NaN', run: option({ memtableBudgetBytes: Number.NaN }), code: V, message: /not NaN/ },
  {
    name: 'memtableBudgetBytes: 1e30',
    run: option({ memtableBudgetBytes: 1e30 }),
    code: V,
    message: /memtableBudgetBytes/,
  },
  {
    name: "memtableBudgetBytes: 'big'",
    run: option({ memtableBudgetBytes: 'big' }),
    code: V,
    message: /memtableBudgetBytes/,
  },
  {
    name: 'bloomFalsePositiveRate: 2',
    run: option({ bloomFalsePositiveRate: 2 }),
    code: V,
    message: /between 0 and 1/,
  },
  {
    name: 'bloomFalsePositiveRate: 0',
    run: option({ bloomFalsePositiveRate: 0 }),
    code: V,
    message: /between 0 and 1/,
  },
  {
    name: 'bloomFalsePositiveRate: NaN',
    run: option({ bloomFalsePositiveRate: Number.NaN }),
    code: V,
    message: /between 0 and 1/,
  },
  {
    name: 'maxOpenFiles: 0',
    run: option({ maxOpenFiles: 0 }),
    code: V,
    message: /maxOpenFiles must be a whole number from 1/,
  },
  { name: 'maxOpenFiles: -5', run: option({ maxOpenFiles: -5 }), code: V, message: /maxOpenFiles/ },
  { name: 'maxOpenFiles: 1.5', run: option({ maxOpenFiles: 1.5 }), code: V, message: /maxOpenFiles/ },
  { name: 'syncIntervalMs: -1', run: option({ syncIntervalMs: -1 }), code: V, message: /syncIntervalMs/ },
  {
    name: 'blockSizeBytes: 0',
    run: option({ blockSizeBytes: 0 }),
    code: V,
    message: /blockSizeBytes must be a whole number from 256/,
  },
  { name: 'walSegmentBytes: 0', run: option({ walSegmentBytes: 0 }), code: V, message: /walSegmentBytes/ },
  {
    name: 'l0StopTrigger: 0',
    run: option({ l0StopTrigger: 0 }),
    code: V,
    message: /l0StopTrigger must be a whole number from 2/,
  },
  {
    name: 'compaction.l0Trigger: 0',
    run: option({ compaction: { l0Trigger: 0 } }),
    code: V,
    message: /compaction.l0Trigger/,
  },
  {
    name: 'compaction.maxConcurrent: 0',
    run: option({ compaction: { maxConcurrent: 0 } }),
    code: V,
    message: /compaction.maxConcurrent/,
  },
  {
    name: 'compaction.checkIntervalMs: -1',
    run: option({ compaction: { checkIntervalMs: -1 } }),
    code: V,
    message: /checkIntervalMs/,
  },
  { name: "compaction.enabled: 'yes'", run: option({ compaction: { enabled: 'yes' } }), code: V, message: /enabled/ },
  {
    name: "open create: 'yes'",
    run: () => Database.open(fresh(), { create: 'yes' as never }),
    code: V,
    message: /create/,
  },
  { name: 'schema: 5', run: option({ schema: 5 }), code: V, message: /TableSchema.builder/ },
  { name: 'schema: {}', run: option({ schema: {} }), code: V, message: /TableSchema.builder/ },
  {
    name: 'schema with key type Z',
    run: option({ schema: { partitionKey: { name: 'id', type: 'Z' } } }),
    code: V,
    message: /not 'Z'/,
  },
];
category('Database.create and open: paths', openCases);
category('Database.create and open: options', optionCases);

// ---------------------------------------------------------------------------------------------
// Nothing was lost or changed.

describe('the binding: malformed packed writes are refused, never read past', () => {
  it('rejects every truncation, a table index out of range and an unknown kind, and stores nothing', async () => {
    const { native } = await import('../dist/src/native.js');
    const { PackedWrites, encodeItem } = await import('../dist/src/codec.js');
    const nd = await native.openDatabase(fresh(), 'create', undefined, undefined);
    try {
      const ops = new PackedWrites();
      ops.add('default', true, { pk: 'packed', v: 1 });
      const good = Buffer.from(ops.bytes());
      const attempts: Buffer[] = [];
      for (let cut = 1; cut < good.length; cut++) attempts.push(good.subarray(0, cut));
      const badTable = Buffer.from(good);
      badTable.writeUInt32LE(1, 0);
      const badKind = Buffer.from(good);
      badKind[4] = 7;
      const tooLong = Buffer.from(good);
      tooLong.writeUInt32LE(0xffffffff, 5);
      attempts.push(badTable, badKind, tooLong);
      for (const bytes of attempts) {
        await expect(nd.writeItems(ops.tables, bytes, false, undefined)).rejects.toThrow(/packed writes are malformed/);
      }
      const key = encodeItem({ pk: 'packed' });
      expect(nd.getSync('default', key, Buffer.alloc(256))).toBe(-1);
      await expect(nd.writeItems(ops.tables, good, false, undefined)).resolves.toEqual([null]);
      expect(nd.getSync('default', key, Buffer.alloc(256))).toBeGreaterThan(0);
    } finally {
      nd.close();
    }
  });
});

describe('after every hostile case', () => {
  it('has run at least 200 cases', () => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(200);
  });

  async function checkSeeds(d: Database) {
    for (const seed of SEEDS) {
      const got = await d.get({ pk: seed.pk as string });
      expect(got, `seed ${String(seed.pk)}`).toEqual(seed);
      expect(Object.keys(got ?? {}).sort()).toEqual(Object.keys(seed).sort());
    }
    const t = d.table('sorted');
    const page = await t.query({ keyConditionExpression: 'pk = :p', expressionAttributeValues: { ':p': 'p' } });
    expect(page.items).toEqual(SORTED_SEEDS);
    expect(await d.table('binary').get({ pk: PK_BIN })).toEqual({ pk: PK_BIN, v: 1 });
    const rejected = await d.scan({
      filterExpression: 'begins_with(pk, :r)',
      expressionAttributeValues: { ':r': 'rej#' },
    });
    expect(rejected.items.map((i) => i.pk)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }

  it('reads the seed items back intact, accepts writes, and reopens cleanly', async () => {
    expect(db.isOpen).toBe(true);
    expect(db.health().status).toBe('healthy');
    await checkSeeds(db);
    await db.put({ pk: 'after#1', v: 1 });
    expect(await db.get({ pk: 'after#1' })).toEqual({ pk: 'after#1', v: 1 });
    const path = db.path;
    await db.close();
    const again = await Database.open(path);
    try {
      await checkSeeds(again);
      expect(await again.get({ pk: 'after#1' })).toEqual({ pk: 'after#1', v: 1 });
      await again.put({ pk: 'after#2' });
      expect(await again.get({ pk: 'after#2' })).toEqual({ pk: 'after#2' });
      expect((await again.listTables()).sort()).toEqual(expect.arrayContaining(['binary', 'default', 'sorted']));
    } finally {
      await again.close();
    }
  });
});
