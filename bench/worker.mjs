#!/usr/bin/env node
// Runs one workload on one engine in this fresh process and prints one JSON line of results.
// Usage: node worker.mjs <engine> <workload> <items> <dir>
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { itemOf, keyOf, shuffled } from './data.mjs';
import { WORKLOADS as YCSB, Zipfian } from './ycsb.mjs';

const [engineName, workload, itemsArg, dir] = process.argv.slice(2);
const N = Number(itemsArg);
const engine = (await import(`./engines/${engineName}.mjs`)).default;

function diskBytes(path) {
  let total = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    // A file listed may be gone by the time it is measured (a flush retires WAL segments in
    // the background): it no longer takes space.
    total += e.isDirectory() ? diskBytes(p) : (statSync(p, { throwIfNoEntry: false })?.size ?? 0);
  }
  return total;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Batches of 1000 `[key, item(id)]` pairs for the ids in order, built before any timer starts:
 * generating the data (~130 ms for a load of 200,000 here, a cold V8 building keys and items)
 * is the same for every engine and none of its work, and timed it only narrows every ratio.
 */
function batchesOf(ids, item) {
  const batches = [];
  for (let i = 0; i < ids.length; i += 1000) batches.push(ids.slice(i, i + 1000).map((id) => [keyOf(id), item(id)]));
  return batches;
}

/** Loads the batches, taking each out of the list: a batch loaded is garbage, as it would be in an app. */
async function load(db, batches) {
  while (batches.length > 0) await engine.loadBatch(db, batches.shift());
}

/** Runs `count` operations `op(i)` with `inFlight` outstanding at a time. */
async function concurrent(count, inFlight, op) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) await op(next++);
    }),
  );
}

/** How many calls the timed part of a row makes (the puts and deletes write, the reads read). */
function timedCalls(row) {
  switch (row) {
    case 'get':
      return Math.min(N, 200_000);
    case 'range':
      // 500 at the dynalite rows' N = 5,000: 50 queries were ~9 ms of keystonedb's time.
      return Math.min(2000, Math.max(500, Math.floor(N / 100)));
    case 'durable1':
    case 'buffered1':
      return Math.min(2000, Math.max(200, N));
    case 'durable64':
      return Math.min(20_000, Math.max(200, N));
    default:
      return 0;
  }
}

/** The most untimed calls a row makes: about what V8 takes to compile a call's functions fully. */
const WARM_UP_CALLS = 2000;

/**
 * Untimed calls before the timed ones, the same for every engine: as many as the timed part
 * makes, up to 2,000. V8 compiles a function with its optimizing tier only after a few thousand
 * calls (and again after its feedback changes, as when a put with another durability takes a
 * branch never taken before), and that compiling, 30–40 ms on this machine's other core for a
 * put's functions, would otherwise fall inside a row of tens of ms at N = 5,000. Reads touch
 * other keys (or starts) than the timed ones' first; puts write keys the timed ones do not.
 */
async function warmUp(db) {
  const few = Math.min(WARM_UP_CALLS, timedCalls(workload));
  const ids = shuffled(N, 13).slice(0, few);
  if (workload === 'get') {
    for (const id of ids) {
      const k = keyOf(id);
      if ((engine.syncGet ? engine.get(db, k) : await engine.get(db, k)) === undefined) throw new Error('missing');
    }
  } else if (workload === 'range') {
    for (const id of ids) await engine.range(db, keyOf(Math.max(0, Math.min(N - 100, id))), 100);
  } else if (workload === 'durable1' || workload === 'durable64') {
    await concurrent(few, workload === 'durable1' ? 1 : 64, (i) => engine.put(db, keyOf(2 * N + i), itemOf(2 * N + i)));
  } else if (workload === 'buffered1') {
    await concurrent(few, 1, (i) => engine.putBuffered(db, keyOf(2 * N + i), itemOf(2 * N + i)));
  }
}

const result = { engine: engine.name, workload, items: N };
const batches = batchesOf(shuffled(N), itemOf);
// The engine's RSS growth and CPU time: counted from after the data is built.
const baselineRss = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
let db = await engine.open(dir);
const t0 = now();
switch (workload) {
  case 'load': {
    await load(db, batches);
    const ms = now() - t0;
    result.rate = N / (ms / 1000);
    result.unit = 'items/s';
    result.diskBytes = diskBytes(dir);
    await engine.compact(db);
    result.diskBytesCompacted = diskBytes(dir);
    await engine.close(db);
    const o0 = now();
    db = await engine.open(dir);
    result.openMs = now() - o0;
    if (
      engine.syncGet ? engine.get(db, keyOf(N - 1)) === undefined : (await engine.get(db, keyOf(N - 1))) === undefined
    ) {
      throw new Error(`${engine.name}: an item is missing after reopen`);
    }
    break;
  }
  default: {
    await load(db, batches);
    const ids = shuffled(N, 7);
    const keys = ids.map(keyOf);
    // The overwrite's batches, built before the timer as the load's are: the first N/4 of these
    // random keys, each item with a changed age.
    const overwrites =
      workload === 'overwrite'
        ? batchesOf(ids.slice(0, Math.floor(N / 4)), (id) => Object.assign(itemOf(id), { age: 99 }))
        : [];
    await warmUp(db);
    const start = now();
    let ops = 0;
    if (workload === 'get') {
      const count = timedCalls('get');
      if (engine.syncGet) {
        for (let i = 0; i < count; i++) if (engine.get(db, keys[i]) === undefined) throw new Error('missing');
      } else {
        await concurrent(count, 64, async (i) => {
          if ((await engine.get(db, keys[i])) === undefined) throw new Error('missing');
        });
      }
      ops = count;
      result.unit = engine.syncGet ? 'gets/s (sync)' : 'gets/s (async, 64 in flight)';
    } else if (workload === 'range') {
      const reads = timedCalls('range');
      const starts = shuffled(Math.max(1, N - 100), 11).slice(0, reads);
      for (const s of starts) {
        const got = await engine.range(db, keyOf(s), 100);
        if (got !== Math.min(100, N - s)) throw new Error(`${engine.name}: range read ${got} items`);
        ops += got;
      }
      result.unit = 'items/s';
    } else if (workload === 'scan') {
      ops = await engine.scan(db);
      if (ops !== N) throw new Error(`${engine.name}: scan read ${ops} of ${N}`);
      result.unit = 'items/s';
    } else if (workload === 'buffered1') {
      // The dynalite table only: a put with dynalite's durability (acknowledged after write(2)).
      const count = timedCalls('buffered1');
      await concurrent(count, 1, (i) => engine.putBuffered(db, keyOf(N + i), itemOf(N + i)));
      ops = count;
      result.unit = 'puts/s';
    } else if (workload === 'durable1' || workload === 'durable64') {
      const count = timedCalls(workload);
      await concurrent(count, workload === 'durable1' ? 1 : 64, (i) => engine.put(db, keyOf(N + i), itemOf(N + i)));
      ops = count;
      result.unit = 'puts/s';
    } else if (workload === 'overwrite') {
      for (const batch of overwrites) {
        await engine.loadBatch(db, batch);
        ops += batch.length;
      }
      result.unit = 'items/s';
    } else if (workload === 'delete') {
      const count = Math.min(10_000, N);
      await concurrent(count, 64, (i) => engine.del(db, keys[i]));
      ops = count;
      result.unit = 'deletes/s';
    } else if (workload in YCSB) {
      // One client, operations in sequence; reads use the sync API where there is one, writes
      // are durable (the engine's durable single write).
      const { mix, dist } = YCSB[workload];
      const zipf = new Zipfian(N);
      let inserted = N;
      const count = Math.min(50_000, N);
      const read = async (k) => (engine.syncGet ? engine.get(db, k) : await engine.get(db, k));
      for (let op = 0; op < count; op++) {
        const u = zipf.random();
        const pick = () =>
          keyOf(dist === 'latest' ? inserted - 1 - Math.min(inserted - 1, zipf.next()) : zipf.scrambled());
        if (u < mix[0]) await read(pick());
        else if (u < mix[0] + mix[1]) await engine.put(db, pick(), { ...itemOf(op), age: 1 });
        else if (u < mix[0] + mix[1] + mix[2]) {
          await engine.put(db, keyOf(inserted), itemOf(inserted));
          inserted++;
        } else if (u < mix[0] + mix[1] + mix[2] + mix[3]) {
          const start = Math.min(zipf.scrambled(), N - 100);
          await engine.range(db, keyOf(start), 1 + Math.floor(zipf.random() * 100));
        } else {
          const k = pick();
          const item = await read(k);
          await engine.put(db, k, { ...item, age: (item?.age ?? 0) + 1 });
        }
      }
      ops = count;
      result.unit = 'ops/s';
    } else {
      throw new Error(`unknown workload ${workload}`);
    }
    result.rate = ops / ((now() - start) / 1000);
  }
}
await engine.close(db);
const cpu = process.cpuUsage(cpu0);
result.cpuMs = (cpu.user + cpu.system) / 1000;
result.peakRssGrowthMiB = (process.resourceUsage().maxRSS * 1024 - baselineRss) / 1048576;
console.log(JSON.stringify(result));
