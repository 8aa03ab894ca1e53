//! The properties block: what an SST holds, so the file describes itself and the manifest can be
//! rebuilt or checked from the SSTs alone.
//!
//! ```text
//! properties := keyspace:varint | level:varint | file_number:varint
//!               | entries:varint | tombstones:varint | data_blocks:varint
//!               | min_seq:varint | max_seq:varint
//!               | smallest_key:varint len + bytes | largest_key:varint len + bytes
//! ```
//!
//! The writer checks these invariants before writing and the reader checks them again after
//! reading: entries >= 1, tombstones <= entries, data_blocks >= 1,
//! min_seq <= max_seq <= MAX_SEQ, smallest_key <= largest_key.

use crate::error::{Error, Result};
use crate::varint::{self, Reader};

use super::block::MAX_SEQ;

/// What one SST holds, from its properties block. Keys are user keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstInfo {
    pub file_number: u64,
    pub keyspace: u32,
    pub level: u32,
    /// Entries of every kind, tombstones included.
    pub entries: u64,
    pub min_seq: u64,
    pub max_seq: u64,
    pub smallest_key: Vec<u8>,
    pub largest_key: Vec<u8>,
    /// The whole file, footer included.
    pub file_size: u64,
    pub tombstones: u64,
}

/// The properties of a file; `file_size` is not stored, the reader takes it from the file.
pub struct Properties {
    pub info: SstInfo,
    pub data_blocks: u64,
}

impl Properties {
    pub fn check(&self) -> Result<()> {
        let i = &self.info;
        let problem = if i.entries == 0 {
            "it holds no entries"
        } else if i.tombstones > i.entries {
            "it counts more tombstones than entries"
        } else if self.data_blocks == 0 {
            "it has no data block"
        } else if i.min_seq > i.max_seq || i.max_seq > MAX_SEQ {
            "its sequence range is inverted or out of range"
        } else if i.smallest_key > i.largest_key {
            "its smallest key is larger than its largest"
        } else {
            return Ok(());
        };
        Err(Error::corruption(format!("SST properties are inconsistent: {problem}")))
    }

    pub fn encode(&self) -> Vec<u8> {
        let i = &self.info;
        let mut out = Vec::with_capacity(64 + i.smallest_key.len() + i.largest_key.len());
        for v in [
            u64::from(i.keyspace),
            u64::from(i.level),
            i.file_number,
            i.entries,
            i.tombstones,
            self.data_blocks,
            i.min_seq,
            i.max_seq,
        ] {
            varint::put_u64(&mut out, v);
        }
        for key in [&i.smallest_key, &i.largest_key] {
            varint::put_u64(&mut out, key.len() as u64);
            out.extend_from_slice(key);
        }
        out
    }

    pub fn decode(buf: &[u8], file_size: u64) -> Result<Properties> {
        let mut r = Reader::new(buf, "properties block");
        let narrow = |v: u64, what: &str| {
            u32::try_from(v).map_err(|_| Error::corruption(format!("SST properties: {what} {v} is out of range")))
        };
        let keyspace = narrow(r.varint()?, "keyspace")?;
        let level = narrow(r.varint()?, "level")?;
        let file_number = r.varint()?;
        let entries = r.varint()?;
        let tombstones = r.varint()?;
        let data_blocks = r.varint()?;
        let min_seq = r.varint()?;
        let max_seq = r.varint()?;
        let smallest_key = r.len_prefixed()?.to_vec();
        let largest_key = r.len_prefixed()?.to_vec();
        if !r.is_empty() {
            return Err(Error::corruption("SST properties block has trailing bytes"));
        }
        let info = SstInfo {
            file_number,
            keyspace,
            level,
            entries,
            min_seq,
            max_seq,
            smallest_key,
            largest_key,
            file_size,
            tombstones,
        };
        let props = Properties { info, data_blocks };
        props.check()?;
        Ok(props)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Properties {
        Properties {
            info: SstInfo {
                file_number: 12,
                keyspace: 3,
                level: 1,
                entries: 100,
                min_seq: 5,
                max_seq: 900,
                smallest_key: b"apple".to_vec(),
                largest_key: b"pear".to_vec(),
                file_size: 4096,
                tombstones: 7,
            },
            data_blocks: 2,
        }
    }

    #[test]
    fn properties_round_trip_with_file_size_from_the_reader() {
        let p = sample();
        let back = Properties::decode(&p.encode(), 4096).unwrap();
        assert_eq!(back.info, p.info);
        assert_eq!(back.data_blocks, 2);
    }

    #[test]
    fn inconsistent_properties_are_rejected_on_both_sides() {
        let breakages: [fn(&mut Properties); 5] = [
            |p| p.info.entries = 0,
            |p| p.info.tombstones = 101,
            |p| p.data_blocks = 0,
            |p| p.info.min_seq = 901,
            |p| p.info.smallest_key = b"z".to_vec(),
        ];
        for (i, br) in breakages.iter().enumerate() {
            let mut p = sample();
            br(&mut p);
            assert!(p.check().is_err(), "breakage {i} passed check");
            assert!(Properties::decode(&p.encode(), 4096).is_err(), "breakage {i} decoded");
        }
    }

    #[test]
    fn truncated_or_padded_properties_are_corruption() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(Properties::decode(&bytes[..cut], 0).is_err(), "cut {cut}");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(Properties::decode(&padded, 0).is_err());
    }
}
