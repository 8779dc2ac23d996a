//! `tcpmig config set ...`: change this namespace's configuration.

use crate::words::{number, value, Words};
use clap::Subcommand;
use std::fs::File;
use std::io::Read;
use tcpmig_client::genl::Client;
use tcpmig_client::uapi::{Cmd, ConfigAttr, CLUSTER_KEY_LEN};
use tcpmig_client::Error;

#[derive(Subcommand)]
pub enum Verb {
    /// Set configuration values; the others stay as they are
    #[command(
        override_usage = "tcpmig config set [migrator-port <PORT>] [cluster-key-file <FILE>]",
        after_help = "\
Keywords:
  migrator-port PORT      TCP port of this namespace's connection migrator
                          (1-65535)
  cluster-key-file FILE   file holding the cluster's 32-byte key (the same on
                          every node of the cluster), raw or as 64 hex digits
                          and an optional newline; `-` reads it from stdin.
                          Make one with `head -c 32 /dev/urandom > FILE`"
    )]
    Set(SetArgs),
}

/// `config set`'s keywords, and their flag forms of earlier releases.
#[derive(clap::Args)]
pub struct SetArgs {
    /// migrator-port PORT, cluster-key-file FILE (below)
    #[arg(value_name = "KEYWORD VALUE")]
    words: Vec<String>,
    #[arg(long, hide = true, value_parser = clap::value_parser!(u16).range(1..))]
    migrator_port: Option<u16>,
    #[arg(long, hide = true)]
    cluster_key_file: Option<String>,
}

/// What `config set` sets.
#[derive(Debug, PartialEq, Eq)]
pub struct Set {
    migrator_port: Option<u16>,
    cluster_key_file: Option<String>,
}

impl SetArgs {
    pub fn resolve(self) -> Result<Set, String> {
        let words = Words::parse(&self.words, &["migrator-port", "cluster-key-file"])?;
        Ok(Set {
            migrator_port: words.get("migrator-port", self.migrator_port, number(1..=65535))?,
            cluster_key_file: words.get("cluster-key-file", self.cluster_key_file, value)?,
        })
    }
}

pub fn run(verb: Verb) -> Result<(), Error> {
    let Verb::Set(args) = verb;
    let set = args
        .resolve()
        .unwrap_or_else(|e| crate::usage_error(&["config", "set"], e));
    // A bad key file is reported even where the module is not loaded.
    let key = set.cluster_key_file.as_deref().map(read_key).transpose()?;
    self::set(&Client::connect()?, set.migrator_port, key)
}

/// Sets what is given; `cluster_key` as `read_key` read it.
fn set(
    client: &Client,
    migrator_port: Option<u16>,
    cluster_key: Option<[u8; CLUSTER_KEY_LEN]>,
) -> Result<(), Error> {
    let mut attrs = Vec::new();
    if let Some(port) = migrator_port {
        attrs.push((ConfigAttr::MigratorPort, port.to_ne_bytes().to_vec()));
    }
    if let Some(key) = cluster_key {
        attrs.push((ConfigAttr::ClusterKey, key.to_vec()));
    }
    if attrs.is_empty() {
        return Err(Error::Other(
            "config set: nothing to set (see tcpmig config set --help)".into(),
        ));
    }
    client.request(Cmd::ConfigSet, &attrs).map(|_| ())
}

/// Reads the cluster key from `file` (`-`: stdin). Errors name the file,
/// never what it holds.
fn read_key(file: &str) -> Result<[u8; CLUSTER_KEY_LEN], Error> {
    let name = if file == "-" { "stdin" } else { file };
    let fail = |why: String| Error::Other(format!("config set: cluster key file {name}: {why}"));
    // One byte more than the longest valid form is enough to refuse a
    // longer file (or a device that never ends).
    let limit = 2 * CLUSTER_KEY_LEN as u64 + 2;
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().take(limit).read_to_end(&mut bytes)
    } else {
        File::open(file).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|e| fail(e.to_string()))?;
    parse_key(&bytes).map_err(fail)
}

/// The cluster key from a key file's contents: 32 raw bytes, or 64 hex
/// digits optionally followed by a newline.
fn parse_key(bytes: &[u8]) -> Result<[u8; CLUSTER_KEY_LEN], String> {
    const HEX_LEN: usize = 2 * CLUSTER_KEY_LEN;
    if let Ok(key) = bytes.try_into() {
        return Ok(key);
    }
    let expected = format!(
        "expected the {CLUSTER_KEY_LEN}-byte key raw, or as {HEX_LEN} hex digits \
         (and an optional newline)"
    );
    let hex = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if hex.len() != HEX_LEN {
        // read_key reads at most one byte past the longest valid form.
        return Err(if bytes.len() > HEX_LEN + 1 {
            format!("more than {} bytes; {expected}", HEX_LEN + 1)
        } else {
            format!("{} bytes; {expected}", bytes.len())
        });
    }
    let mut key = [0u8; CLUSTER_KEY_LEN];
    for (byte, pair) in key.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(high), Some(low)) => *byte = (high << 4 | low) as u8,
            _ => {
                return Err(format!(
                    "{} bytes but not all hex digits; {expected}",
                    bytes.len()
                ))
            }
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [
        0x00, 0x01, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2,
        0xe1, 0xf0,
    ];
    const HEX: &str = "00012233445566778899aabbccddeeff0f1e2d3c4b5a69788796a5b4c3d2e1f0";

    #[test]
    fn raw_key() {
        assert_eq!(parse_key(&KEY), Ok(KEY));
        // 32 bytes are the raw key even if they look like hex.
        assert_eq!(parse_key(&HEX.as_bytes()[..32]).map(|k| k[0]), Ok(b'0'));
    }

    #[test]
    fn hex_key() {
        assert_eq!(parse_key(HEX.as_bytes()), Ok(KEY));
        assert_eq!(parse_key(format!("{HEX}\n").as_bytes()), Ok(KEY));
        assert_eq!(parse_key(HEX.to_uppercase().as_bytes()), Ok(KEY));
    }

    #[test]
    fn bad_keys() {
        let wrong_len = |s: &str| {
            let e = parse_key(s.as_bytes()).expect_err(s);
            assert!(e.contains("expected the 32-byte key raw"), "{e}");
            e
        };
        assert!(wrong_len("").starts_with("0 bytes"));
        assert!(wrong_len(&HEX[..63]).starts_with("63 bytes"));
        assert!(wrong_len(&format!("{HEX}\n\n")).starts_with("more than 65 bytes"));
        assert!(wrong_len(&format!("{HEX}\r\n")).starts_with("more than 65 bytes"));
        assert!(wrong_len(&format!("{HEX}0")).starts_with("65 bytes"));
        assert!(wrong_len(&format!("{HEX}{HEX}")).starts_with("more than 65 bytes"));
        assert!(wrong_len(&format!(" {HEX}")).starts_with("65 bytes"));
        let e = parse_key(HEX.replace('f', "g").as_bytes()).unwrap_err();
        assert!(e.starts_with("64 bytes but not all hex digits"), "{e}");
        // A sign would pass a lax number parser.
        let e = parse_key(format!("+{}", &HEX[1..]).as_bytes()).unwrap_err();
        assert!(e.contains("not all hex digits"), "{e}");
    }

    #[test]
    fn errors_never_show_the_key() {
        let mut file = HEX.replace('0', "x");
        let e = parse_key(file.as_bytes()).unwrap_err();
        assert!(!e.contains(&file[..8]), "{e}");
        file.push('\n');
        file.push('\n');
        let e = parse_key(file.as_bytes()).unwrap_err();
        assert!(!e.contains(&file[..8]), "{e}");
    }

    #[test]
    fn key_file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("tcpmig-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("short.key");
        std::fs::write(&path, b"short").unwrap();
        let path = path.to_str().unwrap();
        let e = read_key(path).err().unwrap().to_string();
        assert!(
            e.starts_with(&format!("config set: cluster key file {path}: 5 bytes")),
            "{e}"
        );
        let e = read_key("/nonexistent/tcpmig.key")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("config set: cluster key file /nonexistent/tcpmig.key: "),
            "{e}"
        );
        let good = dir.join("good.key");
        std::fs::write(&good, format!("{HEX}\n")).unwrap();
        assert_eq!(read_key(good.to_str().unwrap()).ok(), Some(KEY));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
