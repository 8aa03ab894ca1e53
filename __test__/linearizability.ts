/**
 * A per-key linearizability checker (Wing & Gong's search with Lowe's memoisation, as in
 * Porcupine), and the model of one keystonedb item that the concurrency suite checks against.
 *
 * A history is a list of operations, each with the interval in which it ran (`invoke` before
 * the call, `complete` after its result arrived, on one clock shared by every thread) and what
 * it returned. It is linearizable if the operations can be put in one order that respects real
 * time (an operation that completed before another was invoked comes first) and in which each
 * operation, applied to the model in that order, returns what was observed. Items are
 * independent, so a history is linearizable if and only if each item's sub-history is (Herlihy
 * & Wing's locality), and each key is checked on its own.
 *
 * The search walks the calls in time order, linearizing any call whose output the model agrees
 * with, and backtracks when it meets the return of a call it has not linearized yet. A
 * (set of linearized calls, model state) pair already explored is not explored again, which keeps
 * the search near-linear for histories with a handful of concurrent calls. An operation whose
 * outcome is unknown (it failed ambiguously) has `complete: Infinity` and no output: it may
 * take effect at any point after its invocation, or never.
 */

export interface Model<S, I, O> {
  /** The state after `input` is applied to `state`, and what the operation returns. */
  step(state: S, input: I): [S, O];
  /** Whether `expected` (the model's output) agrees with what was observed. */
  matches(expected: O, observed: O): boolean;
  /** A string that is equal for equal states (for memoisation). */
  hash(state: S): string;
}

export interface Operation<I, O> {
  /** The item (register) the operation acts on. */
  key: string;
  /** A label for messages: 'put', 'get', 'cas', 'tx-put', 'scan'... */
  op: string;
  /** Who issued it (thread and caller), for messages. */
  client: string;
  input: I;
  /** What it returned; `undefined` if nothing was observed (any output is accepted). */
  output?: O;
  /** Nanoseconds on the shared clock, taken before the call. */
  invoke: number;
  /** Nanoseconds taken after the result arrived; `Infinity` if the outcome is unknown. */
  complete: number;
}

export interface KeyResult<I, O> {
  key: string;
  ok: boolean;
  /** Operations in the key's history. */
  ops: number;
  /** Search steps taken (linearization attempts). */
  steps: number;
  /** True if the search gave up (`maxSteps`): neither proven nor refuted. */
  gaveUp?: boolean;
  /** When not linearizable: where the longest linearization found got stuck. */
  violation?: {
    /** An operation whose return was reached with no way to linearize it before it. */
    blocked: Operation<I, O>;
    /** The longest prefix that did linearize, in order (the last 10). */
    prefix: Operation<I, O>[];
    /** The state after that prefix. */
    state: string;
    /** Calls pending at that point that could not be linearized next, and why. */
    candidates: { op: Operation<I, O>; expected: O }[];
  };
}

interface Entry {
  id: number;
  call: boolean;
  time: number;
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) | (1 << (i & 31));
  }
  clear(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) & ~(1 << (i & 31));
  }
  key(): string {
    return this.words.join(',');
  }
}

/**
 * Checks one key's history against `model`, starting from `init`. Not thread-safe, not
 * incremental: it is cheap enough to rerun.
 */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  init: S,
  options: { maxSteps?: number } = {},
): KeyResult<I, O> {
  const maxSteps = options.maxSteps ?? 5_000_000;
  const key = history[0]?.key ?? '';
  const n = history.length;
  // Calls before returns at equal times: operations that touch are taken as concurrent, so a
  // tie in the clock never makes a correct history fail.
  const events: Entry[] = [];
  history.forEach((op, id) => {
    if (!(op.complete >= op.invoke)) throw new Error(`operation ${id} on ${op.key} completes before it is invoked`);
    const call: Entry = { id, call: true, time: op.invoke, match: undefined, prev: undefined, next: undefined };
    const ret: Entry = { id, call: false, time: op.complete, match: undefined, prev: undefined, next: undefined };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || Number(b.call) - Number(a.call) || a.id - b.id);
  const head: Entry = { id: -1, call: false, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  const lift = (call: Entry) => {
    for (const e of [call, call.match as Entry]) {
      (e.prev as Entry).next = e.next;
      if (e.next !== undefined) e.next.prev = e.prev;
    }
  };
  const unlift = (call: Entry) => {
    for (const e of [call.match as Entry, call]) {
      (e.prev as Entry).next = e;
      if (e.next !== undefined) e.next.prev = e;
    }
  };

  const linearized = new Bitset(n);
  const seen = new Set<string>();
  const stack: { entry: Entry; state: S }[] = [];
  let state = init;
  let entry = head.next;
  let steps = 0;
  let deepest: { depth: number; blocked: number; stack: number[]; state: S; pending: number[] } | undefined;

  while (head.next !== undefined) {
    if (entry === undefined) throw new Error('unreachable: ran off the end of the history');
    if (entry.call) {
      if (++steps > maxSteps) return { key, ok: false, ops: n, steps, gaveUp: true };
      const op = history[entry.id] as Operation<I, O>;
      const [next, out] = model.step(state, op.input);
      if (op.output === undefined || model.matches(out, op.output)) {
        linearized.set(entry.id);
        const memo = `${linearized.key()}|${model.hash(next)}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.id);
      }
      entry = entry.next;
    } else {
      // The return of a call not linearized yet: it must have taken effect before this point,
      // and no order of the calls before it works from here. Undo the last choice.
      if (deepest === undefined || stack.length > deepest.depth) {
        const pending: number[] = [];
        const end = entry.next;
        for (let e: Entry | undefined = head.next; e !== undefined && e !== end; e = e.next) {
          if (e.call) pending.push(e.id);
        }
        deepest = { depth: stack.length, blocked: entry.id, stack: stack.map((s) => s.entry.id), state, pending };
      }
      const top = stack.pop();
      if (top === undefined) {
        const d = deepest;
        return {
          key,
          ok: false,
          ops: n,
          steps,
          violation: {
            blocked: history[d.blocked] as Operation<I, O>,
            prefix: d.stack.slice(-10).map((i) => history[i] as Operation<I, O>),
            state: model.hash(d.state),
            candidates: d.pending.map((i) => {
              const op = history[i] as Operation<I, O>;
              return { op, expected: model.step(d.state, op.input)[1] };
            }),
          },
        };
      }
      state = top.state;
      linearized.clear(top.entry.id);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { key, ok: true, ops: n, steps };
}

/** Checks every key of a mixed history on its own; `init` gives each key's state at the start. */
export function checkHistory<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  init: (key: string) => S,
  options: { maxSteps?: number } = {},
): { ok: boolean; ops: number; keys: KeyResult<I, O>[] } {
  const byKey = new Map<string, Operation<I, O>[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (list === undefined) {
      list = [];
      byKey.set(op.key, list);
    }
    list.push(op);
  }
  const keys = [...byKey].map(([key, ops]) => checkLinearizable(model, ops, init(key), options));
  return { ok: keys.every((k) => k.ok), ops: history.length, keys };
}

// The model of one item.

/**
 * An item's attributes other than its key, as canonical JSON (keys sorted), or `null` when there
 * is no item. Equal items have equal strings.
 */
export type ItemState = string | null;

/** A condition on the current item, as the operation's conditionExpression states it. */
export type Cond =
  /** `ver = :e`, or `attribute_not_exists(ver)` when `ver` is null. */
  | { kind: 'verEq'; ver: number | null }
  /** `attribute_exists(attr)`. */
  | { kind: 'exists'; attr: string }
  /** `attr >= :n` (false when the item or the attribute is missing). */
  | { kind: 'gte'; attr: string; n: number };

export type Effect =
  | { kind: 'read' }
  /** Replaces the whole item with `item` (its non-key attributes). */
  | { kind: 'put'; item: Record<string, unknown> }
  | { kind: 'delete' }
  /** `SET` these attributes, `ADD` to these numbers (from 0 if missing), `ver = if_not_exists(ver, 0) + 1`. Creates a missing item. */
  | { kind: 'update'; set?: Record<string, unknown>; add?: Record<string, number>; bumpVer?: boolean };

export interface ItemInput {
  /** Applied only if it holds on the current item. */
  cond?: Cond;
  effect: Effect;
  /** Which item a successful operation returns: the one before (`ALL_OLD`) or after (`ALL_NEW`). */
  ret?: 'old' | 'new';
  /** Only the condition is evaluated, nothing written: an action of a canceled transaction whose own condition held. */
  dry?: boolean;
}

export interface ItemOutput {
  /** Whether the condition held (true when there is none). */
  ok: boolean;
  /** On success: the item `ret` asked for. Compared only if present. */
  val?: ItemState;
  /** On a failed condition: the current item (`ALL_OLD`). Compared only if present. */
  cur?: ItemState;
}

export type ItemOp = Operation<ItemInput, ItemOutput>;

/** JSON with object keys sorted, so equal values give equal strings. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function attrs(state: ItemState): Record<string, unknown> | undefined {
  return state === null ? undefined : (JSON.parse(state) as Record<string, unknown>);
}

function holds(cond: Cond | undefined, item: Record<string, unknown> | undefined): boolean {
  if (cond === undefined) return true;
  switch (cond.kind) {
    case 'verEq':
      return cond.ver === null ? item?.ver === undefined : item?.ver === cond.ver;
    case 'exists':
      return item?.[cond.attr] !== undefined;
    case 'gte': {
      const v = item?.[cond.attr];
      return typeof v === 'number' && v >= cond.n;
    }
  }
}

function apply(effect: Effect, state: ItemState, item: Record<string, unknown> | undefined): ItemState {
  switch (effect.kind) {
    case 'read':
      return state;
    case 'put':
      return canonical(effect.item);
    case 'delete':
      return null;
    case 'update': {
      const next: Record<string, unknown> = { ...item, ...effect.set };
      for (const [a, d] of Object.entries(effect.add ?? {})) next[a] = ((next[a] as number | undefined) ?? 0) + d;
      if (effect.bumpVer === true) next.ver = ((next.ver as number | undefined) ?? 0) + 1;
      return canonical(next);
    }
  }
}

/** One item under puts, deletes, updates, conditional writes and reads, as DynamoDB defines them. */
export const itemModel: Model<ItemState, ItemInput, ItemOutput> = {
  step(state, input) {
    const item = attrs(state);
    if (!holds(input.cond, item)) return [state, { ok: false, cur: state }];
    const next = input.dry === true ? state : apply(input.effect, state, item);
    const out: ItemOutput = { ok: true };
    if (input.ret === 'old') out.val = state;
    if (input.ret === 'new') out.val = next;
    return [next, out];
  },
  matches(expected, observed) {
    if (expected.ok !== observed.ok) return false;
    if (observed.val !== undefined && observed.val !== expected.val) return false;
    if (observed.cur !== undefined && observed.cur !== expected.cur) return false;
    return true;
  },
  hash: (state) => state ?? '∅',
};

/** A readable account of a failed key, for test messages. */
export function explain(r: KeyResult<ItemInput, ItemOutput>): string {
  if (r.ok) return `${r.key}: linearizable (${r.ops} operations)`;
  if (r.gaveUp) return `${r.key}: the checker gave up after ${r.steps} steps (${r.ops} operations)`;
  const v = r.violation;
  if (v === undefined) return `${r.key}: not linearizable`;
  const show = (o: ItemOp) =>
    `${o.client} ${o.op} ${canonical(o.input)} → ${o.output === undefined ? '?' : canonical(o.output)} [${o.invoke}, ${o.complete}]`;
  return [
    `${r.key}: not linearizable (${r.ops} operations). The longest linearization ends in state ${v.state} after:`,
    ...v.prefix.map((o) => `    ${show(o)}`),
    `  and then ${show(v.blocked)} returned, but none of the pending calls can go next:`,
    ...v.candidates.map((c) => `    ${show(c.op)}  (the model would return ${canonical(c.expected)})`),
  ].join('\n');
}
