import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Database, LockedError } from '../dist/index.js';
import { root, runNode, tempDir } from './helpers';

const { itemFor } = require('./fixtures/writer.cjs') as { itemFor: (n: number) => Record<string, unknown> };

const base = tempDir('kstone-durability-');
const fixture = (name: string) => join(root, '__test__', 'fixtures', name);
const CYCLES = Number(process.env.KSTONE_KILL_CYCLES ?? 20);
const BUFFERED_CYCLES = Math.max(5, Math.round(CYCLES / 4));

/** Starts the writer, waits until it has acknowledged some writes, kills it after a random delay. */
function killWriterMidway(
  path: string,
  first: number,
  inFlight = 8,
  durability = 'sync',
): Promise<{ acked: number[]; maxStarted: number; inline: number }> {
  return new Promise((resolve, reject) => {
    const args = [fixture('writer.cjs'), path, String(first), String(inFlight), durability];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let inline = 0;
    let buffer = '';
    let stderr = '';
    let armed = false;
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
        if (line.startsWith('inline ')) inline = Number(line.slice(7));
      }
      if (!armed && acked.length >= 5) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), Math.random() * 150);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (${signal}): ${stderr}`));
      else resolve({ acked, maxStarted: Math.max(first, ...acked) + inFlight, inline });
    });
  });
}

describe('durability', () => {
  it(`keeps every acknowledged write across ${CYCLES} SIGKILLs, with no item half-written`, async () => {
    const path = join(base, 'killed');
    let first = 0;
    const everAcked: number[] = [];
    const reopenMs: number[] = [];
    let checked = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const { acked, maxStarted } = await killWriterMidway(path, first);
      everAcked.push(...acked);
      const t0 = performance.now();
      const db = await Database.open(path);
      reopenMs.push(performance.now() - t0);
      // This cycle's acknowledged writes, a sample of older ones, and all of them every 50
      // cycles and at the end: every acknowledged write must survive every later crash.
      const full = cycle % 50 === 49 || cycle === CYCLES - 1;
      const sample = full
        ? everAcked
        : [
            ...acked,
            ...Array.from({ length: 200 }, () => everAcked[Math.floor(Math.random() * everAcked.length)] ?? 0),
          ];
      for (const n of sample) {
        expect(db.getSync({ pk: `k${n}` }), `acknowledged write k${n} lost in cycle ${cycle}`).toEqual(itemFor(n));
      }
      checked += sample.length;
      // Writes that started but were not acknowledged may be there, but only whole.
      for (let n = first; n <= maxStarted; n++) {
        const got = db.getSync({ pk: `k${n}` });
        if (got !== undefined) expect(got).toEqual(itemFor(n));
      }
      if (cycle === CYCLES - 1) {
        // The writer's small memtable means the kills also landed during flushes and compactions.
        expect(db.stats().totalSstFiles).toBeGreaterThan(0);
      }
      await db.close();
      first = maxStarted + 1;
    }
    expect(everAcked.length).toBeGreaterThan(CYCLES * 5 - 1);
    reopenMs.sort((a, b) => a - b);
    const pct = (p: number) =>
      (reopenMs[Math.min(reopenMs.length - 1, Math.floor(p * reopenMs.length))] ?? 0).toFixed(1);
    console.log(
      `kill -9 loop: ${CYCLES} cycles, ${everAcked.length} writes acknowledged, ${checked} checks, 0 lost, ` +
        `0 torn; reopen p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`,
    );
  });

  it(`keeps every acknowledged 'buffered' write, committed on the JavaScript thread, across ${BUFFERED_CYCLES} SIGKILLs`, async () => {
    // One put in flight at a time: each commits on the writer's JavaScript thread (write(2), no
    // fsync), which a process crash must not lose.
    const path = join(base, 'killed-buffered');
    let first = 0;
    let inline = 0;
    const everAcked: number[] = [];
    for (let cycle = 0; cycle <= BUFFERED_CYCLES; cycle++) {
      const db = await Database.open(path, { create: true });
      const check = cycle === BUFFERED_CYCLES ? everAcked : everAcked.slice(-200);
      for (const n of check) {
        expect(db.getSync({ pk: `k${n}` }), `acknowledged write k${n} lost before cycle ${cycle}`).toEqual(itemFor(n));
      }
      await db.close();
      if (cycle === BUFFERED_CYCLES) break;
      const killed = await killWriterMidway(path, first, 1, 'buffered');
      everAcked.push(...killed.acked);
      inline += killed.inline;
      first = killed.maxStarted + 1;
    }
    expect(everAcked.length).toBeGreaterThan(BUFFERED_CYCLES * 5 - 1);
    expect(inline, 'the writes committed on the JavaScript thread').toBeGreaterThan(0);
    console.log(
      `kill -9 loop, 'buffered' puts one in flight: ${BUFFERED_CYCLES} cycles, ${everAcked.length} writes ` +
        `acknowledged (at least ${inline} of them committed on the JavaScript thread), 0 lost`,
    );
  });

  it('keeps a second process out with Locked, and lets it in after close', async () => {
    const path = join(base, 'locked');
    const db = await Database.create(path);
    const blocked = await runNode([fixture('open.cjs'), path, 'put']);
    expect(JSON.parse(blocked.stdout)).toMatchObject({ ok: false, code: 'Locked', name: LockedError.name });
    expect(JSON.parse(blocked.stdout).message).toMatch(/open in another process/);
    await db.close();
    const allowed = await runNode([fixture('open.cjs'), path, 'put']);
    expect(JSON.parse(allowed.stdout)).toEqual({ ok: true });
    const again = await Database.open(path);
    expect(await again.get({ pk: 'from-child' })).toEqual({ pk: 'from-child' });
    await again.close();
  });

  it('lets a process that never calls close() exit by itself, with its writes kept', async () => {
    const path = join(base, 'noclose');
    await (await Database.create(path)).close();
    const r = await runNode([fixture('open.cjs'), path, 'noclose'], { timeoutMs: 15_000 });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    const db = await Database.open(path);
    expect(await db.get({ pk: 'from-child' })).toEqual({ pk: 'from-child' });
    await db.close();
  });

  it('shares one engine between worker threads of one process', async () => {
    const path = join(base, 'workers');
    const db = await Database.create(path);
    await db.put({ pk: 'from-main' });
    const results = await Promise.all(
      [1, 2, 3].map(
        (id) =>
          new Promise<{ done: boolean; seen?: boolean; code?: string }>((resolve, reject) => {
            const w = new Worker(fixture('worker.cjs'), { workerData: { path, id, count: 50 } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    expect(results).toEqual([1, 2, 3].map(() => ({ done: true, seen: true })));
    for (const id of [1, 2, 3]) expect(db.getSync({ pk: `w${id}-49` })).toEqual({ pk: `w${id}-49`, i: 49 });
    await db.close();
  });

  it('survives worker threads terminated with writes in flight, and keeps what they had acknowledged', async () => {
    const path = join(base, 'terminated');
    const db = await Database.create(path);
    for (let round = 0; round < 3; round++) {
      const workers = [1, 2].map((id) => new Worker(fixture('worker.cjs'), { workerData: { path, id, flood: true } }));
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', (m: { started?: boolean; message?: string }) =>
                m.started ? resolve() : reject(new Error(m.message)),
              );
              w.once('error', reject);
            }),
        ),
      );
      // Each worker's first 64 puts were acknowledged before it said so; later ones are in flight.
      await Promise.all(workers.map((w) => w.terminate()));
      for (const id of [1, 2]) expect(db.getSync({ pk: `f${id}-63` })).toMatchObject({ pk: `f${id}-63` });
      // This process's own writes still go through, on its own write thread.
      await db.put({ pk: `after-${round}` });
      expect(await db.get({ pk: `after-${round}` })).toEqual({ pk: `after-${round}` });
    }
    await db.close();
    const again = await Database.open(path);
    expect(again.getSync({ pk: 'after-2' })).toEqual({ pk: 'after-2' });
    await again.close();
  });
});

describe('I/O failure', () => {
  it('a failed WAL write poisons the database: typed errors, unhealthy, reopen keeps every acknowledged write', async () => {
    const path = join(base, 'efbig');
    const r = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
      const child = spawn(
        'bash',
        ['-c', `ulimit -f 256 && exec "${process.execPath}" "${fixture('fsize.cjs')}" "${path}"`],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ stdout, stderr, code }));
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      acked: number[];
      failure?: { code: string; message: string };
      after: { code?: string };
      health: { status: string; errors: string[] };
      stillReadable: boolean;
    };
    expect(out.acked.length).toBeGreaterThan(10);
    expect(out.failure).toMatchObject({ code: 'Io', message: expect.stringMatching(/wal_\d+\.log/) });
    expect(out.after.code).toBe('Poisoned');
    expect(out.health.status).toBe('unhealthy');
    expect(out.health.errors.join()).toMatch(/refused/);
    expect(out.stillReadable).toBe(true);
    const db = await Database.open(path);
    for (const i of out.acked) expect(db.getSync({ pk: `k${i}` })?.pad).toHaveLength(1000);
    await db.put({ pk: 'after-reopen' });
    expect(await db.get({ pk: 'after-reopen' })).toEqual({ pk: 'after-reopen' });
    await db.close();
  });
});
