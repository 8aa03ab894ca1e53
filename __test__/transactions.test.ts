import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  ConditionalCheckFailedError,
  Database,
  IdempotentParameterMismatchError,
  TableSchema,
  TransactionCanceledError,
  ValidationError,
} from '../dist/index.js';
import { root, tempDir } from './helpers';

const base = tempDir('kstone-tx-');
let n = 0;
const fresh = () => join(base, `db${n++}`);
const fixture = (name: string) => join(root, '__test__', 'fixtures', name);

describe('conditional writes', () => {
  it('puts, updates and deletes only when the condition holds', async () => {
    const db = await Database.create(fresh());
    await db.put({ pk: 'a', v: 1 }, { conditionExpression: 'attribute_not_exists(pk)' });
    const err = await db
      .put(
        { pk: 'a', v: 2 },
        { conditionExpression: 'attribute_not_exists(pk)', returnValuesOnConditionCheckFailure: 'ALL_OLD' },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConditionalCheckFailedError);
    expect((err as ConditionalCheckFailedError).item).toEqual({ pk: 'a', v: 1 });
    expect((err as ConditionalCheckFailedError).code).toBe('ConditionalCheckFailed');
    await expect(
      db.update(
        { pk: 'a' },
        {
          updateExpression: 'SET v = :n',
          conditionExpression: 'v = :old',
          expressionAttributeValues: { ':n': 5, ':old': 9 },
        },
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedError);
    await db.update(
      { pk: 'a' },
      {
        updateExpression: 'SET v = :n',
        conditionExpression: 'v = :old',
        expressionAttributeValues: { ':n': 5, ':old': 1 },
      },
    );
    await expect(
      db.delete({ pk: 'a' }, { conditionExpression: 'v > :x', expressionAttributeValues: { ':x': 10 } }),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedError);
    expect(await db.get({ pk: 'a' })).toEqual({ pk: 'a', v: 5 });
    await db.delete({ pk: 'a' }, { conditionExpression: 'v > :x', expressionAttributeValues: { ':x': 1 } });
    expect(await db.get({ pk: 'a' })).toBeUndefined();
    await expect(
      db.put({ pk: 'b' }, { conditionExpression: 'v >', expressionAttributeValues: {} }),
    ).rejects.toBeInstanceOf(ValidationError);
    await db.close();
  });

  it('lets exactly one of racing attribute_not_exists puts win, across worker threads', async () => {
    const path = fresh();
    const db = await Database.create(path);
    const items = 300;
    const results = await Promise.all(
      [1, 2, 3, 4].map(
        (id) =>
          new Promise<{ won?: number; error?: string }>((resolve, reject) => {
            const w = new Worker(fixture('race.cjs'), { workerData: { path, id, items } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    expect(results.map((r) => r.error)).toEqual([undefined, undefined, undefined, undefined]);
    expect(results.reduce((s, r) => s + (r.won ?? 0), 0)).toBe(items);
    const owners = new Set<unknown>();
    for (let i = 0; i < items; i++) owners.add((await db.get({ pk: `claim#${i}` }))?.owner);
    expect([...owners].every((o) => [1, 2, 3, 4].includes(o as number))).toBe(true);
    await db.close();
  });
});

describe('transactions', () => {
  it('applies all actions across tables or none, with one reason per action', async () => {
    const db = await Database.create(fresh());
    const t = await db.createTable('audit', TableSchema.builder().partitionKey('id', 'N').build());
    await db.put({ pk: 'alice', balance: 10 });
    await db.put({ pk: 'bob', balance: 0 });
    await db.transactWrite([
      {
        update: {
          key: { pk: 'alice' },
          updateExpression: 'SET balance = balance - :a',
          conditionExpression: 'balance >= :a',
          expressionAttributeValues: { ':a': 7 },
        },
      },
      {
        update: {
          key: { pk: 'bob' },
          updateExpression: 'SET balance = balance + :a',
          expressionAttributeValues: { ':a': 7 },
        },
      },
      { put: { tableName: 'audit', item: { id: 1, amount: 7 } } },
    ]);
    expect((await db.get({ pk: 'alice' }))?.balance).toBe(3);
    expect((await db.get({ pk: 'bob' }))?.balance).toBe(7);
    const err = await db
      .transactWrite([
        {
          update: {
            key: { pk: 'alice' },
            updateExpression: 'SET balance = balance - :a',
            conditionExpression: 'balance >= :a',
            expressionAttributeValues: { ':a': 7 },
            returnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          update: {
            key: { pk: 'bob' },
            updateExpression: 'SET balance = balance + :a',
            expressionAttributeValues: { ':a': 7 },
          },
        },
        { delete: { tableName: 'audit', key: { id: 1 } } },
        { conditionCheck: { key: { pk: 'carol' }, conditionExpression: 'attribute_not_exists(pk)' } },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransactionCanceledError);
    const reasons = (err as TransactionCanceledError).cancellationReasons;
    expect(reasons.map((r) => r.code)).toEqual(['ConditionalCheckFailed', 'None', 'None', 'None']);
    expect(reasons[0]?.item).toEqual({ pk: 'alice', balance: 3 });
    expect((err as Error).message).toMatch(/\[ConditionalCheckFailed, None, None, None\]/);
    expect((await db.get({ pk: 'bob' }))?.balance).toBe(7);
    expect(await t.get({ id: 1 })).toEqual({ id: 1, amount: 7 });
    await db.close();
  });

  it('rejects two actions on one item, too many actions and bad actions as DynamoDB does', async () => {
    const db = await Database.create(fresh());
    await expect(db.transactWrite([{ put: { item: { pk: 'x' } } }, { delete: { key: { pk: 'x' } } }])).rejects.toThrow(
      /multiple operations on one item/,
    );
    const many = Array.from({ length: 101 }, (_, i) => ({ put: { item: { pk: `k${i}` } } }));
    await expect(db.transactWrite(many)).rejects.toThrow(/1 to 100 actions/);
    await expect(db.transactWrite(many.slice(0, 100))).resolves.toBeUndefined();
    await expect(db.transactWrite([{ conditionCheck: { key: { pk: 'x' } } } as never])).rejects.toThrow(
      /needs a conditionExpression/,
    );
    await expect(db.transactWrite([{ put: { tableName: 'nope', item: { pk: 'x' } } }])).rejects.toMatchObject({
      code: 'ResourceNotFound',
    });
    await db.close();
  });

  it('is idempotent for a repeated clientRequestToken and refuses the token for another request', async () => {
    const db = await Database.create(fresh());
    await db.put({ pk: 'c', n: 0 });
    const inc = [
      { update: { key: { pk: 'c' }, updateExpression: 'ADD n :one', expressionAttributeValues: { ':one': 1 } } },
    ];
    await db.transactWrite(inc, { clientRequestToken: 'tok-1' });
    await db.transactWrite(inc, { clientRequestToken: 'tok-1' });
    expect((await db.get({ pk: 'c' }))?.n).toBe(1);
    await expect(
      db.transactWrite([{ put: { item: { pk: 'other' } } }], { clientRequestToken: 'tok-1' }),
    ).rejects.toBeInstanceOf(IdempotentParameterMismatchError);
    await db.transactWrite(inc, { clientRequestToken: 'tok-2' });
    expect((await db.get({ pk: 'c' }))?.n).toBe(2);
    await db.close();
  });

  it('transactGet reads one consistent snapshot while transfers run', async () => {
    const db = await Database.create(fresh(), { durability: 'none' });
    const accounts = 10;
    for (let i = 0; i < accounts; i++) await db.put({ pk: `acct#${i}`, balance: 100 });
    let stop = false;
    const movers = Array.from({ length: 4 }, async (_, w) => {
      for (let k = 0; !stop; k++) {
        const a = `acct#${(k + w) % accounts}`;
        const b = `acct#${(k * 3 + w + 1) % accounts}`;
        if (a === b) continue;
        await db
          .transactWrite([
            {
              update: {
                key: { pk: a },
                updateExpression: 'SET balance = balance - :x',
                conditionExpression: 'balance >= :x',
                expressionAttributeValues: { ':x': 3 },
              },
            },
            {
              update: {
                key: { pk: b },
                updateExpression: 'SET balance = balance + :x',
                expressionAttributeValues: { ':x': 3 },
              },
            },
          ])
          .catch((e: unknown) => {
            if (!(e instanceof TransactionCanceledError)) throw e;
          });
      }
    });
    for (let r = 0; r < 50; r++) {
      const { responses } = await db.transactGet(
        Array.from({ length: accounts }, (_, i) => ({ get: { key: { pk: `acct#${i}` } } })),
      );
      expect(responses.reduce((s, x) => s + Number(x.item?.balance), 0)).toBe(100 * accounts);
    }
    stop = true;
    await Promise.all(movers);
    await db.close();
  });

  it('never leaves a transaction half-applied when the process is killed in the middle of them', async () => {
    const path = fresh();
    const accounts = 20;
    let first = 0;
    let acked = 0;
    for (let cycle = 0; cycle < 8; cycle++) {
      const got = await new Promise<number[]>((resolve, reject) => {
        const child = spawn(process.execPath, [fixture('transfers.cjs'), path, String(accounts), String(first)], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const acks: number[] = [];
        let stderr = '';
        let armed = false;
        child.stdout.on('data', (d: Buffer) => {
          for (const line of d.toString().split('\n')) if (line.startsWith('ack ')) acks.push(Number(line.slice(4)));
          if (!armed && acks.length >= 10) {
            armed = true;
            setTimeout(() => child.kill('SIGKILL'), Math.random() * 100);
          }
        });
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('error', reject);
        child.on('close', (_c, signal) => {
          clearTimeout(guard);
          if (signal === 'SIGKILL') resolve(acks);
          else reject(new Error(`transfers exited by itself: ${stderr}`));
        });
      });
      acked += got.length;
      const db = await Database.open(path);
      let sum = 0;
      for (let i = 0; i < accounts; i++) sum += Number(db.getSync({ pk: `acct#${i}` })?.balance);
      expect(sum, `cycle ${cycle}`).toBe(100 * accounts);
      for (const id of got) expect(db.getSync({ pk: `tx#${id}` }), `acknowledged transaction ${id}`).toBeDefined();
      await db.close();
      first = Math.max(first, ...got) + 100;
    }
    expect(acked).toBeGreaterThan(80);
  });
});
