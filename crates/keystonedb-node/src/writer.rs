//! The write thread: one thread per `NativeDb` that commits its write calls (the writes of a
//! tick, or a part of a large tick) and settles their promises, instead of a libuv pool thread.
//!
//! Why: a durable put with nothing else in flight is a round trip from the JavaScript thread to
//! a thread that fsyncs and back. On this kind of host (virtual CPUs that halt when idle) waking
//! an idle thread costs tens of µs each way, as much as a third of the fsync. libuv's workers
//! sleep on a condition variable as soon as their queue is empty. This thread instead spins for
//! `spinMicros` (200 µs by default) after each call (RocksDB's write thread does the same,
//! `max_yield_usec`), so the next write of a caller that awaits each put finds it awake.
//! Measured: a durable put with 1 in flight 177–243 → 144–151 µs, and without fsync
//! 52–62 → 31–35 µs, on a 2-vCPU virtual machine. JavaScript's thread spins too while a call is
//! in flight (`src/session.ts`), so that the answer does not have to wake it either.
//!
//! The parts of a large tick (512 writes each, see `src/session.ts`) run here too, whatever
//! their size. They were first sent to the pool from 64 KiB up, so that one part's unpacking
//! would overlap the previous part's commit. But the parts of a tick then alternated between
//! the pool and this thread (its last part is small), and each waited for the other's turn on a
//! condition variable: with ~130-byte items, a part of 512 puts took p50 1.1 ms from start to
//! commit for 0.27 ms of CPU (`/proc/thread-self/schedstat`). On this thread alone, a load of
//! 200,000 such items in durable ticks of 1,000 went from 276–291k to 311–325k items/s (3
//! alternating runs), and through the bench's worker from a median of 260k to 281k (4
//! alternating runs); a load of 20,000 items of ~4 KB (parts of ~2 MB) from 71–76k to
//! 78–81k items/s (3 alternating runs).
//!
//! Grouping: calls that queue up while the thread is busy (an fsync takes 0.1–1.5 ms on this
//! kind of disk) commit together: one WAL write and at most one fsync for all of them, each
//! with its own result, as if as many threads had made them at once (`Db::write_items_grouped`).
//! Without this, writes issued in different ticks (requests of a server, each awaiting its own
//! put) took one fsync each, however many were waiting: 64 such writers made 5,000 puts with
//! 5,000 fsyncs. A group takes consecutive calls, up to `MAX_GROUP_BYTES` of packed writes (a
//! larger call forms a group of its own).
//!
//! Ordering: the JavaScript thread queues its calls here in the order it makes them, and this
//! thread commits them one group at a time in that order, so writes land in issue order. The
//! one other way a write call commits, on the JavaScript thread (`writeItemsNow`), is taken only
//! while no call is queued or committing here (`Writer::is_idle`).
//!
//! Lifetime: the thread starts with the first write call and ends once its `Writer` is
//! dropped (the handle closed or collected) and the calls already queued are settled. It holds
//! no engine handle of its own, only the queued calls, so it never keeps a database open. A
//! promise still pending when its environment tears down (a worker thread ending) is aborted by
//! napi-rs' cleanup hook; settling it later does nothing.
//!
//! Costs: up to the spin of CPU after each call on a thread that would otherwise sleep. With one
//! CPU, spinning would take the CPU from the thread that makes the next write, so it is off by
//! default (`options::spin`); `spinMicros: 0` turns it off everywhere.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keystone_core::{Db, Durability, ItemWrites};
use napi::bindgen_prelude::*;
use napi::JsDeferred;

use crate::error::{io, to_napi};
use crate::params;

/// Each write's error message, or `None` for a write that landed.
pub type WriteErrors = Vec<Option<String>>;
type Settle = Box<dyn FnOnce(Env) -> napi::Result<WriteErrors> + Send>;

/// The packed writes of several consecutive calls commit as one group up to this many bytes.
const MAX_GROUP_BYTES: usize = 1 << 20;

/// A `writeItems` call for this thread: its arguments.
pub struct WriteCall {
    pub db: Db,
    pub tables: Vec<String>,
    pub packed: Vec<u8>,
    pub atomic: bool,
    pub durability: Option<Durability>,
}

struct Call {
    write: WriteCall,
    deferred: JsDeferred<WriteErrors, Settle>,
}

/// The sending side of one handle's write thread; dropping it lets the thread end.
pub struct Writer {
    queue: Option<Sender<Call>>,
    /// How long the thread keeps looking for the next call before it sleeps.
    spin: Duration,
    /// Calls queued and not yet committed: counted here when queued, and by the thread once
    /// committed, before their promises are settled.
    in_flight: Arc<AtomicUsize>,
}

impl Writer {
    pub fn new(spin: Duration) -> Writer {
        Writer { queue: None, spin, in_flight: Arc::new(AtomicUsize::new(0)) }
    }

    /// Whether no call is queued or committing on the thread.
    pub fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    pub fn spin(&self) -> Duration {
        self.spin
    }

    /// Lets the thread end once it has settled the calls already queued.
    pub fn stop(&mut self) {
        self.queue = None;
    }

    /// Queues `work` on the write thread (starting it if needed) and returns its promise. Every
    /// promise made here is settled, here or by the thread: an unsettled one would never resolve
    /// and would keep the event loop alive.
    pub fn submit<'env>(&mut self, env: &'env Env, write: WriteCall) -> napi::Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred::<WriteErrors, Settle>()?;
        let mut call = Call { write, deferred };
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        // A thread that has ended (it cannot, short of a bug) is replaced once.
        for _ in 0..2 {
            let queue = match &self.queue {
                Some(q) => q,
                None => match start(self.spin, Arc::clone(&self.in_flight)) {
                    Ok(q) => self.queue.insert(q),
                    Err(e) => {
                        self.in_flight.fetch_sub(1, Ordering::AcqRel);
                        call.deferred.reject(e);
                        return Ok(promise);
                    }
                },
            };
            match queue.send(call) {
                Ok(()) => return Ok(promise),
                Err(returned) => {
                    call = returned.0;
                    self.queue = None;
                }
            }
        }
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        call.deferred.reject(io("the write thread is not running"));
        Ok(promise)
    }
}

fn start(spin: Duration, in_flight: Arc<AtomicUsize>) -> napi::Result<Sender<Call>> {
    let (queue, calls) = channel();
    std::thread::Builder::new()
        .name("kstone-write".into())
        .spawn(move || run(&calls, spin, &in_flight))
        .map_err(|e| io(format!("could not start the write thread: {e}")))?;
    Ok(queue)
}

fn run(calls: &Receiver<Call>, spin: Duration, in_flight: &AtomicUsize) {
    let mut carry = None;
    loop {
        let first = match carry.take() {
            Some(call) => call,
            None => match next(calls, spin) {
                Some(call) => call,
                None => return,
            },
        };
        let group = gather(first, calls, &mut carry, |c| c.write.packed.len());
        let (writes, deferreds): (Vec<WriteCall>, Vec<_>) = group.into_iter().map(|c| (c.write, c.deferred)).unzip();
        // The engine does not panic (its lints forbid it); if it ever did, these calls fail and
        // the thread goes on with the next, rather than leaving every later write pending.
        let committed = catch_unwind(AssertUnwindSafe(move || commit(writes)));
        // Before any promise settles: the next write JavaScript makes may commit on its thread.
        in_flight.fetch_sub(deferreds.len(), Ordering::AcqRel);
        match committed {
            Ok(results) => {
                for (deferred, result) in deferreds.into_iter().zip(results) {
                    match result {
                        Ok(errors) => deferred.resolve(Box::new(move |_| Ok(errors))),
                        Err(e) => deferred.reject(to_napi(e)),
                    }
                }
            }
            Err(_) => {
                for deferred in deferreds {
                    deferred.reject(io("the write failed unexpectedly (a panic in the engine)"));
                }
            }
        }
    }
}

/// `first` and the calls queued behind it, together at most `MAX_GROUP_BYTES` (`first` alone
/// may hold more). The first call that does not fit is left in `carry`, to start the next group.
fn gather<C>(first: C, calls: &Receiver<C>, carry: &mut Option<C>, bytes: impl Fn(&C) -> usize) -> Vec<C> {
    let mut total = bytes(&first);
    let mut group = vec![first];
    while let Ok(call) = calls.try_recv() {
        if total + bytes(&call) > MAX_GROUP_BYTES {
            *carry = Some(call);
            break;
        }
        total += bytes(&call);
        group.push(call);
    }
    group
}

/// Commits a group of calls, one result per call in order: a call whose packed writes are
/// malformed fails alone.
fn commit(writes: Vec<WriteCall>) -> Vec<keystone_core::Result<WriteErrors>> {
    let Some(db) = writes.first().map(|w| w.db.clone()) else { return Vec::new() };
    let mut calls = Vec::with_capacity(writes.len());
    let mut unpacked: Vec<Option<keystone_core::Error>> = Vec::with_capacity(writes.len());
    for w in writes {
        match params::unpack_writes(&w.tables, &w.packed) {
            Ok(ops) => {
                calls.push(ItemWrites { ops, atomic: w.atomic, durability: w.durability });
                unpacked.push(None);
            }
            Err(e) => unpacked.push(Some(e)),
        }
    }
    let mut committed = db.write_items_grouped(calls).into_iter();
    unpacked
        .into_iter()
        .map(|failed| match failed {
            Some(e) => Err(e),
            None => committed
                .next()
                .unwrap_or_else(|| {
                    Err(keystone_core::Error::new(keystone_core::ErrorCode::Io, "a write got no result"))
                })
                .map(|errors| errors.into_iter().map(|e| e.map(|e| e.to_string())).collect()),
        })
        .collect()
}

/// The next call: spinning for up to `spin`, then sleeping until one comes. `None` once the
/// handle is gone and nothing is queued.
fn next(calls: &Receiver<Call>, spin: Duration) -> Option<Call> {
    let until = Instant::now() + spin;
    loop {
        match calls.try_recv() {
            Ok(call) => return Some(call),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if Instant::now() < until => std::hint::spin_loop(),
            Err(TryRecvError::Empty) => return calls.recv().ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    /// A call's stand-in: its number and its size.
    type Fake = (u64, usize);

    fn group_of(queued: &[Fake], carry: &mut Option<Fake>) -> Vec<Fake> {
        let (send, calls) = channel();
        for c in queued.iter().skip(1) {
            send.send(*c).unwrap();
        }
        gather(queued[0], &calls, carry, |c| c.1)
    }

    #[test]
    fn a_group_takes_the_consecutive_calls_queued_behind_the_first() {
        let mut carry = None;
        assert_eq!(group_of(&[(1, 10), (2, 10), (3, 10)], &mut carry), vec![(1, 10), (2, 10), (3, 10)]);
        assert_eq!(carry, None);
    }

    #[test]
    fn a_group_stops_at_its_byte_limit_but_a_large_first_call_runs_alone() {
        let mut carry = None;
        let half = MAX_GROUP_BYTES / 2;
        assert_eq!(group_of(&[(1, half), (2, half), (3, 1)], &mut carry), vec![(1, half), (2, half)]);
        assert_eq!(carry, Some((3, 1)));
        let mut carry = None;
        assert_eq!(group_of(&[(1, 2 * MAX_GROUP_BYTES), (2, 1)], &mut carry), vec![(1, 2 * MAX_GROUP_BYTES)]);
        assert_eq!(carry, Some((2, 1)));
    }
}
