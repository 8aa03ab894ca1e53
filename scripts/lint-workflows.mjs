#!/usr/bin/env node
// Validates every GitHub Actions workflow against its schema (action-validator).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, '.github', 'workflows');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
if (files.length === 0) {
  console.error('lint-workflows: no workflow files found in .github/workflows');
  process.exit(1);
}
const validator = join(root, 'node_modules', '.bin', 'action-validator');
let failed = 0;
for (const f of files) {
  const r = spawnSync(validator, [join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
console.log(`lint-workflows: ${files.length - failed} of ${files.length} workflow files valid`);
process.exit(failed === 0 ? 0 : 1);
