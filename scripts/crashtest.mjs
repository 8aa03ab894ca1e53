#!/usr/bin/env node
// The SIGKILL recovery test with as many cycles as you ask for (npm test runs 20):
//   npm run crashtest -- --cycles 1000
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { cycles: { type: 'string', default: '1000' } } });
const cycles = Number(values.cycles);
if (!Number.isInteger(cycles) || cycles < 1) {
  console.error(`crashtest: --cycles must be a positive integer, not "${values.cycles}"`);
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(
  join(root, 'node_modules', '.bin', 'vitest'),
  ['run', '__test__/durability.test.ts', '-t', 'SIGKILL', '--testTimeout', String(60_000 + cycles * 5_000)],
  { cwd: root, stdio: 'inherit', env: { ...process.env, KSTONE_KILL_CYCLES: String(cycles) } },
);
process.exit(r.status ?? 1);
