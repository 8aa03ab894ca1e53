/**
 * `Database`: one keystonedb database directory, opened from JavaScript. A database holds
 * tables; the methods on `Database` itself act on its default table, whose key is the string
 * attribute `pk` unless `Database.create(path, { schema })` says otherwise.
 */

import * as check from './check';
import { decodeItem, encodeItem, type Item, PackedWrites } from './codec';
import { describe } from './describe';
import { type CancellationReason, TransactionCanceledError, ValidationError } from './errors';
import type { DatabaseOptions, Health, OpenOptions, Stats, VerifyReport } from './options';
import type {
  BatchGetParams,
  BatchGetResult,
  BatchWriteParams,
  BatchWriteResult,
  Conditional,
  DeleteOptions,
  GetOptions,
  Page,
  PutOptions,
  QueryParams,
  ScanParams,
  TableDescription,
  TransactGetAction,
  TransactGetResult,
  TransactWriteAction,
  TransactWriteOptions,
  UpdateOptions,
  WriteOptions,
  WriteResult,
} from './params';
import type { DEFAULT_SCHEMA, KeyOf, TableSchema } from './schema';
import { Session } from './session';
import { Table } from './table';

type AnyKey = Record<string, unknown>;
const DEFAULT_TABLE = 'default';
/** DynamoDB's limits on one BatchGetItem and one BatchWriteItem. */
const MAX_BATCH_GET_KEYS = 100;
const MAX_BATCH_WRITE_REQUESTS = 25;

const ENGINE_OPTIONS = new Set([
  'durability',
  'syncIntervalMs',
  'walSegmentBytes',
  'memtableBudgetBytes',
  'blockSizeBytes',
  'bloomFalsePositiveRate',
  'compression',
  'blockCacheBytes',
  'maxOpenFiles',
  'targetFileBytes',
  'levelBaseBytes',
  'l0StopTrigger',
  'obsoleteFileRetentionMs',
  'compaction',
  'spinMicros',
]);
const COMPACTION_OPTIONS = new Set(['enabled', 'l0Trigger', 'checkIntervalMs', 'maxConcurrent']);

function checkKeys(o: object, known: Set<string>, where: string): void {
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw new ValidationError(`unknown option '${where}${k}'`);
  }
}

/** The engine's options, with misspelt names caught here rather than silently ignored. */
function nativeOptions(o: (OpenOptions & { schema?: unknown }) | undefined): DatabaseOptions | undefined {
  if (o === undefined) return undefined;
  if (typeof o !== 'object' || o === null) throw new ValidationError('options must be an object');
  if (Array.isArray(o)) throw new ValidationError('options must be an object, not an array');
  const { create, schema: _schema, ...engine } = o;
  check.optBool(create, 'create');
  checkKeys(engine, ENGINE_OPTIONS, '');
  const TB = 1e12;
  check.optEnum(engine.durability, 'durability', check.DURABILITIES);
  check.optInt(engine.syncIntervalMs, 'syncIntervalMs', 1, check.U32);
  check.optInt(engine.walSegmentBytes, 'walSegmentBytes', 4096, TB);
  check.optInt(engine.memtableBudgetBytes, 'memtableBudgetBytes', 64 * 1024, TB);
  check.optInt(engine.blockSizeBytes, 'blockSizeBytes', 256, check.U32);
  const fpr = engine.bloomFalsePositiveRate;
  if (fpr !== undefined && (typeof fpr !== 'number' || !(fpr > 0 && fpr < 1))) {
    throw new ValidationError(`bloomFalsePositiveRate must be between 0 and 1 (exclusive), not ${String(fpr)}`);
  }
  check.optEnum(engine.compression, 'compression', ['none', 'lz4', 'zstd'] as const);
  check.optInt(engine.blockCacheBytes, 'blockCacheBytes', 0, TB);
  check.optInt(engine.maxOpenFiles, 'maxOpenFiles', 1, check.U32);
  check.optInt(engine.targetFileBytes, 'targetFileBytes', 4096, TB);
  check.optInt(engine.levelBaseBytes, 'levelBaseBytes', 4096, TB);
  check.optInt(engine.l0StopTrigger, 'l0StopTrigger', 2, check.U32);
  check.optInt(engine.obsoleteFileRetentionMs, 'obsoleteFileRetentionMs', 0, 1e10);
  check.optInt(engine.spinMicros, 'spinMicros', 0, 10_000);
  if (engine.compaction !== undefined) {
    const c = check.object(engine.compaction, 'compaction options');
    checkKeys(c, COMPACTION_OPTIONS, 'compaction.');
    check.optBool(c.enabled, 'compaction.enabled');
    check.optInt(c.l0Trigger, 'compaction.l0Trigger', 1, check.U32);
    check.optInt(c.checkIntervalMs, 'compaction.checkIntervalMs', 1, check.U32);
    check.optInt(c.maxConcurrent, 'compaction.maxConcurrent', 1, 64);
  }
  return engine;
}

function nativeSchema(schema: TableSchema | undefined) {
  if (schema === undefined) return undefined;
  const bad = () => new ValidationError('a schema must come from TableSchema.builder()...build()');
  if (
    typeof schema !== 'object' ||
    schema === null ||
    typeof schema.partitionKey !== 'object' ||
    schema.partitionKey === null
  ) {
    throw bad();
  }
  const keyTypes = ['S', 'N', 'B'] as const;
  check.str(schema.partitionKey.name, 'the partition key name');
  check.optEnum(schema.partitionKey.type, 'the partition key type', keyTypes);
  if (schema.sortKey !== undefined) {
    if (typeof schema.sortKey !== 'object' || schema.sortKey === null) {
      throw new ValidationError('the sort key must be an object with name and type (use TableSchema.builder())');
    }
    check.str(schema.sortKey.name, 'the sort key name');
    check.optEnum(schema.sortKey.type, 'the sort key type', keyTypes);
  }
  return {
    partitionKey: { name: schema.partitionKey.name, type: schema.partitionKey.type },
    sortKey: schema.sortKey === undefined ? undefined : { name: schema.sortKey.name, type: schema.sortKey.type },
  };
}

/** A transactWrite action as the native side takes it. */
function transactAction(a: TransactWriteAction, i: number) {
  const common = (c: Conditional & { tableName?: string }) => ({
    table: check.optStr(check.object(c, `action ${i + 1}`).tableName, 'tableName') ?? DEFAULT_TABLE,
    conditionExpression: check.optStr(c.conditionExpression, 'conditionExpression'),
    names: check.names(c.expressionAttributeNames),
    values: c.expressionAttributeValues === undefined ? undefined : encodeItem(c.expressionAttributeValues),
    returnValuesOnConditionCheckFailure: check.optEnum(
      c.returnValuesOnConditionCheckFailure,
      'returnValuesOnConditionCheckFailure',
      ['NONE', 'ALL_OLD'] as const,
    ),
  });
  if (typeof a !== 'object' || a === null) throw new ValidationError(`action ${i + 1} must be an object`);
  if ('put' in a) return { ...common(a.put), kind: 'put' as const, data: encodeItem(a.put.item) };
  if ('update' in a) {
    return {
      ...common(a.update),
      kind: 'update' as const,
      data: encodeItem(a.update.key),
      updateExpression: a.update.updateExpression,
    };
  }
  if ('delete' in a) return { ...common(a.delete), kind: 'delete' as const, data: encodeItem(a.delete.key) };
  if ('conditionCheck' in a) {
    return { ...common(a.conditionCheck), kind: 'conditionCheck' as const, data: encodeItem(a.conditionCheck.key) };
  }
  throw new ValidationError(`action ${i + 1} needs one of put, update, delete, conditionCheck`);
}

function checkPath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ValidationError('the database path must be a non-empty string');
  }
  return path;
}

type DefaultSchema = typeof DEFAULT_SCHEMA;

export class Database<K extends AnyKey = KeyOf<DefaultSchema>> {
  readonly #session: Session;
  readonly #default: Table<K>;
  readonly path: string;

  private constructor(path: string, session: Session) {
    this.path = path;
    this.#session = session;
    this.#default = new Table<K>(session, DEFAULT_TABLE);
  }

  static async #open<S extends TableSchema>(
    path: string,
    mode: 'create' | 'open' | 'openOrCreate',
    options: (OpenOptions & { schema?: S }) | undefined,
  ): Promise<Database<KeyOf<S>>> {
    const p = checkPath(path);
    const engine = nativeOptions(options);
    const schema = nativeSchema(options?.schema);
    const session = await Session.open((n) => n.openDatabase(p, mode, engine, schema));
    return new Database<KeyOf<S>>(p, session);
  }

  /** Creates a database in `path`, which must not exist or be an empty directory. */
  static create<S extends TableSchema = DefaultSchema>(
    path: string,
    options?: DatabaseOptions & { schema?: S },
  ): Promise<Database<KeyOf<S>>> {
    return Database.#open(path, 'create', options);
  }

  /** Opens the database in `path`; with `{ create: true }`, creates it if there is none. */
  static open<S extends TableSchema = DefaultSchema>(
    path: string,
    options?: OpenOptions & { schema?: S },
  ): Promise<Database<KeyOf<S>>> {
    return Database.#open(path, options?.create === true ? 'openOrCreate' : 'open', options);
  }

  // The default table.

  put(item: Item & K, options?: PutOptions): Promise<WriteResult> {
    return this.#default.put(item, options);
  }
  get(key: K, options?: GetOptions): Promise<Item | undefined> {
    return this.#default.get(key, options);
  }
  getSync(key: K, options?: GetOptions): Item | undefined {
    return this.#default.getSync(key, options);
  }
  delete(key: K, options?: DeleteOptions): Promise<WriteResult> {
    return this.#default.delete(key, options);
  }
  update(key: K, options: UpdateOptions): Promise<WriteResult> {
    return this.#default.update(key, options);
  }
  query(params: QueryParams): Promise<Page> {
    return this.#default.query(params);
  }
  querySync(params: QueryParams): Page {
    return this.#default.querySync(params);
  }
  queryIterator(params: QueryParams): AsyncGenerator<Item, void, undefined> {
    return this.#default.queryIterator(params);
  }
  scan(params?: ScanParams): Promise<Page> {
    return this.#default.scan(params);
  }
  scanIterator(params?: ScanParams): AsyncGenerator<Item, void, undefined> {
    return this.#default.scanIterator(params);
  }

  // Tables.

  /** Creates a table; fails with `ResourceInUseError` if it exists. */
  async createTable<S extends TableSchema>(name: string, schema: S): Promise<Table<KeyOf<S>>> {
    check.str(name, 'the table name');
    const s = nativeSchema(schema);
    if (s === undefined) throw new ValidationError('createTable needs a schema');
    await this.#session.run((db) => db.createTable(name, s));
    return new Table<KeyOf<S>>(this.#session, name);
  }

  /** A handle on an existing table; operations fail with `ResourceNotFoundError` if it does not exist. */
  table<S extends TableSchema | AnyKey = AnyKey>(name: string): Table<S extends TableSchema ? KeyOf<S> : S> {
    this.#session.handle();
    check.str(name, 'the table name');
    return new Table(this.#session, name);
  }

  async listTables(): Promise<string[]> {
    return this.#session.runSync((db) => db.listTables());
  }

  async describeTable(name: string): Promise<TableDescription> {
    check.str(name, 'the table name');
    return describe(this.#session.runSync((db) => db.describeTable(name)));
  }

  /** Deletes a table and its items; fails with `ResourceNotFoundError` if it does not exist. */
  async deleteTable(name: string): Promise<void> {
    check.str(name, 'the table name');
    await this.#session.run((db) => db.deleteTable(name));
  }

  // Batches.

  /** Up to 100 keys across tables, read at one snapshot. */
  async batchGet(params: BatchGetParams): Promise<BatchGetResult> {
    check.object(params, 'batchGet parameters');
    check.optBool(params.wrapNumbers, 'wrapNumbers');
    const entries = Object.entries(check.object(params.requestItems, 'requestItems'));
    for (const [table, r] of entries) {
      check.object(r, `requestItems['${table}']`);
      check.array(r.keys, `requestItems['${table}'].keys`);
      check.optStr(r.projectionExpression, 'projectionExpression');
      check.names(r.expressionAttributeNames);
    }
    const total = entries.reduce((n, [, r]) => n + (r.keys?.length ?? 0), 0);
    if (total === 0) throw new ValidationError('batchGet needs at least one key');
    if (total > MAX_BATCH_GET_KEYS) {
      throw new ValidationError(`batchGet takes at most ${MAX_BATCH_GET_KEYS} keys, not ${total}`);
    }
    const requests = entries.map(([table, r]) => ({
      table,
      keys: r.keys.map((k) => encodeItem(k)),
      projectionExpression: r.projectionExpression,
      names: r.expressionAttributeNames,
    }));
    const out = await this.#session.run((db) => db.batchGet(requests));
    const responses: Record<string, Item[]> = {};
    entries.forEach(([table], i) => {
      // defineProperty: a table named "__proto__" stays a key of the result.
      const items = (out[i] ?? []).map((b) => decodeItem(b, params.wrapNumbers));
      Object.defineProperty(responses, table, { value: items, enumerable: true, writable: true, configurable: true });
    });
    return { responses, unprocessedKeys: {} };
  }

  /** Up to 25 puts and deletes across tables, applied atomically (all or none). */
  async batchWrite(params: BatchWriteParams, options?: WriteOptions): Promise<BatchWriteResult> {
    check.object(params, 'batchWrite parameters');
    check.optEnum(check.options(options, 'batchWrite options')?.durability, 'durability', check.DURABILITIES);
    const ops = new PackedWrites();
    for (const [table, requests] of Object.entries(check.object(params.requestItems, 'requestItems'))) {
      const missing = (i: number) => `requestItems['${table}'][${i}] needs putRequest or deleteRequest`;
      for (const r of check.array(requests, `requestItems['${table}']`, missing)) {
        check.object(r, `a write request of '${table}'`);
        if ('putRequest' in r) ops.add(table, true, r.putRequest.item);
        else if ('deleteRequest' in r) ops.add(table, false, r.deleteRequest.key);
        else throw new ValidationError('each write request needs putRequest or deleteRequest');
      }
    }
    if (ops.count === 0) throw new ValidationError('batchWrite needs at least one request');
    if (ops.count > MAX_BATCH_WRITE_REQUESTS) {
      throw new ValidationError(`batchWrite takes at most ${MAX_BATCH_WRITE_REQUESTS} requests, not ${ops.count}`);
    }
    const data = ops.bytes();
    await this.#session.run((db) => db.writeItems(ops.tables, data, true, options?.durability));
    return { unprocessedItems: {} };
  }

  // Transactions.

  /**
   * Up to 100 puts, updates, deletes and condition checks across tables, all applied or none.
   * A false condition cancels it with `TransactionCanceledError`, one reason per action.
   */
  async transactWrite(actions: TransactWriteAction[], options?: TransactWriteOptions): Promise<void> {
    if (!Array.isArray(actions)) throw new ValidationError('transactWrite takes an array of actions');
    check.array(actions, 'transactWrite actions', (i) => `transactWrite action ${i + 1} is missing`);
    const opts = check.options(options, 'transactWrite options');
    check.optStr(opts?.clientRequestToken, 'clientRequestToken');
    check.optEnum(opts?.durability, 'durability', check.DURABILITIES);
    const native = actions.map((a, i) => transactAction(a, i));
    const out = await this.#session.run((db) =>
      db.transactWrite(native, options?.clientRequestToken, options?.durability),
    );
    if (out.canceled) {
      throw new TransactionCanceledError(
        out.reasons.map((r) => {
          const reason: CancellationReason = { code: r.code };
          if (r.message !== undefined && r.message !== null) reason.message = r.message;
          if (r.item !== undefined && r.item !== null) reason.item = decodeItem(r.item);
          return reason;
        }),
      );
    }
  }

  /** Up to 100 items across tables, read at one snapshot. */
  async transactGet(actions: TransactGetAction[], options?: { wrapNumbers?: boolean }): Promise<TransactGetResult> {
    if (!Array.isArray(actions)) throw new ValidationError('transactGet takes an array of actions');
    check.array(actions, 'transactGet actions', (i) => `transactGet action ${i + 1} needs get`);
    check.optBool(check.options(options, 'transactGet options')?.wrapNumbers, 'wrapNumbers');
    const gets = actions.map((a, i) => {
      if (typeof a?.get !== 'object' || a.get === null)
        throw new ValidationError(`transactGet action ${i + 1} needs get`);
      check.optStr(a.get.projectionExpression, 'projectionExpression');
      check.names(a.get.expressionAttributeNames);
      return {
        table: check.optStr(a.get.tableName, 'tableName') ?? DEFAULT_TABLE,
        key: encodeItem(a.get.key),
        projectionExpression: a.get.projectionExpression,
        names: a.get.expressionAttributeNames,
      };
    });
    const out = await this.#session.run((db) => db.transactGet(gets));
    return { responses: out.map((b) => (b === null ? {} : { item: decodeItem(b, options?.wrapNumbers) })) };
  }

  // Maintenance.

  /** Writes every memtable to SST files now (the engine also does this by itself when one is full). */
  async flush(): Promise<void> {
    await this.#session.run((db) => db.flush());
  }

  /** Flushes, then compacts everything into one sorted run per table, dropping overwritten and deleted data. */
  async compact(): Promise<void> {
    await this.#session.run((db) => db.compact());
  }

  /**
   * Reads every SST file, the WAL segments recovery would replay and the MANIFEST, checking every
   * checksum; `problems` lists each damaged file (empty when all is well).
   */
  async verify(): Promise<VerifyReport> {
    return this.#session.run((db) => db.verify());
  }

  /** Files, sizes and compaction totals (see `Stats`). */
  stats(): Stats {
    return this.#session.runSync((db) => db.stats());
  }

  /** `'healthy'`, `'degraded'` (compaction behind, disk nearly full) or `'unhealthy'` (writes refused), with reasons. */
  health(): Health {
    return this.#session.runSync((db) => db.health());
  }

  /**
   * Closes this handle. Later calls reject with `ClosedError`; writes queued in this tick that
   * have not reached the engine are rejected with `ClosedError`; calls already running finish.
   * Closing twice is harmless.
   */
  async close(): Promise<void> {
    await this.#session.close();
  }

  /** False once `close()` was called. */
  get isOpen(): boolean {
    return this.#session.isOpen;
  }
}
