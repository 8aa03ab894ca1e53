//! Leader-based group commit: concurrent writers share one WAL write and one fsync.
//!
//! Concurrency contract: any thread may call [`CommitQueue::commit`]. A writer enqueues its
//! batch; if no leader is active it becomes the leader, takes every batch queued so far (its own
//! included) and runs the group function on them without holding the queue lock, so new writers
//! keep queueing behind it and form the next group. The group function runs on one thread at a
//! time, which is what makes the leader the only writer of the WAL and the memtable. Followers
//! sleep until the leader posts their result.

use std::collections::HashMap;

use parking_lot::{Condvar, Mutex};

use crate::error::Result;

struct State<T> {
    next_ticket: u64,
    queued: Vec<(u64, T)>,
    done: HashMap<u64, Result<u64>>,
    leader_active: bool,
}

pub struct CommitQueue<T> {
    state: Mutex<State<T>>,
    finished: Condvar,
}

impl<T> Default for CommitQueue<T> {
    fn default() -> Self {
        CommitQueue {
            state: Mutex::new(State { next_ticket: 0, queued: Vec::new(), done: HashMap::new(), leader_active: false }),
            finished: Condvar::new(),
        }
    }
}

impl<T> CommitQueue<T> {
    /// Commits `work` as part of a group. `group` receives the group's work in arrival order and
    /// returns one result per item, in the same order.
    pub fn commit(&self, work: T, group: impl FnOnce(Vec<T>) -> Vec<Result<u64>>) -> Result<u64> {
        self.commit_then(work, || {}, group)
    }

    /// [`commit`](Self::commit), calling `queued` once `work` has its place in the queue: every
    /// write queued after that point commits after it. `queued` runs under the queue's lock, so
    /// it must only do brief work (`order.rs` passes the turn on there).
    pub fn commit_then(
        &self,
        work: T,
        queued: impl FnOnce(),
        group: impl FnOnce(Vec<T>) -> Vec<Result<u64>>,
    ) -> Result<u64> {
        let mut st = self.state.lock();
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.queued.push((ticket, work));
        queued();
        loop {
            if let Some(result) = st.done.remove(&ticket) {
                return result;
            }
            if !st.leader_active {
                break;
            }
            self.finished.wait(&mut st);
        }
        st.leader_active = true;
        let (tickets, items): (Vec<u64>, Vec<T>) = std::mem::take(&mut st.queued).into_iter().unzip();
        drop(st);

        let results = group(items);

        let mut st = self.state.lock();
        st.leader_active = false;
        debug_assert_eq!(tickets.len(), results.len(), "the group function returns one result per item");
        for (t, r) in tickets.into_iter().zip(results) {
            st.done.insert(t, r);
        }
        let mine = st.done.remove(&ticket);
        self.finished.notify_all();
        drop(st);
        mine.unwrap_or_else(|| {
            Err(crate::error::Error::new(
                crate::error::ErrorCode::Io,
                "internal error: the commit group returned no result for this write",
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn every_writer_gets_its_own_result_and_groups_form_under_contention() {
        let q = Arc::new(CommitQueue::<u64>::default());
        let groups = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..16u64)
            .map(|t| {
                let q = Arc::clone(&q);
                let groups = Arc::clone(&groups);
                std::thread::spawn(move || {
                    for i in 0..200u64 {
                        let v = t * 1000 + i;
                        let r = q.commit(v, |items| {
                            groups.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(std::time::Duration::from_micros(50));
                            items.into_iter().map(Ok).collect()
                        });
                        assert_eq!(r.ok(), Some(v));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let g = groups.load(Ordering::Relaxed);
        assert!(g < 16 * 200, "16 contending writers should share groups, got {g} groups");
    }
}
