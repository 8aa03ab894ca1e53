//! The write thread: one thread per `NativeDb` that commits small write calls (the writes of a
//! tick, up to `DIRECT_MAX_BYTES` packed) and settles their promises, instead of a libuv pool
//! thread.
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
//! Larger calls (a tick of a bulk load sent in parts) still go to the libuv pool: there, the
//! unpacking and checking of one part overlaps the commit of the previous one, which a single
//! thread would serialize.
//!
//! Ordering: every call takes its turn on the JavaScript thread before it is queued here or on
//! the pool (`WriteOrder`), and the engine applies calls in turn order, so the two paths cannot
//! reorder writes. This thread runs its calls one at a time in the order they were queued, which
//! is their turn order; a call waiting for the turn of an earlier pool call waits for a thread
//! that is already running.
//!
//! Lifetime: the thread starts with the first small write call and ends once its `Writer` is
//! dropped (the handle closed or collected) and the calls already queued are settled. It holds
//! no engine handle of its own, only the queued calls, so it never keeps a database open. A
//! promise still pending when its environment tears down (a worker thread ending) is aborted by
//! napi-rs' cleanup hook; settling it later does nothing.
//!
//! Costs: up to the spin of CPU after each call on a thread that would otherwise sleep. With one
//! CPU, spinning would take the CPU from the thread that makes the next write, so it is off by
//! default (`options::spin`); `spinMicros: 0` turns it off everywhere.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::*;
use napi::JsDeferred;

use crate::error::{io, to_napi};

/// Calls whose packed writes are at most this many bytes run here; larger ones on the pool.
pub const DIRECT_MAX_BYTES: usize = 64 * 1024;

/// Each write's error message, or `None` for a write that landed.
pub type WriteErrors = Vec<Option<String>>;
type Settle = Box<dyn FnOnce(Env) -> napi::Result<WriteErrors> + Send>;
type Work = Box<dyn FnOnce() -> keystone_core::Result<WriteErrors> + Send>;

struct Call {
    work: Work,
    deferred: JsDeferred<WriteErrors, Settle>,
}

/// The sending side of one handle's write thread; dropping it lets the thread end.
pub struct Writer {
    queue: Option<Sender<Call>>,
    /// How long the thread keeps looking for the next call before it sleeps.
    spin: Duration,
}

impl Writer {
    pub fn new(spin: Duration) -> Writer {
        Writer { queue: None, spin }
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
    pub fn submit<'env>(&mut self, env: &'env Env, work: Work) -> napi::Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred::<WriteErrors, Settle>()?;
        let mut call = Call { work, deferred };
        // A thread that has ended (it cannot, short of a bug) is replaced once.
        for _ in 0..2 {
            let queue = match &self.queue {
                Some(q) => q,
                None => match start(self.spin) {
                    Ok(q) => self.queue.insert(q),
                    Err(e) => {
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
        call.deferred.reject(io("the write thread is not running"));
        Ok(promise)
    }
}

fn start(spin: Duration) -> napi::Result<Sender<Call>> {
    let (queue, calls) = channel();
    std::thread::Builder::new()
        .name("kstone-write".into())
        .spawn(move || run(&calls, spin))
        .map_err(|e| io(format!("could not start the write thread: {e}")))?;
    Ok(queue)
}

fn run(calls: &Receiver<Call>, spin: Duration) {
    while let Some(call) = next(calls, spin) {
        // The engine does not panic (its lints forbid it); if it ever did, this call fails and
        // the thread goes on with the next, rather than leaving every later write pending.
        match catch_unwind(AssertUnwindSafe(call.work)) {
            Ok(Ok(errors)) => call.deferred.resolve(Box::new(move |_| Ok(errors))),
            Ok(Err(e)) => call.deferred.reject(to_napi(e)),
            Err(_) => call.deferred.reject(io("the write failed unexpectedly (a panic in the engine)")),
        }
    }
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
