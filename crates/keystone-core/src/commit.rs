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

use crate::db::no_result;
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
        self.commit_all(vec![work], group).pop().unwrap_or_else(|| Err(no_result()))
    }

    /// Commits several pieces of work from one caller in the same group, in the order given, and
    /// returns one result per piece. They are queued together under the queue's lock, so a
    /// leader takes all of them or none: they cannot straddle two groups. (One thread holding
    /// several writes, the binding's write thread, gets the grouping that as many threads would.)
    pub fn commit_all(&self, works: Vec<T>, group: impl FnOnce(Vec<T>) -> Vec<Result<u64>>) -> Vec<Result<u64>> {
        let mut st = self.state.lock();
        if works.is_empty() {
            return Vec::new();
        }
        let first = st.next_ticket;
        let count = works.len() as u64;
        st.next_ticket += count;
        st.queued.extend((first..).zip(works));
        let mine = first..first + count;
        loop {
            // All of this caller's work is in one group, so its results arrive together.
            if st.done.contains_key(&first) {
                return take_results(&mut st, mine);
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
        let results = take_results(&mut st, mine);
        self.finished.notify_all();
        drop(st);
        results
    }

    /// Commits `work` as a group of its own on the calling thread, if no group is running and
    /// none is waiting to run, and `ready` (asked once this caller leads, so no other group can
    /// change what it checks) says yes. Otherwise it commits nothing and returns `None`, so that
    /// a caller that must not block (JavaScript's thread) takes another path instead of waiting
    /// here. Writers that queue meanwhile wait for it as for any leader, and one of them leads
    /// the next group.
    pub fn try_commit_alone(
        &self,
        work: T,
        ready: impl FnOnce() -> bool,
        group: impl FnOnce(Vec<T>) -> Vec<Result<u64>>,
    ) -> Option<Result<u64>> {
        let mut st = self.state.lock();
        if st.leader_active || !st.queued.is_empty() {
            return None;
        }
        st.leader_active = true;
        drop(st);
        let result = ready().then(|| group(vec![work]).pop().unwrap_or_else(|| Err(no_result())));
        self.state.lock().leader_active = false;
        self.finished.notify_all();
        result
    }
}

/// The results posted for `tickets`, taken out of the done map.
fn take_results<T>(st: &mut State<T>, tickets: std::ops::Range<u64>) -> Vec<Result<u64>> {
    tickets.map(|t| st.done.remove(&t).unwrap_or_else(|| Err(no_result()))).collect()
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

    #[test]
    fn one_callers_several_writes_commit_in_one_group_in_order() {
        let q = CommitQueue::<u64>::default();
        let mut groups = Vec::new();
        let results = q.commit_all(vec![7, 8, 9], |items| {
            groups.push(items.clone());
            items
                .into_iter()
                .map(|v| if v == 8 { Err(crate::error::Error::validation("eight")) } else { Ok(v * 10) })
                .collect()
        });
        assert_eq!(groups, vec![vec![7, 8, 9]]);
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].as_ref().ok(), Some(&70));
        assert!(results[1].is_err());
        assert_eq!(results[2].as_ref().ok(), Some(&90));
        assert!(q.commit_all(Vec::new(), |_| panic!("no group for no work")).is_empty());
    }

    #[test]
    fn several_writes_queued_behind_a_leader_are_taken_together() {
        let q = Arc::new(CommitQueue::<u64>::default());
        let (entered, release) = (Arc::new(std::sync::Barrier::new(2)), Arc::new(std::sync::Barrier::new(2)));
        let groups = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let leader = {
            let (q, entered, release, groups) =
                (Arc::clone(&q), Arc::clone(&entered), Arc::clone(&release), Arc::clone(&groups));
            std::thread::spawn(move || {
                q.commit(1, |items| {
                    entered.wait();
                    release.wait();
                    groups.lock().push(items.clone());
                    items.into_iter().map(Ok).collect()
                })
            })
        };
        entered.wait();
        // The leader is inside its group: these queue behind it and form the next group whole.
        let follower = {
            let (q, groups) = (Arc::clone(&q), Arc::clone(&groups));
            std::thread::spawn(move || {
                q.commit_all(vec![2, 3, 4], |items| {
                    groups.lock().push(items.clone());
                    items.into_iter().map(Ok).collect()
                })
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        release.wait();
        assert_eq!(leader.join().unwrap().ok(), Some(1));
        let got: Vec<u64> = follower.join().unwrap().into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(got, vec![2, 3, 4]);
        assert_eq!(*groups.lock(), vec![vec![1], vec![2, 3, 4]]);
    }

    /// A group function that holds its group: it meets `entered` inside, then waits for `release`.
    fn held(
        entered: &Arc<std::sync::Barrier>,
        release: &Arc<std::sync::Barrier>,
    ) -> impl FnOnce(Vec<u64>) -> Vec<Result<u64>> + Send + 'static {
        let (entered, release) = (Arc::clone(entered), Arc::clone(release));
        move |items| {
            entered.wait();
            release.wait();
            items.into_iter().map(Ok).collect()
        }
    }

    #[test]
    fn a_commit_alone_runs_only_when_no_group_runs_or_waits() {
        let q = Arc::new(CommitQueue::<u64>::default());
        assert_eq!(
            q.try_commit_alone(5, || true, |items| items.into_iter().map(|v| Ok(v + 1)).collect()).map(|r| r.ok()),
            Some(Some(6))
        );
        let (entered, release) = (Arc::new(std::sync::Barrier::new(2)), Arc::new(std::sync::Barrier::new(2)));
        let leader = {
            let (q, group) = (Arc::clone(&q), held(&entered, &release));
            std::thread::spawn(move || q.commit(1, group))
        };
        entered.wait();
        // A leader is inside its group: the attempt must neither wait nor run its group.
        assert!(q
            .try_commit_alone(
                2,
                || panic!("not asked while another group runs"),
                |_| panic!("no group while another runs")
            )
            .is_none());
        release.wait();
        assert_eq!(leader.join().unwrap().ok(), Some(1));
        assert_eq!(
            q.try_commit_alone(3, || true, |items| items.into_iter().map(Ok).collect()).map(|r| r.ok()),
            Some(Some(3))
        );
        // A writer that queues while a commit alone runs waits for it, then leads its own group.
        let alone = {
            let (q, group) = (Arc::clone(&q), held(&entered, &release));
            std::thread::spawn(move || q.try_commit_alone(4, || true, group))
        };
        entered.wait();
        let follower = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || q.commit(9, |items| items.into_iter().map(|v| Ok(v * 10)).collect()))
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!follower.is_finished(), "the follower waits for the commit alone");
        release.wait();
        assert_eq!(alone.join().unwrap().and_then(|r| r.ok()), Some(4));
        assert_eq!(follower.join().unwrap().ok(), Some(90));
        // Not ready once it leads: nothing is committed, and the next writer leads as usual.
        assert!(q.try_commit_alone(6, || false, |_| panic!("no group when not ready")).is_none());
        assert_eq!(q.commit(7, |items| items.into_iter().map(Ok).collect()).ok(), Some(7));
    }
}
