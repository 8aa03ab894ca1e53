#!/usr/bin/env node
/**
 * `kstone`: the command-line tool. Every failure prints one line, `kstone: <message>`, to stderr
 * and exits non-zero (1 for errors, 2 for bad usage).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import type { Item } from '../codec';
import { Database } from '../database';
import { KeystoneError } from '../errors';

const version = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

/** Exit code for a missing item: like `grep`, "not found" is distinct from an error. */
const EXIT_NOT_FOUND = 1;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** JSON for what JSON cannot say: sets become arrays, binaries base64, bigints decimal strings. */
function toJson(item: Item): string {
  return JSON.stringify(
    item,
    (_k, v: unknown) => {
      if (v instanceof Set) return [...v];
      if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
      if (typeof v === 'bigint') return v.toString();
      return v;
    },
    2,
  );
}

function parseItemJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`the item is not valid JSON: ${(err as Error).message}`, 2);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError('the item must be a JSON object, e.g. \'{"name":"Alice"}\'', 2);
  }
  return value as Record<string, unknown>;
}

async function withDb<T>(path: string, f: (db: Database) => Promise<T>): Promise<T> {
  const db = await Database.open(path);
  try {
    return await f(db);
  } finally {
    await db.close();
  }
}

function program(): Command {
  const cli = new Command('kstone')
    .description('keystonedb: an embedded, DynamoDB-style database')
    .version(`kstone ${version}`, '-V, --version', 'print the version')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `kstone: ${s.slice(7)}` : s) });

  cli
    .command('create')
    .description('create a new, empty database directory')
    .argument('<path>', 'directory to create (must not exist or be empty)')
    .action(async (path: string) => {
      const db = await Database.create(path);
      await db.close();
      console.log(`created ${path}`);
    });

  cli
    .command('put')
    .description('store an item in the default table under partition key <pk> (replaces any item with that key)')
    .argument('<path>', 'database directory')
    .argument('<pk>', 'partition key (string)')
    .argument('[json]', "the item's other attributes, as a JSON object", '{}')
    .action(async (path: string, pk: string, json: string) => {
      const attrs = parseItemJson(json);
      if ('pk' in attrs && attrs.pk !== pk) {
        throw new CliError(`the JSON sets pk to ${JSON.stringify(attrs.pk)} but the key argument is "${pk}"`, 2);
      }
      await withDb(path, (db) => db.put({ pk, ...(attrs as Item) }));
    });

  cli
    .command('get')
    .description('print the item with partition key <pk> as JSON (exit code 1 if there is none)')
    .argument('<path>', 'database directory')
    .argument('<pk>', 'partition key (string)')
    .action(async (path: string, pk: string) => {
      const item = await withDb(path, (db) => db.get({ pk }));
      if (item === undefined) throw new CliError(`no item with pk "${pk}"`, EXIT_NOT_FOUND);
      console.log(toJson(item));
    });

  cli
    .command('delete')
    .description('delete the item with partition key <pk> (deleting a missing item is not an error)')
    .argument('<path>', 'database directory')
    .argument('<pk>', 'partition key (string)')
    .action(async (path: string, pk: string) => {
      await withDb(path, (db) => db.delete({ pk }));
    });

  cli
    .command('stats')
    .description('print file counts, sizes and compaction totals as JSON')
    .argument('<path>', 'database directory')
    .action(async (path: string) => {
      console.log(JSON.stringify(await withDb(path, async (db) => db.stats()), null, 2));
    });

  cli
    .command('health')
    .description("print the database's health as JSON (exit code 1 if unhealthy)")
    .argument('<path>', 'database directory')
    .action(async (path: string) => {
      const health = await withDb(path, async (db) => db.health());
      console.log(JSON.stringify(health, null, 2));
      if (health.status === 'unhealthy') process.exitCode = 1;
    });

  cli
    .command('verify')
    .description('check every checksum of every file; exit code 1 if anything is damaged')
    .argument('<path>', 'database directory')
    .action(async (path: string) => {
      const report = await withDb(path, (db) => db.verify());
      console.log(
        `checked ${report.sstFiles} SST files (${report.sstEntries} entries) and ${report.walSegments} WAL segments ` +
          `(${report.walBatches} batches)`,
      );
      for (const p of report.problems) console.log(`damaged: ${p}`);
      if (report.problems.length > 0) throw new CliError(`${report.problems.length} damaged file(s) in ${path}`);
    });

  cli
    .command('compact')
    .description('flush and fully compact the database, dropping overwritten and deleted data')
    .argument('<path>', 'database directory')
    .action(async (path: string) => {
      const before = await withDb(path, async (db) => {
        const b = db.stats();
        await db.compact();
        return { before: b, after: db.stats() };
      });
      const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
      console.log(
        `compacted ${path}: ${before.before.totalSstFiles} → ${before.after.totalSstFiles} SST files, ` +
          `${mib(before.before.totalDiskSizeBytes)} → ${mib(before.after.totalDiskSizeBytes)} on disk`,
      );
    });

  return cli;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander has already printed usage errors.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (process.exitCode !== undefined && process.exitCode !== 0) return Number(process.exitCode);
    if (err instanceof CliError) {
      process.stderr.write(`kstone: ${err.message}\n`);
      return err.exitCode;
    }
    const message = err instanceof KeystoneError ? `${err.message} (${err.code})` : String(err);
    process.stderr.write(`kstone: ${message.split('\n')[0]}\n`);
    return 1;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
