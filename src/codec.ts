/**
 * The item codec, JavaScript side: items are encoded to one buffer before they cross into Rust
 * and decoded from one buffer on the way back. The byte layout is documented at the top of
 * `crates/keystone-core/src/item.rs` and in `docs/format.md`; both sides must agree.
 *
 * JavaScript values map to DynamoDB types as the AWS DocumentClient maps them.
 */
import { ValidationError } from './errors';
import { NumberValue, numberFromText } from './number';
import { builderOf, byStores, type Make } from './shapes';
import { PrefixViews } from './views';

/** A value DynamoDB can store, as plain JavaScript. */
export type AttributeValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Uint8Array
  | NumberValue
  | AttributeValue[]
  | { [name: string]: AttributeValue }
  | Set<string>
  | Set<number>
  | Set<bigint>
  | Set<NumberValue>
  | Set<Uint8Array>;

/** An item: attribute names to values, key attributes included. */
export type Item = Record<string, AttributeValue>;

const ITEM_FORMAT_VERSION = 1;
/** DynamoDB nests documents at most 32 levels deep. */
const MAX_DEPTH = 32;

const T_S = 0x01;
const T_N = 0x02;
const T_B = 0x03;
const T_FALSE = 0x04;
const T_TRUE = 0x05;
const T_NULL = 0x06;
const T_M = 0x07;
const T_L = 0x08;
const T_SS = 0x09;
const T_NS = 0x0a;
const T_BS = 0x0b;

class Writer {
  buf = Buffer.allocUnsafe(256);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  varint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  string(s: string): void {
    const len = s.length;
    if (len < 43) {
      // At most 126 UTF-8 bytes: the length fits one varint byte, written before the text.
      this.ensure(1 + len * 3);
      const buf = this.buf;
      const start = this.pos + 1;
      // ASCII is copied here: cheaper than a call into the UTF-8 encoder for a short string.
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[start + i] = c;
      }
      if (i !== len) wellFormed(s);
      const n = i === len ? len : buf.utf8Write(s, start);
      buf[this.pos] = n;
      this.pos = start + n;
      return;
    }
    wellFormed(s);
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.utf8Write(s, this.pos);
  }

  /**
   * A safe integer's decimal text (what `String(n)` gives), as a length-prefixed string,
   * without creating the string.
   */
  integer(n: number): void {
    this.ensure(18);
    const buf = this.buf;
    let pos = this.pos + 1;
    if (n < 0) {
      buf[pos++] = 0x2d;
      n = -n;
    }
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    pos += digits;
    for (let i = 1; i <= digits; i++) {
      const q = Math.floor(n / 10);
      buf[pos - i] = 0x30 + (n - q * 10);
      n = q;
    }
    buf[this.pos] = pos - this.pos - 1;
    this.pos = pos;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** UTF-8 cannot hold a lone UTF-16 surrogate; encoding one would silently turn it into U+FFFD. */
function wellFormed(s: string): void {
  if (!(s as string & { isWellFormed(): boolean }).isWellFormed()) {
    throw new ValidationError('a string holds an unpaired UTF-16 surrogate, which cannot be stored as UTF-8');
  }
}

// Node's Buffer has these at runtime; @types/node does not declare them.
declare global {
  interface Buffer {
    utf8Write(s: string, offset: number): number;
    utf8Slice(start: number, end: number): string;
    latin1Slice(start: number, end: number): string;
  }
}

function numberText(n: number | bigint, path: string): string {
  if (typeof n === 'bigint') return n.toString();
  if (!Number.isFinite(n)) throw new ValidationError(`${path}: ${n} is not a number DynamoDB can store`);
  return String(n);
}

function isPlainObject(v: object): v is Record<string, AttributeValue> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function encodeSet(w: Writer, set: Set<unknown>, path: string): void {
  if (set.size === 0) throw new ValidationError(`${path}: an empty set cannot be stored (DynamoDB rejects empty sets)`);
  const first = set.values().next().value;
  if (typeof first === 'string') {
    w.byte(T_SS);
    w.varint(set.size);
    for (const m of set) {
      if (typeof m !== 'string') throw new ValidationError(`${path}: a string set holds a ${typeof m}`);
      w.string(m);
    }
  } else if (typeof first === 'number' || typeof first === 'bigint' || first instanceof NumberValue) {
    w.byte(T_NS);
    w.varint(set.size);
    for (const m of set) {
      if (m instanceof NumberValue) w.string(m.value);
      else if (typeof m === 'number' || typeof m === 'bigint') w.string(numberText(m, path));
      else throw new ValidationError(`${path}: a number set holds a ${typeof m}`);
    }
  } else if (first instanceof Uint8Array) {
    w.byte(T_BS);
    w.varint(set.size);
    for (const m of set) {
      if (!(m instanceof Uint8Array)) throw new ValidationError(`${path}: a binary set holds a non-binary member`);
      w.bytes(m);
    }
  } else {
    throw new ValidationError(`${path}: sets may hold strings, numbers or binaries only`);
  }
}

function encodeMap(w: Writer, obj: Record<string, unknown>, path: string, depth: number): void {
  const names = Object.keys(obj);
  w.varint(names.length);
  for (const name of names) {
    w.string(name);
    encodeValue(w, obj[name], path === '' ? name : `${path}.${name}`, depth);
  }
}

function encodeValue(w: Writer, v: unknown, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new ValidationError(`${path}: nesting is deeper than ${MAX_DEPTH} levels`);
  switch (typeof v) {
    case 'string':
      w.byte(T_S);
      w.string(v);
      return;
    case 'number':
      w.byte(T_N);
      if (Number.isSafeInteger(v)) w.integer(v);
      else w.string(numberText(v, path));
      return;
    case 'bigint':
      w.byte(T_N);
      w.string(numberText(v, path));
      return;
    case 'boolean':
      w.byte(v ? T_TRUE : T_FALSE);
      return;
    case 'object':
      if (v === null) {
        w.byte(T_NULL);
      } else if (v instanceof Uint8Array) {
        w.byte(T_B);
        w.bytes(v);
      } else if (v instanceof NumberValue) {
        w.byte(T_N);
        w.string(v.value);
      } else if (Array.isArray(v)) {
        w.byte(T_L);
        w.varint(v.length);
        for (let i = 0; i < v.length; i++) encodeValue(w, v[i], `${path}[${i}]`, depth + 1);
      } else if (v instanceof Set) {
        encodeSet(w, v, path);
      } else if (isPlainObject(v)) {
        w.byte(T_M);
        encodeMap(w, v, path, depth + 1);
      } else {
        throw new ValidationError(`${path}: a ${v.constructor?.name ?? 'non-plain object'} cannot be stored`);
      }
      return;
    default:
      throw new ValidationError(`${path}: a value of type ${typeof v} cannot be stored`);
  }
}

/** Appends an item (or a key object) to `w`, checking that it is a plain object first. */
function writeItem(w: Writer, item: unknown): void {
  if (typeof item !== 'object' || item === null || Array.isArray(item) || !isPlainObject(item)) {
    throw new ValidationError('an item (or key) must be a plain object of attributes');
  }
  w.byte(ITEM_FORMAT_VERSION);
  encodeMap(w, item, '', 1);
}

/** Encodes an item (or a key object) for the native side. */
export function encodeItem(item: unknown): Buffer {
  const w = new Writer();
  writeItem(w, item);
  return w.buf.subarray(0, w.pos);
}

const transientWriter = new Writer();
const transientViews = new PrefixViews();

/**
 * `encodeItem` into one buffer reused by every call: the result is valid only until the next
 * call. For a synchronous native call, which reads its arguments before it returns.
 */
export function encodeTransient(item: unknown): Buffer {
  return transientViews.of(transientWriter.buf, encodeTransientLength(item));
}

/**
 * `encodeTransient` without the view: the encoding's length, its bytes at the start of
 * `transientBuffer()`, for a native call that holds that buffer (`readBoundItem`).
 */
export function encodeTransientLength(item: unknown): number {
  const w = transientWriter;
  w.pos = 0;
  writeItem(w, item);
  return w.pos;
}

/** The buffer `encodeTransientLength` writes into; it is replaced when an encoding outgrows it. */
export function transientBuffer(): Buffer {
  return transientWriter.buf;
}

/**
 * Puts and deletes packed into one buffer, which crosses into Rust in one piece (`writeItems`
 * in `crates/keystonedb-node/src/params.rs` unpacks it), rather than an object and a buffer per
 * write. Each write is
 *
 *     table: u32 LE (an index into `tables`) | kind: u8 (1 put, 0 delete) | length: u32 LE | item
 *
 * where the item (a key object for a delete) is encoded as `encodeItem` encodes it.
 */
export class PackedWrites {
  readonly tables: string[] = [];
  readonly #tableIndex = new Map<string, number>();
  readonly #w = new Writer();
  count = 0;

  /** Adds a put of `item` or a delete of the key object `item`; on bad input throws and adds nothing. */
  add(table: string, put: boolean, item: unknown): void {
    const w = this.#w;
    const start = w.pos;
    try {
      let t = this.#tableIndex.get(table);
      if (t === undefined) {
        t = this.tables.length;
        this.tables.push(table);
        this.#tableIndex.set(table, t);
      }
      w.ensure(9);
      w.buf.writeUInt32LE(t, w.pos);
      w.buf[w.pos + 4] = put ? 1 : 0;
      const lengthAt = w.pos + 5;
      w.pos += 9;
      writeItem(w, item);
      w.buf.writeUInt32LE(w.pos - lengthAt - 4, lengthAt);
    } catch (err) {
      w.pos = start;
      throw err;
    }
    this.count += 1;
  }

  bytes(): Buffer {
    return this.#w.buf.subarray(0, this.#w.pos);
  }

  /**
   * Empties it for the next tick's writes, keeping its buffer (a batch of a thousand items
   * would otherwise grow a new one from 256 bytes each tick) unless it grew past 4 MiB.
   */
  reset(): void {
    this.tables.length = 0;
    this.#tableIndex.clear();
    this.count = 0;
    this.#w.pos = 0;
    if (this.#w.buf.length > MAX_KEPT_PACK_BYTES) this.#w.buf = Buffer.allocUnsafe(256);
  }
}

const MAX_KEPT_PACK_BYTES = 4 << 20;

/**
 * Strings of at most this many bytes are taken from a page's text with `substring`, which V8
 * copies below 13 characters (a longer substring would be a slice that keeps the whole page's
 * text alive as long as the string lives).
 */
const MAX_SLICED_STRING = 12;
/** A page larger than this is not turned into text (its strings are all decoded by calls into Node). */
const MAX_PAGE_TEXT = 16 << 20;

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    /** Return every number as a `NumberValue`, not only those a double cannot hold. */
    readonly wrapNumbers: boolean,
    /**
     * `buf` as Latin-1 text (one character per byte), for a page of items: a short ASCII string
     * is cut from it (~20 ns) instead of decoded by a call into Node (~100 ns).
     */
    readonly text: string | undefined = undefined,
  ) {}

  byte(): number {
    const b = this.buf[this.pos++];
    if (b === undefined) throw new ValidationError('encoded item is truncated');
    return b;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
  }

  string(): string {
    const n = this.varint();
    const start = this.pos;
    const end = start + n;
    const text = this.text;
    if (text !== undefined && n <= MAX_SLICED_STRING && end <= this.buf.length) {
      const buf = this.buf;
      let i = start;
      while (i < end && (buf[i] as number) < 0x80) i++;
      if (i === end) {
        this.pos = end;
        return text.substring(start, end);
      }
    }
    return this.stringOf(start, end);
  }

  /** The UTF-8 text from `start` to `end`, after which reading continues. */
  stringOf(start: number, end: number): string {
    if (end > this.buf.length) throw new ValidationError('encoded item is truncated');
    this.pos = end;
    return this.buf.utf8Slice(start, end);
  }

  /**
   * A number. Stored numbers are canonical decimal text; a plain integer of up to 15 digits
   * (exact in a double) is read digit by digit, without making a string first.
   */
  number(): number | NumberValue {
    const n = this.varint();
    const buf = this.buf;
    const start = this.pos;
    const end = start + n;
    if (!this.wrapNumbers && n <= 15 && end <= buf.length) {
      const neg = buf[start] === 0x2d;
      const first = neg ? start + 1 : start;
      // No leading zero (canonical text has none, except "0" itself); "-0" takes the slow path.
      if (first < end && (buf[first] !== 0x30 || (first + 1 === end && !neg))) {
        let v = 0;
        let i = first;
        for (; i < end; i++) {
          const d = (buf[i] ?? 0) - 0x30;
          if (d < 0 || d > 9) break;
          v = v * 10 + d;
        }
        if (i === end) {
          this.pos = end;
          return neg ? -v : v;
        }
      }
    }
    return numberFromText(this.stringOf(start, end), this.wrapNumbers);
  }

  bytes(): Uint8Array {
    const n = this.varint();
    const b = new Uint8Array(n);
    b.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }
}

/**
 * Attribute names repeat from item to item, so decoding keeps the strings of recent short names,
 * keyed by a hash of their bytes and confirmed byte by byte: a hit costs a short loop instead of
 * a call into the UTF-8 decoder and a string-table lookup when the name becomes a property.
 */
const NAME_SLOTS = 1024;
const MAX_CACHED_NAME = 24;
const nameBytes: (Uint8Array | undefined)[] = new Array(NAME_SLOTS).fill(undefined);
const nameStrings: string[] = new Array(NAME_SLOTS).fill('');

/** The hash of the bytes of the name `attributeName` read last (its length for a long name). */
let nameHash = 0;

function attributeName(r: Reader): string {
  const n = r.varint();
  const buf = r.buf;
  const start = r.pos;
  const end = start + n;
  if (n > MAX_CACHED_NAME || end > buf.length) {
    nameHash = n;
    return r.stringOf(start, end);
  }
  let h = n;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] ?? 0), 0x01000193);
  nameHash = h;
  const slot = (h >>> 0) & (NAME_SLOTS - 1);
  const cached = nameBytes[slot];
  if (cached !== undefined && cached.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (cached[i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    const name = nameStrings[slot];
    if (same && name !== undefined) {
      r.pos = end;
      return name;
    }
  }
  const name = r.stringOf(start, end);
  nameBytes[slot] = Uint8Array.prototype.slice.call(buf, start, end);
  nameStrings[slot] = name;
  return name;
}

/**
 * Names and values of the map being decoded, one pair of arrays per nesting depth (reused, so
 * decoding allocates only the object itself); `shapes.ts` builds the object from them. `starts`
 * and `hashes` hold where each name is stored and its hash, for `predict`.
 */
const scratch: { names: string[]; values: AttributeValue[]; starts: number[]; hashes: number[] }[] = [];

/**
 * The attribute names of the last item (a top-level map) whose shape is compiled, predicted for
 * the next: the items of a table mostly repeat one sequence of names. An item whose names match
 * the prediction byte for byte skips hashing each name, looking it up, and looking up its shape.
 * The prediction changes when two items in a row have the same other shape, so items of
 * alternating shapes do not rebuild it each time. Names of more than 127 bytes (whose length
 * takes two varint bytes) are never predicted.
 */
interface Prediction {
  names: string[];
  /** Each name as stored: its length (one byte), then its UTF-8 text. */
  bytes: Uint8Array[];
  hashes: number[];
  make: Make;
}
let predicted: Prediction | undefined;
/** The shape hash of the item before this one if it missed the prediction, else 0. */
let missedHash = 0;

function decodeMap(r: Reader, depth: number): Record<string, AttributeValue> {
  const n = r.varint();
  let level = scratch[depth];
  if (level === undefined) {
    level = { names: [], values: [], starts: [], hashes: [] };
    scratch[depth] = level;
  }
  const { names, values, starts, hashes } = level;
  let h = n;
  let i = 0;
  const p = depth === 0 ? predicted : undefined;
  if (p !== undefined && p.names.length === n) {
    const buf = r.buf;
    for (; i < n; i++) {
      const bytes = p.bytes[i] as Uint8Array;
      const start = r.pos;
      let j = 0;
      while (j < bytes.length && buf[start + j] === bytes[j]) j++;
      if (j !== bytes.length) break;
      r.pos = start + j;
      names[i] = p.names[i] as string;
      values[i] = decodeValue(r, depth + 1);
    }
    if (i === n) {
      const out = p.make(values);
      for (let k = 0; k < n; k++) values[k] = null; // hold no decoded value past this call
      missedHash = 0;
      return out;
    }
    for (let k = 0; k < i; k++) h = Math.imul(h ^ (p.hashes[k] as number), 0x01000193);
  }
  const matched = i;
  for (; i < n; i++) {
    starts[i] = r.pos;
    names[i] = attributeName(r);
    hashes[i] = nameHash;
    h = Math.imul(h ^ nameHash, 0x01000193);
    values[i] = decodeValue(r, depth + 1);
  }
  const hash = h ^ (h >>> 16);
  const make = builderOf(names, n, hash);
  const out = make === null ? byStores(names, values, n) : make(values);
  for (let k = 0; k < n; k++) values[k] = null; // hold no decoded value past this call
  if (depth === 0) {
    if (make !== null && (hash === missedHash || p === undefined)) predict(r.buf, level, p, matched, n, make);
    missedHash = hash;
  }
  return out;
}

/**
 * Makes the item just decoded, whose shape is compiled to `make`, the prediction. Its first
 * `matched` names matched `p`; the rest were read from `buf` (`level` holds where, and their
 * hashes).
 */
function predict(
  buf: Buffer,
  level: { names: string[]; starts: number[]; hashes: number[] },
  p: Prediction | undefined,
  matched: number,
  n: number,
  make: Make,
): void {
  const bytes: Uint8Array[] = [];
  const hashes: number[] = [];
  for (let i = 0; i < n; i++) {
    if (p !== undefined && i < matched) {
      bytes.push(p.bytes[i] as Uint8Array);
      hashes.push(p.hashes[i] as number);
      continue;
    }
    const start = level.starts[i] as number;
    const length = buf[start] ?? 0x80;
    if (length >= 0x80) return;
    bytes.push(Uint8Array.prototype.slice.call(buf, start, start + 1 + length));
    hashes.push(level.hashes[i] as number);
  }
  predicted = { names: level.names.slice(0, n), bytes, hashes, make };
}

function decodeValue(r: Reader, depth: number): AttributeValue {
  const tag = r.byte();
  switch (tag) {
    case T_S:
      return r.string();
    case T_N:
      return r.number();
    case T_B:
      return r.bytes();
    case T_FALSE:
      return false;
    case T_TRUE:
      return true;
    case T_NULL:
      return null;
    case T_M:
      return decodeMap(r, depth);
    case T_L: {
      const n = r.varint();
      const out: AttributeValue[] = [];
      for (let i = 0; i < n; i++) out.push(decodeValue(r, depth + 1));
      return out;
    }
    case T_SS:
    case T_NS:
    case T_BS: {
      const n = r.varint();
      if (tag === T_BS) {
        const s = new Set<Uint8Array>();
        for (let i = 0; i < n; i++) s.add(r.bytes());
        return s;
      }
      if (tag === T_NS) {
        const s = new Set<number | NumberValue>();
        for (let i = 0; i < n; i++) s.add(r.number());
        return s as Set<number> | Set<NumberValue>;
      }
      const s = new Set<string>();
      for (let i = 0; i < n; i++) s.add(r.string());
      return s;
    }
    default:
      throw new ValidationError(`encoded item has unknown type tag ${tag}`);
  }
}

/** Decodes an item the native side returned. */
export function decodeItem(buf: Buffer, wrapNumbers = false): Item {
  const r = new Reader(buf, wrapNumbers);
  const version = r.byte();
  if (version !== ITEM_FORMAT_VERSION) throw new ValidationError(`item encoding version ${version} is not supported`);
  return decodeMap(r, 0);
}

/** Decodes a page of items: each is `varint length | item`, back to back. */
export function decodeItems(buf: Buffer, wrapNumbers = false): Item[] {
  const r = new Reader(buf, wrapNumbers, buf.length <= MAX_PAGE_TEXT ? buf.latin1Slice(0, buf.length) : undefined);
  const items: Item[] = [];
  while (r.pos < buf.length) {
    const end = r.varint() + r.pos;
    const version = r.byte();
    if (version !== ITEM_FORMAT_VERSION) throw new ValidationError(`item encoding version ${version} is not supported`);
    items.push(decodeMap(r, 0));
    if (r.pos !== end) throw new ValidationError('a page of items is malformed');
  }
  return items;
}
