// SPDX-License-Identifier: GPL-2.0

//! The blob in the kernel: `wire` (the format shared with user space)
//! encoding into kernel memory, and its errors as errnos.

use crate::wire::{self, Connection};
use kernel::prelude::*;

/// Encodes `conn` into a fresh kernel buffer.
pub(crate) fn encode(conn: &Connection<'_>) -> Result<KVVec<u8>> {
    let mut out = KVVec::from_elem(0u8, conn.encoded_len(), GFP_KERNEL)?;
    conn.encode(&mut out).map_err(to_errno)?;
    Ok(out)
}

/// Decodes a blob; a refusal becomes its errno. The KUnit suites' only.
#[cfg(CONFIG_KUNIT)]
pub(crate) fn decode(blob: &[u8]) -> Result<Connection<'_>> {
    wire::decode(blob).map_err(to_errno)
}

/// A refusal, printable by the kernel's formatting (which takes
/// `kernel::fmt::Display`, not `core::fmt::Display`).
pub(crate) struct Reason(pub(crate) wire::Error);

impl kernel::fmt::Display for Reason {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// Every refusal is bad input, except a blob too large to hold.
pub(crate) fn to_errno(e: wire::Error) -> Error {
    match e {
        wire::Error::TooLarge(_) => EMSGSIZE,
        _ => EINVAL,
    }
}

#[kunit_tests(tcpmig_wire)]
mod tests {
    use super::*;

    // The host tests' golden vectors (rust/wire/tests.rs makes them).
    const IDLE_V4: &[u8] = include_bytes!("../tests/golden/idle-v4.blob");
    const BUSY_V6: &[u8] = include_bytes!("../tests/golden/busy-v6.blob");

    #[test]
    fn golden_vectors_decode_and_reencode_identically() -> Result {
        for golden in [IDLE_V4, BUSY_V6] {
            let again = encode(&decode(golden)?)?;
            assert!(&again[..] == golden);
        }
        Ok(())
    }

    #[test]
    fn golden_vectors_carry_what_the_host_wrote() -> Result {
        let conn = decode(BUSY_V6)?;
        assert_eq!(conn.ip.family, 6);
        assert_eq!(conn.ip.local_port, 443);
        assert_eq!(conn.tcp.snd_una, 0xffff_fff8);
        assert_eq!(conn.recv_data.len(), 33);
        assert!(conn.flow.map(|f| f.flow_id) == Some(0xdead_beef));
        Ok(())
    }

    #[test]
    fn refuses_corruption() -> Result {
        let mut blob = KVec::new();
        blob.extend_from_slice(BUSY_V6, GFP_KERNEL)?;
        let last = blob.last_mut().ok_or(EINVAL)?;
        *last ^= 0x80;
        assert!(decode(&blob).err() == Some(EINVAL));
        assert!(decode(&BUSY_V6[..10]).err() == Some(EINVAL));
        Ok(())
    }
}
