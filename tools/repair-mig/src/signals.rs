//! A clean exit on SIGINT and SIGTERM: the signals are blocked in every
//! thread and one thread waits for them, so the exit work (the front's
//! rule deletion) runs as ordinary code, not in a signal handler.

use std::io;
use std::mem;
use std::process;
use std::thread;

/// The set of exit signals, blocked in the thread that made it.
pub struct Blocked(libc::sigset_t);

/// Blocks SIGINT and SIGTERM in the calling thread. Threads spawned
/// afterwards inherit the mask: call it before any.
pub fn block() -> io::Result<Blocked> {
    // SAFETY: All-zero is a valid sigset_t before sigemptyset fills it.
    let mut set: libc::sigset_t = unsafe { mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t; these calls cannot fail for
    // valid signal numbers.
    unsafe {
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, libc::SIGINT);
        libc::sigaddset(&raw mut set, libc::SIGTERM);
    }
    // SAFETY: `set` is initialized; no old mask is asked for.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(Blocked(set))
}

/// Runs `f` in a thread of its own when SIGINT or SIGTERM comes, then
/// exits the process with status 0.
pub fn on_exit(blocked: Blocked, f: impl FnOnce() + Send + 'static) {
    let set = blocked.0;
    thread::spawn(move || {
        let mut sig = 0;
        // SAFETY: `set` is initialized and blocked in every thread;
        // `sig` is writable. sigwait fails only for an invalid set.
        unsafe { libc::sigwait(&raw const set, &raw mut sig) };
        f();
        process::exit(0);
    });
}
