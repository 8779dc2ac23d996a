//! The bytes every bench stream carries: byte `i` of a stream is
//! `i % 251`. Cheap enough for bulk transfers, and checkable from any
//! offset: a lost, repeated or reordered run of bytes shows unless its
//! length is a multiple of 251, a prime, so no power-of-two buffer or
//! segment size hides a fault.

/// The pattern's period.
pub const PERIOD: u64 = 251;

/// Byte `i` of the pattern.
pub fn byte(i: u64) -> u8 {
    // Below 251: the cast keeps the value.
    (i % PERIOD) as u8
}

/// Fills `buf` with the pattern from offset `from`.
pub fn fill(buf: &mut [u8], from: u64) {
    let mut b = byte(from);
    for x in buf {
        *x = b;
        b = if u64::from(b) + 1 == PERIOD { 0 } else { b + 1 };
    }
}

/// The pattern from offset `from`, `len` bytes.
pub fn bytes(from: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    fill(&mut v, from);
    v
}

/// Where `got`, read from offset `from` of a stream, first differs from
/// the pattern (an offset in the stream), if anywhere.
pub fn mismatch(got: &[u8], from: u64) -> Option<u64> {
    let mut b = byte(from);
    for (k, &x) in got.iter().enumerate() {
        if x != b {
            return Some(from + k as u64);
        }
        b = if u64::from(b) + 1 == PERIOD { 0 } else { b + 1 };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_offset() {
        let all = bytes(0, 1000);
        assert_eq!(&all[..3], &[0, 1, 2]);
        assert_eq!(all[250], 250);
        assert_eq!(all[251], 0);
        assert_eq!(bytes(300, 10), all[300..310].to_vec());
        assert_eq!(mismatch(&all[500..], 500), None);
        let mut bad = all.clone();
        bad[777] ^= 1;
        assert_eq!(mismatch(&bad[700..], 700), Some(777));
        // A lost run of 256 bytes shows.
        assert_eq!(mismatch(&all[256..300], 0), Some(0));
    }
}
