// dynalite (a DynamoDB implementation on LevelDB) on a loopback port, driven by the AWS SDK's
// DocumentClient: what a DynamoDB user runs locally today. Every call is an HTTP round trip.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite');
const { DynamoDBClient, CreateTableCommand, waitUntilTableExists } = require('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient, PutCommand, GetCommand, QueryCommand, ScanCommand, DeleteCommand, BatchWriteCommand } =
  require('@aws-sdk/lib-dynamodb');

const TABLE = 'bench';
const idOf = (key) => Number(key.slice(5));
const keyFor = (i) => ({ g: Math.floor(i / 1000), u: i });

export default {
  name: 'dynalite',
  syncGet: false,
  async open(dir) {
    const server = dynalite({ path: join(dir, 'dynalite'), createTableMs: 0 });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'local',
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    });
    try {
      await client.send(
        new CreateTableCommand({
          TableName: TABLE,
          AttributeDefinitions: [
            { AttributeName: 'g', AttributeType: 'N' },
            { AttributeName: 'u', AttributeType: 'N' },
          ],
          KeySchema: [
            { AttributeName: 'g', KeyType: 'HASH' },
            { AttributeName: 'u', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: TABLE });
    } catch (err) {
      if (err.name !== 'ResourceInUseException') throw err;
    }
    return { server, client, doc: DynamoDBDocumentClient.from(client) };
  },
  async loadBatch(h, batch) {
    for (let i = 0; i < batch.length; i += 25) {
      const chunk = batch.slice(i, i + 25);
      await h.doc.send(
        new BatchWriteCommand({
          RequestItems: { [TABLE]: chunk.map(([k, v]) => ({ PutRequest: { Item: { ...keyFor(idOf(k)), ...v } } })) },
        }),
      );
    }
  },
  async get(h, key) {
    return (await h.doc.send(new GetCommand({ TableName: TABLE, Key: keyFor(idOf(key)) }))).Item;
  },
  async range(h, start, count) {
    const i = idOf(start);
    const out = await h.doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'g = :g AND u >= :u',
        ExpressionAttributeValues: { ':g': Math.floor(i / 1000), ':u': i },
        Limit: count,
      }),
    );
    let n = out.Items.length;
    if (n < count && out.LastEvaluatedKey === undefined) {
      // The range crosses into the next partition, as keystonedb's adapter does.
      const next = await h.doc.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'g = :g',
          ExpressionAttributeValues: { ':g': Math.floor(i / 1000) + 1 },
          Limit: count - n,
        }),
      );
      n += next.Items.length;
    }
    return n;
  },
  async scan(h) {
    let n = 0;
    let start;
    do {
      const out = await h.doc.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey: start }));
      n += out.Items.length;
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return n;
  },
  async put(h, key, item) {
    await h.doc.send(new PutCommand({ TableName: TABLE, Item: { ...keyFor(idOf(key)), ...item } }));
  },
  /** dynalite never fsyncs (see bench/README.md): its only put is already buffered. */
  async putBuffered(h, key, item) {
    await h.doc.send(new PutCommand({ TableName: TABLE, Item: { ...keyFor(idOf(key)), ...item } }));
  },
  async del(h, key) {
    await h.doc.send(new DeleteCommand({ TableName: TABLE, Key: keyFor(idOf(key)) }));
  },
  async compact() {},
  async close(h) {
    h.client.destroy();
    await new Promise((resolve) => h.server.close(resolve));
  },
};
