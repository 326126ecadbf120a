//! The address book's rules as a plain struct: new and tried tables of buckets, placement by
//! keyed double SHA-256 of network groups, eviction, and weighted random selection. Every
//! method that depends on the time takes `now`, so tests choose the instant; the
//! [`AddrManager`](super::AddrManager) wraps one book in a mutex. No threads, no I/O.
//! btcd counterpart: the unexported half of `addrmgr/addrmanager.go`.
//!
//! Differences from btcd, each deliberate:
//! - a new bucket holds at most [`NEW_BUCKET_SIZE`] (64) entries; btcd's `> newBucketSize`
//!   test lets one grow to 65;
//! - a known address's last-seen time only moves forward; btcd overwrites it with an older
//!   one when the services differ;
//! - addresses of every BIP155 kind are keys (address and port), not only what fits in btcd's
//!   strings.

use super::known_address::{KnownAddress, wire_timestamp};
use super::network::{group_key, is_routable};
use crate::wire::netaddress_str::host_port;
use crate::wire::{AddrV2, NetAddress, ServiceFlag, sha256d};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime};

/// Below this many addresses the book asks for more (btcd's `needAddressThreshold`).
pub const NEED_ADDRESS_THRESHOLD: usize = 1000;

/// Maximum addresses in one tried bucket (btcd's `triedBucketSize`).
pub const TRIED_BUCKET_SIZE: usize = 256;

/// Number of tried buckets (btcd's `triedBucketCount`).
pub const TRIED_BUCKET_COUNT: usize = 64;

/// Maximum addresses in one new bucket (btcd's `newBucketSize`).
pub const NEW_BUCKET_SIZE: usize = 64;

/// Number of new buckets (btcd's `newBucketCount`).
pub const NEW_BUCKET_COUNT: usize = 1024;

/// Tried buckets one address group is spread over (btcd's `triedBucketsPerGroup`), so one
/// network group can hold at most 8 x 256 tried entries.
pub const TRIED_BUCKETS_PER_GROUP: u64 = 8;

/// New buckets one source group is spread over (btcd's `newBucketsPerGroup`), so one peer's
/// network group can fill at most 64 of the 1,024 new buckets.
pub const NEW_BUCKETS_PER_GROUP: u64 = 64;

/// New buckets a frequently announced address may be in (btcd's `newBucketsPerAddress`).
pub const NEW_BUCKETS_PER_ADDRESS: usize = 8;

/// Most addresses returned by [`AddrBook::address_cache`] (btcd's `getAddrMax`).
pub const GET_ADDR_MAX: usize = 2500;

/// Percentage of known addresses returned by [`AddrBook::address_cache`] (btcd's
/// `getAddrPercent`).
pub const GET_ADDR_PERCENT: usize = 23;

/// A connected address's last-seen time is refreshed at most this often (btcd's `Connected`).
pub const CONNECTED_REFRESH_INTERVAL: Duration = Duration::from_secs(20 * 60);

/// `get_address` draws a number below this and compares it with `factor * chance * LARGE`
/// (btcd's `large`).
const SELECT_LARGE: u32 = 1 << 30;

/// The identity of an address in the book: the canonical address and the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrKey(pub AddrV2, pub u16);

impl Hash for AddrKey {
    /// One or two wide writes instead of the derived field-by-field ones: SipHash costs per
    /// write, and loading a full book hashes 160,000 keys. Equal keys write equal data.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let tag = (u32::from(self.0.network_id()) << 16) | u32::from(self.1);
        match &self.0 {
            AddrV2::Ipv4(ip) => state.write_u64((u64::from(u32::from(*ip)) << 32) | u64::from(tag)),
            AddrV2::Ipv6(ip) | AddrV2::Cjdns(ip) => {
                state.write_u128(u128::from(*ip));
                state.write_u32(tag);
            }
            AddrV2::TorV2(k) => {
                let mut b = [0u8; 16];
                b[..10].copy_from_slice(k);
                state.write_u128(u128::from_le_bytes(b));
                state.write_u32(tag);
            }
            AddrV2::TorV3(k) | AddrV2::I2p(k) => {
                state.write(k);
                state.write_u32(tag);
            }
        }
    }
}

/// An address's key in canonical form.
pub fn addr_key(na: &NetAddress) -> AddrKey {
    AddrKey(na.addr.canonical(), na.port)
}

/// A book entry: the known address and where it sits.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) ka: KnownAddress,
    /// The new buckets holding it; the first `ka.refs` are valid.
    pub(crate) new_buckets: [u16; NEW_BUCKETS_PER_ADDRESS],
    /// The tried bucket holding it, when `ka.tried`.
    pub(crate) tried_bucket: u16,
}

/// The address book: btcd's new and tried tables, driven with explicit `now`.
pub struct AddrBook {
    pub(crate) key: [u8; 32],
    pub(crate) rng: StdRng,
    pub(crate) index: HashMap<AddrKey, u32>,
    pub(crate) entries: Vec<Option<Entry>>,
    free: Vec<u32>,
    pub(crate) addr_new: Vec<Vec<u32>>,
    pub(crate) addr_tried: Vec<Vec<u32>>,
    pub(crate) n_new: usize,
    pub(crate) n_tried: usize,
}

impl std::fmt::Debug for AddrBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddrBook")
            .field("n_new", &self.n_new)
            .field("n_tried", &self.n_tried)
            .finish_non_exhaustive()
    }
}

/// The random generator a book uses: seeded for tests, from the OS otherwise.
pub fn book_rng(seed: Option<u64>) -> StdRng {
    match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_rng(&mut rand::rng()),
    }
}

fn le_u64(h: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    u64::from_le_bytes(b)
}

impl AddrBook {
    /// An empty book with a fresh secret key drawn from `rng`.
    pub fn new(mut rng: StdRng) -> AddrBook {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        AddrBook::with_key(key, rng)
    }

    /// An empty book with the given secret bucket key.
    pub fn with_key(key: [u8; 32], rng: StdRng) -> AddrBook {
        AddrBook {
            key,
            rng,
            index: HashMap::new(),
            entries: Vec::new(),
            free: Vec::new(),
            addr_new: vec![Vec::new(); NEW_BUCKET_COUNT],
            addr_tried: vec![Vec::new(); TRIED_BUCKET_COUNT],
            n_new: 0,
            n_tried: 0,
        }
    }

    /// Makes room for `n` more entries without reallocating (loading a file).
    pub(crate) fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
        self.index.reserve(n);
    }

    /// The secret key that salts bucket placement.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// Number of known addresses (btcd's `NumAddresses`).
    pub fn num_addresses(&self) -> usize {
        self.n_new + self.n_tried
    }

    /// Number of addresses in the new table.
    pub fn num_new(&self) -> usize {
        self.n_new
    }

    /// Number of addresses in the tried table.
    pub fn num_tried(&self) -> usize {
        self.n_tried
    }

    /// Whether the book wants more addresses (fewer than [`NEED_ADDRESS_THRESHOLD`]).
    pub fn need_more_addresses(&self) -> bool {
        self.num_addresses() < NEED_ADDRESS_THRESHOLD
    }

    /// Entries per new bucket, in bucket order.
    pub fn new_bucket_lens(&self) -> Vec<usize> {
        self.addr_new.iter().map(Vec::len).collect()
    }

    /// Entries per tried bucket, in bucket order.
    pub fn tried_bucket_lens(&self) -> Vec<usize> {
        self.addr_tried.iter().map(Vec::len).collect()
    }

    /// A snapshot of the known address for `na`, if known.
    pub fn find(&self, na: &NetAddress) -> Option<KnownAddress> {
        self.entry_id(na).map(|id| self.entry(id).ka.clone())
    }

    /// The new buckets holding `na` (empty when unknown or tried).
    pub fn new_buckets_of(&self, na: &NetAddress) -> Vec<usize> {
        self.entry_id(na)
            .map(|id| {
                let e = self.entry(id);
                e.new_buckets[..usize::from(e.ka.refs)]
                    .iter()
                    .map(|&b| usize::from(b))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The tried bucket holding `na`, if it is tried.
    pub fn tried_bucket_of(&self, na: &NetAddress) -> Option<usize> {
        let e = self.entry(self.entry_id(na)?);
        e.ka.tried.then_some(usize::from(e.tried_bucket))
    }

    fn entry_id(&self, na: &NetAddress) -> Option<u32> {
        self.index.get(&addr_key(na)).copied()
    }

    /// The live entry `id`. Ids come from the index and the buckets, which only name live
    /// entries; a stale id is a bug in this file.
    pub(crate) fn entry(&self, id: u32) -> &Entry {
        match self.entries.get(id as usize) {
            Some(Some(e)) => e,
            _ => unreachable!("addrmgr: stale entry id {id}"),
        }
    }

    fn entry_mut(&mut self, id: u32) -> &mut Entry {
        match self.entries.get_mut(id as usize) {
            Some(Some(e)) => e,
            _ => unreachable!("addrmgr: stale entry id {id}"),
        }
    }

    /// Stores a new entry and indexes it; returns its id.
    pub(crate) fn insert_entry(&mut self, e: Entry) -> u32 {
        let key = addr_key(&e.ka.na);
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id as usize] = Some(e);
                id
            }
            None => {
                self.entries.push(Some(e));
                // The book never holds more than 2^32 entries: its tables cap it at 81,920.
                (self.entries.len() - 1) as u32
            }
        };
        self.index.insert(key, id);
        id
    }

    fn delete_entry(&mut self, id: u32) {
        if let Some(e) = self.entries.get_mut(id as usize).and_then(Option::take) {
            self.index.remove(&addr_key(&e.ka.na));
            self.free.push(id);
        }
    }

    /// The new bucket for `na` learnt from `src` (btcd's `getNewBucket`):
    /// `sha256d(key || group(src) || le64(le64(sha256d(key || group(na) || group(src))) % 64)) % 1024`,
    /// each 64-bit number read little-endian from the first 8 bytes of the hash.
    pub fn new_bucket(&self, na: &NetAddress, src: &NetAddress) -> usize {
        self.new_bucket_of_groups(&group_key(&na.addr), &group_key(&src.addr))
    }

    /// [`AddrBook::new_bucket`] from the two group keys.
    fn new_bucket_of_groups(&self, group: &str, src_group: &str) -> usize {
        let mut data1 = Vec::with_capacity(32 + group.len() + src_group.len());
        data1.extend_from_slice(&self.key);
        data1.extend_from_slice(group.as_bytes());
        data1.extend_from_slice(src_group.as_bytes());
        let hash64 = le_u64(&sha256d(&data1).0) % NEW_BUCKETS_PER_GROUP;
        let mut data2 = Vec::with_capacity(32 + src_group.len() + 8);
        data2.extend_from_slice(&self.key);
        data2.extend_from_slice(src_group.as_bytes());
        data2.extend_from_slice(&hash64.to_le_bytes());
        (le_u64(&sha256d(&data2).0) % NEW_BUCKET_COUNT as u64) as usize
    }

    /// The tried bucket for `na` (btcd's `getTriedBucket`):
    /// `sha256d(key || group(na) || le64(le64(sha256d(key || "host:port")) % 8)) % 64`.
    pub fn tried_bucket(&self, na: &NetAddress) -> usize {
        let hp = host_port(&na.addr, na.port);
        let group = group_key(&na.addr);
        let mut data1 = Vec::with_capacity(32 + hp.len());
        data1.extend_from_slice(&self.key);
        data1.extend_from_slice(hp.as_bytes());
        let hash64 = le_u64(&sha256d(&data1).0) % TRIED_BUCKETS_PER_GROUP;
        let mut data2 = Vec::with_capacity(32 + group.len() + 8);
        data2.extend_from_slice(&self.key);
        data2.extend_from_slice(group.as_bytes());
        data2.extend_from_slice(&hash64.to_le_bytes());
        (le_u64(&sha256d(&data2).0) % TRIED_BUCKET_COUNT as u64) as usize
    }

    /// Adds or refreshes `na` learnt from `src` (btcd's `updateAddress`). Unroutable
    /// addresses and Tor v2 onions are ignored. A known address gets the newer timestamp and the union of
    /// services; if it is new-table, it is added to one more bucket with chance 1/(2 refs),
    /// up to [`NEW_BUCKETS_PER_ADDRESS`].
    pub fn add_address(&mut self, na: &NetAddress, src: &NetAddress, now: SystemTime) {
        let src_group = group_key(&src.addr);
        self.add_address_from_group(na, src, &src_group, now);
    }

    /// [`AddrBook::add_address`] with the source's group key already computed.
    fn add_address_from_group(
        &mut self,
        na: &NetAddress,
        src: &NetAddress,
        src_group: &str,
        now: SystemTime,
    ) {
        let mut na = *na;
        na.addr = na.addr.canonical();
        let mut src = *src;
        src.addr = src.addr.canonical();
        // Tor v2 is read only: kept when loaded from a file, never learnt anew (Tor dropped
        // v2 services in 2021; Bitcoin Core ignores them too).
        if !is_routable(&na.addr) || matches!(na.addr, AddrV2::TorV2(_)) {
            return;
        }
        let id = match self.entry_id(&na) {
            Some(id) => {
                let refs = {
                    let ka = &mut self.entry_mut(id).ka;
                    if na.timestamp > ka.na.timestamp {
                        ka.na.timestamp = na.timestamp;
                    }
                    ka.na.services = ka.na.services | na.services;
                    if ka.tried || usize::from(ka.refs) >= NEW_BUCKETS_PER_ADDRESS {
                        return;
                    }
                    ka.refs
                };
                // The more buckets it is in, the less likely it goes into another: 1/(2N).
                if self.rng.random_range(0..2 * u32::from(refs.max(1))) != 0 {
                    return;
                }
                id
            }
            None => {
                let id = self.insert_entry(Entry {
                    ka: KnownAddress::new(na, src),
                    new_buckets: [0; NEW_BUCKETS_PER_ADDRESS],
                    tried_bucket: 0,
                });
                self.n_new += 1;
                id
            }
        };
        let bucket = self.new_bucket_of_groups(&group_key(&na.addr), src_group);
        {
            let e = self.entry(id);
            if e.new_buckets[..usize::from(e.ka.refs)].contains(&(bucket as u16)) {
                return;
            }
        }
        if self.addr_new[bucket].len() >= NEW_BUCKET_SIZE {
            log::trace!(target: "btcnode::addrmgr", "new bucket {bucket} is full, expiring old");
            self.expire_new(bucket, now);
        }
        self.put_in_new(id, bucket);
    }

    /// Adds every address in `addrs`, learnt from `src` (btcd's `AddAddresses`).
    pub fn add_addresses(&mut self, addrs: &[NetAddress], src: &NetAddress, now: SystemTime) {
        let src_group = group_key(&src.addr);
        for na in addrs {
            self.add_address_from_group(na, src, &src_group, now);
        }
    }

    fn put_in_new(&mut self, id: u32, bucket: usize) {
        let e = self.entry_mut(id);
        let r = usize::from(e.ka.refs);
        e.new_buckets[r] = bucket as u16;
        e.ka.refs += 1;
        self.addr_new[bucket].push(id);
    }

    /// Puts a loaded entry in new bucket `bucket` (the loader has checked it may go there).
    pub(crate) fn load_into_new(&mut self, id: u32, bucket: usize) {
        self.put_in_new(id, bucket);
    }

    /// Puts a loaded entry in tried bucket `bucket` (the loader has checked it may go there).
    pub(crate) fn load_into_tried(&mut self, id: u32, bucket: usize) {
        let e = self.entry_mut(id);
        e.ka.tried = true;
        e.tried_bucket = bucket as u16;
        self.addr_tried[bucket].push(id);
    }

    /// Takes `id` out of new bucket `bucket`; forgets the address when no bucket holds it.
    fn remove_from_new(&mut self, bucket: usize, id: u32) {
        if let Some(pos) = self.addr_new[bucket].iter().position(|&x| x == id) {
            self.addr_new[bucket].swap_remove(pos);
        }
        let e = self.entry_mut(id);
        let r = usize::from(e.ka.refs);
        if let Some(pos) = e.new_buckets[..r]
            .iter()
            .position(|&b| usize::from(b) == bucket)
        {
            e.new_buckets.copy_within(pos + 1..r, pos);
            e.ka.refs -= 1;
        }
        if e.ka.refs == 0 && !e.ka.tried {
            self.n_new -= 1;
            self.delete_entry(id);
        }
    }

    /// Makes room in a full new bucket (btcd's `expireNew`): drops every bad entry, then the
    /// oldest remaining one.
    fn expire_new(&mut self, bucket: usize, now: SystemTime) {
        let ids = self.addr_new[bucket].clone();
        let mut oldest: Option<(u32, u32)> = None;
        for id in ids {
            let ka = &self.entry(id).ka;
            if ka.is_bad(now) {
                log::trace!(target: "btcnode::addrmgr", "expiring bad address {}", ka.na);
                self.remove_from_new(bucket, id);
                continue;
            }
            let ts = ka.na.timestamp;
            if oldest.is_none_or(|(_, old)| ts <= old) {
                oldest = Some((id, ts));
            }
        }
        if let Some((id, _)) = oldest {
            log::trace!(target: "btcnode::addrmgr", "expiring oldest address {}", self.entry(id).ka.na);
            self.remove_from_new(bucket, id);
        }
    }

    /// Counts a connection attempt to `na` (btcd's `Attempt`).
    pub fn attempt(&mut self, na: &NetAddress, now: SystemTime) {
        if let Some(id) = self.entry_id(na) {
            let ka = &mut self.entry_mut(id).ka;
            ka.attempts = ka.attempts.saturating_add(1);
            ka.last_attempt = Some(now);
        }
    }

    /// Marks `na` as connected now (btcd's `Connected`): refreshes its last-seen time if it
    /// is more than 20 minutes old.
    pub fn connected(&mut self, na: &NetAddress, now: SystemTime) {
        if let Some(id) = self.entry_id(na) {
            let ka = &mut self.entry_mut(id).ka;
            let stamp = wire_timestamp(now);
            if u64::from(stamp) > u64::from(ka.na.timestamp) + CONNECTED_REFRESH_INTERVAL.as_secs()
            {
                ka.na.timestamp = stamp;
            }
        }
    }

    /// Sets the services of `na` (btcd's `SetServices`).
    pub fn set_services(&mut self, na: &NetAddress, services: ServiceFlag) {
        if let Some(id) = self.entry_id(na) {
            self.entry_mut(id).ka.na.services = services;
        }
    }

    /// Marks `na` good after a successful connection and version exchange (btcd's `Good`):
    /// resets its attempts and moves it to the tried table, evicting the oldest entry of a
    /// full tried bucket back into the new table. The last-seen time is left alone so it does
    /// not leak which peers are connected.
    pub fn good(&mut self, na: &NetAddress, now: SystemTime) {
        let Some(id) = self.entry_id(na) else {
            return;
        };
        let (old_bucket, ka_na) = {
            let e = self.entry_mut(id);
            e.ka.last_success = Some(now);
            e.ka.last_attempt = Some(now);
            e.ka.attempts = 0;
            if e.ka.tried {
                return;
            }
            let r = usize::from(e.ka.refs);
            // btcd scans buckets in order and keeps the first: the lowest index.
            let old = e.new_buckets[..r].iter().copied().min();
            (old, e.ka.na)
        };
        let Some(old_bucket) = old_bucket else {
            // Every new-table entry is in a bucket; nothing to move.
            return;
        };
        // Out of every new bucket, without forgetting it.
        let buckets: Vec<u16> = {
            let e = self.entry(id);
            e.new_buckets[..usize::from(e.ka.refs)].to_vec()
        };
        for b in buckets {
            let b = usize::from(b);
            if let Some(pos) = self.addr_new[b].iter().position(|&x| x == id) {
                self.addr_new[b].swap_remove(pos);
            }
        }
        self.n_new -= 1;
        let bucket = self.tried_bucket(&ka_na);
        {
            let e = self.entry_mut(id);
            e.ka.refs = 0;
            e.ka.tried = true;
            e.tried_bucket = bucket as u16;
        }
        if self.addr_tried[bucket].len() < TRIED_BUCKET_SIZE {
            self.addr_tried[bucket].push(id);
            self.n_tried += 1;
            return;
        }
        // Full: evict the oldest (btcd's `pickTried`, the first with the smallest timestamp)
        // back to the new table.
        let Some(pos) = self.oldest_in_tried(bucket) else {
            return;
        };
        let rm = self.addr_tried[bucket][pos];
        self.addr_tried[bucket][pos] = id;
        let (rm_na, rm_src) = {
            let e = self.entry(rm);
            (e.ka.na, e.ka.src_addr)
        };
        let mut new_bucket = self.new_bucket(&rm_na, &rm_src);
        if self.addr_new[new_bucket].len() >= NEW_BUCKET_SIZE {
            // The bucket `na` just left has room.
            new_bucket = usize::from(old_bucket);
        }
        log::trace!(target: "btcnode::addrmgr", "replacing {rm_na} with {ka_na} in tried");
        self.entry_mut(rm).ka.tried = false;
        self.n_new += 1;
        self.put_in_new(rm, new_bucket);
    }

    fn oldest_in_tried(&self, bucket: usize) -> Option<usize> {
        let mut best: Option<(usize, u32)> = None;
        for (pos, &id) in self.addr_tried[bucket].iter().enumerate() {
            let ts = self.entry(id).ka.na.timestamp;
            if best.is_none_or(|(_, old)| ts < old) {
                best = Some((pos, ts));
            }
        }
        best.map(|(pos, _)| pos)
    }

    /// Picks an address to connect to (btcd's `GetAddress`): tried or new table with even
    /// odds (when both have entries), then random entries of random buckets until one passes
    /// the test `rand < factor * chance`, with `factor` growing by 1.2 per draw.
    pub fn get_address(&mut self, now: SystemTime) -> Option<KnownAddress> {
        if self.num_addresses() == 0 {
            return None;
        }
        let use_tried =
            self.n_tried > 0 && (self.n_new == 0 || self.rng.random_range(0..2u32) == 0);
        let mut factor = 1.0f64;
        loop {
            let table = if use_tried {
                &self.addr_tried
            } else {
                &self.addr_new
            };
            let bucket = &table[self.rng.random_range(0..table.len())];
            if bucket.is_empty() {
                continue;
            }
            let id = bucket[self.rng.random_range(0..bucket.len())];
            let randval = self.rng.random_range(0..SELECT_LARGE);
            let ka = &self.entry(id).ka;
            if f64::from(randval) < factor * ka.chance(now) * f64::from(SELECT_LARGE) {
                log::trace!(target: "btcnode::addrmgr", "selected {} from {} table", ka.na,
                    if use_tried { "tried" } else { "new" });
                return Some(ka.clone());
            }
            factor *= 1.2;
        }
    }

    /// Every known address, in book order.
    pub fn addresses(&self) -> Vec<NetAddress> {
        self.entries.iter().flatten().map(|e| e.ka.na).collect()
    }

    /// A random [`GET_ADDR_PERCENT`]% of the known addresses, at most [`GET_ADDR_MAX`], for a
    /// `getaddr` reply (btcd's `AddressCache`).
    /// Tor v2 addresses (read only) are never handed out for gossip.
    pub fn address_cache(&mut self) -> Vec<NetAddress> {
        let mut all = self.addresses();
        all.retain(|a| !matches!(a.addr, AddrV2::TorV2(_)));
        let n = (all.len() * GET_ADDR_PERCENT / 100).min(GET_ADDR_MAX);
        // Partial Fisher-Yates: only the first n positions are needed.
        for i in 0..n {
            let j = self.rng.random_range(i..all.len());
            all.swap(i, j);
        }
        all.truncate(n);
        all
    }

    /// Checks the book's invariants; tests call it after every operation. Returns the first
    /// violation found.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut n_new = 0;
        let mut n_tried = 0;
        for (id, e) in self.entries.iter().enumerate() {
            let Some(e) = e else { continue };
            let id = id as u32;
            if self.index.get(&addr_key(&e.ka.na)) != Some(&id) {
                return Err(format!("{} not indexed", e.ka.na));
            }
            if e.ka.tried {
                n_tried += 1;
                if e.ka.refs != 0 {
                    return Err(format!("{} tried with refs", e.ka.na));
                }
                if !self.addr_tried[usize::from(e.tried_bucket)].contains(&id) {
                    return Err(format!("{} missing from its tried bucket", e.ka.na));
                }
            } else {
                n_new += 1;
                if e.ka.refs == 0 {
                    return Err(format!("{} new without refs", e.ka.na));
                }
                for &b in &e.new_buckets[..usize::from(e.ka.refs)] {
                    let c = self.addr_new[usize::from(b)]
                        .iter()
                        .filter(|&&x| x == id)
                        .count();
                    if c != 1 {
                        return Err(format!("{} in new bucket {b} {c} times", e.ka.na));
                    }
                }
            }
        }
        let in_new: usize = self.addr_new.iter().map(Vec::len).sum();
        let refs: usize = self
            .entries
            .iter()
            .flatten()
            .map(|e| usize::from(e.ka.refs))
            .sum();
        if in_new != refs {
            return Err(format!(
                "new buckets hold {in_new} entries, refs sum {refs}"
            ));
        }
        if self.addr_new.iter().any(|b| b.len() > NEW_BUCKET_SIZE)
            || self.addr_tried.iter().any(|b| b.len() > TRIED_BUCKET_SIZE)
        {
            return Err("overfull bucket".to_string());
        }
        if n_new != self.n_new || n_tried != self.n_tried || self.index.len() != n_new + n_tried {
            return Err(format!(
                "counts: new {} (actual {n_new}), tried {} (actual {n_tried}), index {}",
                self.n_new,
                self.n_tried,
                self.index.len()
            ));
        }
        Ok(())
    }
}
