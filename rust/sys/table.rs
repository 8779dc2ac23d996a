// SPDX-License-Identifier: GPL-2.0

//! A hashed table for the packet path: lookups under RCU, writers under a
//! lock, entries that expire.
//!
//! The netfilter hooks look a packet's flow up in a [`Table`] in softirq,
//! for every TCP packet, so a lookup takes no lock: it hashes the key
//! with the table's random seed into a power-of-two array of buckets and
//! walks one bucket's singly linked chain under `rcu_read_lock()`.
//! Writers (process context) are serialized by a spinlock, publish new
//! entries with release stores, and free unlinked ones only after an RCU
//! grace period (`call_rcu()`). Entries may carry a deadline; a delayed
//! work item sweeps expired ones away while there are any.
//! `Documentation/tcpmig/table.rst` describes the design.

use super::bindings;
use super::time::hz;
use super::time::jiffies;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::pin::Pin;
use core::ptr;
use core::ptr::NonNull;
use core::sync::atomic::AtomicPtr;
use core::sync::atomic::AtomicUsize;
use core::sync::atomic::Ordering;
use kernel::container_of;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::sync::SpinLock;
use kernel::time::msecs_to_jiffies;
use kernel::types::Opaque;

/// A key of a [`Table`]: compared for equality, hashed with a seed.
pub(crate) trait Key: Eq {
    /// A 32-bit hash of the key, keyed by `seed` (the table's own).
    fn hash(&self, seed: u32) -> u32;
}

/// What a [`Table`] stores.
///
/// An entry is dropped in an RCU callback (softirq) once it left the
/// table, or by the table's own drop.
pub(crate) trait Entry: Send + Sync + 'static {
    /// What the entry is looked up by.
    type Key: Key;

    /// The entry's key, fixed while it is in a table.
    fn key(&self) -> &Self::Key;

    /// Called once the entry has left the table (removed or expired),
    /// with the table's writer lock held; readers that found it before
    /// may still use it until the grace period ends.
    fn retire(&self) {}

    /// Whether the sweep asks every entry of the table whether it is
    /// [`alive`](Self::alive), besides removing expired ones; the sweep
    /// runs while the table has such entries.
    const SWEPT: bool = false;

    /// Whether the entry stays; the sweep removes it when not. Called
    /// with the table's writer lock held: it must not sleep.
    fn alive(&self) -> bool {
        true
    }
}

/// Hashes `words` with `jhash2()` and `seed`.
pub(crate) fn hash_words(words: &[u32], seed: u32) -> u32 {
    // Keys are a few words; a truncated length would only hash fewer.
    let len = words.len() as u32;
    // SAFETY: `words` is valid for reads of `len` words.
    unsafe { bindings::tcpmig_jhash2(words.as_ptr(), len, seed) }
}

/// The jiffy from which an entry is gone.
#[derive(Clone, Copy)]
pub(crate) struct Deadline(u64);

impl Deadline {
    /// `ms` milliseconds from now.
    #[cfg_attr(not(CONFIG_KUNIT = "y"), expect(dead_code))]
    pub(crate) fn after_ms(ms: u32) -> Self {
        Self(jiffies().wrapping_add(msecs_to_jiffies(ms) as u64))
    }

    /// `secs` seconds from now.
    pub(crate) fn after_secs(secs: u32) -> Self {
        Self(jiffies().wrapping_add(u64::from(secs) * hz()))
    }

    /// Whether the deadline has passed at `now` (jiffies, which may wrap).
    fn passed(self, now: u64) -> bool {
        (now.wrapping_sub(self.0) as i64) >= 0
    }
}

/// An entry in its chain. `rcu` comes first so that an RCU callback's
/// `callback_head` leads back to the node.
#[pin_data]
#[repr(C)]
struct Node<T: Entry> {
    rcu: Opaque<bindings::callback_head>,
    /// The next node of the chain, or null.
    next: AtomicPtr<Node<T>>,
    deadline: Option<Deadline>,
    #[pin]
    value: T,
}

impl<T: Entry> Node<T> {
    fn expired(&self, now: impl Fn() -> u64) -> bool {
        self.deadline.is_some_and(|d| d.passed(now()))
    }

    /// Whether the sweep looks at this node.
    fn swept(&self) -> bool {
        self.deadline.is_some() || T::SWEPT
    }
}

/// Frees a node a grace period after it was unlinked (`call_rcu()`).
///
/// # Safety
///
/// `head` is the `rcu` field of a node that [`Inner::unlink`] unlinked,
/// which nobody uses any more.
unsafe extern "C" fn free_node<T: Entry>(head: *mut bindings::callback_head) {
    let rcu = head.cast::<Opaque<bindings::callback_head>>();
    // SAFETY: `rcu` is the `rcu` field of a `Node<T>` (`Opaque` is
    // transparent).
    let node = unsafe { container_of!(rcu, Node<T>, rcu) };
    // SAFETY: The node came from `KBox::into_raw` in `Table::insert` and
    // is unreachable now: it left its chain a grace period ago.
    drop(unsafe { Pin::new_unchecked(KBox::from_raw(node)) });
}

/// What only the writer lock's holder may change.
struct Writer {
    /// Entries the sweep looks at (with a deadline, or in a `SWEPT`
    /// table); it runs while > 0.
    timed: usize,
    /// Room promised to entries not inserted yet ([`Room`]).
    reserved: usize,
}

/// The table proper, at a fixed address for the sweep.
///
/// # Invariants
///
/// `buckets.len()` is a power of two and `mask` is one less. Every node
/// reachable from a bucket came from `KBox::into_raw` and is freed only
/// by [`free_node`] after it was unlinked, or by the drop. `len` counts
/// the reachable nodes; only the writer lock's holder links or unlinks.
#[pin_data(PinnedDrop)]
struct Inner<T: Entry> {
    buckets: KVVec<AtomicPtr<Node<T>>>,
    mask: usize,
    seed: u32,
    capacity: usize,
    len: AtomicUsize,
    #[pin]
    writer: SpinLock<Writer>,
    _entries: PhantomData<T>,
}

impl<T: Entry> Inner<T> {
    /// The head of `key`'s chain.
    fn bucket(&self, key: &T::Key) -> &AtomicPtr<Node<T>> {
        // In range: `mask` is `buckets.len() - 1`.
        &self.buckets[key.hash(self.seed) as usize & self.mask]
    }

    /// Unlinks `node` and frees it after a grace period.
    ///
    /// # Safety
    ///
    /// The caller holds the writer lock (`writer` is its data); `link` is
    /// the bucket or `next` field that points to `node`, a linked node.
    unsafe fn unlink(&self, writer: &mut Writer, link: &AtomicPtr<Node<T>>, node: *mut Node<T>) {
        // SAFETY: `node` is linked, so alive; only we unlink it.
        let n = unsafe { &*node };
        // A reader standing on `node` goes on to its successor, which is
        // freed only a grace period after its own unlinking, i.e. after
        // this reader is done: `node.next` stays as it is.
        link.store(n.next.load(Ordering::Relaxed), Ordering::Release);
        self.len.fetch_sub(1, Ordering::Relaxed);
        if n.swept() {
            writer.timed -= 1;
        }
        n.value.retire();
        // `free_node::<T>` frees the node once the current readers are done;
        // the table waits for the callback (`rcu_barrier()` in drop).
        // SAFETY: `rcu` belongs to the node, unreachable for new readers.
        unsafe { bindings::call_rcu(n.rcu.get(), Some(free_node::<T>)) };
    }

    /// Unlinks every expired entry; the caller holds the writer lock.
    fn sweep_locked(&self, writer: &mut Writer) {
        if writer.timed == 0 {
            return;
        }
        let now = jiffies();
        for bucket in self.buckets.iter() {
            let mut link = bucket;
            loop {
                let p = link.load(Ordering::Relaxed);
                // SAFETY: Linked nodes are alive while the lock is held.
                let Some(node) = (unsafe { p.as_ref() }) else {
                    break;
                };
                if node.expired(|| now) || (T::SWEPT && !node.value.alive()) {
                    // SAFETY: The lock is held and `link` points to `p`.
                    unsafe { self.unlink(writer, link, p) };
                } else {
                    link = &node.next;
                }
            }
        }
    }

    /// One pass of the sweep; whether another one is needed.
    fn sweep(&self) -> bool {
        let mut writer = self.writer.lock();
        self.sweep_locked(&mut writer);
        writer.timed > 0
    }
}

#[pinned_drop]
impl<T: Entry> PinnedDrop for Inner<T> {
    fn drop(self: Pin<&mut Self>) {
        // Nobody reads any more: readers borrow the table, and the hooks
        // were unregistered and waited for before their table drops.
        for bucket in self.buckets.iter() {
            let mut p = bucket.load(Ordering::Relaxed);
            while !p.is_null() {
                // SAFETY: `p` is linked, so alive, and no one else sees it.
                let next = unsafe { (*p).next.load(Ordering::Relaxed) };
                // SAFETY: By the invariant `p` came from `KBox::into_raw`;
                // it is dropped once, here.
                drop(unsafe { Pin::new_unchecked(KBox::from_raw(p)) });
                p = next;
            }
        }
        // Entries unlinked earlier are freed by callbacks that run this
        // module's code: wait for them.
        rcu::rcu_barrier();
    }
}

/// A delayed work item calling a function until it says stop.
///
/// # Invariants
///
/// `0` came from `tcpmig_ticker_new` and is freed only by drop.
struct Ticker(NonNull<bindings::tcpmig_ticker>);

// SAFETY: The C ticker may be armed and freed from any thread.
unsafe impl Send for Ticker {}
// SAFETY: Arming is safe concurrently (`queue_delayed_work()`).
unsafe impl Sync for Ticker {}

impl Ticker {
    /// A ticker that, once armed, calls `tick(ctx)` in process context
    /// every `period` jiffies while it returns `true`.
    ///
    /// # Safety
    ///
    /// Calling `tick(ctx)` is sound until the ticker is dropped.
    unsafe fn new(
        tick: unsafe extern "C" fn(*mut c_void) -> bool,
        ctx: *mut c_void,
        period: u64,
    ) -> Result<Self> {
        // SAFETY: The shim only stores the arguments.
        let raw = unsafe { bindings::tcpmig_ticker_new(Some(tick), ctx, period) };
        // INVARIANT: Made just now.
        Ok(Self(NonNull::new(raw).ok_or(ENOMEM)?))
    }

    /// Queues the next tick, unless one is queued.
    fn arm(&self) {
        // SAFETY: By the invariant the ticker is live.
        unsafe { bindings::tcpmig_ticker_arm(self.0.as_ptr()) };
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        // SAFETY: By the invariant the ticker is live; the shim cancels it,
        // waits for a running tick and frees it.
        unsafe { bindings::tcpmig_ticker_free(self.0.as_ptr()) };
    }
}

/// The sweep's tick: one pass over a table's `Inner<T>`.
///
/// # Safety
///
/// `ctx` is the `Inner<T>` of the table that owns the ticker.
unsafe extern "C" fn sweep_tick<T: Entry>(ctx: *mut c_void) -> bool {
    // SAFETY: The table's ticker drops (and waits for this call) before
    // its `Inner<T>`.
    let inner = unsafe { &*ctx.cast::<Inner<T>>() };
    inner.sweep()
}

/// Room reserved in a table for one entry ([`Table::reserve`]): counted
/// as taken until the entry goes in, or given back on drop.
pub(crate) struct Room<'a, T: Entry> {
    table: &'a Table<T>,
}

impl<T: Entry> Drop for Room<'_, T> {
    fn drop(&mut self) {
        self.table.inner.writer.lock().reserved -= 1;
    }
}

/// A hashed table of `T`s, read under RCU (see the module docs).
pub(crate) struct Table<T: Entry> {
    /// Declared first: it stops before `inner` goes.
    ticker: Ticker,
    inner: Pin<KBox<Inner<T>>>,
}

impl<T: Entry> Table<T> {
    /// A table of at most `capacity` entries whose expired entries are
    /// swept every `sweep_ms` milliseconds.
    pub(crate) fn new(capacity: usize, sweep_ms: u32) -> Result<Self> {
        let n = capacity.max(1).checked_next_power_of_two().ok_or(EINVAL)?;
        let mut buckets = KVVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            buckets.push(AtomicPtr::new(ptr::null_mut()), GFP_KERNEL)?;
        }
        let seed = super::random::u32();
        // INVARIANT: `n` buckets, a power of two, all empty.
        let inner = KBox::pin_init(
            try_pin_init!(Inner::<T> {
                buckets,
                mask: n - 1,
                seed,
                capacity,
                len: AtomicUsize::new(0),
                writer <- new_spinlock!(
                    Writer {
                        timed: 0,
                        reserved: 0,
                    },
                    "tcpmig_table"
                ),
                _entries: PhantomData,
            }),
            GFP_KERNEL,
        )?;
        let ctx = ptr::from_ref::<Inner<T>>(&inner)
            .cast_mut()
            .cast::<c_void>();
        let period = msecs_to_jiffies(sweep_ms) as u64;
        // SAFETY: `ctx` is the pinned `Inner<T>`, which outlives the ticker.
        let ticker = unsafe { Ticker::new(sweep_tick::<T>, ctx, period)? };
        Ok(Self { ticker, inner })
    }

    /// What one entry costs the allocator: the kmalloc object its node
    /// takes (for the scale bench).
    #[cfg(tcpmig_bench)]
    pub(crate) fn node_bytes() -> usize {
        // SAFETY: A pure computation on a size.
        unsafe { kernel::bindings::kmalloc_size_roundup(core::mem::size_of::<Node<T>>()) }
    }

    /// How many buckets the table has.
    #[cfg(tcpmig_bench)]
    pub(crate) fn buckets(&self) -> usize {
        self.inner.buckets.len()
    }

    /// The entry of `key`, if it is in the table and not expired; it stays
    /// readable while `guard` is held, even if it is removed meanwhile.
    pub(crate) fn get<'g>(&'g self, key: &T::Key, _guard: &'g rcu::Guard) -> Option<&'g T> {
        // Acquire pairs with the release that published each node: its
        // contents are visible before its address is.
        let mut p = self.inner.bucket(key).load(Ordering::Acquire);
        // A node is freed only a grace period after it was unlinked.
        // SAFETY: So one reachable under `guard`'s RCU lock lives for `'g`.
        while let Some(node) = unsafe { p.as_ref() } {
            if node.value.key() == key {
                return (!node.expired(jiffies)).then_some(&node.value);
            }
            p = node.next.load(Ordering::Acquire);
        }
        None
    }

    /// Calls `f` with the live entries from the `skip`th on (in bucket
    /// order), until it returns `false`; for listings, which may miss or
    /// repeat entries that come or go meanwhile.
    pub(crate) fn visit<'g>(
        &'g self,
        skip: usize,
        _guard: &'g rcu::Guard,
        mut f: impl FnMut(&'g T) -> bool,
    ) {
        let mut seen = 0;
        for bucket in self.inner.buckets.iter() {
            let mut p = bucket.load(Ordering::Acquire);
            // SAFETY: As in `get`: nodes reachable under the guard stay
            // alive for `'g`.
            while let Some(node) = unsafe { p.as_ref() } {
                if !node.expired(jiffies) {
                    if seen >= skip && !f(&node.value) {
                        return;
                    }
                    seen += 1;
                }
                p = node.next.load(Ordering::Acquire);
            }
        }
    }

    /// Room for one entry, taken before the entry exists (before a peer
    /// is asked to take a connection whose flow will need it): `ENOSPC`
    /// if the table is full, its entries and reserved room counted.
    pub(crate) fn reserve(&self) -> Result<Room<'_, T>> {
        let inner = &self.inner;
        let mut writer = inner.writer.lock();
        if inner.len.load(Ordering::Relaxed) + writer.reserved >= inner.capacity {
            inner.sweep_locked(&mut writer);
            if inner.len.load(Ordering::Relaxed) + writer.reserved >= inner.capacity {
                return Err(ENOSPC);
            }
        }
        writer.reserved += 1;
        Ok(Room { table: self })
    }

    /// Adds the entry `value` makes in `room`, reserved for it: as
    /// [`Self::insert`], but never `ENOSPC`. The room is used up either
    /// way.
    pub(crate) fn insert_reserved(
        &self,
        room: Room<'_, T>,
        value: impl PinInit<T, Error>,
        deadline: Option<Deadline>,
    ) -> Result {
        self.insert_in(value, deadline, Some(room))
    }

    /// Adds the entry `value` makes, until `deadline` if one is given.
    ///
    /// Fails with `EEXIST` if an entry with its key is in the table (an
    /// expired one is replaced), `ENOSPC` if the table is full.
    pub(crate) fn insert(
        &self,
        value: impl PinInit<T, Error>,
        deadline: Option<Deadline>,
    ) -> Result {
        self.insert_in(value, deadline, None)
    }

    fn insert_in(
        &self,
        value: impl PinInit<T, Error>,
        deadline: Option<Deadline>,
        room: Option<Room<'_, T>>,
    ) -> Result {
        let node = KBox::pin_init(
            try_pin_init!(Node::<T> {
                rcu: Opaque::uninit(),
                next: AtomicPtr::new(ptr::null_mut()),
                deadline,
                value <- value,
            }),
            GFP_KERNEL,
        )?;
        let inner = &self.inner;
        {
            // On an error the guard drops before `node`: the entry is not
            // dropped under the lock.
            let mut writer = inner.writer.lock();
            // The room, if any, is used up here, under the lock its drop
            // would take.
            let reserved = room.is_some();
            if let Some(room) = room {
                core::mem::forget(room);
                writer.reserved -= 1;
            }
            let key = node.value.key();
            let bucket = inner.bucket(key);
            let mut link = bucket;
            loop {
                let p = link.load(Ordering::Relaxed);
                // SAFETY: Linked nodes are alive while the lock is held.
                let Some(old) = (unsafe { p.as_ref() }) else {
                    break;
                };
                if old.value.key() != key {
                    link = &old.next;
                } else if old.expired(jiffies) {
                    // SAFETY: The lock is held and `link` points to `p`.
                    unsafe { inner.unlink(&mut writer, link, p) };
                } else {
                    return Err(EEXIST);
                }
            }
            let full = |writer: &Writer| {
                !reserved && inner.len.load(Ordering::Relaxed) + writer.reserved >= inner.capacity
            };
            if full(&writer) {
                inner.sweep_locked(&mut writer);
                if full(&writer) {
                    return Err(ENOSPC);
                }
            }
            // SAFETY: The node stays where it is until `free_node` or the
            // drop turns it back into a pinned box.
            let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(node) });
            // SAFETY: `raw` is ours until published below.
            unsafe {
                (*raw)
                    .next
                    .store(bucket.load(Ordering::Relaxed), Ordering::Relaxed)
            };
            // Release: a reader that loads `raw` sees the node complete.
            bucket.store(raw, Ordering::Release);
            inner.len.fetch_add(1, Ordering::Relaxed);
            if deadline.is_some() || T::SWEPT {
                writer.timed += 1;
            }
        }
        if deadline.is_some() || T::SWEPT {
            // After the unlock, so a sweep that just decided to stop is
            // followed by a new one.
            self.ticker.arm();
        }
        Ok(())
    }

    /// Removes the entry of `key`; whether there was one. Readers that
    /// found it keep it until their grace period ends.
    pub(crate) fn remove(&self, key: &T::Key) -> bool {
        self.remove_if(key, |_| true)
    }

    /// Removes the entry of `key` if `pred` holds for it (looked at under
    /// the writer lock: no insert replaces it in between); whether it did.
    pub(crate) fn remove_if(&self, key: &T::Key, pred: impl FnOnce(&T) -> bool) -> bool {
        let inner = &self.inner;
        let mut writer = inner.writer.lock();
        let mut link = inner.bucket(key);
        loop {
            let p = link.load(Ordering::Relaxed);
            // SAFETY: Linked nodes are alive while the lock is held.
            let Some(node) = (unsafe { p.as_ref() }) else {
                return false;
            };
            if node.value.key() == key {
                if !pred(&node.value) {
                    return false;
                }
                // SAFETY: The lock is held and `link` points to `p`.
                unsafe { inner.unlink(&mut writer, link, p) };
                return true;
            }
            link = &node.next;
        }
    }

    /// Removes the expired entries now (the sweep does it periodically).
    #[cfg_attr(not(CONFIG_KUNIT = "y"), expect(dead_code))]
    pub(crate) fn sweep(&self) {
        self.inner.sweep();
    }

    /// Entries in the table, expired ones not yet swept included.
    pub(crate) fn len(&self) -> usize {
        self.inner.len.load(Ordering::Relaxed)
    }

    /// Whether the table is empty: the packet path's fast exit.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[kunit_tests(tcpmig_table)]
mod tests {
    use super::*;
    use kernel::time::delay::fsleep;
    use kernel::time::Delta;

    /// An entry that counts its drops.
    struct Probe<K: Key + Send + Sync + 'static> {
        key: K,
        value: u32,
        drops: Option<&'static AtomicUsize>,
    }

    impl<K: Key + Send + Sync + 'static> Entry for Probe<K> {
        type Key = K;

        fn key(&self) -> &K {
            &self.key
        }
    }

    impl<K: Key + Send + Sync + 'static> Drop for Probe<K> {
        fn drop(&mut self) {
            if let Some(drops) = self.drops {
                drops.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// An initializer of a probe (a `Result` is one).
    fn probe<K: Key + Send + Sync + 'static>(key: K, value: u32) -> Result<Probe<K>> {
        Ok(Probe {
            key,
            value,
            drops: None,
        })
    }

    /// The tests' plain key: a number, hashed as one word.
    impl Key for u32 {
        fn hash(&self, seed: u32) -> u32 {
            hash_words(&[*self], seed)
        }
    }

    /// A key whose hash collides on purpose: 7 chains at most.
    #[derive(PartialEq, Eq)]
    struct Colliding(u32);

    impl Key for Colliding {
        fn hash(&self, _seed: u32) -> u32 {
            self.0 % 7
        }
    }

    /// The value of `key`'s entry, if any.
    fn value<K: Key + Send + Sync + 'static>(t: &Table<Probe<K>>, key: &K) -> Option<u32> {
        let guard = rcu::read_lock();
        t.get(key, &guard).map(|p| p.value)
    }

    #[test]
    fn insert_lookup_remove() -> Result {
        let t = Table::new(16, 1000)?;
        t.insert(probe(1u32, 10), None)?;
        t.insert(probe(2u32, 20), None)?;
        assert_eq!(value(&t, &1), Some(10));
        assert_eq!(value(&t, &2), Some(20));
        assert_eq!(value(&t, &3), None);
        assert_eq!(t.len(), 2);
        assert!(t.remove(&1));
        assert!(!t.remove(&1));
        assert_eq!(value(&t, &1), None);
        assert_eq!(value(&t, &2), Some(20));
        assert_eq!(t.len(), 1);
        Ok(())
    }

    #[test]
    fn duplicate_insert_is_refused() -> Result {
        let t = Table::new(16, 1000)?;
        t.insert(probe(7u32, 1), None)?;
        assert_eq!(t.insert(probe(7u32, 2), None), Err(EEXIST));
        assert_eq!(value(&t, &7), Some(1));
        assert_eq!(t.len(), 1);
        Ok(())
    }

    #[test]
    fn expired_entries_vanish_and_are_swept() -> Result {
        let t = Table::new(16, 60_000)?;
        t.insert(probe(1u32, 1), Some(Deadline::after_ms(0)))?;
        t.insert(probe(2u32, 2), Some(Deadline::after_secs(3600)))?;
        t.insert(probe(3u32, 3), None)?;
        // Expired: invisible at once, gone after a pass.
        assert_eq!(value(&t, &1), None);
        assert_eq!(t.len(), 3);
        t.sweep();
        assert_eq!(t.len(), 2);
        assert_eq!(value(&t, &2), Some(2));
        assert_eq!(value(&t, &3), Some(3));
        // An expired entry's key may be inserted again.
        t.insert(probe(4u32, 4), Some(Deadline::after_ms(0)))?;
        t.insert(probe(4u32, 5), None)?;
        assert_eq!(value(&t, &4), Some(5));
        Ok(())
    }

    #[test]
    fn the_periodic_sweep_runs() -> Result {
        let t = Table::new(16, 10)?;
        t.insert(probe(1u32, 1), Some(Deadline::after_ms(20)))?;
        t.insert(probe(2u32, 2), None)?;
        for _ in 0..200 {
            if t.len() == 1 {
                break;
            }
            fsleep(Delta::from_millis(10));
        }
        assert_eq!(t.len(), 1);
        assert_eq!(value(&t, &2), Some(2));
        Ok(())
    }

    #[test]
    fn capacity_is_a_hard_limit() -> Result {
        let t = Table::new(8, 1000)?;
        for i in 0..8u32 {
            t.insert(probe(i, i), None)?;
        }
        assert_eq!(t.insert(probe(8u32, 8), None), Err(ENOSPC));
        assert!(t.remove(&3));
        t.insert(probe(8u32, 8), None)?;
        assert_eq!(value(&t, &8), Some(8));
        // Expired entries make room for new ones.
        assert!(t.remove(&4));
        t.insert(probe(9u32, 9), Some(Deadline::after_ms(0)))?;
        t.insert(probe(10u32, 10), None)?;
        assert_eq!(t.len(), 8);
        Ok(())
    }

    #[test]
    fn reserved_room_is_kept_for_its_entry() -> Result {
        let t = Table::new(2, 1000)?;
        let a = t.reserve()?;
        let b = t.reserve()?;
        // The two reservations fill the table.
        assert!(t.reserve().is_err());
        assert_eq!(t.insert(probe(9u32, 9), None), Err(ENOSPC));
        t.insert_reserved(a, probe(1u32, 1), None)?;
        // Room not used is given back.
        drop(b);
        t.insert(probe(2u32, 2), None)?;
        assert_eq!(t.len(), 2);
        assert!(t.reserve().is_err());
        assert!(t.remove(&2));
        t.insert_reserved(t.reserve()?, probe(3u32, 3), None)?;
        assert_eq!(value(&t, &3), Some(3));
        Ok(())
    }

    #[test]
    fn remove_if_removes_only_what_it_approves() -> Result {
        let t = Table::new(4, 1000)?;
        t.insert(probe(1u32, 1), None)?;
        assert!(!t.remove_if(&1, |_| false));
        assert_eq!(value(&t, &1), Some(1));
        assert!(!t.remove_if(&2, |_| true));
        assert!(t.remove_if(&1, |_| true));
        assert_eq!(value(&t, &1), None);
        Ok(())
    }

    #[test]
    fn thousands_of_entries_with_collisions() -> Result {
        // Seeded jhash over 8192 buckets, and 7 chains of ~430 each.
        const N: u32 = 5000;
        const C: u32 = 3000;
        let t = Table::new(N as usize, 1000)?;
        let c = Table::new(C as usize, 1000)?;
        for i in 0..N {
            t.insert(probe(i, i + 1), None)?;
        }
        for i in 0..C {
            c.insert(probe(Colliding(i), i + 1), None)?;
        }
        assert_eq!(t.len(), N as usize);
        assert_eq!(c.len(), C as usize);
        for i in (0..N).step_by(2) {
            assert!(t.remove(&i));
        }
        for i in (0..C).step_by(2) {
            assert!(c.remove(&Colliding(i)));
        }
        for i in 0..N {
            assert_eq!(value(&t, &i), (i % 2 == 1).then_some(i + 1));
        }
        for i in 0..C {
            assert_eq!(value(&c, &Colliding(i)), (i % 2 == 1).then_some(i + 1));
        }
        assert_eq!(t.len(), N as usize / 2);
        assert_eq!(c.len(), C as usize / 2);
        Ok(())
    }

    #[test]
    fn a_removed_entry_lives_until_its_readers_are_done() -> Result {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let t = Table::new(16, 1000)?;
        let probe: Result<_> = Ok(Probe {
            key: 5u32,
            value: 55,
            drops: Some(&DROPS),
        });
        t.insert(probe, None)?;
        let guard = rcu::read_lock();
        let entry = t.get(&5, &guard).ok_or(ENOENT)?;
        assert!(t.remove(&5));
        // Gone for new readers, alive for this one.
        assert!(t.get(&5, &guard).is_none());
        assert_eq!(entry.value, 55);
        assert_eq!(DROPS.load(Ordering::Relaxed), 0);
        drop(guard);
        rcu::rcu_barrier();
        assert_eq!(DROPS.load(Ordering::Relaxed), 1);
        Ok(())
    }
}
