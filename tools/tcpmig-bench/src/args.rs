//! Command-line words: positional arguments and `--flag VALUE` options,
//! in any order; a flag a subcommand does not take is an error.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

/// A subcommand's arguments, split.
#[derive(Debug)]
pub struct Args {
    pub positional: Vec<String>,
    flags: Vec<(String, String)>,
}

impl Args {
    /// Splits `words`; each of `known` (`"--log"`) takes a value.
    pub fn parse(words: &[String], known: &[&str]) -> Result<Self, String> {
        let mut positional = Vec::new();
        let mut flags = Vec::new();
        let mut words = words.iter();
        while let Some(w) = words.next() {
            if !w.starts_with("--") {
                positional.push(w.clone());
                continue;
            }
            if !known.contains(&w.as_str()) {
                return Err(format!("unknown option {w}"));
            }
            let value = words.next().ok_or_else(|| format!("{w} needs a value"))?;
            if flags.iter().any(|(f, _)| f == w) {
                return Err(format!("{w} given twice"));
            }
            flags.push((w.clone(), value.clone()));
        }
        Ok(Self { positional, flags })
    }

    /// Checks there are exactly `names.len()` positional arguments.
    pub fn exactly(&self, names: &[&str]) -> Result<(), String> {
        if self.positional.len() == names.len() {
            Ok(())
        } else {
            Err(format!(
                "expected {} ({} words), got {:?}",
                names.join(" "),
                names.len(),
                self.positional
            ))
        }
    }

    /// Positional argument `i`, parsed; `name` for the error.
    pub fn at<T: FromStr>(&self, i: usize, name: &str) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        let w = self
            .positional
            .get(i)
            .ok_or_else(|| format!("missing {name}"))?;
        w.parse().map_err(|e| format!("{name} {w:?}: {e}"))
    }

    /// The value of `flag`, parsed, if given.
    pub fn flag<T: FromStr>(&self, flag: &str) -> Result<Option<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        self.flags
            .iter()
            .find(|(f, _)| f == flag)
            .map(|(_, v)| v.parse().map_err(|e| format!("{flag} {v:?}: {e}")))
            .transpose()
    }

    /// `--log FILE`, if given.
    pub fn log(&self) -> Result<Option<PathBuf>, String> {
        self.flag("--log")
    }
}

/// A socket address as the tools write it: `192.0.2.100:80` or
/// `[2001:db8::1]:80`.
pub fn addr(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("{s:?}: expected ADDR:PORT or [ADDR6]:PORT"))
}

/// `--source IP`, of the family of `to` (where the connections go).
pub fn source(args: &Args, to: SocketAddr) -> Result<Option<IpAddr>, String> {
    let ip: Option<IpAddr> = args.flag("--source")?;
    match ip {
        Some(ip) if ip.is_ipv4() != to.is_ipv4() => {
            Err(format!("--source {ip}: not of the family of {to}"))
        }
        _ => Ok(ip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn flags_anywhere() {
        let a = Args::parse(
            &words("--pad 65536 127.0.0.1:80 20 --log x.csv 5"),
            &["--pad", "--log"],
        )
        .unwrap();
        a.exactly(&["ADDR", "COUNT", "CONCURRENCY"]).unwrap();
        assert_eq!(a.at::<u64>(1, "COUNT").unwrap(), 20);
        assert_eq!(a.flag::<u64>("--pad").unwrap(), Some(65536));
        assert_eq!(a.log().unwrap(), Some(PathBuf::from("x.csv")));
        assert_eq!(a.flag::<u64>("--rcvbuf").unwrap(), None);
        assert!(a.at::<u64>(0, "COUNT").is_err());
        assert!(a.exactly(&["ADDR"]).is_err());
    }

    #[test]
    fn bad_flags() {
        assert!(Args::parse(&words("--nope 1"), &["--log"]).is_err());
        assert!(Args::parse(&words("--log"), &["--log"]).is_err());
        assert!(Args::parse(&words("--log a --log b"), &["--log"]).is_err());
        let a = Args::parse(&words("--pad x"), &["--pad"]).unwrap();
        assert!(a.flag::<u64>("--pad").is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(addr("[::1]:80").unwrap().to_string(), "[::1]:80");
        assert_eq!(
            addr("192.0.2.100:80").unwrap().to_string(),
            "192.0.2.100:80"
        );
        assert!(addr("localhost:80").is_err());
        assert!(addr("192.0.2.100").is_err());
        let to = addr("[::1]:80").unwrap();
        let a = Args::parse(&words("--source ::1"), &["--source"]).unwrap();
        assert_eq!(source(&a, to).unwrap(), Some("::1".parse().unwrap()));
        let a = Args::parse(&words("--source 127.0.0.1"), &["--source"]).unwrap();
        assert!(source(&a, to).is_err());
    }
}
