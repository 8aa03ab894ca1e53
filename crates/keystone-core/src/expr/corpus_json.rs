//! Test support: a small JSON reader for the expression corpus, and DynamoDB's AttributeValue
//! JSON form (`{"S":"x"}`, `{"N":"1"}`, `{"B":"<base64>"}`, `{"BOOL":true}`, `{"NULL":true}`,
//! `{"M":{...}}`, `{"L":[...]}`, `{"SS":[...]}`, `{"NS":[...]}`, `{"BS":[<base64>...]}`).
//! The crate has no JSON dependency and tests should not add one for a data file.

use crate::item::Value;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(o) => o.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", b as char, self.i))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let b = *self.s.get(self.i).ok_or("unterminated string")?;
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("bad escape")?;
                    self.i += 1;
                    let c = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4).ok_or("bad \\u")?;
                            self.i += 4;
                            let code = u32::from_str_radix(std::str::from_utf8(hex).map_err(|e| e.to_string())?, 16)
                                .map_err(|e| e.to_string())?;
                            char::from_u32(code).ok_or("bad \\u code")?
                        }
                        other => other as char,
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(b),
            }
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.s.get(self.i).copied().ok_or("unexpected end")? {
            b'"' => Ok(Json::Str(self.string()?)),
            b'{' => {
                self.i += 1;
                let mut o = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(o));
                }
                loop {
                    let k = self.string()?;
                    self.eat(b':')?;
                    o.push((k, self.value()?));
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                    } else {
                        self.eat(b'}')?;
                        return Ok(Json::Obj(o));
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(a));
                }
                loop {
                    a.push(self.value()?);
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                    } else {
                        self.eat(b']')?;
                        return Ok(Json::Arr(a));
                    }
                }
            }
            _ => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b)) {
                    self.i += 1;
                }
                let word =
                    std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default()).map_err(|e| e.to_string())?;
                match word {
                    "true" => Ok(Json::Bool(true)),
                    "false" => Ok(Json::Bool(false)),
                    "null" => Ok(Json::Null),
                    n => n.parse().map(Json::Num).map_err(|_| format!("bad token {n:?} at byte {start}")),
                }
            }
        }
    }
}

pub(super) fn parse_json(text: &str) -> Result<Json, String> {
    let mut r = Reader { s: text.as_bytes(), i: 0 };
    let v = r.value()?;
    r.ws();
    if r.i != text.len() {
        return Err(format!("trailing data at byte {}", r.i));
    }
    Ok(v)
}

fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).ok_or_else(|| format!("bad base64 {s:?}"))?;
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Ok(out)
}

fn strings(j: &Json) -> Result<Vec<String>, String> {
    match j {
        Json::Arr(a) => {
            a.iter().map(|x| x.as_str().map(str::to_string).ok_or("set member not a string".to_string())).collect()
        }
        _ => Err("set is not an array".into()),
    }
}

/// One AttributeValue.
pub(super) fn attribute_value(j: &Json) -> Result<Value, String> {
    let Json::Obj(o) = j else { return Err(format!("not an AttributeValue: {j:?}")) };
    let [(tag, body)] = o.as_slice() else { return Err(format!("AttributeValue needs exactly one key: {j:?}")) };
    let s = || body.as_str().map(str::to_string).ok_or(format!("{tag} needs a string"));
    Ok(match tag.as_str() {
        "S" => Value::S(s()?),
        "N" => Value::N(s()?),
        "B" => Value::B(base64_decode(&s()?)?),
        "BOOL" => Value::Bool(matches!(body, Json::Bool(true))),
        "NULL" => Value::Null,
        "M" => Value::M(attribute_map(body)?),
        "L" => match body {
            Json::Arr(a) => Value::L(a.iter().map(attribute_value).collect::<Result<_, _>>()?),
            _ => return Err("L needs an array".into()),
        },
        "SS" => Value::Ss(strings(body)?),
        "NS" => Value::Ns(strings(body)?),
        "BS" => Value::Bs(strings(body)?.iter().map(|b| base64_decode(b)).collect::<Result<_, _>>()?),
        other => return Err(format!("unknown type {other}")),
    })
}

/// A map of attribute names to AttributeValues (an item, or ExpressionAttributeValues).
pub(super) fn attribute_map(j: &Json) -> Result<Vec<(String, Value)>, String> {
    match j {
        Json::Obj(o) => o.iter().map(|(k, v)| Ok((k.clone(), attribute_value(v)?))).collect(),
        Json::Null => Ok(Vec::new()),
        _ => Err(format!("not a map: {j:?}")),
    }
}
