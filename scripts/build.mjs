#!/usr/bin/env node
// Builds the package from source: the Rust addon (release unless --debug) through napi-rs,
// then the TypeScript API into dist/. Run by `npm ci` (the `prepare` script) and `npm test`.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const debug = process.argv.includes('--debug');
const bin = (name) => join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);

function fail(message) {
  console.error(`\nkeystonedb build: ${message}\n`);
  process.exit(1);
}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.error) fail(`${what} could not start: ${r.error.message}`);
  if (r.status !== 0) fail(`${what} failed (exit code ${r.status}); see the output above.`);
}

const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (cargo.error || cargo.status !== 0) {
  fail(
    'building keystonedb from source needs the Rust toolchain (cargo, Rust 1.89 or newer), and `cargo` ' +
      'was not found on PATH.\nInstall Rust with rustup (https://rustup.rs), open a new shell so PATH ' +
      'includes ~/.cargo/bin, then run `npm ci` again.',
  );
}
for (const tool of ['napi', 'tsc']) {
  if (!existsSync(bin(tool))) fail(`${tool} is missing from node_modules; run \`npm ci\` first.`);
}

const napiArgs = [
  'build',
  '--platform',
  '-p',
  'keystonedb-node',
  '-o',
  '.',
  '--js',
  'binding.js',
  '--dts',
  'binding.d.ts',
];
if (!debug) napiArgs.push('--release');
run(bin('napi'), napiArgs, `napi build (${debug ? 'debug' : 'release'})`);
run(bin('tsc'), ['-p', 'tsconfig.json'], 'the TypeScript compiler');

// dist/src/native.d.ts refers to the loader's declarations one level up, as src/ does.
copyFileSync(join(root, 'binding.d.ts'), join(root, 'dist', 'binding.d.ts'));

// The CLI must be executable for the `kstone` bin of an installed package.
chmodSync(join(root, 'dist', 'src', 'cli', 'kstone.js'), 0o755);
