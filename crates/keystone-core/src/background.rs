//! The engine's background threads, one concept each: the WAL syncer (fsyncs `buffered` writes
//! every `sync_interval_ms`), the flusher (frozen memtables to L0, then deletes obsolete files
//! whose time has come) and `compaction.maxConcurrent` compactors (`compaction.rs`). They sleep
//! on `Inner::bg_signal` and stop when `Inner::stopping` is set; closing joins them.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::db::Inner;
use crate::error::{Error, Result};

impl Inner {
    pub(crate) fn stop_background(&self, threads: Vec<JoinHandle<()>>) {
        self.stopping.store(true, Ordering::Release);
        {
            let _bg = self.bg.lock();
            self.bg_signal.notify_all();
            self.progress.notify_all();
        }
        for t in threads {
            let _ = t.join();
        }
    }
}

fn spawn(name: &str, inner: &Arc<Inner>, body: fn(&Inner)) -> Result<JoinHandle<()>> {
    let inner = Arc::clone(inner);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || body(&inner))
        .map_err(|e| Error::io(format!("starting the {name} thread"), e))
}

pub(crate) fn spawn_background(inner: &Arc<Inner>) -> Result<Vec<JoinHandle<()>>> {
    let mut threads = vec![spawn("kstone-wal-sync", inner, syncer_loop)?, spawn("kstone-flush", inner, flusher_loop)?];
    for _ in 0..inner.options.compaction.max_concurrent.max(1) {
        threads.push(spawn("kstone-compact", inner, crate::compaction::compactor_loop)?);
    }
    Ok(threads)
}

fn syncer_loop(inner: &Inner) {
    let interval = Duration::from_millis(inner.options.sync_interval_ms.max(1));
    loop {
        {
            let mut bg = inner.bg.lock();
            if !inner.stopping.load(Ordering::Acquire) {
                inner.bg_signal.wait_for(&mut bg, interval);
            }
        }
        if inner.stopping.load(Ordering::Acquire) {
            return;
        }
        inner.sync_buffered();
    }
}

fn flusher_loop(inner: &Inner) {
    loop {
        {
            let mut bg = inner.bg.lock();
            if inner.stopping.load(Ordering::Acquire) {
                return;
            }
            if inner.mem.read().immutable.is_empty() {
                inner.bg_signal.wait_for(&mut bg, Duration::from_millis(500));
            }
        }
        if inner.stopping.load(Ordering::Acquire) {
            return;
        }
        if inner.poisoned.lock().is_none() {
            // flush_frozen has poisoned the database already.
            if let Err(e) = inner.flush_frozen() {
                inner.bg.lock().error = Some(format!("flush failed: {e}"));
            }
        }
        inner.purge_obsolete();
    }
}
