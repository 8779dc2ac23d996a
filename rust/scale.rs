// SPDX-License-Identifier: GPL-2.0

//! The flow tables at scale, for `make bench` only (the module is built
//! with `TCPMIG_BENCH=y`): what a flow costs in memory and what a lookup
//! costs at 1k, 10k and 100k flows. The entries are synthetic, of the
//! real entries' size and with their keys (and so their hashing), in a
//! table of the real one's shape: its capacity, so its buckets, unless
//! the count is beyond it (a namespace holds at most 16384 flows each
//! way), when the capacity is raised to the count (`capacity=` says
//! which). Each result is a console line `tcpmig_scale: table=...` that
//! tests/bench/report.py reads.

use kernel::prelude::*;

#[kunit_tests(tcpmig_scale)]
mod tests {
    use super::*;
    use crate::decap::{DecapKey, DECAP_BYTES, MAX_DECAP};
    use crate::forward::{FORWARDED_BYTES, MAX_FORWARDS};
    use crate::sys::nf::Tuple;
    use crate::sys::table::{Entry, Table};
    use crate::sys::time::now_ns;
    use core::mem::size_of;
    use kernel::sync::rcu;

    const COUNTS: [u32; 3] = [1_000, 10_000, 100_000];
    const LOOKUPS: u32 = 100_000;

    /// A forwarded flow's entry: its key and the weight of the rest.
    struct Forward {
        key: Tuple,
        _rest: [u8; FORWARDED_BYTES - size_of::<Tuple>()],
    }

    impl Entry for Forward {
        type Key = Tuple;
        fn key(&self) -> &Tuple {
            &self.key
        }
    }

    /// A decapsulated flow's entry.
    struct Decap {
        key: DecapKey,
        _rest: [u8; DECAP_BYTES - size_of::<DecapKey>()],
    }

    impl Entry for Decap {
        type Key = DecapKey;
        fn key(&self) -> &DecapKey {
            &self.key
        }
    }

    /// Client `i`: an address of 198.51.100.0/24 and a port, as many
    /// clients behind a few addresses look.
    fn tuple(i: u32) -> Tuple {
        let mut client = [0; 16];
        client[..4].copy_from_slice(&[198, 51, 100, i as u8]);
        let mut vip = [0; 16];
        vip[..4].copy_from_slice(&[192, 0, 2, 100]);
        Tuple {
            family: 4,
            local_addr: vip,
            local_port: 80,
            remote_addr: client,
            remote_port: 1024 + (i >> 8) as u16,
        }
    }

    /// Flow `i` from front-end `i / 65535`: a number of 16 bits each.
    fn decap_key(i: u32) -> DecapKey {
        let mut front_end = [0; 16];
        front_end[..4].copy_from_slice(&[192, 0, 2, 2 + (i / 65535) as u8]);
        DecapKey {
            family: 4,
            front_end,
            number: (i % 65535 + 1) as u16,
        }
    }

    /// Fills a table with the entries of `0..n` for each count, and times
    /// lookups of present keys (scattered) and of absent ones. Fails if a
    /// lookup finds what it should not, or misses what it should find.
    fn measure<T: Entry>(
        name: &str,
        cap: usize,
        entry: impl Fn(u32) -> T,
        key: impl Fn(u32) -> T::Key,
    ) -> Result {
        let max = COUNTS[COUNTS.len() - 1];
        let node = Table::<T>::node_bytes();
        for n in COUNTS {
            let capacity = cap.max(n as usize);
            let table = Table::<T>::new(capacity, 1000)?;
            for i in 0..n {
                table.insert(Ok::<_, Error>(entry(i)), None)?;
            }
            let time = |offset: u32| {
                let guard = rcu::read_lock();
                let start = now_ns();
                let mut found = 0;
                for j in 0..LOOKUPS {
                    // 7919 is prime: a scattered walk over the entries.
                    let i = offset + (j.wrapping_mul(7919) % n);
                    found += u32::from(table.get(&key(i), &guard).is_some());
                }
                ((now_ns() - start) / u64::from(LOOKUPS), found)
            };
            let (hit_ns, hits) = time(0);
            let (miss_ns, misses) = time(max);
            if hits != LOOKUPS || misses != 0 {
                pr_err!("tcpmig_scale: {name}: {hits} of {LOOKUPS} found, {misses} absent found\n");
                return Err(EINVAL);
            }
            let buckets = table.buckets() * size_of::<usize>();
            pr_info!(
                "tcpmig_scale: table={} flows={} capacity={} node_bytes={} bucket_bytes_per_flow={} hit_ns={} miss_ns={}\n",
                name,
                n,
                capacity,
                node,
                buckets / n as usize,
                hit_ns,
                miss_ns
            );
        }
        Ok(())
    }

    #[test]
    fn forward_table() -> Result {
        measure(
            "forward",
            MAX_FORWARDS,
            |i| Forward {
                key: tuple(i),
                _rest: [0; FORWARDED_BYTES - size_of::<Tuple>()],
            },
            tuple,
        )
    }

    #[test]
    fn decap_table() -> Result {
        measure(
            "decap",
            MAX_DECAP,
            |i| Decap {
                key: decap_key(i),
                _rest: [0; DECAP_BYTES - size_of::<DecapKey>()],
            },
            decap_key,
        )
    }
}
