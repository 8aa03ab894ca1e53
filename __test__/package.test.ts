import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, runNode, tempDir } from './helpers';

const base = tempDir('kstone-pkg-');
// An application folder that depends on keystonedb: node_modules/keystonedb is this package.
mkdirSync(join(base, 'node_modules'));
symlinkSync(root, join(base, 'node_modules', 'keystonedb'), 'dir');

describe('the keystonedb package', () => {
  it('works through require("keystonedb")', async () => {
    const script = join(base, 'cjs.cjs');
    writeFileSync(
      script,
      `const { Database, KeystoneError } = require('keystonedb');
       (async () => {
         const db = await Database.create(${JSON.stringify(join(base, 'cjs-db'))});
         await db.put({ pk: 'user#1', name: 'Alice', age: 30 });
         console.log(JSON.stringify(await db.get({ pk: 'user#1' })), typeof KeystoneError);
         await db.close();
       })();`,
    );
    const r = await runNode([script], { cwd: base });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('{"pk":"user#1","name":"Alice","age":30} function');
  });

  it('works through import { Database } from "keystonedb"', async () => {
    const script = join(base, 'esm.mjs');
    writeFileSync(
      script,
      `import { Database, ValidationError } from 'keystonedb';
       const db = await Database.create(${JSON.stringify(join(base, 'esm-db'))});
       await db.put({ pk: 'k', v: 1 });
       console.log(JSON.stringify(await db.get({ pk: 'k' })), typeof ValidationError);
       await db.close();`,
    );
    const r = await runNode([script], { cwd: base });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('{"pk":"k","v":1} function');
  });

  it('logs through RUST_LOG and is silent without it', async () => {
    const script = join(base, 'log.cjs');
    writeFileSync(
      script,
      `const { Database } = require('keystonedb');
       (async () => { const db = await Database.open(${JSON.stringify(join(base, 'log-db'))}, { create: true }); await db.close(); })();`,
    );
    const quiet = await runNode([script], { cwd: base });
    expect(quiet.stderr).toBe('');
    const loud = await runNode([script], { cwd: base, env: { RUST_LOG: 'keystone_core=info' } });
    expect(loud.stderr).toMatch(/opened database/);
  });

  it('stops with what to install when building from source finds no cargo', async () => {
    const emptyBin = join(base, 'no-cargo-bin');
    mkdirSync(emptyBin, { recursive: true });
    // Only node on PATH: the build must refuse before doing anything, and say what to install.
    symlinkSync(process.execPath, join(emptyBin, 'node'));
    const r = await runNode([join(root, 'scripts', 'build.mjs')], { env: { PATH: emptyBin } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs the Rust toolchain \(cargo/);
    expect(r.stderr).toMatch(/rustup/);
  });

  it('names the platform and what it tried when no native binary can be loaded', async () => {
    // A copy of the package without any .node file: what a user gets when the per-platform
    // package for their machine was not installed.
    const pkg = join(base, 'broken', 'node_modules', 'keystonedb');
    mkdirSync(pkg, { recursive: true });
    for (const f of ['package.json', 'binding.js', 'index.d.ts']) cpSync(join(root, f), join(pkg, f));
    cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
    cpSync(join(root, 'node_modules', 'commander'), join(pkg, 'node_modules', 'commander'), { recursive: true });
    const r = await runNode(['-e', "require('keystonedb')"], { cwd: join(base, 'broken') });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`no native binary could be loaded for ${process.platform}-${process.arch}`);
    expect(r.stderr).toContain(`keystonedb-${process.platform}-${process.arch}`);
  });
});
