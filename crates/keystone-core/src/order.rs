//! Write order: the writes of one caller apply in the order it issued them, even when the
//! threads that run them race to the commit queue.
//!
//! Concurrency contract: a caller (in the binding, one JavaScript thread's handle on the
//! database) owns a [`WriteOrder`] and takes a [`Turn`] for each write as it issues it, on its
//! own thread, in order. Whatever thread then runs the write calls [`Turn::wait`], which
//! returns once every earlier turn is done, enters the commit queue, and drops the turn, which
//! lets the next one go. Dropping a turn without waiting (a write that fails before it is
//! queued, or is never run) also lets the next one go, and never blocks.
//!
//! A turn waits only for turns taken before it, and the caller hands those to running threads
//! first (the libuv pool starts work in submission order), so a waiting turn always waits on a
//! thread that is running, never on one that is queued behind it. Turns of different
//! `WriteOrder`s never wait on each other.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

/// The turns of one caller: how many were taken, and which are done.
#[derive(Default)]
pub struct WriteOrder {
    taken: AtomicU64,
    gate: Mutex<Gate>,
    moved: Condvar,
}

/// The first turn not done yet, and later turns already done out of order.
#[derive(Default)]
struct Gate {
    next: u64,
    done_early: BTreeSet<u64>,
}

impl WriteOrder {
    pub fn new() -> Arc<Self> {
        Arc::new(WriteOrder::default())
    }

    /// The next place in line, for a write issued now.
    pub fn take_turn(self: &Arc<Self>) -> Turn {
        Turn { order: Arc::clone(self), n: Some(self.taken.fetch_add(1, Ordering::Relaxed)) }
    }

    /// Whether every turn taken so far is done: no write of this caller is still on its way to
    /// the commit queue.
    pub fn is_idle(&self) -> bool {
        self.gate.lock().next == self.taken.load(Ordering::Relaxed)
    }

    fn done(&self, n: u64) {
        let mut g = self.gate.lock();
        if n == g.next {
            g.next += 1;
            loop {
                let next = g.next;
                if !g.done_early.remove(&next) {
                    break;
                }
                g.next += 1;
            }
        } else if n > g.next {
            g.done_early.insert(n);
        }
        drop(g);
        self.moved.notify_all();
    }
}

/// One write's place in its caller's order; dropping it lets the next write go.
pub struct Turn {
    order: Arc<WriteOrder>,
    n: Option<u64>,
}

impl Turn {
    /// Blocks until every turn taken before this one is done.
    pub fn wait(&self) {
        if let Some(n) = self.n {
            let mut g = self.order.gate.lock();
            while n > g.next {
                self.order.moved.wait(&mut g);
            }
        }
    }
}

impl Turn {
    /// Whether this is the turn taken right after `earlier`, of the same order: nothing another
    /// thread runs can come between them, so one thread may queue both writes at once.
    pub fn follows(&self, earlier: &Turn) -> bool {
        Arc::ptr_eq(&self.order, &earlier.order)
            && matches!((earlier.n, self.n), (Some(a), Some(b)) if a.checked_add(1) == Some(b))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(n) = self.n.take() {
            self.order.done(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn turns_go_in_the_order_they_were_taken_whichever_thread_runs_first() {
        let order = WriteOrder::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let turns: Vec<(usize, Turn)> = (0..8).map(|i| (i, order.take_turn())).collect();
        // The last turn's thread starts first, the first turn's last.
        let threads: Vec<_> = turns
            .into_iter()
            .rev()
            .map(|(i, turn)| {
                let seen = Arc::clone(&seen);
                let t = std::thread::spawn(move || {
                    turn.wait();
                    seen.lock().push(i);
                    drop(turn);
                });
                std::thread::sleep(Duration::from_millis(5));
                t
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*seen.lock(), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn a_turn_dropped_unused_lets_the_next_go_without_waiting_itself() {
        let order = WriteOrder::new();
        let (a, b, c, d) = (order.take_turn(), order.take_turn(), order.take_turn(), order.take_turn());
        // Dropped before the turns ahead of them are done: this must not block.
        drop(c);
        a.wait();
        drop(a);
        drop(b);
        // a, b and c are done: `d` goes at once (a bug here hangs the test).
        d.wait();
        drop(d);
        let g = order.gate.lock();
        assert_eq!((g.next, g.done_early.len()), (4, 0));
    }

    #[test]
    fn separate_orders_never_wait_on_each_other() {
        let (one, two) = (WriteOrder::new(), WriteOrder::new());
        let _held = one.take_turn();
        let blocked = one.take_turn();
        let free = two.take_turn();
        free.wait();
        drop(free);
        let g = one.gate.lock();
        assert_eq!(g.next, 0);
        drop(g);
        drop(blocked);
    }

    #[test]
    fn a_turn_follows_only_the_one_taken_just_before_it_in_the_same_order() {
        let (a, b) = (WriteOrder::new(), WriteOrder::new());
        let (a0, a1, a2) = (a.take_turn(), a.take_turn(), a.take_turn());
        let b0 = b.take_turn();
        assert!(a1.follows(&a0) && a2.follows(&a1));
        assert!(!a2.follows(&a0) && !a0.follows(&a1) && !a0.follows(&a0));
        assert!(!b0.follows(&a0) && !a1.follows(&b0));
    }
}
