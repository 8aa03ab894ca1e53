/**
 * keystonedb: an embedded, DynamoDB-style database for Node.js.
 *
 * This file is the public surface: what it exports is the API, and nothing else is.
 */
export type { AttributeValue, Item } from './src/codec';
export { Database } from './src/database';
export type { CancellationReason, KeystoneErrorCode } from './src/errors';
export {
  AlreadyExistsError,
  ClosedError,
  ConditionalCheckFailedError,
  CorruptionError,
  IdempotentParameterMismatchError,
  IoError,
  ItemTooLargeError,
  KeystoneError,
  LockedError,
  NotFoundError,
  PoisonedError,
  ResourceInUseError,
  ResourceNotFoundError,
  TransactionCanceledError,
  TransactionConflictError,
  ValidationError,
} from './src/errors';
export { NumberValue } from './src/number';
export type {
  CompactionOptions,
  DatabaseOptions,
  Durability,
  Health,
  OpenOptions,
  Stats,
  VerifyReport,
} from './src/options';
export type {
  BatchGetParams,
  BatchGetResult,
  BatchWriteParams,
  BatchWriteResult,
  Conditional,
  DeleteOptions,
  ExpressionAttributes,
  GetOptions,
  Page,
  PutOptions,
  QueryParams,
  ReturnValues,
  ScanParams,
  TableDescription,
  TransactGetAction,
  TransactGetResult,
  TransactWriteAction,
  TransactWriteOptions,
  UpdateOptions,
  WriteOptions,
  WriteRequest,
  WriteResult,
} from './src/params';
export type { DefaultKey, KeyOf, KeyType, KeyValue } from './src/schema';
export { TableSchema } from './src/schema';
export { Table } from './src/table';
