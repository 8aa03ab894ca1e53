#!/usr/bin/env node
// Loads N items (~150 B each) into a fresh database and reports the engine's figures: wall time,
// SST files, disk size, peak RSS, write amplification (from stats()) and the time to open the
// loaded database. Usage: node bench/load.mjs [--items 1000000] [--durability buffered]
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { itemOf, keyOf, shuffled } from './data.mjs';

const require = createRequire(import.meta.url);
const { Database } = require('../dist/index.js');

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '1000000' },
    durability: { type: 'string', default: 'buffered' },
    'in-flight': { type: 'string', default: '256' },
  },
});
const N = Number(values.items);
const inFlight = Number(values['in-flight']);

const item = (i) => ({ pk: keyOf(i), ...itemOf(i) });

const dir = mkdtempSync(join(tmpdir(), 'kstone-load-'));
const path = join(dir, 'db');
const order = shuffled(N);
const sample = JSON.stringify(item(123456)).length;

const db = await Database.create(path, { durability: values.durability });
const t0 = process.hrtime.bigint();
let next = 0;
let lastReport = Date.now();
async function worker() {
  while (next < N) {
    const i = order[next++];
    await db.put(item(i));
    if (process.stderr.isTTY && Date.now() - lastReport > 1000) {
      lastReport = Date.now();
      process.stderr.write(`\r${((next / N) * 100).toFixed(0)}% loaded`);
    }
  }
}
await Promise.all(Array.from({ length: inFlight }, worker));
const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
await db.flush();
const s = db.stats();
const sstBytes = readdirSync(path)
  .filter((f) => f.endsWith('.sst'))
  .reduce((n, f) => n + statSync(join(path, f)).size, 0);
await db.close();

const opens = [];
for (let i = 0; i < 5; i++) {
  const o0 = process.hrtime.bigint();
  const again = await Database.open(path);
  opens.push(Number(process.hrtime.bigint() - o0) / 1e6);
  if (i === 0 && again.getSync({ pk: item(N - 1).pk }) === undefined)
    throw new Error('an item is missing after reopen');
  await again.close();
}
opens.sort((a, b) => a - b);
const mib = (b) => (b / 1048576).toFixed(1);
const wa = (s.totalFlushBytes + s.compaction.totalBytesWritten) / s.totalFlushBytes;
const result = {
  items: N,
  itemJsonBytes: sample,
  durability: values.durability,
  inFlight,
  loadSeconds: Number(loadSeconds.toFixed(2)),
  itemsPerSecond: Math.round(N / loadSeconds),
  sstFiles: s.totalSstFiles,
  sstFilesPerLevel: s.sstFilesPerLevel,
  diskMiB: Number(mib(s.totalDiskSizeBytes)),
  sstMiB: Number(mib(sstBytes)),
  userDataMiB: Number(mib(N * sample)),
  compactions: s.compaction.totalCompactions,
  writeAmplification: Number(wa.toFixed(2)),
  peakRssMiB: Number((process.resourceUsage().maxRSS / 1024).toFixed(0)),
  openMsMedian: Number(opens[2].toFixed(1)),
};
console.log(JSON.stringify(result, null, 2));
rmSync(dir, { recursive: true, force: true });
