//! Keyword arguments, as `ip` takes them: `KEYWORD VALUE` pairs after a
//! verb's positional arguments (`to be1 timeout 2000`). The flag forms
//! of earlier releases (`--to be1`) are hidden clap options of the same
//! verbs; a keyword given both ways, or twice, is refused. And the one
//! positional value several objects take: a service's address.

use clap::ValueEnum;
use std::fmt::Display;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// A verb's keyword words, as pairs.
pub struct Words<'a> {
    pairs: Vec<(&'static str, &'a str)>,
}

impl<'a> Words<'a> {
    /// Splits `words` into pairs, each of one of `keys`.
    pub fn parse(words: &'a [String], keys: &[&'static str]) -> Result<Self, String> {
        let mut out = Words { pairs: Vec::new() };
        let mut words = words.iter().map(String::as_str);
        while let Some(word) = words.next() {
            if out.pairs.iter().any(|(k, _)| *k == word) {
                return Err(format!("{word} is given twice"));
            }
            if let Some(key) = keys.iter().find(|k| **k == word) {
                let value = words.next().ok_or(format!("{key}: expected a value"))?;
                out.pairs.push((key, value));
            } else {
                let mut expected = keys.to_vec();
                let last = expected.pop().unwrap_or_default();
                let expected = match expected.len() {
                    0 => last.to_string(),
                    _ => format!("{} or {last}", expected.join(", ")),
                };
                return Err(format!("unexpected word {word:?}; expected {expected}"));
            }
        }
        Ok(out)
    }

    /// The value of `key` as `parse` reads it, or `flag`, its flag form.
    pub fn get<T>(
        &self,
        key: &str,
        flag: Option<T>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        let Some(&(_, value)) = self.pairs.iter().find(|(k, _)| *k == key) else {
            return Ok(flag);
        };
        if flag.is_some() {
            return Err(format!("{key} is given twice (once as --{key})"));
        }
        parse(value)
            .map(Some)
            .map_err(|e| format!("{key} {value:?}: {e}"))
    }
}

/// A value of a type that names itself in its errors.
pub fn value<T: FromStr>(s: &str) -> Result<T, String>
where
    T::Err: Display,
{
    s.parse().map_err(|e: T::Err| e.to_string())
}

/// A number in `range`.
pub fn number<T: TryFrom<u64>>(range: RangeInclusive<u64>) -> impl Fn(&str) -> Result<T, String> {
    move |s| {
        s.parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .and_then(|n| T::try_from(n).ok())
            .ok_or(format!(
                "expected a number from {} to {}",
                range.start(),
                range.end()
            ))
    }
}

/// One of an enum's names, as clap's `value_enum` takes them.
pub fn choice<T: ValueEnum>(s: &str) -> Result<T, String> {
    T::from_str(s, false).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| Some(v.to_possible_value()?.get_name().to_string()))
            .collect();
        format!("expected one of {}", names.join(", "))
    })
}

/// A service's address on the command line: `VIP:PORT` or
/// `[VIP6]:PORT`, the port 1-65535.
pub fn parse_vip(s: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = s
        .parse()
        .map_err(|_| "expected VIP:PORT or [VIP6]:PORT".to_string())?;
    if addr.port() == 0 {
        return Err("port 0 is no service's port".into());
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn pairs() {
        let w = words("to be1 timeout 5");
        let parsed = Words::parse(&w, &["to", "timeout"]).unwrap();
        assert_eq!(
            parsed.get("to", None, value::<String>),
            Ok(Some("be1".into()))
        );
        assert_eq!(
            parsed.get("timeout", None, number::<u32>(1..=9)),
            Ok(Some(5))
        );
        assert_eq!(
            parsed.get("to", Some("be2".into()), value::<String>),
            Err("to is given twice (once as --to)".into())
        );
        assert_eq!(
            parsed.get("timeout", None, number::<u32>(6..=9)),
            Err("timeout \"5\": expected a number from 6 to 9".into())
        );
        let none = Words::parse(&[], &["to"]).unwrap();
        assert_eq!(none.get("to", Some(1), value::<u32>), Ok(Some(1)));
    }

    #[test]
    fn bad_words() {
        let bad = |s: &str| Words::parse(&words(s), &["to", "timeout", "on-failure"]).err();
        assert_eq!(bad("to"), Some("to: expected a value".into()));
        assert_eq!(bad("to a to b"), Some("to is given twice".into()));
        assert_eq!(
            bad("be1"),
            Some("unexpected word \"be1\"; expected to, timeout or on-failure".into())
        );
    }
}
