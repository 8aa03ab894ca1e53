//! Leveled compaction, per keyspace, on background threads.
//!
//! Picking (under `Inner::bg`, so concurrent compactions never share a file):
//! - L0 → L1 once a keyspace's L0 holds `l0_trigger` files: all of L0 plus the L1 files that
//!   overlap it;
//! - Ln → Ln+1 once Ln holds more than `level_base_bytes × 10^(n-1)`: one Ln file plus the
//!   Ln+1 files that overlap it.
//!
//! Running: a merge of the inputs keeps the newest version of each key (shadowed versions are
//! dropped: no reader holds an older snapshot) and drops tombstones when no deeper level holds
//! the key range, writes outputs of about `target_file_bytes`, and installs "inputs out,
//! outputs in" as one manifest edit. Outputs of a sorted run of distinct keys never overlap,
//! and they stay inside the inputs' key ranges, which no other file of the output level
//! overlaps; `Version::apply` checks this again.
//!
//! `compact_all` (the API's `compact()`) waits for running compactions, then merges every file
//! of each keyspace into one run at the deepest level in use.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::db::Inner;
use crate::error::Result;
use crate::manifest::VersionEdit;
use crate::merge::{MergeIter, NewestOnly, Source};
use crate::sst::{EntryKind, SstWriter};
use crate::tables::sst_name;
use crate::version::{FileMeta, Version, NUM_LEVELS};

pub(crate) struct Job {
    keyspace: u32,
    inputs: Vec<Arc<FileMeta>>,
    output_level: u32,
    drop_tombstones: bool,
}

fn key_range(files: &[Arc<FileMeta>]) -> Option<(Vec<u8>, Vec<u8>)> {
    let smallest = files.iter().map(|f| &f.smallest_key).min()?.clone();
    let largest = files.iter().map(|f| &f.largest_key).max()?.clone();
    Some((smallest, largest))
}

/// True if no level below `level` holds a key in `range`: a tombstone there hides nothing.
fn bottommost(v: &Version, keyspace: u32, level: u32, range: &(Vec<u8>, Vec<u8>)) -> bool {
    (level + 1..NUM_LEVELS).all(|l| v.overlapping(keyspace, l, &range.0, &range.1).is_empty())
}

fn level_target_bytes(base: u64, level: u32) -> u64 {
    base.saturating_mul(10u64.saturating_pow(level.saturating_sub(1)))
}

impl Inner {
    /// A compaction to run now, if one is due; its inputs are marked busy.
    fn pick(&self, busy: &mut std::collections::HashSet<u64>) -> Option<Job> {
        let v = Arc::clone(&self.version.read());
        let free = |files: &[Arc<FileMeta>]| files.iter().all(|f| !busy.contains(&f.file_number));
        let mut job = None;
        'keyspaces: for ks in v.keyspaces() {
            let l0 = v.files(ks, 0);
            if l0.len() >= self.options.compaction.l0_trigger.max(1) && free(l0) {
                let range = key_range(l0)?;
                let mut inputs = l0.to_vec();
                let l1 = v.overlapping(ks, 1, &range.0, &range.1);
                if free(&l1) {
                    inputs.extend(l1);
                    job = Some((ks, inputs, 1));
                    break 'keyspaces;
                }
            }
            for level in 1..NUM_LEVELS - 1 {
                let files = v.files(ks, level);
                let size: u64 = files.iter().map(|f| f.size).sum();
                if size <= level_target_bytes(self.options.level_base_bytes, level) {
                    continue;
                }
                for f in files.iter().filter(|f| !busy.contains(&f.file_number)) {
                    let next = v.overlapping(ks, level + 1, &f.smallest_key, &f.largest_key);
                    if free(&next) {
                        let mut inputs = vec![Arc::clone(f)];
                        inputs.extend(next);
                        job = Some((ks, inputs, level + 1));
                        break 'keyspaces;
                    }
                }
            }
        }
        let (keyspace, inputs, output_level) = job?;
        let range = key_range(&inputs)?;
        busy.extend(inputs.iter().map(|f| f.file_number));
        Some(Job { keyspace, drop_tombstones: bottommost(&v, keyspace, output_level, &range), inputs, output_level })
    }

    /// Runs `job`; returns false if the database began closing and the job was abandoned.
    fn run(&self, job: &Job) -> Result<bool> {
        let mut sources: Vec<Source<'static>> = Vec::new();
        for f in &job.inputs {
            sources.push(Box::new(self.tables.get(f.file_number)?.iter_uncached()));
        }
        let mut merged = NewestOnly::new(MergeIter::new(sources));
        let mut outputs: Vec<FileMeta> = Vec::new();
        let mut writer: Option<SstWriter> = None;
        let mut written_in_file = 0u64;
        let mut tombstones_removed = 0u64;
        let abandon = |outputs: &[FileMeta]| {
            for o in outputs {
                let _ = self.options.vfs.remove(&self.dir.join(sst_name(o.file_number)));
            }
        };
        for (i, entry) in merged.by_ref().enumerate() {
            if i % 1024 == 0 && self.stopping.load(Ordering::Acquire) {
                drop(writer);
                abandon(&outputs);
                return Ok(false);
            }
            let (key, seq, kind, value) = entry?;
            if kind == EntryKind::Delete && job.drop_tombstones {
                tombstones_removed += 1;
                continue;
            }
            let w = match writer.as_mut() {
                Some(w) => w,
                None => writer.insert(self.new_sst(job.keyspace, job.output_level)?),
            };
            w.add(&key, seq, kind, &value)?;
            written_in_file += (key.len() + value.len()) as u64;
            if written_in_file >= self.options.target_file_bytes {
                if let Some(w) = writer.take() {
                    outputs.push(FileMeta::from_info(&w.finish()?, job.output_level));
                }
                written_in_file = 0;
            }
        }
        if let Some(w) = writer.take() {
            outputs.push(FileMeta::from_info(&w.finish()?, job.output_level));
        }
        let bytes_read: u64 = job.inputs.iter().map(|f| f.size).sum();
        let bytes_written: u64 = outputs.iter().map(|f| f.size).sum();
        let created = outputs.len() as u64;
        let edit = VersionEdit {
            added: outputs,
            deleted: job.inputs.iter().map(|f| (f.keyspace, f.level, f.file_number)).collect(),
            log_number: None,
            next_file_number: Some(self.next_file_number.load(Ordering::Relaxed)),
            last_seq: Some(self.visible_seq.load(Ordering::Acquire)),
        };
        let obsolete: Vec<PathBuf> = job.inputs.iter().map(|f| self.dir.join(sst_name(f.file_number))).collect();
        if let Err(e) = self.install(&edit, obsolete) {
            // After an I/O error the MANIFEST on disk may already list the outputs (the rename
            // happened, the directory fsync failed): they must stay. Recovery deletes whatever
            // the MANIFEST it reads does not list. Any other error refused the install before
            // anything was written.
            if e.code() != crate::error::ErrorCode::Io {
                abandon(&edit.added);
            }
            return Err(e);
        }
        let c = &self.counters;
        c.total_compactions.fetch_add(1, Ordering::Relaxed);
        c.total_ssts_merged.fetch_add(job.inputs.len() as u64, Ordering::Relaxed);
        c.total_ssts_created.fetch_add(created, Ordering::Relaxed);
        c.total_bytes_read.fetch_add(bytes_read, Ordering::Relaxed);
        c.total_bytes_written.fetch_add(bytes_written, Ordering::Relaxed);
        c.total_bytes_reclaimed.fetch_add(bytes_read.saturating_sub(bytes_written), Ordering::Relaxed);
        c.total_records_deduplicated.fetch_add(merged.shadowed, Ordering::Relaxed);
        c.total_tombstones_removed.fetch_add(tombstones_removed, Ordering::Relaxed);
        tracing::debug!(
            keyspace = job.keyspace,
            inputs = job.inputs.len(),
            outputs = created,
            level = job.output_level,
            "compacted"
        );
        Ok(true)
    }

    /// Runs a picked job with the bookkeeping around it; releases its inputs afterwards.
    fn run_tracked(&self, job: &Job) -> Result<bool> {
        self.counters.active_compactions.fetch_add(1, Ordering::Relaxed);
        let result = self.run(job);
        self.counters.active_compactions.fetch_sub(1, Ordering::Relaxed);
        let mut bg = self.bg.lock();
        for f in &job.inputs {
            bg.busy.remove(&f.file_number);
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, "compaction failed; background compaction stops until reopen");
            bg.error = Some(format!("compaction failed: {e}"));
            // An I/O error may have left an output or the MANIFEST half-durable, as a failed
            // flush may: writes stop until a reopen reads the directory afresh.
            if e.code() == crate::error::ErrorCode::Io {
                self.poison(e);
            }
        }
        drop(bg);
        self.bg_signal.notify_all();
        self.progress.notify_all();
        result
    }

    /// Merges every file of every keyspace into one run at its deepest level in use.
    pub(crate) fn compact_all(&self) -> Result<()> {
        let mut bg = self.bg.lock();
        while bg.manual || !bg.busy.is_empty() {
            if self.stopping.load(Ordering::Acquire) {
                return Ok(());
            }
            self.progress.wait_for(&mut bg, Duration::from_millis(50));
        }
        bg.manual = true;
        drop(bg);
        let result = self.compact_all_now();
        self.bg.lock().manual = false;
        self.bg_signal.notify_all();
        self.progress.notify_all();
        result
    }

    fn compact_all_now(&self) -> Result<()> {
        let v = Arc::clone(&self.version.read());
        for ks in v.keyspaces() {
            let levels = v.levels(ks);
            let inputs: Vec<Arc<FileMeta>> = levels.iter().flatten().cloned().collect();
            let deepest = levels.iter().rposition(|l| !l.is_empty()).unwrap_or(0) as u32;
            let single_run = inputs.len() == 1 && deepest > 0;
            if inputs.is_empty()
                || single_run && inputs.iter().all(|f| f.entries > 0) && !self.has_tombstones(&inputs)?
            {
                continue;
            }
            let job = Job { keyspace: ks, drop_tombstones: true, output_level: deepest.max(1), inputs };
            self.bg.lock().busy.extend(job.inputs.iter().map(|f| f.file_number));
            self.run_tracked(&job)?;
        }
        Ok(())
    }

    fn has_tombstones(&self, files: &[Arc<FileMeta>]) -> Result<bool> {
        for f in files {
            if self.tables.get(f.file_number)?.info().tombstones > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// A compaction thread: sleeps until woken (after a flush) or `check_interval_ms` passes, runs
/// whatever is due, repeats until the database closes.
pub(crate) fn compactor_loop(inner: &Inner) {
    let interval = Duration::from_millis(inner.options.compaction.check_interval_ms.max(1));
    loop {
        let job = {
            let mut bg = inner.bg.lock();
            loop {
                if inner.stopping.load(Ordering::Acquire) {
                    return;
                }
                if inner.options.compaction.enabled && !bg.manual && bg.error.is_none() {
                    if let Some(job) = inner.pick(&mut bg.busy) {
                        break job;
                    }
                }
                inner.bg_signal.wait_for(&mut bg, interval);
            }
        };
        // Errors are recorded by run_tracked and shown by health().
        let _ = inner.run_tracked(&job);
    }
}
