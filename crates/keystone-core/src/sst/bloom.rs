//! The filter block: a bloom filter over the distinct user keys of one SST, so a point lookup
//! for a key the file does not hold usually reads no data block.
//!
//! ```text
//! filter := bit array (m / 8 bytes, bit i is byte i/8, mask 1 << (i%8)) | probes:u8
//! ```
//!
//! Sizing, for a target false-positive rate p: bits per key = -ln(p) / ln(2)^2 (9.6 for 1%),
//! probes = bits per key * ln(2), rounded (7 for 1%). At least 64 bits.
//!
//! Hashing: one 64-bit XXH3 hash per key, and probe i at bit (h + i * delta) mod m with
//! delta = h rotated by 32, made odd (Kirsch & Mitzenmacher double hashing). XXH3 rather than
//! crc32c because a CRC is linear, not a hash: keys that differ in few bits get correlated
//! checksums, and 32 bits are too few to derive independent probes for large filters. XXH3's
//! 64 bits feed both halves of the double hash, and it is fast on short keys.

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};

/// The target false-positive rate unless the writer asks for another: about 10 bits per key.
pub const DEFAULT_FALSE_POSITIVE_RATE: f64 = 0.01;
const MIN_BITS: usize = 64;
/// More probes than this cost more than they save; a filter claiming more is damage.
const MAX_PROBES: u8 = 30;

pub fn key_hash(key: &[u8]) -> u64 {
    xxh3_64(key)
}

/// Bits per key and number of probes for a false-positive rate in (0, 1).
pub fn sizing(false_positive_rate: f64) -> (f64, u8) {
    let ln2 = std::f64::consts::LN_2;
    let bits_per_key = (-false_positive_rate.ln() / (ln2 * ln2)).max(1.0);
    let probes = (bits_per_key * ln2).round().clamp(1.0, f64::from(MAX_PROBES)) as u8;
    (bits_per_key, probes)
}

fn probe_positions(hash: u64, probes: u8, bits: u64) -> impl Iterator<Item = u64> {
    let delta = hash.rotate_left(32) | 1;
    (0..u64::from(probes)).map(move |i| hash.wrapping_add(i.wrapping_mul(delta)) % bits)
}

/// The filter block for keys with these hashes (duplicates are harmless).
pub fn build(hashes: &[u64], false_positive_rate: f64) -> Vec<u8> {
    let (bits_per_key, probes) = sizing(false_positive_rate);
    let bits = ((hashes.len() as f64 * bits_per_key).ceil() as usize).max(MIN_BITS).div_ceil(8) * 8;
    let mut out = vec![0u8; bits / 8 + 1];
    for &h in hashes {
        for bit in probe_positions(h, probes, bits as u64) {
            if let Some(byte) = out.get_mut((bit / 8) as usize) {
                *byte |= 1 << (bit % 8);
            }
        }
    }
    if let Some(last) = out.last_mut() {
        *last = probes;
    }
    out
}

/// A filter read back from a file.
pub struct BloomFilter {
    bits: Vec<u8>,
    probes: u8,
}

impl BloomFilter {
    pub fn parse(mut block: Vec<u8>) -> Result<BloomFilter> {
        let probes = block.pop().ok_or_else(|| Error::corruption("filter block is empty"))?;
        if probes == 0 || probes > MAX_PROBES || block.len() * 8 < MIN_BITS {
            return Err(Error::corruption(format!("filter block is damaged ({} bytes, {probes} probes)", block.len())));
        }
        Ok(BloomFilter { bits: block, probes })
    }

    /// False means the key is certainly absent; true means it may be present.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        let bits = self.bits.len() as u64 * 8;
        probe_positions(key_hash(key), self.probes, bits)
            .all(|bit| self.bits.get((bit / 8) as usize).is_some_and(|b| b & (1 << (bit % 8)) != 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter_of(n: u32, rate: f64) -> BloomFilter {
        let hashes: Vec<u64> = (0..n).map(|i| key_hash(format!("present-{i}").as_bytes())).collect();
        BloomFilter::parse(build(&hashes, rate)).unwrap()
    }

    fn measured_rate(filter: &BloomFilter) -> f64 {
        let hits = (0..10_000).filter(|i| filter.may_contain(format!("absent-{i}").as_bytes())).count();
        hits as f64 / 10_000.0
    }

    #[test]
    fn default_rate_gives_about_ten_bits_and_seven_probes_per_key() {
        let (bits, probes) = sizing(DEFAULT_FALSE_POSITIVE_RATE);
        assert!((9.0..10.5).contains(&bits), "{bits}");
        assert_eq!(probes, 7);
    }

    #[test]
    fn every_inserted_key_may_be_contained() {
        let filter = filter_of(10_000, 0.01);
        for i in 0..10_000 {
            assert!(filter.may_contain(format!("present-{i}").as_bytes()), "key {i}");
        }
    }

    #[test]
    fn measured_false_positive_rate_on_10k_absent_keys_is_within_2x_of_target() {
        for target in [0.01, 0.001, 0.05] {
            let rate = measured_rate(&filter_of(10_000, target));
            assert!(rate <= target * 2.0 && rate >= target / 2.0, "target {target}, measured {rate}");
        }
    }

    #[test]
    fn empty_filter_contains_nothing() {
        let filter = BloomFilter::parse(build(&[], 0.01)).unwrap();
        assert!(!filter.may_contain(b"anything"));
    }

    #[test]
    fn damaged_filter_blocks_are_corruption() {
        assert!(BloomFilter::parse(Vec::new()).is_err());
        assert!(BloomFilter::parse(vec![0xff; 9].into_iter().chain([0]).collect()).is_err());
        assert!(BloomFilter::parse(vec![0xff; 8].into_iter().chain([31]).collect()).is_err());
        assert!(BloomFilter::parse(vec![0xff; 3].into_iter().chain([7]).collect()).is_err());
    }
}
