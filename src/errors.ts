/**
 * Typed errors. Every error keystonedb raises is a `KeystoneError` with a stable `code`; branch on
 * the code (or `instanceof` a subclass), never on the message.
 *
 * The native binding reports errors as `"<Code>: <message>"` (see
 * `crates/keystonedb-node/src/error.rs`); `fromNative` turns that into the matching class.
 */

export type KeystoneErrorCode =
  | 'Validation'
  | 'ItemTooLarge'
  | 'AlreadyExists'
  | 'NotFound'
  | 'Locked'
  | 'Closed'
  | 'Corruption'
  | 'Io'
  | 'Poisoned'
  | 'ResourceNotFound'
  | 'ResourceInUse'
  | 'TransactionConflict'
  | 'ConditionalCheckFailed'
  | 'TransactionCanceled'
  | 'IdempotentParameterMismatch';

export class KeystoneError extends Error {
  readonly code: KeystoneErrorCode;

  constructor(code: KeystoneErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The request is malformed: a wrong key, a wrong type, a value past a limit. */
export class ValidationError extends KeystoneError {
  constructor(message: string) {
    super('Validation', message);
  }
}
/** The item is larger than DynamoDB's 400 KB. */
export class ItemTooLargeError extends KeystoneError {
  constructor(message: string) {
    super('ItemTooLarge', message);
  }
}
/** `Database.create` found a database (or other files) at the path. */
export class AlreadyExistsError extends KeystoneError {
  constructor(message: string) {
    super('AlreadyExists', message);
  }
}
/** `Database.open` found no database at the path. */
export class NotFoundError extends KeystoneError {
  constructor(message: string) {
    super('NotFound', message);
  }
}
/** Another process has the database open. */
export class LockedError extends KeystoneError {
  constructor(message: string) {
    super('Locked', message);
  }
}
/** The database was closed. */
export class ClosedError extends KeystoneError {
  constructor(message = 'the database is closed') {
    super('Closed', message);
  }
}
/** A checksum or structural check failed: data on disk is damaged. */
export class CorruptionError extends KeystoneError {
  constructor(message: string) {
    super('Corruption', message);
  }
}
/** The operating system refused a file operation. */
export class IoError extends KeystoneError {
  constructor(message: string) {
    super('Io', message);
  }
}
/** An fsync failed earlier; writes are refused until the database is reopened. */
export class PoisonedError extends KeystoneError {
  constructor(message: string) {
    super('Poisoned', message);
  }
}

/** The table does not exist. */
export class ResourceNotFoundError extends KeystoneError {
  constructor(message: string) {
    super('ResourceNotFound', message);
  }
}
/** The table already exists. */
export class ResourceInUseError extends KeystoneError {
  constructor(message: string) {
    super('ResourceInUse', message);
  }
}
/** The item kept changing under a read-modify-write; nothing was written. */
export class TransactionConflictError extends KeystoneError {
  constructor(message: string) {
    super('TransactionConflict', message);
  }
}

/** A condition expression was false; nothing was written. */
export class ConditionalCheckFailedError extends KeystoneError {
  /** The item as it was, if `returnValuesOnConditionCheckFailure: 'ALL_OLD'` asked for it. */
  readonly item?: Record<string, unknown>;

  constructor(message = 'The conditional request failed', item?: Record<string, unknown>) {
    super('ConditionalCheckFailed', message);
    if (item !== undefined) this.item = item;
  }
}

/** Why one action of a canceled transaction failed. */
export interface CancellationReason {
  /** 'None' (this action was fine), 'ConditionalCheckFailed' or 'ValidationError'. */
  code: string;
  message?: string;
  item?: Record<string, unknown>;
}

/** A transaction was canceled; nothing of it was written. One reason per action, in order. */
export class TransactionCanceledError extends KeystoneError {
  readonly cancellationReasons: CancellationReason[];

  constructor(reasons: CancellationReason[]) {
    super(
      'TransactionCanceled',
      `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.code).join(', ')}]`,
    );
    this.cancellationReasons = reasons;
  }
}

/** A clientRequestToken was reused for a different transaction within 10 minutes. */
export class IdempotentParameterMismatchError extends KeystoneError {
  constructor(message: string) {
    super('IdempotentParameterMismatch', message);
  }
}

const classes: Record<string, (message: string) => KeystoneError> = {
  Validation: (m) => new ValidationError(m),
  ItemTooLarge: (m) => new ItemTooLargeError(m),
  AlreadyExists: (m) => new AlreadyExistsError(m),
  NotFound: (m) => new NotFoundError(m),
  Locked: (m) => new LockedError(m),
  Closed: (m) => new ClosedError(m),
  Corruption: (m) => new CorruptionError(m),
  Io: (m) => new IoError(m),
  Poisoned: (m) => new PoisonedError(m),
  ResourceNotFound: (m) => new ResourceNotFoundError(m),
  ResourceInUse: (m) => new ResourceInUseError(m),
  TransactionConflict: (m) => new TransactionConflictError(m),
  IdempotentParameterMismatch: (m) => new IdempotentParameterMismatchError(m),
};

/** Maps an error thrown by the native binding to a `KeystoneError`; other errors pass through. */
export function fromNative(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof KeystoneError) return err;
  const m = /^(\w+): ([\s\S]*)$/.exec(err.message);
  const make = m?.[1] !== undefined ? classes[m[1]] : undefined;
  if (m === null || make === undefined) {
    // napi-rs's own argument conversion errors (a wrong type that got past the checks in
    // check.ts): still the caller's mistake, so still a ValidationError.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && (/Expected$/.test(code) || code === 'InvalidArg')) {
      return new ValidationError(`invalid argument: ${err.message}`);
    }
    return err;
  }
  return make(m[2] ?? '');
}
