//! The `--log FILE` of every subcommand: CSV, one row per item, appended,
//! the header written only when the file is new or empty (so runs can
//! share a file, and a Python reader sees one header).
//!
//! Each row is one `write` on an `O_APPEND` descriptor, unbuffered: rows
//! of concurrent threads (and processes) do not interleave, and a process
//! killed at the end of a bench has lost none.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

/// A CSV log, or nothing when no `--log` was given.
pub struct Log {
    file: Option<Mutex<File>>,
    /// How many fields a row has (the header's), checked in debug builds.
    fields: usize,
}

impl Log {
    /// Opens `path` for appending rows under `header` (comma-separated
    /// names, no newline).
    pub fn open(path: Option<&Path>, header: &str) -> Result<Self, String> {
        let fields = header.split(',').count();
        let Some(path) = path else {
            return Ok(Self { file: None, fields });
        };
        let what = |e: std::io::Error| format!("{}: {e}", path.display());
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(what)?;
        if file.metadata().map_err(what)?.len() == 0 {
            file.write_all(format!("{header}\n").as_bytes())
                .map_err(what)?;
        }
        Ok(Self {
            file: Some(Mutex::new(file)),
            fields,
        })
    }

    /// Appends one row; a failed write is reported on stderr, not fatal
    /// (the measurement goes on, the summary still counts it).
    pub fn row(&self, fields: &[String]) {
        debug_assert_eq!(fields.len(), self.fields);
        let Some(file) = &self.file else {
            return;
        };
        let line = format!("{}\n", fields.join(","));
        let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = file.write_all(line.as_bytes()) {
            eprintln!("mig-bench: log: {e}");
        }
    }
}

/// A free-text field made safe for a simple CSV reader: no commas, no
/// quotes, no line breaks.
pub fn field(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ',' | '"' | '\n' | '\r' => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn header_once() {
        let path = std::env::temp_dir().join(format!("mig-bench-csv-{}", std::process::id()));
        let _ = fs::remove_file(&path);
        for round in 0..2 {
            let log = Log::open(Some(&path), "a,b").unwrap();
            log.row(&[round.to_string(), field("x,y")]);
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), "a,b\n0,x_y\n1,x_y\n");
        fs::remove_file(&path).unwrap();
        // No file: rows go nowhere.
        Log::open(None, "a").unwrap().row(&["1".into()]);
    }
}
