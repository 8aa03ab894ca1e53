// How long this disk takes to make a small write durable, measured beside the durable-put rows.
//
// A durable put is acknowledged after an fsync, so the disk bounds those rows whatever the
// engine does: with one put in flight, at most 1 / (fsync latency) puts a second; with 64 in
// flight and every waiting put sharing one fsync (group commit), 64 / (fsync latency). On this
// kind of host the latency moves by 2-3x from one hour to the next, and the durable rows with
// it; the probe lets a reader of the results see how far each row is from its bound that day.
//
// The probe writes as keystonedb's WAL does: records of 160 B appended one after another into a
// file whose blocks were written (as zeros) and fsynced beforehand, each followed by
// fdatasync, one at a time.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RECORD_BYTES = 160;
const FILE_BYTES = 1 << 20;

/** p50 and p90 in µs of `count` (160 B write + fdatasync) pairs in a preallocated file. */
export function probeFsync(count) {
  const dir = mkdtempSync(join(tmpdir(), 'kstone-bench-disk-'));
  const fd = openSync(join(dir, 'probe'), 'w');
  try {
    writeSync(fd, Buffer.alloc(FILE_BYTES));
    fdatasyncSync(fd);
    const record = Buffer.alloc(RECORD_BYTES, 0x5a);
    const micros = [];
    for (let i = 0; i < count; i++) {
      const at = (i * RECORD_BYTES) % (FILE_BYTES - RECORD_BYTES);
      const t = process.hrtime.bigint();
      writeSync(fd, record, 0, RECORD_BYTES, at);
      fdatasyncSync(fd);
      micros.push(Number(process.hrtime.bigint() - t) / 1000);
    }
    micros.sort((a, b) => a - b);
    const at = (q) => micros[Math.min(micros.length - 1, Math.floor(q * micros.length))];
    return { p50Us: at(0.5), p90Us: at(0.9) };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
