//! The library's errors: each prints as one line saying what to do;
//! a kernel refusal says the errno and the kernel's extack message.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The `tcpmig` family is not registered: the module is not loaded.
    NotLoaded,
    /// The kernel refused a request.
    Kernel { errno: i32, message: Option<String> },
    /// A reply lacked something the kernel always sends.
    BadReply(&'static str),
    /// The caller's request is not one the kernel could take (a peer
    /// name too long, addresses of two families), or anything else,
    /// already worded.
    Other(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotLoaded => write!(f, "the tcpmig module is not loaded (insmod tcpmig.ko)"),
            Error::Kernel { errno, message } => {
                if *errno == libc::EPERM {
                    write!(f, "permission denied: this needs CAP_NET_ADMIN")?;
                } else {
                    write!(f, "{}", std::io::Error::from_raw_os_error(*errno))?;
                }
                match message {
                    Some(m) if !m.is_empty() => write!(f, ": {m}"),
                    _ => Ok(()),
                }
            }
            Error::BadReply(what) => write!(f, "malformed reply from the kernel: {what}"),
            Error::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The kernel's errno, for a refusal by the kernel.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The kernel's extack message, for a refusal that carried one.
    pub fn kernel_message(&self) -> Option<&str> {
        match self {
            Error::Kernel {
                message: Some(m), ..
            } => Some(m),
            _ => None,
        }
    }
}
