// SPDX-License-Identifier: GPL-2.0

//! Stable hashing for sticky dispatch: a client address to 32 bits, and
//! the rendezvous (highest-random-weight) choice of a node for a key.
//!
//! No random seed anywhere: the same input gives the same result on every
//! node and across restarts, so stickiness survives both.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// Keeps a key of 0 from scoring like the raw name hash.
const KEY_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// FNV-1a 64 over `bytes`, continuing from `h`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The splitmix64 finalizer: every input bit affects every output bit.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Folds 64 bits to 32 (the truncation is the point).
fn fold(z: u64) -> u32 {
    (z ^ (z >> 32)) as u32
}

/// A stable 32-bit hash of a client address (family 4 uses the first 4
/// bytes of `addr`, 6 and any other family all 16; the family is hashed
/// too). Deterministic across runs and nodes (no random seed):
/// stickiness must survive restarts. FNV-1a 64, then the splitmix64
/// finalizer, folded to 32 bits.
pub fn client_hash(family: u8, addr: &[u8; 16]) -> u32 {
    let bytes = match (family, addr.get(..4)) {
        (4, Some(v4)) => v4,
        _ => &addr[..],
    };
    fold(mix64(fnv1a(fnv1a(FNV_OFFSET, &[family]), bytes)))
}

/// A candidate's score for `key`: depends on the name and the key only,
/// never on the other candidates, which is what makes removal move only
/// the removed candidate's keys.
fn score(name_hash: u64, key: u32) -> u64 {
    mix64(name_hash ^ mix64(u64::from(key) ^ KEY_SALT))
}

/// Rendezvous (highest-random-weight) choice: among the candidates (each
/// identified by its name bytes; `usable(i)` false skips candidate i),
/// returns the index of the one with the highest score mix(hash(name),
/// key); ties broken by the lower index. None if no usable candidate.
/// Removing a candidate moves exactly the keys it owned and no others.
pub fn rendezvous<'n>(
    names: impl IntoIterator<Item = &'n [u8]>,
    key: u32,
    usable: impl Fn(usize) -> bool,
) -> Option<usize> {
    let mut best: Option<(usize, u64)> = None;
    for (i, name) in names.into_iter().enumerate() {
        if !usable(i) {
            continue;
        }
        let s = score(fnv1a(FNV_OFFSET, name), key);
        match best {
            Some((_, top)) if s <= top => {}
            _ => best = Some((i, s)),
        }
    }
    best.map(|(i, _)| i)
}
