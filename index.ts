/**
 * keystonedb: an embedded, DynamoDB-style database for Node.js.
 *
 * This file is the public surface: what it exports is the API, and nothing else is.
 */

export type { AttributeValue, Item } from './src/codec';
export type { DefaultKey } from './src/database';
export { Database } from './src/database';
export type { KeystoneErrorCode } from './src/errors';
export {
  AlreadyExistsError,
  ClosedError,
  CorruptionError,
  IoError,
  ItemTooLargeError,
  KeystoneError,
  LockedError,
  NotFoundError,
  PoisonedError,
  ValidationError,
} from './src/errors';
export type {
  CompactionOptions,
  DatabaseOptions,
  Durability,
  Health,
  OpenOptions,
  Stats,
  WriteOptions,
} from './src/options';
