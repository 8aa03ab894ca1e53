/**
 * `Table`: item operations on one table, in DynamoDB's shapes. `K` is the table's key type,
 * inferred from its schema (see schema.ts), so a wrong key shape is a compile error.
 */

import * as check from './check';
import {
  decodeItem,
  decodeItems,
  encodeItem,
  encodeTransient,
  encodeTransientLength,
  type Item,
  transientBuffer,
} from './codec';
import { describe as describeNative } from './describe';
import { ConditionalCheckFailedError, ValidationError } from './errors';
import type { TableReader } from './native';
import type {
  DeleteOptions,
  ExpressionAttributes,
  GetOptions,
  Page,
  PutOptions,
  QueryParams,
  ScanParams,
  TableDescription,
  UpdateOptions,
  WriteResult,
} from './params';
import type { Session } from './session';
import { PrefixViews } from './views';

/**
 * `getSync` and `querySync` copy the item (the page) into this buffer rather than receiving a new
 * one per call; it grows to the largest read. Decoding copies everything out of it, so reuse is
 * safe.
 */
let scratch = Buffer.allocUnsafeSlow(16 * 1024);
/** `getSync`'s views of the item in `scratch` (`views.ts`). */
const scratchViews = new PrefixViews();

type AnyKey = Record<string, unknown>;

/** Expression attribute values cross as one encoded item whose attribute names are the placeholders. */
function encodeValues(e: ExpressionAttributes): Buffer | undefined {
  return e.expressionAttributeValues === undefined ? undefined : encodeItem(e.expressionAttributeValues);
}

/** Plain puts and deletes take the per-tick group; the rest need a call of their own. */
function needsNative(o: PutOptions | DeleteOptions | undefined): boolean {
  return (
    o !== undefined &&
    ((o.returnValues !== undefined && o.returnValues !== 'NONE') || o.conditionExpression !== undefined)
  );
}

const RETURN_OLD = ['NONE', 'ALL_OLD'] as const;
const ALL_RETURN_VALUES = ['NONE', 'ALL_OLD', 'UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW'] as const;
const SELECT = ['ALL_ATTRIBUTES', 'SPECIFIC_ATTRIBUTES', 'COUNT'] as const;

/** Checks the options of a put or delete, whichever path it takes. */
function checkWrite<T extends PutOptions | DeleteOptions>(o: T | undefined, what: string): T | undefined {
  const opts = check.options(o, `${what} options`);
  if (opts === undefined) return undefined;
  check.optEnum(opts.returnValues, 'returnValues', RETURN_OLD);
  check.optStr(opts.conditionExpression, 'conditionExpression');
  check.names(opts.expressionAttributeNames);
  check.optEnum(opts.returnValuesOnConditionCheckFailure, 'returnValuesOnConditionCheckFailure', RETURN_OLD);
  check.optEnum(opts.durability, 'durability', check.DURABILITIES);
  check.optBool(opts.wrapNumbers, 'wrapNumbers');
  return opts;
}

function checkGet(o: GetOptions | undefined): GetOptions | undefined {
  const opts = check.options(o, 'get options');
  if (opts === undefined) return undefined;
  check.optStr(opts.projectionExpression, 'projectionExpression');
  check.names(opts.expressionAttributeNames);
  check.optBool(opts.consistentRead, 'consistentRead');
  check.optBool(opts.wrapNumbers, 'wrapNumbers');
  return opts;
}

function writeParams(o: PutOptions | DeleteOptions) {
  return {
    returnValues: o.returnValues,
    conditionExpression: o.conditionExpression,
    names: o.expressionAttributeNames,
    values: encodeValues(o),
    returnValuesOnConditionCheckFailure: o.returnValuesOnConditionCheckFailure,
    durability: o.durability,
  };
}

/** The result of a put, delete or update; a failed condition throws. */
function outcome(o: { conditionFailed: boolean; attributes?: Buffer | null }, wrap: boolean | undefined): WriteResult {
  const attributes = o.attributes === undefined || o.attributes === null ? undefined : decodeItem(o.attributes, wrap);
  if (o.conditionFailed) throw new ConditionalCheckFailedError(undefined, attributes);
  return attributes === undefined ? {} : { attributes };
}

function checkLimit(limit: unknown): number | undefined {
  return check.optInt(limit, 'limit', 1, check.MAX_LIMIT);
}

/** What Query and Scan share. */
function checkRead(p: QueryParams | ScanParams) {
  check.optStr(p.filterExpression, 'filterExpression');
  check.optStr(p.projectionExpression, 'projectionExpression');
  check.names(p.expressionAttributeNames);
  check.optEnum(p.select, 'select', SELECT);
  check.optBool(p.wrapNumbers, 'wrapNumbers');
  if (p.exclusiveStartKey !== undefined) check.object(p.exclusiveStartKey, 'exclusiveStartKey');
}

function toPage(
  p: { count: number; scannedCount: number; lastEvaluatedKey?: Buffer | null },
  items: Buffer,
  wrap: boolean,
): Page {
  const page: Page = { items: decodeItems(items, wrap), count: p.count, scannedCount: p.scannedCount };
  if (p.lastEvaluatedKey !== undefined && p.lastEvaluatedKey !== null) {
    page.lastEvaluatedKey = decodeItem(p.lastEvaluatedKey, wrap);
  }
  return page;
}

function queryParams(p: QueryParams) {
  check.object(p, 'query parameters (with keyConditionExpression)');
  if (typeof p.keyConditionExpression !== 'string') throw new ValidationError('query needs keyConditionExpression');
  checkRead(p);
  check.optBool(p.scanIndexForward, 'scanIndexForward');
  return {
    keyConditionExpression: p.keyConditionExpression,
    filterExpression: p.filterExpression,
    projectionExpression: p.projectionExpression,
    names: p.expressionAttributeNames,
    values: encodeValues(p),
    scanIndexForward: p.scanIndexForward,
    limit: checkLimit(p.limit),
    exclusiveStartKey: p.exclusiveStartKey === undefined ? undefined : encodeItem(p.exclusiveStartKey),
    select: p.select,
  };
}

function scanParams(p: ScanParams) {
  check.object(p, 'scan parameters');
  checkRead(p);
  check.optInt(p.segment, 'segment', 0, 999_999);
  check.optInt(p.totalSegments, 'totalSegments', 1, 1_000_000);
  return {
    filterExpression: p.filterExpression,
    projectionExpression: p.projectionExpression,
    names: p.expressionAttributeNames,
    values: encodeValues(p),
    limit: checkLimit(p.limit),
    exclusiveStartKey: p.exclusiveStartKey === undefined ? undefined : encodeItem(p.exclusiveStartKey),
    segment: p.segment,
    totalSegments: p.totalSegments,
    select: p.select,
  };
}

export class Table<K extends AnyKey = AnyKey> {
  readonly #session: Session;
  readonly name: string;
  /** This table's reader for `getSync` without projection, made on first use. */
  #reader: TableReader | undefined;
  /** The buffers bound to `#reader` last (`bindReadBuffers`). */
  #boundKey: Buffer | undefined;
  #boundOut: Buffer | undefined;

  /** @internal Use `db.table(name)` or `db.createTable(name, schema)`. */
  constructor(session: Session, name: string) {
    this.#session = session;
    this.name = check.str(name, 'the table name');
  }

  /**
   * Stores `item`, replacing any item with the same key; with `conditionExpression`, only if it
   * holds (else `ConditionalCheckFailedError`). Plain puts issued in one tick commit together.
   */
  put(item: Item & K, options?: PutOptions): Promise<WriteResult> {
    return this.#write(true, item, options);
  }

  /**
   * A put or delete. Not async: a plain one returns the queued write's own promise (see
   * `queueWrite`), and errors still come back as a rejected promise, never thrown.
   */
  #write(put: boolean, item: unknown, options: PutOptions | DeleteOptions | undefined): Promise<WriteResult> {
    try {
      checkWrite(options, put ? 'put' : 'delete');
      if (!needsNative(options)) return this.#session.queueWrite(this.name, put, item, options?.durability);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#writeNative(put, item, options);
  }

  /** A put or delete with a condition or return values: its own engine call. */
  async #writeNative(
    put: boolean,
    item: unknown,
    options: PutOptions | DeleteOptions | undefined,
  ): Promise<WriteResult> {
    const data = encodeItem(item);
    const params = writeParams(options ?? {});
    const out = await this.#session.run((db) =>
      put ? db.put(this.name, data, params) : db.delete(this.name, data, params),
    );
    return outcome(out, options?.wrapNumbers);
  }

  /** The item with `key`, or `undefined`. */
  async get(key: K, options?: GetOptions): Promise<Item | undefined> {
    checkGet(options);
    const data = encodeItem(key);
    const out = await this.#session.run((db) =>
      db.get(this.name, data, options?.projectionExpression, options?.expressionAttributeNames),
    );
    return out === null ? undefined : decodeItem(out, options?.wrapNumbers);
  }

  /** `get` on the calling thread: faster for data in memory, and it blocks while reading disk. */
  getSync(key: K, options?: GetOptions): Item | undefined {
    checkGet(options);
    if (options?.projectionExpression === undefined && options?.expressionAttributeNames === undefined) {
      return this.#readSync(key, options?.wrapNumbers);
    }
    const data = encodeTransient(key);
    for (;;) {
      const out = scratch;
      const n = this.#session.runSync((db) =>
        db.getSync(this.name, data, out, options?.projectionExpression, options?.expressionAttributeNames),
      );
      if (n < 0) return undefined;
      if (n <= out.length) return decodeItem(scratchViews.of(out, n), options?.wrapNumbers);
      // Larger than the scratch buffer: nothing was copied; grow it and read again.
      scratch = Buffer.allocUnsafeSlow(n);
    }
  }

  /**
   * `getSync` without projection: the key is encoded into the transient buffer and the item
   * copied into `scratch`, both bound to this table's reader, so the call passes only the key's
   * length (`readBoundItem` in `reader.rs`).
   */
  #readSync(key: K, wrapNumbers: boolean | undefined): Item | undefined {
    const keyLength = encodeTransientLength(key);
    const reader = this.#tableReader();
    for (;;) {
      const out = scratch;
      const keyBuffer = transientBuffer();
      if (this.#boundKey !== keyBuffer || this.#boundOut !== out) {
        this.#session.bindReadBuffers(reader, keyBuffer, out);
        this.#boundKey = keyBuffer;
        this.#boundOut = out;
      }
      const n = this.#session.readBoundItem(reader, keyLength);
      if (n < 0) return undefined;
      if (n <= out.length) return decodeItem(scratchViews.of(out, n), wrapNumbers);
      // Larger than the scratch buffer: nothing was copied; grow it and read again.
      scratch = Buffer.allocUnsafeSlow(n);
    }
  }

  #tableReader(): TableReader {
    if (this.#reader === undefined) this.#reader = this.#session.tableReader(this.name);
    return this.#reader;
  }

  /** Deletes the item with `key` (a missing item is not an error); optionally only if a condition holds. */
  delete(key: K, options?: DeleteOptions): Promise<WriteResult> {
    return this.#write(false, key, options);
  }

  /** Applies an update expression to the item with `key` (creating it if missing), atomically. */
  async update(key: K, options: UpdateOptions): Promise<WriteResult> {
    check.object(options, 'update options (with updateExpression)');
    if (typeof options.updateExpression !== 'string') throw new ValidationError('update needs updateExpression');
    check.optStr(options.conditionExpression, 'conditionExpression');
    check.names(options.expressionAttributeNames);
    check.optEnum(options.returnValues, 'returnValues', ALL_RETURN_VALUES);
    check.optEnum(options.returnValuesOnConditionCheckFailure, 'returnValuesOnConditionCheckFailure', RETURN_OLD);
    check.optEnum(options.durability, 'durability', check.DURABILITIES);
    const data = encodeItem(key);
    const params = {
      updateExpression: options.updateExpression,
      conditionExpression: options.conditionExpression,
      names: options.expressionAttributeNames,
      values: encodeValues(options),
      returnValues: options.returnValues,
      returnValuesOnConditionCheckFailure: options.returnValuesOnConditionCheckFailure,
      durability: options.durability,
    };
    const out = await this.#session.run((db) => db.update(this.name, data, params));
    return outcome(out, options.wrapNumbers);
  }

  /** One page of the items of one partition, in sort-key order. */
  async query(params: QueryParams): Promise<Page> {
    const p = queryParams(params);
    const page = await this.#session.run((db) => db.query(this.name, p));
    return toPage(page, page.items, params.wrapNumbers === true);
  }

  /** `query` on the calling thread. */
  querySync(params: QueryParams): Page {
    const p = queryParams(params);
    const out = scratch;
    const page = this.#session.runSync((db) => db.querySync(this.name, p, out));
    // The items are in the scratch buffer unless they did not fit; then it grows for next time.
    const items = page.items ?? out.subarray(0, page.itemsLength);
    if (page.items) scratch = Buffer.allocUnsafeSlow(page.items.length);
    return toPage(page, items, params.wrapNumbers === true);
  }

  /** Every item a query matches, page after page. */
  async *queryIterator(params: QueryParams): AsyncGenerator<Item, void, undefined> {
    queryParams(params);
    let start = params.exclusiveStartKey;
    do {
      const page = await this.query({ ...params, exclusiveStartKey: start });
      yield* page.items;
      start = page.lastEvaluatedKey;
    } while (start !== undefined);
  }

  /** One page of the table (or of one segment of it), in no particular order. */
  async scan(params: ScanParams = {}): Promise<Page> {
    const p = scanParams(params);
    const page = await this.#session.run((db) => db.scan(this.name, p));
    return toPage(page, page.items, params.wrapNumbers === true);
  }

  /** Every item a scan matches, page after page. */
  async *scanIterator(params: ScanParams = {}): AsyncGenerator<Item, void, undefined> {
    scanParams(params);
    let start = params.exclusiveStartKey;
    do {
      const page = await this.scan({ ...params, exclusiveStartKey: start });
      yield* page.items;
      start = page.lastEvaluatedKey;
    } while (start !== undefined);
  }

  /** The table's name, key schema and creation time. */
  describe(): TableDescription {
    return describeNative(this.#session.runSync((db) => db.describeTable(this.name)));
  }
}
