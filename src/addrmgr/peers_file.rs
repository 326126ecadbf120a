//! `peers.json`: the address book on disk in btcd's format (version 2), written atomically,
//! and set aside rather than trusted or deleted when it does not load. Runs on whichever
//! thread calls it (the `addrmgr` thread, or `start`/`stop`). btcd counterpart: `savePeers`,
//! `loadPeers` and `deserializePeers` in `addrmgr/addrmanager.go`.
//!
//! The format, exactly as btcd's `encoding/json` writes it (one line, field order kept):
//! `{"Version":2,"Key":[32 numbers],"Addresses":[{"Addr":"host:port","Src":"host:port",
//! "Attempts":n,"TimeStamp":unix,"LastAttempt":unix,"LastSuccess":unix,"Services":n,
//! "SrcServices":n},...],"NewBuckets":[1024 arrays of "host:port"],"TriedBuckets":[64 arrays]}`.
//! A time that never happened is Go's zero time, -62135596800. Version 1 files (no service
//! fields, services taken as NODE_NETWORK) load too.
//!
//! Addresses btcd cannot read back (I2P and CJDNS, as address or source) go in an extra
//! top-level `BtcnodeAddresses` array that btcd's decoder ignores; each record carries the
//! BIP155 network ids of its address and source and the buckets that hold it.
//!
//! Beyond btcd: the file is written to `peers.json.tmp`, fsynced, renamed over `peers.json`
//! and the directory fsynced, so a crash leaves the old or the new file, never a torn one; a
//! file that fails to load is renamed to `peers.json.bad-<unix time>` and the book starts empty
//! (btcd deletes it). btcd also forgets every address's last-seen time on load (it stamps them
//! with the load time); this code restores `TimeStamp`.

use super::addr_book::AddrKey;
use super::addr_book::{
    AddrBook, Entry, NEW_BUCKET_COUNT, NEW_BUCKET_SIZE, NEW_BUCKETS_PER_ADDRESS,
    TRIED_BUCKET_COUNT, TRIED_BUCKET_SIZE,
};
use super::error::Error;
use super::known_address::KnownAddress;
use crate::atomic_file::{self, set_aside};
use crate::wire::netaddress::BIP155_CJDNS;
use crate::wire::netaddress_str::{host_port, parse_host_port};
use crate::wire::{AddrV2, NetAddress, ServiceFlag};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The on-disk format version written (btcd's `serialisationVersion`).
pub const SERIALISATION_VERSION: i64 = 2;

/// Go's zero `time.Time` as Unix seconds: what btcd writes for "never".
pub const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// A new bucket may hold one entry more than [`NEW_BUCKET_SIZE`] in a file btcd wrote (its
/// size test is `>` rather than `>=`); such files load.
pub const MAX_LOADED_NEW_BUCKET_LEN: usize = NEW_BUCKET_SIZE + 1;

/// Name of the peers file inside the network's data directory.
pub const PEERS_FILENAME: &str = "peers.json";

/// What loading a peers file found.
#[derive(Debug)]
pub enum LoadOutcome {
    /// No file: the book starts empty.
    Missing,
    /// The file loaded with this many addresses.
    Loaded(usize),
    /// The file did not load and the book starts empty; the file was renamed to `moved_to`
    /// (`None` if even the rename failed).
    SetAside {
        /// Why it did not load.
        error: Error,
        /// Where the file went.
        moved_to: Option<PathBuf>,
    },
}

fn go_unix(t: Option<SystemTime>) -> i64 {
    match t {
        None => GO_ZERO_TIME_UNIX,
        Some(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // Before 1970: Go's Unix() floors toward the past.
            Err(e) => {
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                if d.subsec_nanos() > 0 {
                    -secs - 1
                } else {
                    -secs
                }
            }
        },
    }
}

fn from_go_unix(secs: i64) -> Result<Option<SystemTime>, Error> {
    if secs == GO_ZERO_TIME_UNIX {
        return Ok(None);
    }
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    };
    t.map(Some)
        .ok_or_else(|| Error::Inconsistent(format!("time {secs} out of range")))
}

/// Appends `n` in decimal (the formatting machinery is a third of the save time otherwise).
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `n` in decimal.
fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Appends `host:port` as btcd's `NetAddressKey` writes it; IPv4 without the formatter.
fn push_host_port(out: &mut Vec<u8>, na: &NetAddress) {
    match na.addr {
        AddrV2::Ipv4(ip) => {
            for (i, o) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_u64(out, u64::from(o));
            }
            out.push(b':');
            push_u64(out, u64::from(na.port));
        }
        // Writing to a Vec cannot fail.
        _ => {
            let _ = write!(out, "{na}");
        }
    }
}

/// Whether btcd can read the address back from its `host:port` string.
fn btcd_can_express(addr: &AddrV2) -> bool {
    matches!(
        addr,
        AddrV2::Ipv4(_) | AddrV2::Ipv6(_) | AddrV2::TorV2(_) | AddrV2::TorV3(_)
    )
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KnownAddressOut {
    addr: String,
    src: String,
    attempts: u32,
    time_stamp: i64,
    last_attempt: i64,
    last_success: i64,
    services: u64,
    src_services: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ExtAddressOut<'a> {
    #[serde(flatten)]
    base: KnownAddressOut,
    addr_net: u8,
    src_net: u8,
    new_buckets: &'a [u16],
    tried_bucket: Option<u16>,
}

/// Go decodes `null` into a slice as an empty slice; so does this.
fn nullable<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KnownAddressIn<'a> {
    #[serde(borrow)]
    addr: Cow<'a, str>,
    #[serde(borrow)]
    src: Cow<'a, str>,
    #[serde(default)]
    attempts: i64,
    #[serde(default)]
    time_stamp: i64,
    #[serde(default)]
    last_attempt: i64,
    #[serde(default)]
    last_success: i64,
    #[serde(default)]
    services: u64,
    #[serde(default)]
    src_services: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExtAddressIn<'a> {
    #[serde(flatten, borrow)]
    base: KnownAddressIn<'a>,
    addr_net: u8,
    src_net: u8,
    #[serde(default, deserialize_with = "nullable")]
    new_buckets: Vec<u16>,
    #[serde(default)]
    tried_bucket: Option<u16>,
}

/// Loading state the streaming visitors below fill as serde reads the file. Addresses go
/// into the book as soon as each record is read, while its bytes are still in cache, and no
/// copy of the file's records is kept (a full file is 16 MB): this halves the load time.
struct Loader<'de> {
    book: AddrBook,
    version: Option<i64>,
    key_seen: bool,
    addresses_seen: bool,
    new_buckets_read: usize,
    tried_buckets_read: usize,
    /// Bucket entries read before `Addresses` (Go accepts fields in any order).
    pending: Vec<(bool, usize, Cow<'de, str>)>,
    ext: Vec<ExtAddressIn<'de>>,
    /// The first rule a record broke; serde is then stopped with a placeholder error.
    error: Option<Error>,
}

impl<'de> Loader<'de> {
    /// Records `e` and returns the error that stops serde.
    fn fail<E: serde::de::Error>(&mut self, e: Error) -> E {
        let msg = e.to_string();
        self.error.get_or_insert(e);
        E::custom(msg)
    }

    /// Puts the address named `text` in bucket `b` of the new or tried table, or keeps it for
    /// later if the address list has not been read yet.
    fn place(&mut self, tried: bool, b: usize, text: Cow<'de, str>) -> Result<(), Error> {
        if !self.addresses_seen {
            self.pending.push((tried, b, text));
            return Ok(());
        }
        let field = if tried { "TriedBuckets" } else { "NewBuckets" };
        let (addr, port) =
            parse_host_port(&text).map_err(|source| Error::Address { field, source })?;
        let id = self
            .book
            .index
            .get(&AddrKey(addr.canonical(), port))
            .copied()
            .ok_or_else(|| {
                Error::Inconsistent(format!(
                    "{field} names {text} but it is not in the address list"
                ))
            })?;
        if tried {
            place_tried(&mut self.book, id, b)
        } else {
            place_new(&mut self.book, id, b)
        }
    }
}

/// The top-level object.
struct FileVisitor<'a, 'de>(&'a mut Loader<'de>);

impl<'de> Visitor<'de> for FileVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a btcd peers.json object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let l = self.0;
        while let Some(field) = map.next_key::<Cow<'de, str>>()? {
            match field.as_ref() {
                "Version" => l.version = Some(map.next_value()?),
                "Key" => {
                    l.book.key = map.next_value()?;
                    l.key_seen = true;
                }
                "Addresses" => {
                    map.next_value_seed(NullOrSeq(AddressesSeed(&mut *l)))?;
                    l.addresses_seen = true;
                }
                "NewBuckets" => map.next_value_seed(NullOrSeq(TableSeed(&mut *l, false)))?,
                "TriedBuckets" => map.next_value_seed(NullOrSeq(TableSeed(&mut *l, true)))?,
                "BtcnodeAddresses" => {
                    l.ext = map
                        .next_value::<Option<Vec<ExtAddressIn<'de>>>>()?
                        .unwrap_or_default();
                }
                // btcd's decoder ignores fields it does not know; so does this.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The body of a field that is an array or null (Go's `encoding/json` writes a nil slice as
/// `null`): what [`NullOrSeq`] runs on the array's elements.
trait SeqBody<'de> {
    /// What the field holds, for serde's "invalid type" message.
    const EXPECTING: &'static str;

    /// Reads the array's elements.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error>;
}

/// Reads a field that is `null` (nothing to do) or an array (handed to the body).
struct NullOrSeq<T>(T);

impl<'de, T: SeqBody<'de>> DeserializeSeed<'de> for NullOrSeq<T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T: SeqBody<'de>> Visitor<'de> for NullOrSeq<T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.visit_seq(seq)
    }
}

/// `Addresses`: each record converted and inserted as it is read.
struct AddressesSeed<'a, 'de>(&'a mut Loader<'de>);

impl<'de> SeqBody<'de> for AddressesSeed<'_, 'de> {
    const EXPECTING: &'static str = "an array of addresses or null";

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let l = self.0;
        while let Some(rec) = seq.next_element::<KnownAddressIn<'de>>()? {
            let done = known_address(&rec, false, None, None)
                .and_then(|ka| insert_loaded(&mut l.book, ka));
            if let Err(e) = done {
                return Err(l.fail(e));
            }
        }
        Ok(())
    }
}

/// `NewBuckets` (false) or `TriedBuckets` (true): an array of buckets.
struct TableSeed<'a, 'de>(&'a mut Loader<'de>, bool);

impl<'de> SeqBody<'de> for TableSeed<'_, 'de> {
    const EXPECTING: &'static str = "an array of buckets or null";

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let TableSeed(l, tried) = self;
        let max = if tried {
            TRIED_BUCKET_COUNT
        } else {
            NEW_BUCKET_COUNT
        };
        let mut b = 0;
        while seq
            .next_element_seed(NullOrSeq(BucketSeed(&mut *l, tried, b)))?
            .is_some()
        {
            b += 1;
            if b > max {
                let table = if tried { "tried" } else { "new" };
                let e = Error::Inconsistent(format!("more than {max} {table} buckets"));
                return Err(l.fail(e));
            }
        }
        if tried {
            l.tried_buckets_read = b;
        } else {
            l.new_buckets_read = b;
        }
        Ok(())
    }
}

/// One bucket: an array of `host:port` or null.
struct BucketSeed<'a, 'de>(&'a mut Loader<'de>, bool, usize);

impl<'de> SeqBody<'de> for BucketSeed<'_, 'de> {
    const EXPECTING: &'static str = "an array of host:port strings or null";

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let BucketSeed(l, tried, b) = self;
        // Checked here too: the table's own count check comes after this bucket.
        let max = if tried {
            TRIED_BUCKET_COUNT
        } else {
            NEW_BUCKET_COUNT
        };
        while let Some(text) = seq.next_element::<Cow<'de, str>>()? {
            if b >= max {
                let e = Error::Inconsistent(format!("bucket {b} out of range"));
                return Err(l.fail(e));
            }
            if let Err(e) = l.place(tried, b, text) {
                return Err(l.fail(e));
            }
        }
        Ok(())
    }
}

impl AddrBook {
    /// The book as `peers.json` bytes (btcd's format, one line and a newline, as Go's
    /// `json.Encoder` writes it). Addresses come in book order, so loading a file and saving
    /// it again gives the same bytes.
    ///
    /// Written by hand rather than through serde: a full book is 16 MB and this is twice as
    /// fast. Every string written is a `host:port` made of `[0-9a-z.:[]]`, which JSON never
    /// escapes; the extension records (rare) go through serde.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::with_capacity(200 * (self.index.len() + 64));
        // Where each entry's "host:port" sits in `out`, so buckets copy it.
        let mut spans: Vec<(usize, usize)> = vec![(0, 0); self.entries.len()];
        let expressible =
            |e: &Entry| btcd_can_express(&e.ka.na.addr) && btcd_can_express(&e.ka.src_addr.addr);
        // Writing to a Vec cannot fail; the results are ignored for that reason.
        let _ = write!(out, "{{\"Version\":{SERIALISATION_VERSION},\"Key\":[");
        for (i, k) in self.key.iter().enumerate() {
            let _ = write!(out, "{}{k}", if i == 0 { "" } else { "," });
        }
        out.extend_from_slice(b"],\"Addresses\":[");
        let mut first = true;
        let mut ext = Vec::new();
        for (id, e) in self.entries.iter().enumerate() {
            let Some(e) = e else { continue };
            if !expressible(e) {
                ext.push(e);
                continue;
            }
            let ka = &e.ka;
            out.extend_from_slice(if first {
                b"{\"Addr\":\""
            } else {
                b",{\"Addr\":\""
            });
            first = false;
            let start = out.len();
            push_host_port(&mut out, &ka.na);
            spans[id] = (start, out.len());
            out.extend_from_slice(b"\",\"Src\":\"");
            push_host_port(&mut out, &ka.src_addr);
            out.extend_from_slice(b"\",\"Attempts\":");
            push_i64(&mut out, i64::from(ka.attempts));
            out.extend_from_slice(b",\"TimeStamp\":");
            push_i64(&mut out, i64::from(ka.na.timestamp));
            out.extend_from_slice(b",\"LastAttempt\":");
            push_i64(&mut out, go_unix(ka.last_attempt));
            out.extend_from_slice(b",\"LastSuccess\":");
            push_i64(&mut out, go_unix(ka.last_success));
            out.extend_from_slice(b",\"Services\":");
            push_u64(&mut out, ka.na.services.0);
            out.extend_from_slice(b",\"SrcServices\":");
            push_u64(&mut out, ka.src_addr.services.0);
            out.push(b'}');
        }
        let table = |out: &mut Vec<u8>, name: &[u8], buckets: &[Vec<u32>]| {
            out.extend_from_slice(name);
            for (i, bucket) in buckets.iter().enumerate() {
                out.extend_from_slice(if i == 0 { b"[" } else { b",[" });
                let mut first = true;
                for &id in bucket {
                    let (start, end) = spans[id as usize];
                    if start == end {
                        // Not written above: an extension record lists its own buckets.
                        continue;
                    }
                    out.extend_from_slice(if first { b"\"" } else { b",\"" });
                    first = false;
                    out.extend_from_within(start..end);
                    out.push(b'"');
                }
                out.push(b']');
            }
            out.push(b']');
        };
        table(&mut out, b"],\"NewBuckets\":[", &self.addr_new);
        table(&mut out, b",\"TriedBuckets\":[", &self.addr_tried);
        if !ext.is_empty() {
            let records: Vec<ExtAddressOut<'_>> = ext
                .iter()
                .map(|e| {
                    let ka = &e.ka;
                    ExtAddressOut {
                        base: KnownAddressOut {
                            addr: host_port(&ka.na.addr, ka.na.port),
                            src: host_port(&ka.src_addr.addr, ka.src_addr.port),
                            attempts: ka.attempts,
                            time_stamp: i64::from(ka.na.timestamp),
                            last_attempt: go_unix(ka.last_attempt),
                            last_success: go_unix(ka.last_success),
                            services: ka.na.services.0,
                            src_services: ka.src_addr.services.0,
                        },
                        addr_net: ka.na.addr.network_id(),
                        src_net: ka.src_addr.addr.network_id(),
                        new_buckets: &e.new_buckets[..usize::from(ka.refs)],
                        tried_bucket: ka.tried.then_some(e.tried_bucket),
                    }
                })
                .collect();
            out.extend_from_slice(b",\"BtcnodeAddresses\":");
            // Plain structs of strings and numbers always serialize.
            if serde_json::to_writer(&mut out, &records).is_err() {
                unreachable!("addrmgr: serializing extension records failed");
            }
        }
        out.extend_from_slice(b"}\n");
        out
    }

    /// A book from `peers.json` bytes, after every sanity check btcd makes and more: version
    /// 1 or 2, 1,024 new and 64 tried buckets, every address parses and appears once, every
    /// bucket names a known address, no address is in both tables, in a bucket twice, in more
    /// than eight new buckets or in none, and no bucket is over-full.
    pub fn from_json(data: &[u8], rng: StdRng) -> Result<AddrBook, Error> {
        let mut book = AddrBook::with_key([0; 32], rng);
        // About 200 bytes of file per address (record plus its bucket entry).
        book.reserve(data.len() / 200);
        let mut l = Loader {
            book,
            version: None,
            key_seen: false,
            addresses_seen: false,
            new_buckets_read: 0,
            tried_buckets_read: 0,
            pending: Vec::new(),
            ext: Vec::new(),
            error: None,
        };
        let mut de = serde_json::Deserializer::from_slice(data);
        let parsed = de
            .deserialize_map(FileVisitor(&mut l))
            .and_then(|()| de.end());
        if let Some(e) = l.error.take() {
            return Err(e);
        }
        parsed.map_err(Error::Json)?;
        let version = l.version.unwrap_or(0);
        if !(1..=SERIALISATION_VERSION).contains(&version) {
            return Err(Error::Version(version));
        }
        if !l.key_seen {
            return Err(Error::Inconsistent("no Key".to_string()));
        }
        // Version 1 files from btcd before 2015 have 256 new buckets; btcd's decoder fills the
        // first ones and so does this. Version 2 files must have exactly btcd's counts.
        let new_ok = if version == 1 {
            (1..=NEW_BUCKET_COUNT).contains(&l.new_buckets_read)
        } else {
            l.new_buckets_read == NEW_BUCKET_COUNT
        };
        if !new_ok || l.tried_buckets_read != TRIED_BUCKET_COUNT {
            return Err(Error::Inconsistent(format!(
                "{} new and {} tried buckets, want {NEW_BUCKET_COUNT} and {TRIED_BUCKET_COUNT}",
                l.new_buckets_read, l.tried_buckets_read
            )));
        }
        l.addresses_seen = true;
        for (tried, b, text) in std::mem::take(&mut l.pending) {
            l.place(tried, b, text)?;
        }
        let v1 = version == 1;
        if v1 {
            // Version 1 did not record services; btcd assumes a full node.
            for e in l.book.entries.iter_mut().flatten() {
                e.ka.na.services = ServiceFlag::NODE_NETWORK;
                e.ka.src_addr.services = ServiceFlag::NODE_NETWORK;
            }
        }
        let Loader { mut book, ext, .. } = l;
        let mut ext_ids = Vec::with_capacity(ext.len());
        for rec in &ext {
            let ka = known_address(&rec.base, v1, Some(rec.addr_net), Some(rec.src_net))?;
            ext_ids.push(insert_loaded(&mut book, ka)?);
        }
        for (rec, &id) in ext.iter().zip(&ext_ids) {
            for &b in &rec.new_buckets {
                if usize::from(b) >= NEW_BUCKET_COUNT {
                    return Err(Error::Inconsistent(format!("new bucket {b} out of range")));
                }
                place_new(&mut book, id, usize::from(b))?;
            }
            if let Some(b) = rec.tried_bucket {
                if usize::from(b) >= TRIED_BUCKET_COUNT {
                    return Err(Error::Inconsistent(format!(
                        "tried bucket {b} out of range"
                    )));
                }
                place_tried(&mut book, id, usize::from(b))?;
            }
        }
        for e in book.entries.iter().flatten() {
            if e.ka.refs == 0 && !e.ka.tried {
                return Err(Error::Inconsistent(format!("{} is in no bucket", e.ka.na)));
            }
        }
        if let Some(b) = book
            .addr_new
            .iter()
            .position(|b| b.len() > MAX_LOADED_NEW_BUCKET_LEN)
        {
            return Err(Error::Inconsistent(format!("new bucket {b} is over-full")));
        }
        if let Some(b) = book
            .addr_tried
            .iter()
            .position(|b| b.len() > TRIED_BUCKET_SIZE)
        {
            return Err(Error::Inconsistent(format!(
                "tried bucket {b} is over-full"
            )));
        }
        Ok(book)
    }
}

fn parse_addr(s: &str, net: Option<u8>, field: &'static str) -> Result<(AddrV2, u16), Error> {
    let (mut addr, port) = parse_host_port(s).map_err(|source| Error::Address { field, source })?;
    if let Some(net) = net {
        if net == BIP155_CJDNS {
            addr = addr.to_cjdns();
        }
        if addr.network_id() != net {
            return Err(Error::Inconsistent(format!(
                "{field} {s} is not of network {net}"
            )));
        }
    }
    Ok((addr.canonical(), port))
}

fn known_address(
    rec: &KnownAddressIn<'_>,
    v1: bool,
    addr_net: Option<u8>,
    src_net: Option<u8>,
) -> Result<KnownAddress, Error> {
    let (addr, port) = parse_addr(&rec.addr, addr_net, "Addr")?;
    let (src_addr, src_port) = parse_addr(&rec.src, src_net, "Src")?;
    // Version 1 did not record services; btcd assumes a full node.
    let (services, src_services) = if v1 {
        (ServiceFlag::NODE_NETWORK, ServiceFlag::NODE_NETWORK)
    } else {
        (ServiceFlag(rec.services), ServiceFlag(rec.src_services))
    };
    let mut ka = KnownAddress::new(
        NetAddress {
            timestamp: u32::try_from(rec.time_stamp.max(0)).unwrap_or(u32::MAX),
            services,
            addr,
            port,
        },
        NetAddress {
            timestamp: 0,
            services: src_services,
            addr: src_addr,
            port: src_port,
        },
    );
    ka.attempts = u32::try_from(rec.attempts.max(0)).unwrap_or(u32::MAX);
    ka.last_attempt = from_go_unix(rec.last_attempt)?;
    ka.last_success = from_go_unix(rec.last_success)?;
    Ok(ka)
}

fn insert_loaded(book: &mut AddrBook, ka: KnownAddress) -> Result<u32, Error> {
    let before = book.index.len();
    let na = ka.na;
    let id = book.insert_entry(Entry {
        ka,
        new_buckets: [0; NEW_BUCKETS_PER_ADDRESS],
        tried_bucket: 0,
    });
    // The index did not grow: the key was already there (the book is thrown away).
    if book.index.len() == before {
        return Err(Error::Inconsistent(format!("{na} is listed twice")));
    }
    Ok(id)
}

fn place_new(book: &mut AddrBook, id: u32, bucket: usize) -> Result<(), Error> {
    let e = book.entry(id);
    let refs = usize::from(e.ka.refs);
    let bad = if e.ka.tried {
        Some("is in both tables")
    } else if e.new_buckets[..refs].contains(&(bucket as u16)) {
        Some("is twice in one new bucket")
    } else if refs >= NEW_BUCKETS_PER_ADDRESS {
        Some("is in more than 8 new buckets")
    } else {
        None
    };
    if let Some(why) = bad {
        return Err(Error::Inconsistent(format!("{} {why}", e.ka.na)));
    }
    if refs == 0 {
        book.n_new += 1;
    }
    book.load_into_new(id, bucket);
    Ok(())
}

fn place_tried(book: &mut AddrBook, id: u32, bucket: usize) -> Result<(), Error> {
    let e = book.entry(id);
    if e.ka.tried || e.ka.refs > 0 {
        let why = if e.ka.tried {
            "is twice in the tried table"
        } else {
            "is in both tables"
        };
        return Err(Error::Inconsistent(format!("{} {why}", e.ka.na)));
    }
    book.n_tried += 1;
    book.load_into_tried(id, bucket);
    Ok(())
}

/// Writes `data` to `path` through the node's one atomic writer ([`crate::atomic_file`]).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Error> {
    atomic_file::write_atomic(path, data, None).map_err(|e| Error::Io {
        op: e.op,
        path: e.path,
        source: e.source,
    })
}

/// Saves the book to `path` atomically.
pub fn save_peers(book: &AddrBook, path: &Path) -> Result<(), Error> {
    write_atomic(path, &book.to_json())
}

/// Loads the book from `path`. A missing file gives an empty book; a file that cannot be
/// read, parsed or trusted is renamed aside with one warning and gives an empty book too, so
/// nothing on disk can stop the node from starting.
pub fn load_peers(path: &Path, mut rng: StdRng, now: SystemTime) -> (AddrBook, LoadOutcome) {
    let data = match fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return (AddrBook::new(rng), LoadOutcome::Missing);
        }
        Err(source) => {
            let error = Error::Io {
                op: "read",
                path: path.to_path_buf(),
                source,
            };
            log::warn!(target: "btcnode::addrmgr", "{error}; starting with an empty address book");
            return (
                AddrBook::new(rng),
                LoadOutcome::SetAside {
                    error,
                    moved_to: None,
                },
            );
        }
    };
    // The generator moves into the loaded book; split off one for the empty fallback.
    let fallback_rng = StdRng::from_rng(&mut rng);
    match AddrBook::from_json(&data, rng) {
        Ok(book) => {
            let n = book.num_addresses();
            log::info!(target: "btcnode::addrmgr", "loaded {n} addresses from {}", path.display());
            (book, LoadOutcome::Loaded(n))
        }
        Err(error) => {
            let moved_to = match set_aside(path, now) {
                Ok(p) => {
                    log::warn!(target: "btcnode::addrmgr",
                        "{}: {error}; moved it to {} and starting with an empty address book",
                        path.display(), p.display());
                    Some(p)
                }
                Err(e) => {
                    log::warn!(target: "btcnode::addrmgr",
                        "{}: {error}; could not move it aside ({e}); starting with an empty address book",
                        path.display());
                    None
                }
            };
            (
                AddrBook::new(fallback_rng),
                LoadOutcome::SetAside { error, moved_to },
            )
        }
    }
}
