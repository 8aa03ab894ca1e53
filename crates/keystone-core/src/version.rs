//! A version: the set of live SST files, per keyspace and level, plus the engine counters that
//! the manifest persists. A `Version` changes only by `apply`ing a `VersionEdit` (manifest.rs),
//! which checks every invariant below and leaves the version untouched if one fails.
//!
//! Invariants (checked by `apply`, so they hold both before the manifest writes a state and
//! after it reads one back — load rebuilds the version by applying the stored edit):
//! - every file is well formed: `min_seq <= max_seq`, `smallest_key <= largest_key`,
//!   `level < NUM_LEVELS`;
//! - a file number is live at most once, across all keyspaces and levels;
//! - a deleted file is live at exactly the (keyspace, level) the edit names;
//! - L0 is ordered newest first (by `max_seq`, then file number); L1 and deeper are ordered by
//!   `smallest_key` and their key ranges do not overlap;
//! - every live file number is below `next_file_number`, so no number is ever handed out twice;
//! - every live file's `max_seq` is at most `last_seq`, so no sequence number is reused;
//! - `log_number`, `next_file_number` and `last_seq` never go backwards.
//!
//! Concurrency: a `Version` is an immutable value once built; files are shared as `Arc`s, so
//! cloning one to derive the next is cheap. The manifest owns the current one; readers hold
//! their own clone (or an `Arc<Version>` the engine hands out).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::manifest::VersionEdit;

/// Levels per keyspace, L0 included. Seven levels with the usual ×10 fan-out reach far past
/// any database this engine targets; a fixed count keeps `files_per_level` a stable shape.
pub const NUM_LEVELS: u32 = 7;

/// One live SST file, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    pub file_number: u64,
    pub keyspace: u32,
    pub level: u32,
    /// File size in bytes.
    pub size: u64,
    /// Number of entries (puts and tombstones).
    pub entries: u64,
    pub min_seq: u64,
    pub max_seq: u64,
    pub smallest_key: Vec<u8>,
    pub largest_key: Vec<u8>,
}

impl FileMeta {
    /// The checks on one file that do not depend on the rest of the version.
    pub fn check(&self) -> Result<()> {
        let n = self.file_number;
        if self.level >= NUM_LEVELS {
            return Err(invalid(format!(
                "file {n} is at level {}, beyond the last level {}",
                self.level,
                NUM_LEVELS - 1
            )));
        }
        if self.min_seq > self.max_seq {
            return Err(invalid(format!("file {n} has min_seq {} above max_seq {}", self.min_seq, self.max_seq)));
        }
        if self.smallest_key > self.largest_key {
            return Err(invalid(format!("file {n} has its smallest key above its largest key")));
        }
        Ok(())
    }

    /// Whether this file's key range intersects `[smallest, largest]` (both inclusive).
    pub fn overlaps(&self, smallest: &[u8], largest: &[u8]) -> bool {
        self.smallest_key.as_slice() <= largest && self.largest_key.as_slice() >= smallest
    }
}

/// The live files and counters at one point in time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    /// keyspace → `NUM_LEVELS` levels → files. A keyspace with no files has no entry, so two
    /// versions with the same files compare equal however they were reached.
    keyspaces: BTreeMap<u32, Vec<Vec<Arc<FileMeta>>>>,
    /// WAL segments numbered below this are fully flushed into SSTs and may be deleted.
    pub log_number: u64,
    /// The next number to give a new file (SST or WAL segment).
    pub next_file_number: u64,
    /// The highest sequence number that any live file or flushed WAL segment holds.
    pub last_seq: u64,
}

impl Version {
    /// The live files of one level: L0 newest first, deeper levels by smallest key.
    pub fn files(&self, keyspace: u32, level: u32) -> &[Arc<FileMeta>] {
        let level = usize::try_from(level).unwrap_or(usize::MAX);
        self.levels(keyspace).get(level).map_or(&[], Vec::as_slice)
    }

    /// All levels of one keyspace (`NUM_LEVELS` of them), or none if it has no live files.
    pub fn levels(&self, keyspace: u32) -> &[Vec<Arc<FileMeta>>] {
        self.keyspaces.get(&keyspace).map_or(&[], Vec::as_slice)
    }

    /// The keyspaces that have at least one live file, ascending.
    pub fn keyspaces(&self) -> impl Iterator<Item = u32> + '_ {
        self.keyspaces.keys().copied()
    }

    /// Every live file: by keyspace, then level, then each level's order.
    pub fn all_files(&self) -> impl Iterator<Item = &Arc<FileMeta>> + '_ {
        self.keyspaces.values().flatten().flatten()
    }

    pub fn total_files(&self) -> usize {
        self.keyspaces.values().flatten().map(Vec::len).sum()
    }

    /// The number of live files at each level, summed across keyspaces; always `NUM_LEVELS` long.
    pub fn files_per_level(&self) -> Vec<usize> {
        let mut counts = vec![0; NUM_LEVELS as usize];
        for levels in self.keyspaces.values() {
            for (count, files) in counts.iter_mut().zip(levels) {
                *count += files.len();
            }
        }
        counts
    }

    /// The files of one level whose key range intersects `[smallest, largest]` (inclusive), in
    /// the level's order. For L0 these are only the files that overlap the range itself, not
    /// the files that overlap those; a compaction picker widens the range if it needs that.
    pub fn overlapping(&self, keyspace: u32, level: u32, smallest: &[u8], largest: &[u8]) -> Vec<Arc<FileMeta>> {
        let files = self.files(keyspace, level);
        if level == 0 {
            return files.iter().filter(|f| f.overlaps(smallest, largest)).cloned().collect();
        }
        // Sorted and disjoint: the overlapping files are one contiguous run.
        let start = files.partition_point(|f| f.largest_key.as_slice() < smallest);
        files.iter().skip(start).take_while(|f| f.smallest_key.as_slice() <= largest).cloned().collect()
    }

    /// An edit that rebuilds this whole version when applied to an empty one.
    pub fn snapshot_edit(&self) -> VersionEdit {
        VersionEdit {
            added: self.all_files().map(|f| FileMeta::clone(f)).collect(),
            deleted: Vec::new(),
            log_number: Some(self.log_number),
            next_file_number: Some(self.next_file_number),
            last_seq: Some(self.last_seq),
        }
    }

    /// Applies `edit`: its deletions, then its additions, then its counters. On error `self`
    /// is unchanged, and the error says which invariant the edit would break.
    pub fn apply(&mut self, edit: &VersionEdit) -> Result<()> {
        let mut next = self.clone();
        next.apply_in_place(edit)?;
        *self = next;
        Ok(())
    }

    fn apply_in_place(&mut self, edit: &VersionEdit) -> Result<()> {
        if let Some(n) = edit.log_number {
            self.log_number = advance("log_number", self.log_number, n)?;
        }
        if let Some(n) = edit.next_file_number {
            self.next_file_number = advance("next_file_number", self.next_file_number, n)?;
        }
        if let Some(n) = edit.last_seq {
            self.last_seq = advance("last_seq", self.last_seq, n)?;
        }

        let mut to_delete = HashSet::with_capacity(edit.deleted.len());
        for &(keyspace, level, number) in &edit.deleted {
            if !to_delete.insert((keyspace, level, number)) {
                return Err(invalid(format!("file {number} is deleted twice in one edit")));
            }
        }
        for &(keyspace, level, number) in &to_delete {
            let files = self.level_mut(keyspace, level).ok_or_else(|| not_live(keyspace, level, number))?;
            let before = files.len();
            files.retain(|f| f.file_number != number);
            if files.len() == before {
                return Err(not_live(keyspace, level, number));
            }
        }

        let mut live: HashSet<u64> = self.all_files().map(|f| f.file_number).collect();
        let mut touched = HashSet::new();
        for file in &edit.added {
            file.check()?;
            if !live.insert(file.file_number) {
                return Err(invalid(format!("file {} is added but is already live", file.file_number)));
            }
            let files = self.keyspaces.entry(file.keyspace).or_insert_with(|| vec![Vec::new(); NUM_LEVELS as usize]);
            let Some(level) = files.get_mut(file.level as usize) else {
                return Err(invalid(format!("file {} is at level {}", file.file_number, file.level)));
            };
            level.push(Arc::new(file.clone()));
            touched.insert((file.keyspace, file.level));
        }
        for (keyspace, level) in touched {
            if let Some(files) = self.level_mut(keyspace, level) {
                order_level(level, files)?;
            }
        }
        self.keyspaces.retain(|_, levels| levels.iter().any(|files| !files.is_empty()));

        for f in self.all_files() {
            if f.file_number >= self.next_file_number {
                return Err(invalid(format!(
                    "file {} is live but next_file_number is {}: the number would be reused",
                    f.file_number, self.next_file_number
                )));
            }
            if f.max_seq > self.last_seq {
                return Err(invalid(format!(
                    "file {} holds sequence number {} but last_seq is {}",
                    f.file_number, f.max_seq, self.last_seq
                )));
            }
        }
        Ok(())
    }

    fn level_mut(&mut self, keyspace: u32, level: u32) -> Option<&mut Vec<Arc<FileMeta>>> {
        self.keyspaces.get_mut(&keyspace)?.get_mut(usize::try_from(level).ok()?)
    }
}

/// Sorts a level into its order and, below L0, checks that its files are disjoint.
fn order_level(level: u32, files: &mut [Arc<FileMeta>]) -> Result<()> {
    if level == 0 {
        files.sort_by_key(|f| std::cmp::Reverse((f.max_seq, f.file_number)));
        return Ok(());
    }
    files.sort_by(|a, b| a.smallest_key.cmp(&b.smallest_key));
    for pair in files.windows(2) {
        if let [a, b] = pair {
            if a.largest_key >= b.smallest_key {
                return Err(invalid(format!(
                    "files {} and {} overlap at level {level}, where key ranges must be disjoint",
                    a.file_number, b.file_number
                )));
            }
        }
    }
    Ok(())
}

fn advance(name: &str, current: u64, new: u64) -> Result<u64> {
    if new < current {
        return Err(invalid(format!("{name} would go backwards from {current} to {new}")));
    }
    Ok(new)
}

fn not_live(keyspace: u32, level: u32, number: u64) -> Error {
    invalid(format!("file {number} is deleted but is not live at keyspace {keyspace} level {level}"))
}

/// A broken invariant. Before writing it is an engine bug; after reading, the manifest loader
/// reports it as corruption of the file it read.
fn invalid(message: String) -> Error {
    Error::corruption(format!("version edit rejected: {message}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn file(number: u64, keyspace: u32, level: u32, seqs: (u64, u64), keys: (&str, &str)) -> FileMeta {
        FileMeta {
            file_number: number,
            keyspace,
            level,
            size: number.wrapping_add(1000),
            entries: number.wrapping_add(10),
            min_seq: seqs.0,
            max_seq: seqs.1,
            smallest_key: keys.0.as_bytes().to_vec(),
            largest_key: keys.1.as_bytes().to_vec(),
        }
    }

    fn counters(edit: VersionEdit) -> VersionEdit {
        VersionEdit { next_file_number: Some(100), last_seq: Some(1000), ..edit }
    }

    fn add(files: Vec<FileMeta>) -> VersionEdit {
        counters(VersionEdit { added: files, ..VersionEdit::default() })
    }

    fn numbers(files: &[Arc<FileMeta>]) -> Vec<u64> {
        files.iter().map(|f| f.file_number).collect()
    }

    #[test]
    fn l0_is_newest_first_and_deeper_levels_are_sorted_by_key() {
        let mut v = Version::default();
        v.apply(&add(vec![
            file(1, 1, 0, (1, 10), ("a", "z")),
            file(2, 1, 0, (11, 30), ("b", "c")),
            file(3, 1, 0, (5, 20), ("m", "n")),
            file(4, 1, 1, (1, 5), ("m", "p")),
            file(5, 1, 1, (1, 5), ("a", "f")),
            file(6, 2, 1, (1, 5), ("a", "f")),
        ]))
        .unwrap();
        assert_eq!(numbers(v.files(1, 0)), vec![2, 3, 1]);
        assert_eq!(numbers(v.files(1, 1)), vec![5, 4]);
        assert_eq!(v.files_per_level(), vec![3, 3, 0, 0, 0, 0, 0]);
        assert_eq!(v.total_files(), 6);
        assert_eq!(v.keyspaces().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(v.levels(1).len(), NUM_LEVELS as usize);
        assert!(v.levels(9).is_empty() && v.files(1, 99).is_empty());
        assert_eq!(numbers(&v.overlapping(1, 0, b"c", b"d")), vec![2, 1]);
        assert_eq!(numbers(&v.overlapping(1, 1, b"f", b"m")), vec![5, 4]);
        assert_eq!(numbers(&v.overlapping(1, 1, b"g", b"l")), Vec::<u64>::new());
        assert_eq!(numbers(&v.overlapping(1, 1, b"n", b"zz")), vec![4]);
    }

    #[test]
    fn apply_rejects_a_duplicate_add_and_leaves_the_version_unchanged() {
        let mut v = Version::default();
        v.apply(&add(vec![file(1, 1, 0, (1, 2), ("a", "b"))])).unwrap();
        let before = v.clone();
        // Same number, other keyspace and level: file numbers are global.
        let err = v.apply(&add(vec![file(7, 1, 0, (1, 2), ("a", "b")), file(1, 2, 3, (1, 2), ("a", "b"))]));
        assert!(err.unwrap_err().message().contains("already live"));
        assert_eq!(v, before);
    }

    #[test]
    fn apply_rejects_deleting_a_file_that_is_not_live_where_named() {
        let mut v = Version::default();
        v.apply(&add(vec![file(1, 1, 0, (1, 2), ("a", "b"))])).unwrap();
        let before = v.clone();
        for deleted in [vec![(1, 0, 2)], vec![(1, 1, 1)], vec![(2, 0, 1)], vec![(1, 0, 1), (1, 0, 1)]] {
            let edit = VersionEdit { deleted, ..VersionEdit::default() };
            assert!(v.apply(&edit).is_err(), "{edit:?}");
            assert_eq!(v, before);
        }
        v.apply(&VersionEdit { deleted: vec![(1, 0, 1)], ..VersionEdit::default() }).unwrap();
        assert_eq!(v.total_files(), 0);
        assert_eq!(v.keyspaces().count(), 0);
    }

    #[test]
    fn apply_rejects_overlap_below_l0_but_allows_replacing_inputs_in_one_edit() {
        let mut v = Version::default();
        v.apply(&add(vec![file(1, 1, 1, (1, 2), ("a", "f")), file(2, 1, 1, (1, 2), ("g", "k"))])).unwrap();
        assert!(v.apply(&add(vec![file(3, 1, 1, (3, 4), ("f", "g"))])).is_err());
        assert!(v.apply(&add(vec![file(3, 1, 1, (3, 4), ("k", "k"))])).is_err());
        let compaction =
            VersionEdit { deleted: vec![(1, 1, 1), (1, 1, 2)], ..add(vec![file(3, 1, 1, (1, 4), ("a", "k"))]) };
        v.apply(&compaction).unwrap();
        assert_eq!(numbers(v.files(1, 1)), vec![3]);
    }

    #[test]
    fn apply_rejects_malformed_files_and_counters_that_go_backwards() {
        let mut v = Version::default();
        v.apply(&counters(VersionEdit { log_number: Some(5), ..VersionEdit::default() })).unwrap();
        let bad = [
            add(vec![file(1, 1, NUM_LEVELS, (1, 2), ("a", "b"))]),
            add(vec![file(1, 1, 0, (3, 2), ("a", "b"))]),
            add(vec![file(1, 1, 0, (1, 2), ("b", "a"))]),
            add(vec![file(100, 1, 0, (1, 2), ("a", "b"))]),
            add(vec![file(1, 1, 0, (1, 1001), ("a", "b"))]),
            VersionEdit { log_number: Some(4), ..VersionEdit::default() },
            VersionEdit { next_file_number: Some(99), ..VersionEdit::default() },
            VersionEdit { last_seq: Some(999), ..VersionEdit::default() },
        ];
        for edit in bad {
            let before = v.clone();
            assert!(v.apply(&edit).is_err(), "{edit:?}");
            assert_eq!(v, before);
        }
    }

    #[test]
    fn a_snapshot_edit_rebuilds_an_equal_version() {
        let mut v = Version::default();
        v.apply(&add(vec![file(1, 1, 0, (1, 2), ("a", "b")), file(2, 3, 2, (1, 2), ("a", "b"))])).unwrap();
        v.apply(&VersionEdit { log_number: Some(7), ..VersionEdit::default() }).unwrap();
        let mut rebuilt = Version::default();
        rebuilt.apply(&v.snapshot_edit()).unwrap();
        assert_eq!(rebuilt, v);
    }
}
