/** Request and result shapes of item operations: DynamoDB's parameter names, in camelCase. */
import type { AttributeValue, Item } from './codec';
import type { Durability } from './options';

export interface ExpressionAttributes {
  /** Substitutes for attribute names in expressions: `{ '#n': 'name' }`. */
  expressionAttributeNames?: Record<string, string>;
  /** Values used in expressions: `{ ':v': 42 }`. */
  expressionAttributeValues?: Record<string, AttributeValue>;
}

export interface ReadOptions {
  /** Return every number as a `NumberValue`, not only those a double cannot hold exactly. */
  wrapNumbers?: boolean;
}

export interface GetOptions extends ReadOptions {
  /** The attributes to return, e.g. `'name, address.city, tags[0]'`. */
  projectionExpression?: string;
  expressionAttributeNames?: Record<string, string>;
  /** Accepted for DynamoDB compatibility; every read here is strongly consistent. */
  consistentRead?: boolean;
}

export type ReturnValues = 'NONE' | 'ALL_OLD' | 'UPDATED_OLD' | 'ALL_NEW' | 'UPDATED_NEW';

export interface WriteOptions {
  /** Durability of this write; defaults to the database's. */
  durability?: Durability;
}

export interface Conditional extends ExpressionAttributes {
  /** Write only if this holds on the current item (a missing item has no attributes). */
  conditionExpression?: string;
  /** `'ALL_OLD'` puts the current item on the `ConditionalCheckFailedError` when the condition fails. */
  returnValuesOnConditionCheckFailure?: 'NONE' | 'ALL_OLD';
}

export interface PutOptions extends WriteOptions, ReadOptions, Conditional {
  /** `'ALL_OLD'` returns the item this put replaced. */
  returnValues?: 'NONE' | 'ALL_OLD';
}

export interface DeleteOptions extends WriteOptions, ReadOptions, Conditional {
  /** `'ALL_OLD'` returns the item this delete removed. */
  returnValues?: 'NONE' | 'ALL_OLD';
}

export interface UpdateOptions extends WriteOptions, ReadOptions, Conditional {
  /** e.g. `'SET #n = :name, visits = visits + :one REMOVE tmp'`. */
  updateExpression: string;
  returnValues?: ReturnValues;
}

interface TransactTarget {
  /** The table; the default table if omitted. */
  tableName?: string;
}

/** One action of `transactWrite`, in DynamoDB's TransactItems shape. */
export type TransactWriteAction =
  | { put: TransactTarget & Conditional & { item: Item } }
  | { update: TransactTarget & Conditional & { key: Item; updateExpression: string } }
  | { delete: TransactTarget & Conditional & { key: Item } }
  | { conditionCheck: TransactTarget & Conditional & { key: Item; conditionExpression: string } };

export interface TransactWriteOptions extends WriteOptions {
  /** Makes the transaction idempotent for 10 minutes (1 to 36 characters). */
  clientRequestToken?: string;
}

export type TransactGetAction = {
  get: TransactTarget & { key: Item; projectionExpression?: string; expressionAttributeNames?: Record<string, string> };
};

export interface TransactGetResult {
  /** One entry per action, in order; `item` is absent for a missing item. */
  responses: { item?: Item }[];
}

export interface WriteResult {
  /** The attributes `returnValues` asked for, if any. */
  attributes?: Item;
}

export interface QueryParams extends ExpressionAttributes, ReadOptions {
  /** Partition key equality, optionally with one sort key condition: `'pk = :p AND sk BETWEEN :a AND :b'`. */
  keyConditionExpression: string;
  filterExpression?: string;
  projectionExpression?: string;
  /** false reads the partition in descending sort-key order. Default true. */
  scanIndexForward?: boolean;
  /** Items to evaluate (before the filter), at most. */
  limit?: number;
  /** Resume after this key: a previous page's `lastEvaluatedKey`. */
  exclusiveStartKey?: Item;
  select?: 'ALL_ATTRIBUTES' | 'SPECIFIC_ATTRIBUTES' | 'COUNT';
}

export interface ScanParams extends ExpressionAttributes, ReadOptions {
  filterExpression?: string;
  projectionExpression?: string;
  limit?: number;
  exclusiveStartKey?: Item;
  /** This worker's segment of a parallel scan, 0 ≤ segment < totalSegments. */
  segment?: number;
  /** How many segments the table is divided into (1 to 1,000,000). */
  totalSegments?: number;
  select?: 'ALL_ATTRIBUTES' | 'SPECIFIC_ATTRIBUTES' | 'COUNT';
}

/** One page of a Query or Scan. */
export interface Page {
  items: Item[];
  /** Items returned (after the filter). */
  count: number;
  /** Items evaluated (before the filter). */
  scannedCount: number;
  /** Present when there may be more: pass it as `exclusiveStartKey` for the next page. */
  lastEvaluatedKey?: Item;
}

export interface TableDescription {
  tableName: string;
  keySchema: {
    partitionKey: { name: string; type: 'S' | 'N' | 'B' };
    sortKey?: { name: string; type: 'S' | 'N' | 'B' };
  };
  creationDateTime: Date;
}

export type WriteRequest = { putRequest: { item: Item } } | { deleteRequest: { key: Item } };

export interface BatchWriteParams {
  requestItems: Record<string, WriteRequest[]>;
}

export interface BatchWriteResult {
  /** Always empty here: every request is applied (atomically, in one commit). */
  unprocessedItems: Record<string, WriteRequest[]>;
}

export interface BatchGetParams extends ReadOptions {
  requestItems: Record<
    string,
    { keys: Item[]; projectionExpression?: string; expressionAttributeNames?: Record<string, string> }
  >;
}

export interface BatchGetResult {
  responses: Record<string, Item[]>;
  /** Always empty here: every key is read. */
  unprocessedKeys: Record<string, { keys: Item[] }>;
}
