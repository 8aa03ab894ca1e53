#!/usr/bin/env node
// How items should cross the JS↔Rust boundary: measured, not assumed. Compares, on the same
// ~150-byte items, (1) napi walking a JS object property by property against one encoded
// buffer decoded in Rust, (2) Rust building a JS object against Rust handing bytes that JS
// decodes, and (3) getSync against async get for data in memory. Prints rates and ratios.
// Usage: node bench/boundary.mjs [--items 100000]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { itemOf, keyOf } from './data.mjs';

const require = createRequire(import.meta.url);
const native = require('../binding.js');
const { Database } = require('../dist/index.js');
const { encodeItem, decodeItem } = require('../dist/src/codec.js');

const { values } = parseArgs({ options: { items: { type: 'string', default: '100000' } } });
const N = Number(values.items);
const item = (i) => ({ pk: keyOf(i), ...itemOf(i) });
const items = Array.from({ length: N }, (_, i) => item(i));
const buffers = items.map((x) => encodeItem(x));

/** Median rate (ops/s) of `f` over 5 runs of N operations. */
function rate(f) {
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) f(i);
    runs.push(N / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return runs.sort((a, b) => a - b)[2];
}

const rows = [];
const into = {
  object: rate((i) => native.probeItemFromObject(items[i])),
  buffer: rate((i) => native.probeItemFromBuffer(encodeItem(items[i]))),
};
rows.push(['JS → Rust (item in)', into.object, into.buffer]);
const out = {
  object: rate((i) => native.probeObjectFromItem(buffers[i])),
  buffer: rate((i) => decodeItem(native.probeBufferFromItem(buffers[i]))),
};
rows.push(['Rust → JS (item out)', out.object, out.buffer]);

const dir = mkdtempSync(join(tmpdir(), 'kstone-boundary-'));
const db = await Database.create(join(dir, 'db'), { durability: 'none' });
for (let i = 0; i < N; i += 1000) await Promise.all(items.slice(i, i + 1000).map((x) => db.put(x)));
const keys = items.map((x) => ({ pk: x.pk }));
const sync = rate((i) => db.getSync(keys[i]));
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i += 256) await Promise.all(keys.slice(i, i + 256).map((k) => db.get(k)));
const asyncRate = N / (Number(process.hrtime.bigint() - t0) / 1e9);
await db.close();
rmSync(dir, { recursive: true, force: true });

const fmt = (x) => `${Math.round(x).toLocaleString('en-US')}/s`;
console.log(`items: ${N}, ~${JSON.stringify(items[0]).length} B as JSON\n`);
console.log('| crossing | napi object walk | encoded buffer | buffer / object |');
console.log('| --- | --- | --- | --- |');
for (const [name, o, b] of rows) console.log(`| ${name} | ${fmt(o)} | ${fmt(b)} | ${(b / o).toFixed(2)} |`);
console.log(`\n| read of an item in memory | rate |\n| --- | --- |`);
console.log(
  `| getSync | ${fmt(sync)} |\n| get (async, 256 in flight) | ${fmt(asyncRate)} |\n| getSync / get | ${(sync / asyncRate).toFixed(2)} |`,
);
