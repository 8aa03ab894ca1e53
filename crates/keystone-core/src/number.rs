//! DynamoDB numbers, held exactly: parsing, numeric order, canonical text, an order-preserving
//! key encoding, and the exact `+`/`-` of update expressions.
//!
//! # What a number is
//!
//! DynamoDB's rules (Developer Guide, "Constraints" → "Data types" → Number, and
//! "Supported data types and naming rules"): up to 38 significant digits; positive range
//! 1E-130 to 9.9999999999999999999999999999999999999E+125, negative range the same mirrored,
//! and zero. Leading and trailing zeros are not significant ("DynamoDB item sizes and formats":
//! "Leading and trailing zeroes are trimmed").
//!
//! A [`Decimal`] is `sign × d1.d2…dn × 10^exponent` with `d1` and `dn` non-zero and `n ≤ 38`,
//! so every value has exactly one representation and structural equality is numeric equality
//! ("1.0" == "1", "-0" == "0").
//!
//! # Accepted text
//!
//! ```text
//! number   := sign? mantissa exponent?
//! sign     := '+' | '-'
//! mantissa := digit+ ('.' digit*)? | '.' digit+
//! exponent := ('e' | 'E') sign? digit+
//! ```
//!
//! ASCII digits only; no spaces, no `NaN`/`Infinity`, no hex, no `_`. The docs do not give a
//! grammar; this is the one DynamoDB was observed to accept (ScyllaDB's Alternator test suite,
//! `test/alternator/test_number.py`, run against DynamoDB: `+3`, `.123`, `0001.23`, `1e+5`,
//! `-17.4E37` and `0e1000` are accepted; `NaN`, `Infinity`, `dog`, `" 1"`, `"1 "` are not). We
//! also accept `1.` (Java's `BigDecimal` does; the docs are silent). Zero ignores its exponent,
//! however large, as `0e1000` shows.
//!
//! # Canonical text
//!
//! Always plain notation, never an exponent: `100`, `0.001`, `-12.5`, `0`. At the extremes this
//! is long (1E+125 is `1` and 125 zeros, 1E-130 is `0.` and 129 zeros then `1`; at most 169
//! characters), but it is what a reader expects from DynamoDB, it parses back to the same
//! `Decimal`, and it is a valid JavaScript `StringNumericLiteral`, so `Number(text)` gives the
//! nearest double.
//!
//! # Arithmetic
//!
//! `add` and `sub` are exact. DynamoDB does not round: a result that needs more than 38
//! significant digits (e.g. `1E+50 + 1`) is refused, as is one outside the range. The docs do not
//! describe this; it is the observed behaviour (Alternator's `test_update_expression_plus_imprecise`,
//! which notes DynamoDB words the precision failure as "Number overflow"). We refuse in the same
//! cases with a message that names the actual problem.
//!
//! # Sortable encoding
//!
//! For number sort keys: `memcmp` order of encodings is numeric order, and the encoding is
//! self-delimiting, so it may sit anywhere in a composite key.
//!
//! ```text
//! value     bytes
//! zero      0x02
//! positive  0x03 | E+130 : u8 | (pair+1 : u8)* | 0x00
//! negative  0x01 | 255-(E+130) : u8 | (254-pair : u8)* | 0xFF
//!
//! E     the exponent of the first significant digit, -130..=125, so E+130 fills 0..=255
//! pair  two significant digits as 0..=99, most significant first; an odd count is padded
//!       with one 0 digit. 1..=19 pairs for 1..=38 digits.
//! ```
//!
//! Class bytes order negative < zero < positive. Within positives a larger `E` is a larger
//! number (the first digit is non-zero), then pairs compare digit by digit, and the terminator
//! 0x00 sorts below every pair byte (1..=100), so `1.2` < `1.23`. Negatives store the same bytes
//! complemented, reversing the order, with the terminator 0xFF above every pair byte (155..=254).
//! At most 1 + 1 + 19 + 1 = 22 bytes. Decoding checks the bytes are exactly what encoding would
//! produce, and reports anything else as corruption.

use std::cmp::Ordering;
use std::fmt;

use crate::error::quoted;
use crate::error::{Error, Result};

/// DynamoDB keeps at most this many significant digits.
pub const MAX_SIGNIFICANT_DIGITS: usize = 38;
/// The largest exponent of the first significant digit: 9.99…E+125.
pub const MAX_EXPONENT: i32 = 125;
/// The smallest exponent of the first significant digit: 1E-130.
pub const MIN_EXPONENT: i32 = -130;

const CLASS_NEGATIVE: u8 = 0x01;
const CLASS_ZERO: u8 = 0x02;
const CLASS_POSITIVE: u8 = 0x03;
const TERMINATOR_POSITIVE: u8 = 0x00;
const TERMINATOR_NEGATIVE: u8 = 0xFF;

/// Largest and smallest magnitudes, as the messages print them.
const MAX_MAGNITUDE_TEXT: &str = "9.9999999999999999999999999999999999999E+125";
const MIN_MAGNITUDE_TEXT: &str = "1E-130";

/// An exact DynamoDB number: `sign × d1.d2…dn × 10^exponent`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// False for zero.
    negative: bool,
    /// Significant digits, 0..=9 each; first and last non-zero; empty for zero.
    digits: Vec<u8>,
    /// Power of ten of `digits[0]`; 0 for zero.
    exponent: i32,
}

impl Decimal {
    pub fn zero() -> Decimal {
        Decimal { negative: false, digits: Vec::new(), exponent: 0 }
    }

    /// Parses DynamoDB number text, enforcing the precision and range limits.
    pub fn parse(text: &str) -> Result<Decimal> {
        let invalid = || Error::validation(format!("number `{}` is not a valid number", quoted(text)));
        let bytes = text.as_bytes();
        let (negative, rest) = match bytes.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, bytes),
        };
        let (mantissa, exponent_text) = match rest.iter().position(|&b| b == b'e' || b == b'E') {
            Some(at) => (rest.get(..at).unwrap_or_default(), Some(rest.get(at + 1..).unwrap_or_default())),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.iter().position(|&b| b == b'.') {
            Some(at) => (mantissa.get(..at).unwrap_or_default(), mantissa.get(at + 1..).unwrap_or_default()),
            None => (mantissa, &[][..]),
        };
        let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
            return Err(invalid());
        }
        let exponent = match exponent_text {
            None => 0,
            Some(e) => parse_exponent(e).ok_or_else(invalid)?,
        };

        let mantissa_digits: Vec<u8> = int_part.iter().chain(frac_part).map(|b| b - b'0').collect();
        let (Some(first), Some(last)) =
            (mantissa_digits.iter().position(|&d| d != 0), mantissa_digits.iter().rposition(|&d| d != 0))
        else {
            return Ok(Decimal::zero());
        };
        let digits = mantissa_digits.get(first..=last).unwrap_or_default().to_vec();
        // The digit at mantissa index i has power (int_part.len() - 1 - i) + exponent.
        let adjusted = to_i64(int_part.len()) - 1 - to_i64(first) + exponent;
        if digits.len() > MAX_SIGNIFICANT_DIGITS {
            return Err(Error::validation(format!(
                "number `{}` has {} significant digits; DynamoDB keeps at most {MAX_SIGNIFICANT_DIGITS}",
                quoted(text),
                digits.len()
            )));
        }
        let exponent = check_range(adjusted, || format!("number `{}`", quoted(text)))?;
        Ok(Decimal { negative, digits, exponent })
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Significant digits, leading and trailing zeros excluded; 0 for zero.
    pub fn significant_digits(&self) -> usize {
        self.digits.len()
    }

    pub fn negate(&self) -> Decimal {
        Decimal { negative: !self.negative && !self.is_zero(), ..self.clone() }
    }

    /// DynamoDB's normalized text, in plain notation (see the header).
    pub fn to_canonical_string(&self) -> String {
        if self.is_zero() {
            return "0".to_string();
        }
        let digit_chars = || self.digits.iter().map(|d| char::from(b'0' + d));
        let n = to_i64(self.digits.len());
        let e = i64::from(self.exponent);
        let mut out = String::with_capacity(self.digits.len() + 140);
        if self.negative {
            out.push('-');
        }
        if e >= n - 1 {
            out.extend(digit_chars());
            out.extend(std::iter::repeat_n('0', to_usize(e - (n - 1))));
        } else if e >= 0 {
            let whole = to_usize(e + 1);
            out.extend(digit_chars().take(whole));
            out.push('.');
            out.extend(digit_chars().skip(whole));
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', to_usize(-e - 1)));
            out.extend(digit_chars());
        }
        out
    }

    /// Short scientific form for error messages, e.g. `-1.8E+126`.
    fn scientific(&self) -> String {
        if self.is_zero() {
            return "0".to_string();
        }
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        let mut chars = self.digits.iter().map(|d| char::from(b'0' + d));
        out.extend(chars.next());
        if self.digits.len() > 1 {
            out.push('.');
            out.extend(chars);
        }
        out.push_str(&format!("E{:+}", self.exponent));
        out
    }

    /// Appends the order-preserving encoding (layout in the header).
    pub fn encode_sortable(&self, out: &mut Vec<u8>) {
        if self.is_zero() {
            out.push(CLASS_ZERO);
            return;
        }
        // `exponent` is within MIN_EXPONENT..=MAX_EXPONENT, so this is 0..=255.
        let exp_byte = u8::try_from(self.exponent - MIN_EXPONENT).unwrap_or(u8::MAX);
        let flip = |b: u8| if self.negative { !b } else { b };
        out.push(if self.negative { CLASS_NEGATIVE } else { CLASS_POSITIVE });
        out.push(flip(exp_byte));
        for pair in self.digits.chunks(2) {
            let hi = pair.first().copied().unwrap_or(0);
            let lo = pair.get(1).copied().unwrap_or(0);
            out.push(flip(hi * 10 + lo + 1));
        }
        out.push(if self.negative { TERMINATOR_NEGATIVE } else { TERMINATOR_POSITIVE });
    }

    /// Decodes an encoding that fills `bytes` exactly.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn decode_sortable(bytes: &[u8]) -> Result<Decimal> {
        let (d, used) = Decimal::decode_sortable_prefix(bytes)?;
        if used != bytes.len() {
            return Err(Error::corruption(format!(
                "number key has {} bytes after its end at byte {used}",
                bytes.len() - used
            )));
        }
        Ok(d)
    }

    /// Decodes the encoding at the start of `bytes`; returns it and the bytes it used.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn decode_sortable_prefix(bytes: &[u8]) -> Result<(Decimal, usize)> {
        let bad = |why: &str| Error::corruption(format!("number key is damaged: {why}"));
        let (&class, rest) = bytes.split_first().ok_or_else(|| bad("it is empty"))?;
        let negative = match class {
            CLASS_ZERO => return Ok((Decimal::zero(), 1)),
            CLASS_NEGATIVE => true,
            CLASS_POSITIVE => false,
            other => return Err(bad(&format!("unknown class byte 0x{other:02x}"))),
        };
        let flip = |b: u8| if negative { !b } else { b };
        let (&exp_byte, body) = rest.split_first().ok_or_else(|| bad("it ends after the class byte"))?;
        let end =
            body.iter().position(|&b| flip(b) == TERMINATOR_POSITIVE).ok_or_else(|| bad("it has no terminator"))?;
        let mut digits = Vec::with_capacity(2 * end);
        for &b in body.get(..end).unwrap_or_default() {
            let pair =
                flip(b).checked_sub(1).filter(|p| *p <= 99).ok_or_else(|| bad("a digit pair is out of range"))?;
            digits.extend([pair / 10, pair % 10]);
        }
        if digits.last() == Some(&0) {
            digits.pop();
        }
        let d = Decimal { negative, digits, exponent: i32::from(flip(exp_byte)) + MIN_EXPONENT };
        let used = 2 + end + 1;
        // Pair the check with the writer: only the bytes `encode_sortable` would produce decode.
        let mut again = Vec::with_capacity(used);
        d.encode_sortable(&mut again);
        let canonical = d.digits.len() <= MAX_SIGNIFICANT_DIGITS
            && d.digits.first().is_some_and(|&x| x != 0)
            && d.digits.last().is_some_and(|&x| x != 0);
        if !canonical || bytes.get(..used) != Some(again.as_slice()) {
            return Err(bad("its digits are not in canonical form"));
        }
        Ok((d, used))
    }

    /// `self + other`, exactly; an error if the result needs more than 38 digits or leaves the range.
    pub fn add(&self, other: &Decimal) -> Result<Decimal> {
        self.combine(other, false)
    }

    /// `self - other`, exactly; an error if the result needs more than 38 digits or leaves the range.
    pub fn sub(&self, other: &Decimal) -> Result<Decimal> {
        self.combine(other, true)
    }

    fn combine(&self, other: &Decimal, subtract: bool) -> Result<Decimal> {
        let rhs = if subtract { other.negate() } else { other.clone() };
        if self.is_zero() {
            return Ok(rhs);
        }
        if rhs.is_zero() {
            return Ok(self.clone());
        }
        // Lay both magnitudes out little-endian from the lowest power either uses; one extra
        // position on top for a carry. Both exponents are bounded, so this is at most ~300 digits.
        let low = self.low_power().min(rhs.low_power());
        let high = i64::from(self.exponent.max(rhs.exponent)) + 1;
        let width = to_usize(high - low + 1);
        let a = self.aligned(low, width);
        let b = rhs.aligned(low, width);
        let (negative, sum) = if self.negative == rhs.negative {
            (self.negative, add_magnitudes(&a, &b))
        } else {
            match cmp_magnitude(self, &rhs) {
                Ordering::Equal => return Ok(Decimal::zero()),
                Ordering::Greater => (self.negative, sub_magnitudes(&a, &b)),
                Ordering::Less => (rhs.negative, sub_magnitudes(&b, &a)),
            }
        };
        let describe = || {
            let op = if subtract { '-' } else { '+' };
            format!("the result of {} {op} {}", self.scientific(), other.scientific())
        };
        let (Some(top), Some(bottom)) = (sum.iter().rposition(|&d| d != 0), sum.iter().position(|&d| d != 0)) else {
            return Ok(Decimal::zero());
        };
        let count = top - bottom + 1;
        if count > MAX_SIGNIFICANT_DIGITS {
            return Err(Error::validation(format!(
                "{} needs {count} significant digits; DynamoDB keeps at most {MAX_SIGNIFICANT_DIGITS} and does not round",
                describe()
            )));
        }
        let digits: Vec<u8> = sum.get(bottom..=top).unwrap_or_default().iter().rev().copied().collect();
        let exponent = check_range(low + to_i64(top), describe)?;
        Ok(Decimal { negative, digits, exponent })
    }

    /// Power of ten of the last significant digit.
    fn low_power(&self) -> i64 {
        i64::from(self.exponent) - to_i64(self.digits.len()) + 1
    }

    /// The digits little-endian in a `width`-long vector whose index 0 is power `low`.
    fn aligned(&self, low: i64, width: usize) -> Vec<u8> {
        let mut out = vec![0u8; width];
        for (i, &d) in self.digits.iter().enumerate() {
            let at = i64::from(self.exponent) - to_i64(i) - low;
            if let Some(slot) = usize::try_from(at).ok().and_then(|k| out.get_mut(k)) {
                *slot = d;
            }
        }
        out
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        let class = |d: &Decimal| match (d.is_zero(), d.negative) {
            (true, _) => 1,
            (false, true) => 0,
            (false, false) => 2,
        };
        class(self).cmp(&class(other)).then_with(|| {
            let magnitude = cmp_magnitude(self, other);
            if self.negative {
                magnitude.reverse()
            } else {
                magnitude
            }
        })
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string())
    }
}

/// Compares absolute values of two non-zero numbers (zero compares below any non-zero).
fn cmp_magnitude(a: &Decimal, b: &Decimal) -> Ordering {
    match (a.is_zero(), b.is_zero()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        // Leading digits are non-zero, so a larger exponent is a larger magnitude; then the
        // digit strings compare lexicographically, a proper prefix being the smaller.
        (false, false) => a.exponent.cmp(&b.exponent).then_with(|| a.digits.cmp(&b.digits)),
    }
}

fn add_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut carry = 0;
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let s = x + y + carry;
            carry = s / 10;
            s % 10
        })
        .collect()
}

/// `a - b` for `a ≥ b`.
fn sub_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut borrow = 0;
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let take = y + borrow;
            if x >= take {
                borrow = 0;
                x - take
            } else {
                borrow = 1;
                x + 10 - take
            }
        })
        .collect()
}

/// Checks the exponent of the first significant digit against DynamoDB's range.
fn check_range(exponent: i64, what: impl FnOnce() -> String) -> Result<i32> {
    if exponent > i64::from(MAX_EXPONENT) {
        return Err(Error::validation(format!(
            "{} is out of range (overflow: DynamoDB's largest magnitude is {MAX_MAGNITUDE_TEXT})",
            what()
        )));
    }
    if exponent < i64::from(MIN_EXPONENT) {
        return Err(Error::validation(format!(
            "{} is out of range (underflow: DynamoDB's smallest non-zero magnitude is {MIN_MAGNITUDE_TEXT})",
            what()
        )));
    }
    i32::try_from(exponent).map_err(|_| Error::validation(format!("{} is out of range", what())))
}

/// `sign? digit+`, saturating far outside any usable exponent so huge texts cannot overflow.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    const SATURATE: i64 = 1 << 40;
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |acc, &b| (acc * 10 + i64::from(b - b'0')).min(SATURATE));
    Some(if negative { -magnitude } else { magnitude })
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn num(text: &str) -> Decimal {
        Decimal::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        match Decimal::parse(text) {
            Ok(d) => panic!("{text:?} parsed as {d}"),
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::Validation, "{text}");
                e.message().to_string()
            }
        }
    }

    /// splitmix64: deterministic, dependency-free randomness for the property tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn range(&mut self, lo: i64, hi: i64) -> i64 {
            lo + self.below((hi - lo + 1) as u64) as i64
        }
    }

    fn encoded(d: &Decimal) -> Vec<u8> {
        let mut out = Vec::new();
        d.encode_sortable(&mut out);
        out
    }

    #[test]
    fn canonical_text_trims_zeros_and_uses_plain_notation() {
        let cases = [
            ("0", "0"),
            ("-0", "0"),
            ("+0.000", "0"),
            ("0e1000", "0"),
            ("-0e-99999999999999999999999", "0"),
            ("1.0", "1"),
            ("1.", "1"),
            ("100", "100"),
            ("1e2", "100"),
            ("1E+2", "100"),
            ("0.001", "0.001"),
            ("1e-3", "0.001"),
            ("-12.50", "-12.5"),
            ("+3", "3"),
            (".123", "0.123"),
            ("0001.23", "1.23"),
            ("1e+5", "100000"),
            ("123.456e1", "1234.56"),
            ("123.456e-1", "12.3456"),
            ("123.456e3", "123456"),
            ("123.456e5", "12345600"),
            ("-7.1234", "-7.1234"),
        ];
        for (text, canonical) in cases {
            assert_eq!(num(text).to_canonical_string(), canonical, "{text}");
            assert_eq!(num(canonical), num(text), "{text}");
        }
        assert_eq!(num("-17.4E37").to_canonical_string(), format!("-174{}", "0".repeat(36)));
        assert_eq!(num("1E-130").to_canonical_string(), format!("0.{}1", "0".repeat(129)));
        assert_eq!(num("1E125").to_canonical_string(), format!("1{}", "0".repeat(125)));
    }

    #[test]
    fn numerically_equal_texts_are_equal_decimals() {
        assert_eq!(num("1.0"), num("1"));
        assert_eq!(num("-0"), num("0"));
        assert_eq!(num("100"), num("1e2"));
        assert_eq!(num("0.5"), num("5E-1"));
        assert_eq!(num("-0.50"), num("-.5"));
        assert_eq!(num("1.0").cmp(&num("1")), Ordering::Equal);
        assert!(num("-1") < num("0") && num("0") < num("1e-130"));
        assert!(num("1.2") < num("1.23") && num("-1.2") > num("-1.23"));
    }

    #[test]
    fn canonical_text_parses_to_the_same_double() {
        // Rust's `str::parse::<f64>` rounds correctly, as JavaScript's `Number(text)` does.
        for text in ["0.1", "1e-130", "-9.9999999999999999999999999999999999999E+125", "123.456e-7", "2.5e-5", "1e23"] {
            let d = num(text);
            let canonical: f64 = d.to_canonical_string().parse().unwrap();
            assert_eq!(canonical, text.parse::<f64>().unwrap(), "{text}");
        }
    }

    #[test]
    fn malformed_texts_are_rejected_as_invalid() {
        let bad = [
            "",
            "NaN",
            "-NaN",
            "Infinity",
            "-Infinity",
            "inf",
            "dog",
            "-dog",
            "0x10",
            "0X1F",
            " 1",
            "1 ",
            "1 000",
            "1_000",
            "1,5",
            "1.2.3",
            ".",
            "-",
            "+",
            "+-1",
            "--1",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1e-",
            "1e5e3",
            "1e5.0",
            "1E 5",
            "١",
            "１",
            "1\n",
        ];
        for text in bad {
            let message = err(text);
            assert!(message.contains("is not a valid number"), "{text:?}: {message}");
        }
        assert_eq!(err("1.2.3"), "number `1.2.3` is not a valid number");
    }

    #[test]
    fn thirty_nine_significant_digits_are_rejected_and_thirty_eight_kept() {
        for text in [
            "3.1415926535897932384626433832795028841",
            "314159265358979323846.26433832795028841",
            "31415926535897932384626433832795028841e30",
            "-0.000031415926535897932384626433832795028841000",
        ] {
            assert_eq!(num(text).significant_digits(), 38, "{text}");
        }
        for text in [
            "3.14159265358979323846264338327950288419",
            "314159265358979323846.264338327950288419",
            "314159265358979323846264338327950288419e30",
        ] {
            let message = err(text);
            assert!(message.ends_with("has 39 significant digits; DynamoDB keeps at most 38"), "{message}");
        }
        // Zeros outside the significant digits do not count.
        assert_eq!(num(&format!("000{}1{}000", "0".repeat(40), "0".repeat(10))).significant_digits(), 1);
    }

    #[test]
    fn magnitudes_outside_dynamodb_range_are_rejected() {
        for text in ["1e125", "9.99999999e125", "1e-100", "1e-130", "-1e-130", MAX_MAGNITUDE_TEXT, "0.1e126", "10e-131"]
        {
            num(text);
        }
        num(&format!("-{MAX_MAGNITUDE_TEXT}"));
        for text in ["1e126", "11e125", "-1e126", "1e99999999999999999999999"] {
            assert!(err(text).contains("is out of range (overflow"), "{text}");
        }
        for text in ["1e-131", "0.9e-130", "-1e-131", "1e-99999999999999999999999"] {
            assert!(err(text).contains("is out of range (underflow"), "{text}");
        }
    }

    #[test]
    fn long_texts_are_cut_short_in_messages() {
        let long = format!("x{}", "1".repeat(10_000));
        assert!(err(&long).len() < 200);
    }

    /// A value generated independently of `Decimal`: sign, trimmed digits, exponent of the first.
    #[derive(Clone)]
    struct Truth {
        negative: bool,
        digits: Vec<u8>,
        exponent: i64,
    }

    impl Truth {
        /// The value as fixed-point digits at powers 125 down to -167, for a reference order.
        fn fixed(&self) -> Vec<u8> {
            let mut out = vec![0u8; 293];
            for (i, &d) in self.digits.iter().enumerate() {
                out[(125 - (self.exponent - i as i64)) as usize] = d;
            }
            out
        }

        fn reference_cmp(&self, other: &Truth) -> Ordering {
            let class = |t: &Truth| {
                if t.digits.is_empty() {
                    1
                } else if t.negative {
                    0
                } else {
                    2
                }
            };
            class(self).cmp(&class(other)).then_with(|| {
                let m = self.fixed().cmp(&other.fixed());
                if self.negative {
                    m.reverse()
                } else {
                    m
                }
            })
        }

        /// One of several textual spellings of the value.
        fn text(&self, rng: &mut Rng) -> String {
            if self.digits.is_empty() {
                return ["0", "-0", "0.000", "0e77", "+.0"][rng.below(5) as usize].to_string();
            }
            let ds: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
            let n = self.digits.len() as i64;
            let sign = if self.negative { "-" } else { ["", "+"][rng.below(2) as usize] };
            match rng.below(4) {
                0 => format!("{sign}{}.{}E{}", &ds[..1], &ds[1..], self.exponent),
                1 => format!("{sign}{ds}e{}", self.exponent - n + 1),
                2 => format!("{sign}000{ds}000e{:+}", self.exponent - n + 1 - 3),
                _ => format!("{sign}0.{ds}E{}", self.exponent + 1),
            }
        }
    }

    fn random_truth(rng: &mut Rng, previous: Option<&Truth>) -> Truth {
        if rng.below(40) == 0 {
            return Truth { negative: false, digits: vec![], exponent: 0 };
        }
        // Often stay close to an earlier value, so shared prefixes and equal exponents are common.
        if let Some(p) = previous.filter(|p| !p.digits.is_empty() && rng.below(3) == 0) {
            let mut t = p.clone();
            match rng.below(3) {
                0 if t.digits.len() < 38 => t.digits.push(1 + rng.below(9) as u8),
                1 if t.digits.len() > 1 => {
                    t.digits.pop();
                }
                _ => {
                    let last = t.digits.last_mut().unwrap();
                    *last = 1 + rng.below(9) as u8;
                }
            }
            while t.digits.last() == Some(&0) {
                t.digits.pop();
            }
            t.negative = rng.below(2) == 0;
            return t;
        }
        let n = 1 + rng.below(38) as usize;
        let mut digits: Vec<u8> = (0..n).map(|_| rng.below(10) as u8).collect();
        digits[0] = 1 + rng.below(9) as u8;
        digits[n - 1] = 1 + rng.below(9) as u8;
        if rng.below(10) == 0 {
            digits = vec![9; n];
        }
        let exponent = match rng.below(8) {
            0 => MAX_EXPONENT as i64 - rng.range(0, 2),
            1 => MIN_EXPONENT as i64 + rng.range(0, 2),
            _ => rng.range(MIN_EXPONENT as i64, MAX_EXPONENT as i64),
        };
        Truth { negative: rng.below(2) == 0, digits, exponent }
    }

    #[test]
    fn encoding_order_matches_numeric_order_over_random_decimals() {
        let mut rng = Rng(0x5EED);
        let mut truths: Vec<Truth> = Vec::new();
        for _ in 0..10_000 {
            let previous =
                if truths.is_empty() { None } else { Some(truths[rng.below(truths.len() as u64) as usize].clone()) };
            truths.push(random_truth(&mut rng, previous.as_ref()));
        }
        // Extremes and their neighbours.
        for (digits, exponent) in [
            (vec![1], -130),
            (vec![1, 1], -130),
            (vec![9; 38], 125),
            (vec![9; 37], 125),
            ([vec![9; 37], vec![8]].concat(), 125),
            (vec![1], 125),
            ([vec![1], vec![0; 36], vec![1]].concat(), 0),
        ] {
            for negative in [false, true] {
                truths.push(Truth { negative, digits: digits.clone(), exponent });
            }
        }

        let mut decimals = Vec::new();
        for t in &truths {
            let text = t.text(&mut rng);
            let d = num(&text);
            let expected = Decimal {
                negative: t.negative && !t.digits.is_empty(),
                digits: t.digits.clone(),
                exponent: t.exponent as i32,
            };
            assert_eq!(d, expected, "{text}");
            assert_eq!(num(&d.to_canonical_string()), d, "{text}");
            let bytes = encoded(&d);
            assert_eq!(Decimal::decode_sortable(&bytes).unwrap(), d, "{text}");
            decimals.push((d, bytes));
        }

        let mut order: Vec<usize> = (0..truths.len()).collect();
        order.sort_by(|&a, &b| decimals[a].1.cmp(&decimals[b].1));
        for w in order.windows(2) {
            let (a, b) = (w[0], w[1]);
            let reference = truths[a].reference_cmp(&truths[b]);
            assert_eq!(decimals[a].1.cmp(&decimals[b].1), reference, "{} vs {}", decimals[a].0, decimals[b].0);
            assert_eq!(decimals[a].0.cmp(&decimals[b].0), reference, "{} vs {}", decimals[a].0, decimals[b].0);
        }
        for _ in 0..50_000 {
            let a = rng.below(truths.len() as u64) as usize;
            let b = rng.below(truths.len() as u64) as usize;
            let reference = truths[a].reference_cmp(&truths[b]);
            assert_eq!(decimals[a].1.cmp(&decimals[b].1), reference);
            assert_eq!(decimals[a].0.cmp(&decimals[b].0), reference);
        }
    }

    #[test]
    fn encoding_is_self_delimiting_and_short() {
        let values = ["0", "-1", "1.5", MAX_MAGNITUDE_TEXT, "-1e-130", "12345678901234567890123456789012345678"];
        let mut key = Vec::new();
        for v in values {
            num(v).encode_sortable(&mut key);
        }
        let mut rest = &key[..];
        for v in values {
            let (d, used) = Decimal::decode_sortable_prefix(rest).unwrap();
            assert_eq!(d, num(v));
            assert!(used <= 22);
            rest = &rest[used..];
        }
        assert!(rest.is_empty());
    }

    #[test]
    fn damaged_encodings_are_corruption_not_panics() {
        let cases: [&[u8]; 10] = [
            &[],
            &[0x04],
            &[0x03],
            &[0x03, 0x82],
            &[0x03, 0x82, 0x00],        // no digits
            &[0x03, 0x82, 101, 0x00],   // pair out of range
            &[0x03, 0x82, 1, 0x00],     // leading zero
            &[0x03, 0x82, 11, 1, 0x00], // trailing zero pair
            &[0x01, 0x7d, 0x00, 0xFF],  // negative with a positive pair byte
            &[0x02, 0x00],              // trailing byte after zero
        ];
        for bytes in cases {
            let e = Decimal::decode_sortable(bytes).err().unwrap_or_else(|| panic!("{bytes:?} decoded"));
            assert_eq!(e.code(), ErrorCode::Corruption, "{bytes:?}");
        }
        let mut twenty = vec![0x03, 0x82];
        twenty.extend([100u8; 20]);
        twenty.push(0);
        assert!(Decimal::decode_sortable(&twenty).is_err(), "40 digits");
        // Every truncation of a valid key fails cleanly.
        let full = encoded(&num("-123.456"));
        for cut in 0..full.len() {
            assert!(Decimal::decode_sortable(&full[..cut]).is_err());
        }
    }

    fn fixed(v: i128, scale: u32) -> String {
        let digits = v.unsigned_abs().to_string();
        let padded = format!("{:0>width$}", digits, width = scale as usize + 1);
        let (int, frac) = padded.split_at(padded.len() - scale as usize);
        format!("{}{int}.{frac}0", if v < 0 { "-" } else { "" })
    }

    #[test]
    fn add_and_sub_match_exact_integer_arithmetic() {
        let mut rng = Rng(42);
        for _ in 0..20_000 {
            let operand = |rng: &mut Rng| {
                let magnitude = 10i128.pow(rng.below(26) as u32);
                let v = (rng.next() as i64 as i128 * rng.next() as i64 as i128) % magnitude;
                (v, rng.below(13) as u32)
            };
            let (a, sa) = operand(&mut rng);
            let (b, sb) = operand(&mut rng);
            let scale = sa.max(sb);
            let (wa, wb) = (a * 10i128.pow(scale - sa), b * 10i128.pow(scale - sb));
            let (da, db) = (num(&fixed(a, sa)), num(&fixed(b, sb)));
            assert_eq!(da.add(&db).unwrap(), num(&fixed(wa + wb, scale)), "{da} + {db}");
            assert_eq!(da.sub(&db).unwrap(), num(&fixed(wa - wb, scale)), "{da} - {db}");
        }
    }

    #[test]
    fn add_and_sub_are_exact_across_magnitudes() {
        assert_eq!(num("1").add(&num("10000000000000000000000")).unwrap(), num("10000000000000000000001"));
        assert_eq!(num("10000000000000000000000").sub(&num("1")).unwrap(), num("9999999999999999999999"));
        assert_eq!(num("0.1").add(&num("0.2")).unwrap(), num("0.3"));
        assert_eq!(num("1e-130").sub(&num("1e-130")).unwrap(), num("0"));
        assert_eq!(num("-5").add(&num("5")).unwrap().to_canonical_string(), "0");
        assert_eq!(num("0").sub(&num("7")).unwrap(), num("-7"));
        assert_eq!(num("7").sub(&num("0")).unwrap(), num("7"));
        assert_eq!(num(MAX_MAGNITUDE_TEXT).sub(&num(MAX_MAGNITUDE_TEXT)).unwrap(), num("0"));
        assert_eq!(num("1e125").add(&num("-1e125")).unwrap(), num("0"));
        assert_eq!(num("9.5").add(&num("0.5")).unwrap().to_canonical_string(), "10");
        assert_eq!(num("1e-130").add(&num("9e-130")).unwrap(), num("1e-129"));
        // 38 digits exactly is fine; the 39th is refused, not rounded.
        let ones = "1".repeat(38);
        assert_eq!(num(&ones).add(&num(&ones)).unwrap(), num(&"2".repeat(38)));
        let nines = "9".repeat(38);
        assert_eq!(num(&nines).add(&num("1")).unwrap(), num("1e38"));
        let message = num(&nines).add(&num("2")).err().unwrap().message().to_string();
        assert!(message.contains("needs 39 significant digits"), "{message}");
    }

    #[test]
    fn arithmetic_that_leaves_the_range_or_precision_is_an_error() {
        let cases = [
            ("9e125", "9e125", false, "overflow"),
            ("9e125", "-9e125", true, "overflow"),
            ("-9e125", "9e125", true, "overflow"),
            ("1e50", "1", false, "needs 51 significant digits"),
            ("1e50", "1", true, "needs 50 significant digits"),
            ("1", "1e-40", false, "needs 41 significant digits"),
            ("2e-130", "1.5e-130", true, "underflow"),
            ("1e125", "1e-130", false, "needs 256 significant digits"),
        ];
        for (a, b, subtract, expected) in cases {
            let r = if subtract { num(a).sub(&num(b)) } else { num(a).add(&num(b)) };
            let e = r.err().unwrap_or_else(|| panic!("{a} {b}"));
            assert_eq!(e.code(), ErrorCode::Validation);
            assert!(e.message().contains(expected), "{a} {b}: {}", e.message());
        }
        let e = num("9e125").add(&num("9e125")).err().unwrap();
        assert_eq!(
            e.message(),
            "the result of 9E+125 + 9E+125 is out of range (overflow: DynamoDB's largest magnitude is \
             9.9999999999999999999999999999999999999E+125)"
        );
    }
}
