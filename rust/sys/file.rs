// SPDX-License-Identifier: GPL-2.0

//! Files of the requesting process: a blob read from or written to a
//! regular file the request names by its descriptor.

use super::bindings;
use core::ptr::NonNull;
use kernel::{
    error::to_result,
    prelude::*, //
};

/// A regular file of the current process, held.
///
/// # Invariants
///
/// `file` is a regular file with a reference owned by this value.
pub(crate) struct File {
    file: NonNull<bindings::file>,
}

impl File {
    /// The memory-backed file `fd` of the current process (a memfd or a
    /// tmpfs file): EBADF if there is none, EINVAL if it is another kind
    /// of file.
    pub(crate) fn get(fd: u32) -> Result<Self> {
        // SAFETY: Looks `fd` up in the current task's table.
        let file = unsafe { bindings::tcpmig_file_get(fd) };
        // SAFETY: `file` came from `tcpmig_file_get`.
        if unsafe { bindings::tcpmig_is_err(file.cast()) } {
            // SAFETY: As above; an ERR_PTR carries an errno.
            return Err(Error::from_errno(unsafe {
                bindings::tcpmig_ptr_err(file.cast())
            }));
        }
        // INVARIANT: A held regular file.
        NonNull::new(file).map(|file| Self { file }).ok_or(EBADF)
    }

    /// The whole file, if it is at most `max` bytes long.
    pub(crate) fn read_all(&self, max: usize) -> Result<KVVec<u8>> {
        // SAFETY: The file is held.
        let size = unsafe { bindings::tcpmig_file_size(self.file.as_ptr()) };
        let size = usize::try_from(size).map_err(|_| EINVAL)?;
        if size > max {
            return Err(EFBIG);
        }
        // Charged to the requester's memory cgroup: it asked for it.
        let mut buf = KVVec::from_elem(0u8, size, GFP_KERNEL_ACCOUNT)?;
        // SAFETY: The file is held; `buf` has room for `size` bytes.
        to_result(unsafe {
            bindings::tcpmig_file_read(self.file.as_ptr(), buf.as_mut_ptr().cast(), size, 0)
        })?;
        Ok(buf)
    }

    /// Writes `data` at the start of the file.
    pub(crate) fn write_all(&self, data: &[u8]) -> Result {
        // SAFETY: The file is held; `data` is valid for its length.
        to_result(unsafe {
            bindings::tcpmig_file_write(self.file.as_ptr(), data.as_ptr().cast(), data.len(), 0)
        })
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: By the invariant we own a reference.
        unsafe { bindings::tcpmig_file_put(self.file.as_ptr()) };
    }
}
