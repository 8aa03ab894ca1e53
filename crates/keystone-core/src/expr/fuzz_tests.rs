//! No text a user can send may panic a parser: ~10,000 random and mutated expressions go
//! through every entry point, and each must return `Ok` or `Err`.

use std::collections::HashMap;

use crate::item::Value;

use super::*;

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    "a = :v AND (b < :w OR NOT c BETWEEN :v AND :w)",
    "attribute_exists(#n.x[3]) AND size(l) > :v",
    "contains(s, :v) OR begins_with(#n, :w) OR attribute_type(a, :t)",
    "a IN (:v, :w, :x) AND NOT (b <> :v)",
    "SET a = :v, b.c[2] = if_not_exists(d, :w) + :x REMOVE e[1], f ADD g :n DELETE h :s",
    "SET l = list_append(if_not_exists(l, :e), :v) REMOVE #n.y",
    "a, b.c, d[0].e, #n",
    "pk = :v AND sk BETWEEN :w AND :x",
    "pk = :v AND begins_with(sk, :w)",
    "((a = :v))",
];

const PIECES: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    " ",
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "size",
    "contains(",
    "attribute_exists(",
    "list_append(",
    "if_not_exists(",
    ":v",
    ":missing",
    "#n",
    "#missing",
    "a",
    "status",
    "0",
    "99999999999",
    "é",
    "$",
    "#",
    ":",
    "\t",
    "\n",
    "[0]",
    ".b",
];

fn mutate(rng: &mut Rng, base: &str) -> String {
    let mut s: Vec<char> = base.chars().collect();
    for _ in 0..=rng.below(4) {
        let at = if s.is_empty() { 0 } else { rng.below(s.len() + 1) };
        match rng.below(3) {
            0 if !s.is_empty() && at < s.len() => {
                s.remove(at);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                for (k, c) in piece.chars().enumerate() {
                    s.insert(at + k, c);
                }
            }
            _ => {
                if at < s.len() {
                    s[at] = PIECES[rng.below(PIECES.len())].chars().next().unwrap_or('x');
                }
            }
        }
    }
    s.into_iter().collect()
}

fn random(rng: &mut Rng) -> String {
    (0..rng.below(30)).map(|_| PIECES[rng.below(PIECES.len())]).collect::<Vec<_>>().join(" ")
}

#[test]
fn ten_thousand_random_expressions_never_panic() {
    let names: HashMap<String, String> = [("#n".to_string(), "name".to_string())].into();
    let values: HashMap<String, Value> = [
        (":v".to_string(), Value::N("1".into())),
        (":w".to_string(), Value::S("x".into())),
        (":x".to_string(), Value::L(vec![])),
        (":e".to_string(), Value::L(vec![])),
        (":n".to_string(), Value::N("2".into())),
        (":s".to_string(), Value::Ss(vec!["a".into()])),
        (":t".to_string(), Value::S("N".into())),
    ]
    .into();
    let item: Vec<(String, Value)> = vec![
        ("a".into(), Value::N("1".into())),
        ("l".into(), Value::L(vec![Value::N("1".into())])),
        ("name".into(), Value::M(vec![("y".into(), Value::Null)])),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut oks = 0;
    for i in 0..10_000 {
        let text = if i % 3 == 0 {
            random(&mut rng)
        } else {
            let seed = SEEDS[rng.below(SEEDS.len())];
            mutate(&mut rng, seed)
        };
        let attrs = ExpressionAttributes::new(&names, &values);
        if let Ok(c) = parse_condition(&text, &attrs) {
            oks += 1;
            let _ = eval_condition(&c, &item);
        }
        if let Ok(u) = parse_update(&text, &attrs) {
            oks += 1;
            let _ = apply_update(&u, &mut item.clone());
        }
        if let Ok(p) = parse_projection(&text, &attrs) {
            oks += 1;
            let _ = project(&item, &p);
        }
        let _ = parse_key_condition(&text, &attrs, "pk", Some("sk"));
        let _ = attrs.check_unused();
    }
    // The mutations are mild enough that some survive; all zero would mean the generator is broken.
    assert!(oks > 100, "only {oks} inputs parsed");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let names = HashMap::new();
    let values: HashMap<String, Value> = [(":v".to_string(), Value::N("1".into()))].into();
    let attrs = ExpressionAttributes::new(&names, &values);
    for text in ["(".repeat(2000) + "a = :v" + &")".repeat(2000), "NOT ".repeat(1000) + "a = :v"] {
        assert!(parse_condition(&text, &attrs).is_err());
    }
    let update = format!("SET a = {}:v{}", "(".repeat(1500), ")".repeat(1500));
    assert!(parse_update(&update, &attrs).is_err());
    let size = format!("SET a = {}", "list_append(".repeat(1000));
    assert!(parse_update(&size, &attrs).is_err());
}
