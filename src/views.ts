/**
 * Views of the first `n` bytes of a buffer that is reused from call to call: the transient key
 * writer's (`encodeTransient`) and `getSync`'s scratch buffer.
 *
 * Why: `buf.subarray(0, n)` creates a typed array each time, 70–110 ns and garbage, and a point
 * read made two (the encoded key and the item read). Keys and items of one table take few
 * distinct lengths, so a view made for a length is kept and handed out again while the buffer is
 * the same one. The two ways alternating in one process, 20 rounds of 100,000 `getSync`s:
 * +16–20% gets/s with 1,000 items, +10–12% with 200,000 (2 runs each, `bench/README.md`).
 *
 * The cache is direct-mapped by length (`SLOTS` slots, each checked by the view's length), so
 * it holds at most `SLOTS` views whatever lengths come, and a new buffer empties it. A view is
 * valid only until the buffer is next written: callers hand it to a synchronous native call or
 * decode it at once (decoding copies everything out), and never return it.
 */

const SLOTS = 64;

export class PrefixViews {
  #buf: Buffer | undefined;
  readonly #slots: (Buffer | undefined)[] = new Array<Buffer | undefined>(SLOTS).fill(undefined);

  /** `buf.subarray(0, n)`, or the same view made earlier for this buffer and length. */
  of(buf: Buffer, n: number): Buffer {
    if (buf !== this.#buf) {
      this.#slots.fill(undefined);
      this.#buf = buf;
    }
    const slot = n & (SLOTS - 1);
    const kept = this.#slots[slot];
    if (kept !== undefined && kept.length === n) return kept;
    const view = buf.subarray(0, n);
    this.#slots[slot] = view;
    return view;
  }
}
