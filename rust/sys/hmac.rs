// SPDX-License-Identifier: GPL-2.0

//! HMAC-SHA256 from the kernel's SHA-256 library, and a constant-time
//! compare of tags: what authenticates the migrator's frames.

use super::bindings;
use kernel::prelude::*;

/// Length of an HMAC-SHA256 tag.
pub(crate) const TAG_LEN: usize = 32;

/// An HMAC-SHA256 tag.
pub(crate) type Tag = [u8; TAG_LEN];

/// HMAC-SHA256 with `key` over the concatenation of `parts`.
pub(crate) fn hmac_sha256<const N: usize>(key: &[u8], parts: [&[u8]; N]) -> Tag {
    let slices = parts.map(|p| bindings::tcpmig_slice {
        data: p.as_ptr().cast(),
        len: p.len(),
    });
    let mut tag = [0; TAG_LEN];
    // SAFETY: `key` and each slice are valid for their lengths; `tag` has
    // room for the 32 bytes written.
    unsafe {
        bindings::tcpmig_hmac_sha256(
            key.as_ptr(),
            key.len(),
            slices.as_ptr(),
            N,
            tag.as_mut_ptr(),
        )
    };
    tag
}

/// Whether two tags are equal, in time that does not depend on where they
/// differ (`crypto_memneq`).
pub(crate) fn tags_equal(a: &Tag, b: &Tag) -> bool {
    // SAFETY: Both are valid for `TAG_LEN` bytes.
    !unsafe { bindings::tcpmig_memneq(a.as_ptr().cast(), b.as_ptr().cast(), TAG_LEN) }
}

#[kunit_tests(tcpmig_hmac)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Tag {
        let mut out = [0; TAG_LEN];
        let s = s.as_bytes();
        let nibble = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        };
        for (i, b) in out.iter_mut().enumerate() {
            *b = nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]);
        }
        out
    }

    /// RFC 4231 test case 1: a 20-byte key.
    #[test]
    fn rfc4231_case_1() {
        let tag = hmac_sha256(&[0x0b; 20], [b"Hi There"]);
        assert_eq!(
            tag,
            unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
    }

    /// RFC 4231 test case 2: a key shorter than the tag, the message in
    /// two parts.
    #[test]
    fn rfc4231_case_2() {
        let tag = hmac_sha256(b"Jefe", [b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            tag,
            unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    /// RFC 4231 test case 6: a key longer than SHA-256's block, hashed
    /// first.
    #[test]
    fn rfc4231_case_6() {
        let tag = hmac_sha256(
            &[0xaa; 131],
            [b"Test Using Larger Than Block-Size Key - Hash Key First"],
        );
        assert_eq!(
            tag,
            unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        );
    }

    /// A 32-byte key like the cluster key (value from python3's hmac
    /// module), split at every point of the message: the parts do not
    /// change the tag.
    #[test]
    fn cluster_sized_key() {
        let mut key = [0u8; 32];
        for (i, b) in key.iter_mut().enumerate() {
            *b = i as u8;
        }
        let msg: &[u8] = b"tcpmig frame: header || payload";
        let want = unhex("1d82fe3b397d40d6b2f708abd6ac9f25c2f35a7cd5d21a243112048c021d6b15");
        for at in 0..=msg.len() {
            let (a, b) = msg.split_at(at);
            assert_eq!(hmac_sha256(&key, [a, b, &[]]), want);
        }
        key[31] ^= 1;
        assert_ne!(hmac_sha256(&key, [msg]), want);
    }

    #[test]
    fn compare() {
        let a = [7u8; TAG_LEN];
        let mut b = a;
        assert!(tags_equal(&a, &b));
        b[TAG_LEN - 1] ^= 0x80;
        assert!(!tags_equal(&a, &b));
        b = a;
        b[0] ^= 1;
        assert!(!tags_equal(&a, &b));
    }
}
