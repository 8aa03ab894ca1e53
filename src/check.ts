/**
 * Argument checks at the API's edge: a wrong type from JavaScript becomes a `ValidationError`
 * that names the argument, before anything reaches the native side (where a wrong type would
 * be an untyped conversion error, and a large number could be wrapped to 32 bits).
 */
import { ValidationError } from './errors';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' ? 'an object' : t === 'undefined' ? 'undefined' : `a ${t}`;
}

/** An options argument: absent, or a plain object. */
export function options<T extends object>(v: T | undefined, what: string): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as { then?: unknown }).then === 'function') {
    throw new ValidationError(`${what} must be a plain object, not ${describe(v)}`);
  }
  return v;
}

/** A required plain object. */
export function object<T extends object>(v: T, what: string): T {
  const o = options(v, what);
  if (o === undefined) throw new ValidationError(`${what} must be a plain object, not undefined`);
  return o;
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new ValidationError(`${what} must be a string, not ${describe(v)}`);
  return v;
}

export function optStr(v: unknown, what: string): string | undefined {
  return v === undefined ? undefined : str(v, what);
}

export function optBool(v: unknown, what: string): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean')
    throw new ValidationError(`${what} must be true or false, not ${describe(v)}`);
  return v;
}

/** An integer within `min..=max` (the native side takes 32-bit integers for some). */
export function optInt(v: unknown, what: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ValidationError(`${what} must be a whole number from ${min} to ${max}, not ${String(v)}`);
  }
  return v;
}

export function optEnum<T extends string>(v: unknown, what: string, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    const list = allowed.map((a) => `'${a}'`);
    const choices = `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
    throw new ValidationError(`${what} must be ${choices}, not ${typeof v === 'string' ? `'${v}'` : describe(v)}`);
  }
  return v as T;
}

/** `expressionAttributeNames`: placeholder → attribute name, all strings. */
export function names(v: unknown, what = 'expressionAttributeNames'): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  const o = object(v as object, what) as Record<string, unknown>;
  for (const [k, name] of Object.entries(o)) str(name, `${what}['${k}']`);
  return o as Record<string, string>;
}

/** An array argument with no holes; `missing(i)` says what a hole at `i` means. */
export function array<T>(v: T[], what: string, missing = (i: number) => `${what}[${i}] is missing`): T[] {
  if (!Array.isArray(v)) throw new ValidationError(`${what} must be an array, not ${describe(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (!(i in v) || v[i] === undefined || v[i] === null) throw new ValidationError(missing(i));
  }
  return v;
}

export const DURABILITIES = ['sync', 'buffered', 'none'] as const;
export const U32 = 0xffff_ffff;
/** The largest `limit` DynamoDB takes (a signed 32-bit integer). */
export const MAX_LIMIT = 0x7fff_ffff;
