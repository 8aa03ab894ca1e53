/**
 * `NumberValue`: a DynamoDB number kept exactly, as its decimal text. DynamoDB numbers have up to
 * 38 significant digits; a JavaScript `number` holds about 15–17. keystonedb returns a plain
 * `number` when the stored text converts to one exactly, and a `NumberValue` otherwise (or
 * always, with `wrapNumbers: true`). Write one to store a number no `number` can hold.
 * Mirrors `NumberValue` of the AWS SDK's DocumentClient.
 */
import { ValidationError } from './errors';

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export class NumberValue {
  /** The number's decimal text. */
  readonly value: string;

  constructor(value: string | number | bigint) {
    const text = typeof value === 'string' ? value.trim() : String(value);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ValidationError(`${value} is not a number DynamoDB can store`);
    }
    if (!NUMBER_TEXT.test(text)) throw new ValidationError(`"${text}" is not a decimal number`);
    this.value = text;
  }

  static from(value: string | number | bigint): NumberValue {
    return new NumberValue(value);
  }

  toString(): string {
    return this.value;
  }

  toJSON(): string {
    return this.value;
  }

  /** The nearest double (may round). */
  toNumber(): number {
    return Number(this.value);
  }

  /** The value as a bigint; throws if it is not an integer. */
  toBigInt(): bigint {
    if (!/^[+-]?\d+$/.test(this.value)) throw new RangeError(`${this.value} is not an integer`);
    return BigInt(this.value);
  }
}

/**
 * A stored number as JavaScript gets it back: a `number` if the text converts to one and back
 * without changing its value, else a `NumberValue`.
 */
export function numberFromText(text: string, wrap: boolean): number | NumberValue {
  if (wrap) return new NumberValue(text);
  const n = Number(text);
  // Stored numbers are canonical text, which for most doubles is exactly String(n).
  if (String(n) === text) return n;
  return Number.isFinite(n) && sameDecimal(String(n), text) ? n : new NumberValue(text);
}

/** Whether two decimal texts denote the same value ("1.50" and "1.5", "1e2" and "100"). */
function sameDecimal(a: string, b: string): boolean {
  return normalize(a) === normalize(b);
}

/** Sign, significant digits and exponent of a decimal text, as one comparable string. */
function normalize(text: string): string {
  const m = /^([+-]?)(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m === null) return text;
  const sign = m[1] === '-' ? '-' : '';
  const intPart = m[2] ?? '';
  const frac = m[3] ?? '';
  let digits = intPart + frac;
  let exp = Number(m[4] ?? 0) + intPart.length;
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead);
  exp -= lead;
  digits = digits.replace(/0+$/, '');
  if (digits === '') return '0';
  return `${sign}${digits}e${exp}`;
}
