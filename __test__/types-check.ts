// Compile-time checks, run by `tsc -p __test__/tsconfig.json` in `npm run lint`: every line
// marked @ts-expect-error must be a type error, or the build fails.
import { type Database, type Table, TableSchema } from '../dist/index.js';

const orders = TableSchema.builder().partitionKey('customerId', 'S').sortKey('orderedAt', 'N').build();
const users = TableSchema.builder().partitionKey('id', 'B').build();

export async function keysFollowTheSchema(db: Database, t: Table<import('../dist/index.js').KeyOf<typeof orders>>) {
  await db.get({ pk: 'user#1' });
  // @ts-expect-error: the default table's key is { pk: string }
  await db.get({ id: 'user#1' });
  // @ts-expect-error: pk must be a string
  await db.get({ pk: 1 });

  await t.get({ customerId: 'c1', orderedAt: 5 });
  await t.get({ customerId: 'c1', orderedAt: 5n });
  // @ts-expect-error: the sort key is missing
  await t.get({ customerId: 'c1' });
  // @ts-expect-error: the sort key is a number, not a string
  await t.get({ customerId: 'c1', orderedAt: '5' });
  // @ts-expect-error: an item must carry its key
  await t.put({ customerId: 'c1', total: 3 });

  const u = await db.createTable('users', users);
  await u.delete({ id: new Uint8Array([1]) });
  // @ts-expect-error: a binary key is not a string
  await u.delete({ id: 'one' });
}
