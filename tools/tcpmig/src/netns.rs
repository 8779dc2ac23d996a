//! `-n NETNS`: run in a named network namespace, as `ip -n` does.

use std::fs::File;
use std::os::fd::AsRawFd;
use tcpmig_client::Error;

/// Moves this (single-threaded) process into the network namespace
/// `name` (a name under /run/netns) or at `name` (a path).
pub fn enter(name: &str) -> Result<(), Error> {
    let path = if name.contains('/') {
        name.to_string()
    } else {
        format!("/run/netns/{name}")
    };
    let file = File::open(&path)
        .map_err(|e| Error::Other(format!("cannot open network namespace \"{name}\": {e}")))?;
    // SAFETY: `file` is an open namespace file; setns only reads the fd.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::Other(format!(
            "cannot enter network namespace \"{name}\": {e}"
        )));
    }
    Ok(())
}
