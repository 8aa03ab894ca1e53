/**
 * Concurrency: worker threads and async callers on the main thread mix writes, conditional
 * writes, transactions, batches, queries and scans on a few contended items of one database;
 * every item's history is checked for linearizability (./linearizability.ts), and global
 * invariants are checked on top. A second process being kept out with `Locked` is tested in
 * durability.test.ts.
 *
 * KSTONE_CONCURRENCY_ROUNDS=N runs N rounds (default 40); KSTONE_CONCURRENCY_SEED=S picks the
 * callers' random choices (timing still varies from run to run).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Database, TableSchema } from '../dist/index.js';
import { root, tempDir } from './helpers';
import {
  canonical,
  checkHistory,
  checkLinearizable,
  explain,
  type ItemInput,
  type ItemOp,
  type ItemOutput,
  type ItemState,
  itemModel,
} from './linearizability';

type Key = { p: string; s: number };
type Normalized = Record<string, unknown> | null;
interface RawOp extends Omit<ItemOp, 'output'> {
  output?: { ok: boolean; val?: Normalized; cur?: Normalized };
}
interface ClientResult {
  history: RawOp[];
  unexpected: string[];
  violations: string[];
  counts: Record<string, number>;
}
interface Fixture {
  TABLE: string;
  ALL: Key[];
  ACCOUNTS: Key[];
  ACCOUNT_START: number;
  COUNTER: Key;
  keyName(k: Key): string;
  normalize(item: unknown): Normalized;
  runClient(o: {
    db: Database;
    client: string;
    round: number;
    seed: number;
    ops: number;
    base: bigint;
    sync: boolean;
  }): Promise<ClientResult>;
}
const fx = require('./fixtures/concurrency.cjs') as Fixture;

const base = tempDir('kstone-concurrency-');
const ROUNDS = Number(process.env.KSTONE_CONCURRENCY_ROUNDS ?? 40);
const SEED = Number(process.env.KSTONE_CONCURRENCY_SEED ?? Math.floor(Math.random() * 1e9));
const WORKERS = 4;
const CALLERS_PER_WORKER = 2;
const MAIN_CALLERS = 3;
/** Operations per caller per round: with 11 callers on 13 items, ~50 per item per round (scans count on every item). */
const OPS = 25;

const state = (x: Normalized | undefined): ItemState | undefined =>
  x === undefined ? undefined : x === null ? null : canonical(x);
/** The checker's form of a recorded operation: items as canonical strings. */
function toOp(r: RawOp): ItemOp {
  const op: ItemOp = { ...r, output: undefined };
  if (r.output !== undefined) {
    const out: ItemOutput = { ok: r.output.ok };
    const val = state(r.output.val);
    const cur = state(r.output.cur);
    if (val !== undefined) out.val = val;
    if (cur !== undefined) out.cur = cur;
    op.output = out;
  }
  return op;
}

// The checker on hand-made histories: it must accept what is linearizable and refuse what is not.

const READ: ItemInput = { effect: { kind: 'read' }, ret: 'new' };
const item = (v: string) => canonical({ v });
const op = (label: string, input: ItemInput, output: ItemOutput | undefined, invoke: number, complete: number) =>
  ({ key: 'k', op: label, client: 'c', input, output, invoke, complete }) as ItemOp;
const W = (v: string, invoke: number, complete: number) =>
  op('put', { effect: { kind: 'put', item: { v } } }, { ok: true }, invoke, complete);
const R = (v: string | null, invoke: number, complete: number) =>
  op('get', READ, { ok: true, val: v === null ? null : item(v) }, invoke, complete);
const check = (ops: ItemOp[], init: ItemState = null) => checkLinearizable(itemModel, ops, init);

describe('the linearizability checker', () => {
  it('accepts sequential and concurrent histories that have a valid order', () => {
    expect(check([W('1', 0, 1), R('1', 2, 3), W('2', 4, 5), R('2', 6, 7)]).ok).toBe(true);
    // A read concurrent with a write may see either value; two such reads may see old then new.
    expect(check([W('1', 0, 10), R(null, 1, 2), R('1', 3, 4)]).ok).toBe(true);
    expect(check([W('1', 0, 10), R('1', 1, 2), R('1', 3, 4)]).ok).toBe(true);
    // Writes concurrent with each other may take effect in either order.
    expect(check([W('1', 0, 10), W('2', 1, 11), R('1', 12, 13)]).ok).toBe(true);
    expect(check([W('1', 0, 10), W('2', 1, 11), R('2', 12, 13)]).ok).toBe(true);
  });

  it('refuses a read of a value never written', () => {
    const r = check([W('1', 0, 1), W('2', 2, 5), R('3', 3, 4)]);
    expect(r.ok).toBe(false);
    expect(r.violation?.blocked.op).toBe('get');
    expect(explain(r)).toMatch(/not linearizable/);
  });

  it('refuses a stale read after a completed write, and a value that comes back after it was overwritten', () => {
    expect(check([W('1', 0, 1), W('2', 2, 3), R('1', 4, 5)]).ok).toBe(false);
    expect(check([W('1', 0, 1), R(null, 2, 3)]).ok).toBe(false);
    // A write concurrent with two reads in real-time order: new then old is impossible.
    expect(check([W('1', 0, 10), R('1', 1, 2), R(null, 3, 4)]).ok).toBe(false);
    // Deleted, then seen again.
    const del = op('delete', { effect: { kind: 'delete' } }, { ok: true }, 2, 3);
    expect(check([W('1', 0, 1), del, R('1', 4, 5)]).ok).toBe(false);
    expect(check([W('1', 0, 1), del, R(null, 4, 5)]).ok).toBe(true);
  });

  it('refuses two compare-and-sets that both won on the same version', () => {
    const cas = (v: string, ok: boolean, cur?: ItemState) =>
      op(
        'cas',
        { cond: { kind: 'verEq', ver: 1 }, effect: { kind: 'update', set: { v }, bumpVer: true } },
        ok ? { ok } : { ok, cur },
        2,
        5,
      );
    const start = canonical({ v: '0', ver: 1 });
    expect(check([cas('x', true), cas('y', true)], start).ok).toBe(false);
    expect(check([cas('x', true), cas('y', false, canonical({ v: 'x', ver: 2 }))], start).ok).toBe(true);
    // The failed one cannot have seen a state nobody made.
    expect(check([cas('x', true), cas('y', false, canonical({ v: 'y', ver: 2 }))], start).ok).toBe(false);
  });

  it('refuses increments that returned the same value, and accepts distinct ones in any overlap', () => {
    const inc = (n: number, invoke: number, complete: number) =>
      op(
        'increment',
        { effect: { kind: 'update', add: { n: 1 } }, ret: 'new' },
        { ok: true, val: canonical({ n }) },
        invoke,
        complete,
      );
    expect(check([inc(1, 0, 10), inc(1, 1, 11)]).ok).toBe(false);
    expect(check([inc(2, 0, 10), inc(1, 1, 11), inc(3, 2, 12)]).ok).toBe(true);
    expect(check([inc(1, 0, 1), inc(3, 2, 3)]).ok).toBe(false);
  });

  it('lets an operation with an unknown outcome take effect at any point after its call, or never, but only once', () => {
    const lost = W('1', 0, Number.POSITIVE_INFINITY);
    lost.output = undefined;
    expect(check([lost, R(null, 5, 6)]).ok).toBe(true);
    expect(check([lost, R('1', 5, 6)]).ok).toBe(true);
    expect(check([lost, R(null, 5, 6), R('1', 7, 8), R('1', 9, 10)]).ok).toBe(true);
    expect(check([lost, R('1', 5, 6), R(null, 7, 8)]).ok).toBe(false);
    // Not before it was called.
    const late = W('1', 20, Number.POSITIVE_INFINITY);
    late.output = undefined;
    expect(check([late, R('1', 5, 6)]).ok).toBe(false);
  });

  it('checks the conditions of canceled transactions without applying them', () => {
    const probe = (ok: boolean, cur?: ItemState) =>
      op(
        'tx',
        { cond: { kind: 'exists', attr: 'v' }, effect: { kind: 'read' }, dry: true },
        ok ? { ok } : { ok, cur },
        4,
        5,
      );
    expect(check([W('1', 0, 1), probe(true), R('1', 6, 7)]).ok).toBe(true);
    expect(check([W('1', 0, 1), probe(false, null)]).ok).toBe(false);
    expect(check([probe(false, null), R(null, 6, 7)]).ok).toBe(true);
  });

  it('accepts random histories built from a valid order, fast, and refuses them with one read changed', () => {
    for (let seed = 1; seed <= 40; seed++) {
      let a = seed;
      const rand = () => {
        a = (a * 1103515245 + 12345) % 2147483648;
        return a / 2147483648;
      };
      // 8 callers, 200 operations: each gets a random interval and a linearization point inside it.
      const points: { at: number; op: ItemOp }[] = [];
      let n = 0;
      for (let c = 0; c < 8; c++) {
        let t = rand() * 10;
        for (let i = 0; i < 25; i++) {
          const invoke = t;
          const at = invoke + rand() * 10;
          const complete = at + rand() * 10;
          t = complete + rand() * 3;
          const kind = rand();
          const input: ItemInput =
            kind < 0.35
              ? READ
              : kind < 0.6
                ? { effect: { kind: 'put', item: { v: `${n++}` } } }
                : kind < 0.7
                  ? { effect: { kind: 'delete' }, ret: 'old' }
                  : kind < 0.85
                    ? { effect: { kind: 'update', add: { c: 1 } }, ret: 'new' }
                    : {
                        cond: { kind: 'verEq', ver: rand() < 0.3 ? null : Math.floor(rand() * 4) },
                        effect: { kind: 'update', set: { v: `${n++}` }, bumpVer: true },
                      };
          points.push({ at, op: op('x', input, undefined, invoke, complete) });
        }
      }
      points.sort((x, y) => x.at - y.at);
      let s: ItemState = null;
      for (const p of points) {
        const [next, out] = itemModel.step(s, p.op.input);
        p.op.output = out;
        s = next;
      }
      const history = points.map((p) => p.op).sort((x, y) => x.invoke - y.invoke);
      const r = check(history);
      expect(r.ok, explain(r)).toBe(true);
      const reads = history.filter((o) => o.input === READ);
      const victim = reads[Math.floor(rand() * reads.length)] as ItemOp;
      victim.output = { ok: true, val: item('never written') };
      expect(check(history).ok).toBe(false);
    }
  });
});

// The database under concurrent callers.

interface Round {
  history: ItemOp[];
  init: Map<string, ItemState>;
}
/** The last rounds' histories, for the negative controls below. */
const recorded: Round[] = [];

function startWorker(path: string, hrBase: bigint) {
  const worker = new Worker(join(root, '__test__', 'fixtures', 'concurrency.cjs'), {
    workerData: { role: 'concurrency', path, base: hrBase },
  });
  let pending: { resolve: (m: unknown) => void; reject: (e: Error) => void } | undefined;
  const settle = (f: (p: NonNullable<typeof pending>) => void) => {
    const p = pending;
    pending = undefined;
    if (p !== undefined) f(p);
  };
  worker.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'error') settle((p) => p.reject(new Error(`worker: ${m.message}`)));
    else settle((p) => p.resolve(m));
  });
  worker.on('error', (e) => settle((p) => p.reject(e)));
  worker.on('exit', (code) => settle((p) => p.reject(new Error(`worker exited with ${code}`))));
  const next = <T>(send?: object) =>
    new Promise<T>((resolve, reject) => {
      pending = { resolve: resolve as (m: unknown) => void, reject };
      if (send !== undefined) worker.postMessage(send);
    });
  return { worker, ready: next<unknown>(), request: <T>(m: object) => next<T>(m) };
}

/** Flushes every few milliseconds and compacts every eighth time, while `busy()`. */
async function maintenance(db: Database, busy: () => boolean, tally: { flushes: number; compacts: number }) {
  while (busy()) {
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
    if (!busy()) break;
    if ((tally.flushes + tally.compacts) % 8 === 7) {
      await db.compact();
      tally.compacts++;
    } else {
      await db.flush();
      tally.flushes++;
    }
  }
}

/** How many operations on one key overlap at most, and the share of operations that overlap another. */
function contention(history: ItemOp[]): { max: number; overlapping: number } {
  const byKey = new Map<string, ItemOp[]>();
  for (const o of history) {
    const list = byKey.get(o.key);
    if (list === undefined) byKey.set(o.key, [o]);
    else list.push(o);
  }
  let max = 0;
  let overlapping = 0;
  for (const ops of byKey.values()) {
    const ev = ops.flatMap((o) => [
      [o.invoke, 1],
      [o.complete, -1],
    ]);
    ev.sort((x, y) => (x[0] as number) - (y[0] as number) || (y[1] as number) - (x[1] as number));
    let open = 0;
    for (const [, d] of ev) {
      open += d as number;
      max = Math.max(max, open);
    }
    const sorted = [...ops].sort((x, y) => x.invoke - y.invoke);
    let reach = Number.NEGATIVE_INFINITY;
    sorted.forEach((o, i) => {
      const next = sorted[i + 1];
      if (o.invoke < reach || (next !== undefined && next.invoke < o.complete)) overlapping++;
      reach = Math.max(reach, o.complete);
    });
  }
  return { max, overlapping };
}

describe('concurrency', () => {
  const callers = WORKERS * CALLERS_PER_WORKER + MAIN_CALLERS;
  it(`${WORKERS} worker threads and ${MAIN_CALLERS} main-thread callers: ${ROUNDS} rounds, every item's history linearizable`, {
    timeout: 120_000 + ROUNDS * 500,
  }, async () => {
    const path = join(base, 'db');
    const db = await Database.create(path, {
      durability: 'none',
      memtableBudgetBytes: 64 * 1024,
      compaction: { l0Trigger: 2 },
    });
    const schema = TableSchema.builder().partitionKey('p', 'S').sortKey('s', 'N').build();
    const table = await db.createTable(fx.TABLE, schema);
    await db.batchWrite({
      requestItems: {
        [fx.TABLE]: fx.ACCOUNTS.map((k) => ({ putRequest: { item: { ...k, bal: fx.ACCOUNT_START } } })),
      },
    });
    // Two handles on the main thread (two sessions, one engine), one per worker thread.
    const db2 = await Database.open(path);
    const main = [db, db, db2];
    const hrBase = process.hrtime.bigint();
    const now = () => Number(process.hrtime.bigint() - hrBase);
    const workers = Array.from({ length: WORKERS }, () => startWorker(path, hrBase));

    /** Reads every item while nothing else runs: the state the next round starts from. */
    const readAll = async (label: string) => {
      const ops: ItemOp[] = [];
      for (const k of fx.ALL) {
        const invoke = now();
        const val = state(fx.normalize(await table.get(k))) as ItemState;
        ops.push({
          key: fx.keyName(k),
          op: label,
          client: 'main',
          input: READ,
          output: { ok: true, val },
          invoke,
          complete: now(),
        });
      }
      return ops;
    };

    const totals: Record<string, number> = {};
    const byOp: Record<string, number> = {};
    const unexpected: string[] = [];
    const violations: string[] = [];
    const failures: string[] = [];
    const tally = { flushes: 0, compacts: 0 };
    let checked = 0;
    let maxPerKey = 0;
    let maxConcurrent = 0;
    let overlapping = 0;
    let checkMs = 0;
    let steps = 0;
    const started = performance.now();
    try {
      await Promise.all(workers.map((w) => w.ready));
      let init = new Map((await readAll('initial-get')).map((o) => [o.key, o.output?.val ?? null] as const));
      for (let round = 0; round < ROUNDS; round++) {
        const seed = (i: number) => (SEED + round * 7919 + i * 104729) >>> 0;
        const fromWorkers = workers.map((w, i) =>
          w.request<{ results: ClientResult[] }>({
            type: 'round',
            clients: Array.from({ length: CALLERS_PER_WORKER }, (_, j) => ({
              client: `w${i}.${j}`,
              round,
              seed: seed(i * CALLERS_PER_WORKER + j),
              ops: OPS,
            })),
          }),
        );
        const fromMain = main.map((handle, j) =>
          fx.runClient({
            db: handle,
            client: `m${j}`,
            round,
            seed: seed(WORKERS * CALLERS_PER_WORKER + j),
            ops: OPS,
            base: hrBase,
            sync: true,
          }),
        );
        let busy = true;
        const maint = maintenance(db, () => busy, tally);
        let results: ClientResult[];
        try {
          results = [...(await Promise.all(fromWorkers)).flatMap((m) => m.results), ...(await Promise.all(fromMain))];
        } finally {
          busy = false;
          await maint;
        }

        const final = await readAll('final-get');
        const history = [...results.flatMap((r) => r.history.map(toOp)), ...final];
        for (const r of results) {
          unexpected.push(...r.unexpected);
          violations.push(...r.violations);
          for (const [k, v] of Object.entries(r.counts)) totals[k] = (totals[k] ?? 0) + v;
        }
        for (const o of history) byOp[o.op] = (byOp[o.op] ?? 0) + 1;
        const t0 = performance.now();
        const result = checkHistory(itemModel, history, (k) => init.get(k) ?? null);
        checkMs += performance.now() - t0;
        checked += result.ops;
        for (const k of result.keys) {
          maxPerKey = Math.max(maxPerKey, k.ops);
          steps += k.steps;
        }
        const c = contention(history.filter((o) => o.op !== 'final-get'));
        maxConcurrent = Math.max(maxConcurrent, c.max);
        overlapping += c.overlapping;
        if (!result.ok) {
          const dump = join(tmpdir(), `kstone-concurrency-round${round}-${Date.now()}.json`);
          writeFileSync(dump, JSON.stringify({ seed: SEED, round, init: [...init], history }, null, 1));
          for (const k of result.keys.filter((x) => !x.ok))
            failures.push(`seed ${SEED} round ${round}: ${explain(k)}\n  (history: ${dump})`);
        }
        recorded.push({ history, init });
        if (recorded.length > 3) recorded.shift();
        init = new Map(final.map((o) => [o.key, o.output?.val ?? null] as const));
      }

      // Global invariants, at the end, with nothing running.
      const counter = await table.get(fx.COUNTER);
      const accounts = await Promise.all(fx.ACCOUNTS.map((k) => table.get(k)));
      const stats = db.stats();
      const verified = await db.verify();
      const seconds = (performance.now() - started) / 1000;
      const rate = Math.round((totals.ops ?? 0) / seconds);
      console.log(
        [
          `concurrency: seed ${SEED}, ${ROUNDS} rounds, ${WORKERS} worker threads × ${CALLERS_PER_WORKER} callers + ${MAIN_CALLERS} main-thread callers, ${fx.ALL.length} items`,
          `  ${totals.ops} operations issued (${rate}/s over ${seconds.toFixed(1)} s), ${checked} per-item operations checked (at most ${maxPerKey} per item per round) in ${Math.round(checkMs)} ms, ${steps} search steps`,
          `  contention: up to ${maxConcurrent} operations in flight on one item; ${overlapping} of ${checked - ROUNDS * fx.ALL.length} overlapped another on the same item`,
          `  transactions ${totals.txCommitted} committed, ${totals.txCanceled} canceled; ${totals.conditionFailed} failed conditions; ${totals.conflicts} TransactionConflict; ${totals.increments} increments; ${totals.snapshotSums} snapshot sums`,
          `  maintenance: ${tally.flushes} flush(), ${tally.compacts} compact(); engine: ${stats.compaction.totalCompactions} compactions, ${stats.walSyncs} WAL fsyncs, ${Math.round(stats.totalFlushBytes / 1024)} KiB flushed`,
          `  by kind: ${Object.entries(byOp)
            .sort((x, y) => y[1] - x[1])
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
          `  violations: ${failures.length}`,
        ].join('\n'),
      );
      expect(unexpected).toEqual([]);
      expect(violations).toEqual([]);
      expect(failures, failures.join('\n\n')).toEqual([]);
      expect(counter?.n ?? 0).toBe(totals.increments);
      expect(accounts.reduce((s, a) => s + Number(a?.bal), 0)).toBe(fx.ACCOUNT_START * fx.ACCOUNTS.length);
      expect(verified.problems).toEqual([]);
      // Enough happened, concurrently, for the check to mean something.
      expect(totals.ops).toBe(ROUNDS * callers * OPS);
      expect(totals.txCommitted).toBeGreaterThan(0);
      expect(totals.txCanceled).toBeGreaterThan(0);
      expect(maxConcurrent).toBeGreaterThanOrEqual(4);
    } finally {
      await Promise.allSettled(
        workers.map(async (w) => {
          const timeout = new Promise((r) => setTimeout(r, 10_000));
          await Promise.race([w.request({ type: 'stop' }).catch(() => undefined), timeout]);
          await w.worker.terminate();
        }),
      );
      await db2.close();
      await db.close();
    }
  });

  it('refuses the recorded history with one read changed to a value never written, or to an overwritten one', () => {
    expect(recorded.length).toBeGreaterThan(0);
    let neverWritten = 0;
    let stale = 0;
    for (const { history, init } of recorded) {
      const ofKey = (key: string, mutated: ItemOp, at: number) => {
        const ops = history.filter((o) => o.key === key);
        ops[ops.indexOf(history[at] as ItemOp)] = mutated;
        return checkLinearizable(itemModel, ops, init.get(key) ?? null);
      };
      const reads = history
        .map((o, i) => [o, i] as const)
        .filter(([o]) => o.input.effect.kind === 'read' && o.input.cond === undefined && o.output?.val != null);
      for (const [o, i] of reads.filter((_, j) => j % Math.ceil(reads.length / 25) === 0)) {
        const mutated = { ...o, output: { ok: true, val: canonical({ v: 'never written', pad: 1 }) } };
        const r = ofKey(o.key, mutated, i);
        expect(r.ok, `${o.key} ${o.op}`).toBe(false);
        neverWritten++;
      }
      // A put W1 completed, then a put or delete W2 was called and completed, then a read was
      // called: the read returning W1's item is impossible (every written value is unique).
      const done = (o: ItemOp) => o.output?.ok === true && o.complete < Number.POSITIVE_INFINITY && !o.input.dry;
      for (const [o, i] of reads) {
        const same = history.filter((x) => x.key === o.key && done(x));
        const w2 = same.find(
          (x) => (x.input.effect.kind === 'put' || x.input.effect.kind === 'delete') && x.complete < o.invoke,
        );
        const w1 = w2 && same.find((x) => x.input.effect.kind === 'put' && x.complete < w2.invoke);
        if (w1 === undefined || w1.input.effect.kind !== 'put') continue;
        const val = canonical(w1.input.effect.item);
        if (val === o.output?.val) continue;
        const r = ofKey(o.key, { ...o, output: { ok: true, val } }, i);
        expect(r.ok, `${o.key} ${o.op} made to return ${val}`).toBe(false);
        if (++stale >= 25 * recorded.length) break;
      }
    }
    expect(neverWritten).toBeGreaterThan(10);
    expect(stale).toBeGreaterThan(10);
  });
});
