//! Flushing: a frozen memtable becomes one L0 SST per keyspace it holds, installed in the
//! manifest together with the new WAL log number, after which the memtable is dropped and the
//! WAL segments it covered become obsolete.
//!
//! Only the newest version of each key is written: the engine holds no snapshot older than the
//! newest committed write (reads take their snapshot and finish without blocking a flush).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::db::{Frozen, Inner};
use crate::error::Result;
use crate::manifest::VersionEdit;
use crate::sst::{EntryKind, SstInfo, SstWriteOptions, SstWriter};
use crate::tables::sst_name;
use crate::version::FileMeta;
use crate::wal;

impl FileMeta {
    pub(crate) fn from_info(info: &SstInfo, level: u32) -> FileMeta {
        FileMeta {
            file_number: info.file_number,
            keyspace: info.keyspace,
            level,
            size: info.file_size,
            entries: info.entries,
            min_seq: info.min_seq,
            max_seq: info.max_seq,
            smallest_key: info.smallest_key.clone(),
            largest_key: info.largest_key.clone(),
        }
    }
}

impl Inner {
    pub(crate) fn sst_options(&self, keyspace: u32, level: u32, file_number: u64) -> SstWriteOptions {
        SstWriteOptions {
            keyspace,
            level,
            file_number,
            block_size_bytes: self.options.block_size_bytes,
            bloom_false_positive_rate: self.options.bloom_false_positive_rate,
            compression: self.options.compression,
            vfs: Arc::clone(&self.options.vfs),
        }
    }

    pub(crate) fn new_sst(&self, keyspace: u32, level: u32) -> Result<SstWriter> {
        let n = self.next_file_number.fetch_add(1, Ordering::Relaxed);
        SstWriter::create(&self.dir.join(sst_name(n)), self.sst_options(keyspace, level, n))
    }

    /// Flushes every frozen memtable, oldest first. Flusher thread and `flush_all` only: they
    /// are serialized by the flush lock.
    /// A failure poisons the database (from whichever thread flushed): the files it left may
    /// be half-durable, and only a reopen, which reads the directory afresh, can tell.
    pub(crate) fn flush_frozen(&self) -> Result<()> {
        let _one_at_a_time = self.flush_lock.lock();
        loop {
            let Some(frozen) = self.mem.read().immutable.first().cloned() else { return Ok(()) };
            if let Some(e) = self.poisoned_error() {
                return Err(e);
            }
            if let Err(e) = self.flush_one(&frozen) {
                self.poison(&e);
                return Err(e);
            }
            let mut m = self.mem.write();
            if m.immutable.first().is_some_and(|f| Arc::ptr_eq(&f.mem, &frozen.mem)) {
                m.immutable.remove(0);
            }
            drop(m);
            self.wake_background();
            self.progress.notify_all();
        }
    }

    fn flush_one(&self, frozen: &Frozen) -> Result<()> {
        let mut added = Vec::new();
        let mut writer: Option<SstWriter> = None;
        // The keyspace and key of the entry written last (the key's buffer is reused).
        let mut last: Option<u32> = None;
        let mut last_key: Vec<u8> = Vec::new();
        frozen.mem.for_each(|keyspace, key, seq, value| -> Result<()> {
            if last == Some(keyspace) && last_key == key {
                return Ok(());
            }
            if last != Some(keyspace) {
                if let Some(w) = writer.take() {
                    added.push(FileMeta::from_info(&w.finish()?, 0));
                }
                writer = Some(self.new_sst(keyspace, 0)?);
            }
            if let Some(w) = writer.as_mut() {
                match value {
                    Some(v) => w.add(key, seq, EntryKind::Put, v)?,
                    None => w.add(key, seq, EntryKind::Delete, &[])?,
                }
            }
            last = Some(keyspace);
            last_key.clear();
            last_key.extend_from_slice(key);
            Ok(())
        })?;
        if let Some(w) = writer.take() {
            added.push(FileMeta::from_info(&w.finish()?, 0));
        }
        let bytes: u64 = added.iter().map(|f| f.size).sum();
        let log_number = frozen.last_wal_segment + 1;
        let obsolete: Vec<PathBuf> = wal::list_segments(&*self.options.vfs, &self.dir)?
            .into_iter()
            .filter(|&n| n < log_number)
            .map(|n| self.dir.join(wal::segment_name(n)))
            .collect();
        let edit = VersionEdit {
            added,
            deleted: Vec::new(),
            log_number: Some(log_number),
            next_file_number: Some(self.next_file_number.load(Ordering::Relaxed)),
            last_seq: Some(self.visible_seq.load(Ordering::Acquire)),
        };
        let files = edit.added.len();
        self.install(&edit, obsolete)?;
        self.flush_bytes.fetch_add(bytes, Ordering::Relaxed);
        tracing::debug!(files, bytes, log_number, "flushed memtable");
        Ok(())
    }

    /// Freezes the active memtable (if it holds anything) and flushes every frozen one.
    pub(crate) fn flush_all(&self) -> Result<()> {
        self.freeze_active()?;
        self.flush_frozen()
    }
}
