//! `Peer`: one connection run by named OS threads, btcd's `peer.Peer` with goroutines turned
//! into threads one-to-one:
//!
//! | thread | btcd | runs | ends when |
//! |---|---|---|---|
//! | `pN-neg` | goroutine in `start` | `negotiate_handler` | handshake done, failed or timed out |
//! | `pN-in` | `inHandler` | `in_handler` | EOF, read error, idle timeout or disconnect |
//! | `pN-queue` | `queueHandler` | `queue_handler` | quit; the outbox is then closed and drained |
//! | `pN-out` | `outHandler` | `out_handler` | `pN-queue` is gone, after the last batch handed over |
//! | `pN-stall` | `stallHandler` | `stall_handler` | quit |
//! | `pN-ping` | `pingHandler` | `ping_handler` | quit |
//!
//! `pN-neg` starts `pN-in` once the handshake is complete and hands it its framer (with any
//! bytes already read past `verack`); `pN-in` starts the other four before it reads, so the
//! short-lived handshake thread ends after one spawn. Disconnect is idempotent: it records
//! the first [`DisconnectReason`], shuts the socket down (waking a blocked read or write)
//! and drops the one quit sender that `pN-queue`, `pN-stall` and `pN-ping` wait on (`pN-in`
//! checks the disconnect flag after each read). [`Peer::wait_for_disconnect`] joins every
//! thread. Each thread body runs under `catch_unwind`: a panic (say, in a listener)
//! disconnects that peer and nothing else.
//!
//! Memory of an idle peer: five parked threads with two resident stack pages each (the
//! floor for any parked thread here) plus about 2.5 KiB of heap: no read buffer between
//! messages, an empty [`Outbox`] instead of buffered channels, timers as deadlines rather
//! than timer channels. Stack pages a thread touched deeper down are given back
//! ([`release_unused_stack`](crate::thread::release_unused_stack)) when it ends, and by
//! `pN-in` whenever the remote goes quiet after a message, because its handlers run deeper
//! than it parks.

use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use parking_lot::{Condvar, Mutex};

use crate::clock::unix_now;
use crate::thread::{release_unused_stack, spawn_peer_thread};
use crate::wire::{
    Framer, Hash, InvType, InvVect, MAX_BLOCK_LOCATORS_PER_MSG, Message, MsgAddr, MsgAddrV2,
    MsgGetBlocks, MsgGetHeaders, MsgInv, MsgPing, MsgPong, MsgReject, MsgVersion, NetAddress,
    ServiceFlag, encode_message,
};

use super::config::Config;
use super::conn::{Conn, ConnReader, is_timeout, write_all_by};
use super::error::{DisconnectReason, Error};
use super::ingress::{IngressLimit, IngressSnap};
use super::lru::LruSet;
use super::negotiate::{Negotiation, Outgoing, REJECT_VERSION, Received};
use super::ping::{BIP0031_VERSION, PingState, random_nonce};
use super::send_queue::{
    DuplicateRequestFilter, InvAction, InvTrickle, MAX_ADDR_PER_MSG, MAX_KNOWN_INVENTORY,
    MAX_SEND_BATCH, SendQueue, choose_addresses,
};
use super::stall::{Expected, StallTracker};

use super::negotiate::{REJECT_DUPLICATE, REJECT_MALFORMED};

/// Peer ids: a process-wide counter (btcd's `nodeCount`), starting at 1.
static NEXT_PEER_ID: AtomicU64 = AtomicU64::new(1);

/// A message on its way out, with the channel to signal once it is written or dropped.
struct OutMsg {
    /// Boxed so a batch handed to `pN-out` moves pointers, not whole messages.
    msg: Box<Message>,
    done: Option<Sender<()>>,
    /// Its framed size ([`Message::encoded_len`]), charged to the send budget while queued.
    size: usize,
}

/// Everything waiting to go out: btcd's `outputQueue`, `outputInvChan`, `pendingMsgs` and
/// `invSendQueue` in one place, behind one lock. Callers add to it from any thread and never
/// wait for a buffer slot; `pN-queue` hands batches of messages to `pN-out` and runs the
/// trickle. Empty, it holds no heap memory (btcd's two 50-slot channels would cost an idle
/// peer about 1 KiB here).
///
/// Waking `pN-queue`: before it waits it records what it watches (the writer hand-off when
/// messages wait, the trickle deadline when inventory waits). A caller that adds something it
/// does not watch flips the flag and unparks it; other callers see the flag set and add
/// without waking it. Callers never wait, neither for room nor for `pN-queue`.
struct Outbox {
    queue: SendQueue<OutMsg>,
    trickle: InvTrickle<InvVect>,
    /// `pN-queue` watches the hand-off to `pN-out` (or has not parked yet).
    watching_send: bool,
    /// `pN-queue` watches the trickle deadline (or has not parked yet).
    watching_trickle: bool,
    /// `pN-queue` has ended (or the peer is gone): nothing added is sent.
    closed: bool,
    /// Framed bytes of every message queued or with `pN-out` and not yet written: what the
    /// send budget ([`Config::max_send_buffer`]) is checked against (Core's `nSendSize`).
    bytes: usize,
    /// `pN-queue`, once it runs: unparked when the outbox gains what it does not watch, and
    /// on disconnect. Kept under the outbox's lock, so a disconnect either finds it here or
    /// happened before `pN-queue` first looks at the disconnect flag.
    queue_thread: Option<std::thread::Thread>,
}

impl Outbox {
    fn new(max_pending_messages: usize) -> Outbox {
        Outbox {
            queue: SendQueue::new(max_pending_messages),
            trickle: InvTrickle::new(),
            // Until pN-queue first looks, there is nobody to wake.
            watching_send: true,
            watching_trickle: true,
            closed: false,
            bytes: 0,
            queue_thread: None,
        }
    }

    /// Queues `m` behind the others and charges its size, or hands it back when the
    /// message count is at its limit.
    fn push(&mut self, m: OutMsg) -> Result<(), OutMsg> {
        let size = m.size;
        self.queue.push(m).map_err(|full| full.0)?;
        self.bytes += size;
        Ok(())
    }
}

/// Flags learned during the handshake (btcd's `flagsMtx` fields).
#[derive(Debug, Default)]
struct Flags {
    na: Option<NetAddress>,
    user_agent: String,
    services: ServiceFlag,
    version_known: bool,
    advertised_protocol_version: u32,
    protocol_version: u32,
    send_headers_preferred: bool,
    verack_received: bool,
    witness_enabled: bool,
    wants_addrv2: bool,
    relay_txes: bool,
}

/// Statistics (btcd's `statsMtx` fields).
#[derive(Debug)]
struct Stats {
    time_connected: Option<SystemTime>,
    time_offset: i64,
    starting_height: i32,
    last_block: i32,
    last_announced_block: Option<Hash>,
    ping: PingState,
}

/// A snapshot of a peer's state and statistics (btcd's `StatsSnap`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsSnap {
    /// The peer id (also in its thread names).
    pub id: u64,
    /// The remote address.
    pub addr: String,
    /// Whether the remote connected to us.
    pub inbound: bool,
    /// Services the remote advertised.
    pub services: ServiceFlag,
    /// The remote's user agent.
    pub user_agent: String,
    /// The remote's `version` asked us to relay transactions (its BIP37 relay flag; Core's
    /// `relaytxes`).
    pub relay_txes: bool,
    /// The protocol version the remote advertised (0 before its `version`).
    pub advertised_protocol_version: u32,
    /// The negotiated protocol version.
    pub protocol_version: u32,
    /// The height the remote reported in its `version`.
    pub starting_height: i32,
    /// The last block height known for the remote.
    pub last_block: i32,
    /// Remote clock minus ours at the handshake, in seconds.
    pub time_offset: i64,
    /// Bytes written.
    pub bytes_sent: u64,
    /// Bytes read.
    pub bytes_received: u64,
    /// When a message was last written.
    pub last_send: Option<SystemTime>,
    /// When a message was last read.
    pub last_recv: Option<SystemTime>,
    /// When the connection was associated.
    pub conn_time: Option<SystemTime>,
    /// Nonce of the ping in flight (0 when none).
    pub last_ping_nonce: u64,
    /// When the last ping was written.
    pub last_ping_time: Option<SystemTime>,
    /// Round trip of the last answered ping.
    pub last_ping_latency: Option<Duration>,
    /// Lowest round trip of any answered ping.
    pub min_ping_latency: Option<Duration>,
    /// Whether the remote signals segwit.
    pub witness_enabled: bool,
    /// Whether the remote asked for `headers` announcements (`sendheaders`).
    pub send_headers_preferred: bool,
    /// Whether the remote asked for `addrv2` (`sendaddrv2`).
    pub wants_addrv2: bool,
}

/// What a peer has queued and what it waits for, for state dumps ([`Peer::debug_state`]).
/// Copied out under short locks.
#[derive(Debug, Clone, PartialEq)]
pub struct DebugState {
    /// Messages waiting behind the batch with `pN-out` (including any queued before the
    /// handshake finished).
    pub send_queue: usize,
    /// Inventory vectors waiting for the next trickle.
    pub pending_inv: usize,
    /// Framed bytes queued or being written, against the send budget.
    pub send_bytes: usize,
    /// The send budget in bytes.
    pub send_limit: usize,
    /// The ingress limit's buckets and how often they stopped the reader.
    pub ingress: IngressSnap,
    /// Responses owed by the remote, each with its stall deadline (without handler offsets),
    /// in the order of [`Expected`].
    pub waits: Vec<(Expected, Instant)>,
}

impl DebugState {
    /// The owed responses as `command in 12.3s` (or `command overdue 1.0s`) relative to `now`.
    pub fn waits_relative(&self, now: Instant) -> Vec<String> {
        self.waits
            .iter()
            .map(|&(e, d)| {
                if d >= now {
                    format!("{} in {:.1}s", e.command(), (d - now).as_secs_f64())
                } else {
                    format!("{} overdue {:.1}s", e.command(), (now - d).as_secs_f64())
                }
            })
            .collect()
    }
}

struct Inner {
    id: u64,
    inbound: bool,
    /// Shared by every peer created from the same `Arc<Config>`.
    cfg: Arc<Config>,
    addr: OnceLock<String>,
    conn: OnceLock<Arc<dyn Conn>>,
    connected: AtomicBool,
    disconnecting: AtomicBool,
    reason: Mutex<Option<DisconnectReason>>,
    /// Dropped (set to `None`) on disconnect: every `quit` receiver then wakes.
    quit_tx: Mutex<Option<Sender<()>>>,
    quit_rx: Receiver<()>,
    /// What waits to be sent; see [`Outbox`].
    outbox: Mutex<Outbox>,
    /// Signalled (with the outbox lock) when the outbox's bytes go down or the peer
    /// disconnects: `pN-in` waits on it while the peer is over its send budget.
    send_room: Condvar,
    /// The ingress limit's state as `pN-in` last left it, for the dump.
    ingress: Mutex<IngressSnap>,
    /// Response deadlines, fed by `pN-in` and `pN-out` directly and checked by `pN-stall`.
    stall: Mutex<StallTracker>,
    flags: Mutex<Flags>,
    stats: Mutex<Stats>,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    /// Unix seconds; 0 = never.
    last_send: AtomicU64,
    last_recv: AtomicU64,
    known_inventory: Mutex<LruSet<InvVect>>,
    prev_get_blocks: Mutex<DuplicateRequestFilter<Hash>>,
    prev_get_headers: Mutex<DuplicateRequestFilter<Hash>>,
    /// `pN-neg`, joined by `pN-in` as soon as the handshake is done (an exited but unjoined
    /// thread keeps its stack), or by `wait_for_disconnect`.
    neg_handle: Mutex<Option<JoinHandle<()>>>,
    /// The five working threads.
    handles: Mutex<Vec<JoinHandle<()>>>,
}

/// One remote peer. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct Peer {
    inner: Arc<Inner>,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "peer {} ({}, {})",
            self.inner.id,
            self.addr(),
            if self.inner.inbound {
                "inbound"
            } else {
                "outbound"
            }
        )
    }
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

fn from_unix(secs: u64) -> Option<SystemTime> {
    (secs != 0).then(|| UNIX_EPOCH + Duration::from_secs(secs))
}

fn fire(done: Option<Sender<()>>) {
    if let Some(d) = done {
        // A full or abandoned done channel is the caller's business; never block here.
        let _ = d.try_send(());
    }
}

/// Thread name `p{id}-{role}`, at most 15 bytes: ids past what fits keep their low digits
/// (the id-to-address log line disambiguates).
fn thread_name(id: u64, role: &str) -> String {
    let digits = crate::thread::MAX_THREAD_NAME_LEN - 2 - role.len();
    let modulus = 10u64.saturating_pow(digits as u32);
    let shown = if id >= modulus { id % modulus } else { id };
    format!("p{shown}-{role}")
}

impl Peer {
    fn new(cfg: &Arc<Config>, inbound: bool, addr: Option<String>) -> Peer {
        let (quit_tx, quit_rx) = bounded(0);
        let now = Instant::now();
        let inner = Inner {
            id: NEXT_PEER_ID.fetch_add(1, Ordering::Relaxed),
            inbound,
            cfg: cfg.clone(),
            addr: OnceLock::new(),
            conn: OnceLock::new(),
            connected: AtomicBool::new(false),
            disconnecting: AtomicBool::new(false),
            reason: Mutex::new(None),
            quit_tx: Mutex::new(Some(quit_tx)),
            quit_rx,
            outbox: Mutex::new(Outbox::new(cfg.max_pending_messages)),
            send_room: Condvar::new(),
            ingress: Mutex::new(IngressSnap::default()),
            stall: Mutex::new(StallTracker::new(cfg.stall_response_timeout)),
            flags: Mutex::new(Flags {
                services: cfg.services,
                protocol_version: cfg.protocol_version,
                ..Flags::default()
            }),
            stats: Mutex::new(Stats {
                time_connected: None,
                time_offset: 0,
                starting_height: 0,
                last_block: 0,
                last_announced_block: None,
                ping: PingState::new(cfg.ping_interval, now),
            }),
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            last_send: AtomicU64::new(0),
            last_recv: AtomicU64::new(0),
            known_inventory: Mutex::new(LruSet::new(MAX_KNOWN_INVENTORY)),
            prev_get_blocks: Mutex::new(DuplicateRequestFilter::new()),
            prev_get_headers: Mutex::new(DuplicateRequestFilter::new()),
            neg_handle: Mutex::new(None),
            handles: Mutex::new(Vec::with_capacity(5)),
        };
        if let Some(a) = addr {
            let _ = inner.addr.set(a);
        }
        Peer {
            inner: Arc::new(inner),
        }
    }

    /// A peer for a connection the remote opened (btcd's `NewInboundPeer`). Nothing runs
    /// until [`Peer::associate_connection`]. Peers share `cfg` (one allocation per node, and
    /// one [`SentNonces`](super::SentNonces) cache for self-connection detection).
    pub fn new_inbound(cfg: &Arc<Config>) -> Peer {
        Peer::new(cfg, true, None)
    }

    /// A peer for a connection we open to `addr` ("host:port"; btcd's `NewOutboundPeer`).
    pub fn new_outbound(cfg: &Arc<Config>, addr: &str) -> Peer {
        let p = Peer::new(cfg, false, Some(addr.to_string()));
        if let Ok(sa) = addr.parse() {
            p.inner.flags.lock().na = Some(NetAddress::from_socket_addr(sa, ServiceFlag::NONE));
        }
        p
    }

    /// Starts the peer on a TCP connection: the handshake runs on `pN-neg`, and the other
    /// threads start when it completes. A second call fails with
    /// [`Error::AlreadyConnected`].
    pub fn associate_connection(&self, conn: TcpStream) -> Result<(), Error> {
        // Small messages (verack, ping, inv) must not wait for Nagle's algorithm.
        conn.set_nodelay(true).map_err(|source| Error::Socket {
            op: "set_nodelay",
            source,
        })?;
        self.associate_stream(conn)
    }

    /// [`Peer::associate_connection`] for any [`Conn`] (tests use `UnixStream`).
    pub fn associate_stream<C: Conn>(&self, conn: C) -> Result<(), Error> {
        let inner = &self.inner;
        if inner.connected.swap(true, Ordering::SeqCst) {
            return Err(Error::AlreadyConnected);
        }
        let conn: Arc<dyn Conn> = Arc::new(conn);
        if let Some(sa) = conn.remote_addr()
            && inner.inbound
        {
            let _ = inner.addr.set(sa.to_string());
            inner.flags.lock().na = Some(NetAddress::from_socket_addr(sa, ServiceFlag::NONE));
        }
        let _ = inner.addr.set("unknown".to_string());
        let _ = inner.conn.set(conn.clone());
        inner.stats.lock().time_connected = Some(SystemTime::now());
        log::info!(target: "btcnode::peer", "{self} connected (threads p{}-*)", inner.id);
        if inner.disconnecting.load(Ordering::SeqCst) {
            // Disconnected before the connection arrived: close it at once.
            let _ = conn.shutdown();
            return Ok(());
        }
        let p = self.clone();
        // Held across the spawn, so whoever joins pN-neg (pN-in, wait_for_disconnect) finds
        // its handle even if the handshake ends at once.
        let mut neg_slot = inner.neg_handle.lock();
        let spawned = spawn_peer_thread(thread_name(inner.id, "neg"), move || {
            let name = thread_name(p.inner.id, "neg");
            let q = p.clone();
            if catch_unwind(AssertUnwindSafe(move || negotiate_handler(q, conn))).is_err() {
                p.disconnect_with(DisconnectReason::Panicked { thread: name });
            }
        });
        match spawned {
            Ok(h) => *neg_slot = Some(h),
            Err(e) => {
                drop(neg_slot);
                self.disconnect_with(DisconnectReason::Setup(format!("spawn pN-neg: {e}")));
            }
        }
        Ok(())
    }

    /// The peer id.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The remote address ("host:port"; "unknown" for sockets without one).
    pub fn addr(&self) -> &str {
        self.inner.addr.get().map_or("unknown", String::as_str)
    }

    /// Whether the remote connected to us.
    pub fn inbound(&self) -> bool {
        self.inner.inbound
    }

    /// The remote's network address (services as advertised once its version is known).
    pub fn na(&self) -> Option<NetAddress> {
        let f = self.inner.flags.lock();
        f.na.map(|mut na| {
            na.services = f.services;
            na
        })
    }

    /// Whether a connection is associated and the peer is not disconnecting.
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::SeqCst)
            && !self.inner.disconnecting.load(Ordering::SeqCst)
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> u32 {
        self.inner.flags.lock().protocol_version
    }

    /// Services the remote advertised.
    pub fn services(&self) -> ServiceFlag {
        self.inner.flags.lock().services
    }

    /// The remote's user agent.
    pub fn user_agent(&self) -> String {
        self.inner.flags.lock().user_agent.clone()
    }

    /// Whether the remote's `version` has arrived.
    pub fn version_known(&self) -> bool {
        self.inner.flags.lock().version_known
    }

    /// Whether the remote's `verack` has arrived (the handshake is complete).
    pub fn verack_received(&self) -> bool {
        self.inner.flags.lock().verack_received
    }

    /// Whether the remote wants blocks announced with `headers` (BIP130).
    pub fn wants_headers(&self) -> bool {
        self.inner.flags.lock().send_headers_preferred
    }

    /// Whether the remote wants `addrv2` (BIP155).
    pub fn wants_addrv2(&self) -> bool {
        self.inner.flags.lock().wants_addrv2
    }

    /// Whether the remote signals segwit.
    pub fn is_witness_enabled(&self) -> bool {
        self.inner.flags.lock().witness_enabled
    }

    /// The last block height known for the remote.
    pub fn last_block(&self) -> i32 {
        self.inner.stats.lock().last_block
    }

    /// Raises the remote's known height (never lowers it).
    pub fn update_last_block_height(&self, height: i32) {
        let mut s = self.inner.stats.lock();
        s.last_block = s.last_block.max(height);
    }

    /// Records the last block the remote announced.
    pub fn update_last_announced_block(&self, hash: Hash) {
        self.inner.stats.lock().last_announced_block = Some(hash);
    }

    /// The last block the remote announced.
    pub fn last_announced_block(&self) -> Option<Hash> {
        self.inner.stats.lock().last_announced_block
    }

    /// Marks inventory as known to the remote, so it is not announced to it.
    pub fn add_known_inventory(&self, iv: InvVect) {
        self.inner.known_inventory.lock().insert(iv);
    }

    /// Whether inventory is known to the remote.
    pub fn knows_inventory(&self, iv: &InvVect) -> bool {
        self.inner.known_inventory.lock().contains(iv)
    }

    /// The first disconnect reason, once disconnecting.
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.inner.reason.lock().clone()
    }

    /// A snapshot of the peer's state and statistics.
    pub fn stats(&self) -> StatsSnap {
        let inner = &self.inner;
        let f = inner.flags.lock();
        let s = inner.stats.lock();
        let now_i = Instant::now();
        let now_s = SystemTime::now();
        let to_system = |i: Instant| now_s.checked_sub(now_i.saturating_duration_since(i));
        StatsSnap {
            id: inner.id,
            addr: self.addr().to_string(),
            inbound: inner.inbound,
            services: f.services,
            user_agent: f.user_agent.clone(),
            relay_txes: f.relay_txes,
            advertised_protocol_version: f.advertised_protocol_version,
            protocol_version: f.protocol_version,
            starting_height: s.starting_height,
            last_block: s.last_block,
            time_offset: s.time_offset,
            bytes_sent: inner.bytes_sent.load(Ordering::Relaxed),
            bytes_received: inner.bytes_received.load(Ordering::Relaxed),
            last_send: from_unix(inner.last_send.load(Ordering::Relaxed)),
            last_recv: from_unix(inner.last_recv.load(Ordering::Relaxed)),
            conn_time: s.time_connected,
            last_ping_nonce: s.ping.last_nonce(),
            last_ping_time: s.ping.last_ping_at().and_then(to_system),
            last_ping_latency: s.ping.last_latency(),
            min_ping_latency: s.ping.min_latency(),
            witness_enabled: f.witness_enabled,
            send_headers_preferred: f.send_headers_preferred,
            wants_addrv2: f.wants_addrv2,
        }
    }

    /// Queue depths and owed responses, for state dumps. Each lock is held only to copy a
    /// value out, never across a blocking call.
    pub fn debug_state(&self) -> DebugState {
        let inner = &self.inner;
        let (send_queue, pending_inv, send_bytes) = {
            let ob = inner.outbox.lock();
            (ob.queue.len(), ob.trickle.len(), ob.bytes)
        };
        DebugState {
            send_queue,
            pending_inv,
            send_bytes,
            send_limit: inner.cfg.max_send_buffer,
            ingress: *inner.ingress.lock(),
            waits: inner.stall.lock().pending(),
        }
    }

    /// Framed bytes queued for the peer and not yet written.
    pub fn send_bytes(&self) -> usize {
        self.inner.outbox.lock().bytes
    }

    /// Whether the peer is at or over its send budget ([`Config::max_send_buffer`]). A
    /// handler about to build a large reply (`headers`, blocks) checks this first and skips
    /// the reply, as Core does not process a peer's messages while `fPauseSend` is set;
    /// `pN-in` itself stops reading such a peer.
    pub fn send_buffer_full(&self) -> bool {
        self.send_bytes() >= self.inner.cfg.max_send_buffer
    }

    /// Queues a message. `done`, if given, receives `()` once the message is written or
    /// dropped (disconnect); give it room for one message (`bounded(1)`), as it is never
    /// waited on. If the peer dies its sender is dropped, which also ends a `recv`.
    ///
    /// Never waits: more than [`Config::max_pending_messages`] waiting disconnects the peer
    /// ([`DisconnectReason::SendQueueFull`]).
    pub fn queue_message(&self, msg: Message, done: Option<Sender<()>>) {
        if !self.connected() {
            fire(done);
            return;
        }
        let size = msg.encoded_len(self.protocol_version());
        self.enqueue(
            OutMsg {
                msg: Box::new(msg),
                done,
                size,
            },
            |ob, m| ob.push(m),
        );
    }

    /// Queues inventory for the trickle (blocks go out at once). Inventory known to the
    /// remote is skipped, and so is everything before the remote's version is known.
    pub fn queue_inventory(&self, iv: InvVect) {
        if self.knows_inventory(&iv) || !self.connected() {
            return;
        }
        let version_known = self.version_known();
        let is_block = iv.inv_type == InvType::BLOCK || iv.inv_type == InvType::WITNESS_BLOCK;
        self.enqueue(iv, |ob, iv| {
            match ob.trickle.queue(iv, is_block, version_known) {
                InvAction::SendNow(iv) => ob.push(inv_msg(vec![iv])),
                InvAction::Queued | InvAction::Dropped => Ok(()),
            }
        });
    }

    /// Adds to the outbox with `add`, which gets it back a message the send queue had no
    /// room for; wakes `pN-queue` if it does not watch what was added.
    fn enqueue<T>(&self, item: T, add: impl FnOnce(&mut Outbox, T) -> Result<(), OutMsg>) {
        let inner = &self.inner;
        let mut ob = inner.outbox.lock();
        if ob.closed {
            drop(ob);
            // Too late to be sent. An outbox with room for no message hands any message
            // back, so its done channel fires now; inventory is simply dropped.
            let _ = add(&mut Outbox::new(0), item).map_err(|m| fire(m.done));
            return;
        }
        let (had_msgs, had_inv) = (ob.queue.len(), ob.trickle.len());
        if let Err(m) = add(&mut ob, item) {
            drop(ob);
            fire(m.done);
            self.disconnect_with(DisconnectReason::SendQueueFull(
                inner.cfg.max_pending_messages,
            ));
            return;
        }
        let mut wake = false;
        if ob.queue.len() > had_msgs {
            wake |= !std::mem::replace(&mut ob.watching_send, true);
        }
        if ob.trickle.len() > had_inv {
            wake |= !std::mem::replace(&mut ob.watching_trickle, true);
        }
        if wake && let Some(t) = &ob.queue_thread {
            t.unpark();
        }
    }

    /// Sends `addr` with at most 1,000 of `addrs`, chosen at random when there are more.
    /// Addresses an `addr` cannot carry (Tor v3, I2P, CJDNS: no 16-byte form) are left out
    /// first. Returns what was sent; nothing is sent when nothing is left.
    pub fn push_addr_msg(&self, mut addrs: Vec<NetAddress>) -> Vec<NetAddress> {
        addrs.retain(|a| a.addr.to_legacy_bytes().is_some());
        if addrs.is_empty() {
            return addrs;
        }
        let chosen = choose_addresses(addrs, MAX_ADDR_PER_MSG, &mut rand::rng());
        let msg = Message::Addr(MsgAddr {
            addr_list: chosen.clone(),
        });
        self.queue_message(msg, None);
        chosen
    }

    /// Sends `addrv2` with at most 1,000 of `addrs`, chosen at random when there are more.
    /// Returns what was sent; nothing is sent for an empty list.
    pub fn push_addrv2_msg(&self, addrs: Vec<NetAddress>) -> Vec<NetAddress> {
        if addrs.is_empty() {
            return addrs;
        }
        let chosen = choose_addresses(addrs, MAX_ADDR_PER_MSG, &mut rand::rng());
        let msg = Message::AddrV2(MsgAddrV2 {
            addr_list: chosen.clone(),
        });
        self.queue_message(msg, None);
        chosen
    }

    /// Sends `getblocks` for `locator` and `stop`, unless it repeats the previous request.
    pub fn push_get_blocks_msg(&self, locator: &[Hash], stop: Hash) -> Result<(), Error> {
        check_locator(locator)?;
        let mut filter = self.inner.prev_get_blocks.lock();
        if filter.check_and_record(locator.first().copied(), stop) {
            log::trace!(target: "btcnode::peer", "{self}: filtering duplicate getblocks");
            return Ok(());
        }
        drop(filter);
        self.queue_message(
            Message::GetBlocks(MsgGetBlocks {
                protocol_version: self.inner.cfg.protocol_version,
                block_locator_hashes: locator.to_vec(),
                hash_stop: stop,
            }),
            None,
        );
        Ok(())
    }

    /// Sends `getheaders` for `locator` and `stop`, unless it repeats the previous request.
    pub fn push_get_headers_msg(&self, locator: &[Hash], stop: Hash) -> Result<(), Error> {
        check_locator(locator)?;
        let mut filter = self.inner.prev_get_headers.lock();
        if filter.check_and_record(locator.first().copied(), stop) {
            log::trace!(target: "btcnode::peer", "{self}: filtering duplicate getheaders");
            return Ok(());
        }
        drop(filter);
        self.queue_message(
            Message::GetHeaders(MsgGetHeaders {
                protocol_version: self.inner.cfg.protocol_version,
                block_locator_hashes: locator.to_vec(),
                hash_stop: stop,
            }),
            None,
        );
        Ok(())
    }

    /// Sends `reject` for `command` (skipped for peers older than BIP61). `hash` is used
    /// for `tx` and `block`. With `wait`, returns once the message is written or dropped.
    pub fn push_reject_msg(
        &self,
        command: &str,
        code: u8,
        reason: &str,
        hash: Option<Hash>,
        wait: bool,
    ) {
        {
            let f = self.inner.flags.lock();
            if f.version_known && f.protocol_version < REJECT_VERSION {
                return;
            }
        }
        let hash = if command == "tx" || command == "block" {
            hash.unwrap_or(Hash::ZERO)
        } else {
            Hash::ZERO
        };
        let msg = Message::Reject(MsgReject::new(command, code, reason, hash));
        if !wait {
            self.queue_message(msg, None);
            return;
        }
        let (done_tx, done_rx) = bounded(1);
        self.queue_message(msg, Some(done_tx));
        // Written, dropped, or the write timed out (which disconnects and drains).
        let _ = done_rx.recv_timeout(self.inner.cfg.write_timeout + Duration::from_secs(1));
    }

    /// Disconnects the peer (btcd's `Disconnect`); idempotent.
    pub fn disconnect(&self) {
        self.disconnect_with(DisconnectReason::Requested);
    }

    /// Disconnects with `reason` unless already disconnecting (the first reason wins):
    /// shuts the socket down and drops the quit sender, waking every thread.
    pub fn disconnect_with(&self, reason: DisconnectReason) {
        let inner = &self.inner;
        {
            let mut r = inner.reason.lock();
            if r.is_some() {
                return;
            }
            log::debug!(target: "btcnode::peer", "{self}: disconnecting: {reason}");
            *r = Some(reason.clone());
        }
        inner.disconnecting.store(true, Ordering::SeqCst);
        self.listeners().on_disconnect(self, &reason);
        if let Some(conn) = inner.conn.get() {
            let _ = conn.shutdown();
        }
        inner.quit_tx.lock().take();
        if let Some(t) = &inner.outbox.lock().queue_thread {
            t.unpark();
        }
        inner.send_room.notify_all();
    }

    /// Waits until the peer is disconnected and every one of its threads has ended, and
    /// returns why it was disconnected. Must not be called from the peer's own listeners.
    pub fn wait_for_disconnect(&self) -> DisconnectReason {
        // Returns once the quit sender is dropped.
        let _ = self.inner.quit_rx.recv();
        loop {
            let neg = self.inner.neg_handle.lock().take();
            let handles = std::mem::take(&mut *self.inner.handles.lock());
            if neg.is_none() && handles.is_empty() {
                break; // each thread registers the threads it starts before it ends
            }
            for h in neg.into_iter().chain(handles) {
                let _ = h.join();
            }
        }
        // pN-queue closed the outbox when it ended; it may never have started.
        close_outbox(&self.inner);
        self.disconnect_reason()
            .unwrap_or(DisconnectReason::Requested)
    }

    fn listeners(&self) -> &dyn super::listeners::MessageListeners {
        &*self.inner.cfg.listeners
    }

    fn is_disconnecting(&self) -> bool {
        self.inner.disconnecting.load(Ordering::SeqCst)
    }

    /// Our `version` for this peer (btcd's `localVersionMsg`).
    fn local_version_msg(&self) -> MsgVersion {
        let cfg = &self.inner.cfg;
        let last_block = cfg
            .newest_block
            .as_ref()
            .and_then(|f| f())
            .map_or(0, |(_, h)| h);
        let their_na = self.inner.flags.lock().na.unwrap_or_else(|| {
            NetAddress::from_socket_addr(([0, 0, 0, 0], 0).into(), ServiceFlag::NONE)
        });
        let our_na = NetAddress::from_socket_addr(([0, 0, 0, 0], 0).into(), cfg.services);
        let timestamp = i64::try_from(unix_now()).unwrap_or(0);
        MsgVersion::new(
            i32::try_from(cfg.protocol_version).unwrap_or(i32::MAX),
            cfg.services,
            timestamp,
            their_na,
            our_na,
            cfg.sent_nonces.new_nonce(),
            cfg.user_agent(),
            last_block,
            cfg.disable_relay_tx,
        )
    }

    /// Encodes and writes one message on the calling thread. Used by `pN-neg` (before
    /// `pN-out` exists).
    fn write_message(&self, conn: &dyn Conn, msg: &Message) -> Result<(), DisconnectReason> {
        self.write_messages(conn, &[msg])
    }

    /// Encodes and writes messages in order, coalescing small ones into writes of about
    /// [`COALESCE_BYTES`], counting bytes and calling `on_write` for each.
    fn write_messages(&self, conn: &dyn Conn, msgs: &[&Message]) -> Result<(), DisconnectReason> {
        let inner = &self.inner;
        let pver = self.protocol_version();
        let magic = inner.cfg.network.magic();
        let mut buf: Vec<u8> = Vec::new();
        let mut lens = Vec::with_capacity(msgs.len());
        let mut res: std::io::Result<()> = Ok(());
        // One deadline for the whole batch: the write timeout is the time the remote gets to
        // take what was handed over, however it trickles it in (see `write_all_by`).
        let deadline = Instant::now() + inner.cfg.write_timeout;
        for msg in msgs {
            let bytes = encode_message(msg, pver, magic).map_err(|e| {
                DisconnectReason::WriteError(format!("cannot encode {}: {e}", msg.command()))
            })?;
            lens.push(bytes.len());
            if buf.is_empty() && (bytes.len() >= COALESCE_BYTES || msgs.len() == 1) {
                res = write_all_by(conn, &bytes, deadline);
            } else {
                buf.extend_from_slice(&bytes);
                if buf.len() >= COALESCE_BYTES {
                    res = write_all_by(conn, &buf, deadline);
                    buf.clear();
                }
            }
            if res.is_err() {
                break;
            }
        }
        if res.is_ok() && !buf.is_empty() {
            res = write_all_by(conn, &buf, deadline);
        }
        match &res {
            Ok(()) => {
                let total: usize = lens.iter().sum();
                inner.bytes_sent.fetch_add(total as u64, Ordering::Relaxed);
                inner.last_send.store(unix_now(), Ordering::Relaxed);
            }
            Err(e) => {
                log::debug!(target: "btcnode::peer", "{self}: write failed: {e}");
            }
        }
        for (msg, len) in msgs.iter().zip(&lens) {
            log::trace!(target: "btcnode::peer", "{self}: sent {}", msg.command());
            self.listeners()
                .on_write(self, *len, msg, res.as_ref().err());
        }
        res.map_err(|e| {
            if is_timeout(&e) {
                DisconnectReason::WriteTimeout(inner.cfg.write_timeout)
            } else {
                DisconnectReason::WriteError(e.to_string())
            }
        })
    }
}

/// Small messages handed to `pN-out` together are written in chunks of about this size.
const COALESCE_BYTES: usize = 64 * 1024;

fn check_locator(locator: &[Hash]) -> Result<(), Error> {
    if locator.len() > MAX_BLOCK_LOCATORS_PER_MSG {
        return Err(Error::TooManyLocatorHashes {
            count: locator.len(),
            max: MAX_BLOCK_LOCATORS_PER_MSG,
        });
    }
    Ok(())
}

/// An `inv` announcing `inv_list`, as an outgoing message.
fn inv_msg(inv_list: Vec<InvVect>) -> OutMsg {
    let msg = Message::Inv(MsgInv { inv_list });
    OutMsg {
        // The inv encoding does not depend on the protocol version.
        size: msg.encoded_len(0),
        msg: Box::new(msg),
        done: None,
    }
}

/// Closes the outbox (nothing added later is sent) and fires the done channels of every
/// message still in it; inventory waiting for the trickle is dropped.
fn close_outbox(inner: &Inner) {
    let (msgs, _trickle) = {
        let mut ob = inner.outbox.lock();
        ob.closed = true;
        let msgs: Vec<OutMsg> = ob.queue.drain().collect();
        let drained: usize = msgs.iter().map(|m| m.size).sum();
        ob.bytes = ob.bytes.saturating_sub(drained);
        (msgs, std::mem::take(&mut ob.trickle))
    };
    inner.send_room.notify_all();
    msgs.into_iter().for_each(|m| fire(m.done));
}

/// What a reading thread carries from one [`read_next`] to the next.
#[derive(Default)]
struct ReadState {
    /// The socket's read timeout as last set (`None` before the first read).
    current_timeout: Option<Duration>,
    /// A message was handled since the stack was last trimmed: the first read timeout
    /// between messages then ends [`read_next`] with `Ok(None)`, so its caller can give back
    /// the pages the handler used. Only `pN-in` sets it (see [`in_handler`]).
    stack_dirty: bool,
}

/// Reads until the framer yields a message, the deadline passes or the connection ends.
/// Never loses a byte to a timeout: every read goes into the framer. `timeout_reason` is
/// the reason reported when `deadline` passes. `Ok(None)`: the peer went quiet between
/// messages while [`ReadState::stack_dirty`] was set (which it clears).
fn read_next(
    p: &Peer,
    conn: &dyn Conn,
    framer: &mut Framer,
    deadline: Instant,
    timeout_reason: impl Fn() -> DisconnectReason,
    state: &mut ReadState,
) -> Result<Option<(Message, usize)>, DisconnectReason> {
    let poll = p.inner.cfg.read_poll_timeout.max(Duration::from_millis(1));
    loop {
        match framer.next_message() {
            Some(Ok(m)) => return Ok(Some(m)),
            Some(Err(e)) => {
                p.listeners().on_read(p, 0, None, Some(&e));
                return Err(DisconnectReason::Malformed(e));
            }
            None => {}
        }
        if p.is_disconnecting() {
            return Err(DisconnectReason::Requested);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timeout_reason());
        }
        let wait = poll.min(deadline - now).max(Duration::from_millis(1));
        // Only touch the socket option when the wait changes noticeably.
        let stale = match state.current_timeout {
            Some(c) => c > wait || wait - c > wait / 4,
            None => true,
        };
        if stale {
            conn.set_read_timeout(Some(wait))
                .map_err(|e| DisconnectReason::ReadError(format!("set read timeout: {e}")))?;
            state.current_timeout = Some(wait);
        }
        match framer.read_from(&mut ConnReader(conn)) {
            Ok(0) => return Err(DisconnectReason::RemoteClosed),
            Ok(n) => {
                p.inner
                    .bytes_received
                    .fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) if is_timeout(&e) || e.kind() == std::io::ErrorKind::Interrupted => {
                // Quiet for a whole poll between messages: the peer is idle for now.
                if state.stack_dirty && framer.buffered() == 0 {
                    state.stack_dirty = false;
                    return Ok(None);
                }
            }
            Err(e) => return Err(DisconnectReason::ReadError(e.to_string())),
        }
    }
}

/// Writes a negotiation message.
fn write_outgoing(p: &Peer, conn: &dyn Conn, o: Outgoing) -> Result<(), DisconnectReason> {
    let msg = match o {
        Outgoing::Version => Message::Version(p.local_version_msg()),
        Outgoing::SendAddrV2 => Message::SendAddrV2,
        Outgoing::VerAck => Message::Verack,
        Outgoing::Reject {
            command,
            code,
            reason,
        } => Message::Reject(MsgReject::new(command, code, reason, Hash::ZERO)),
    };
    p.write_message(conn, &msg)
}

/// Records what the remote's `version` tells (btcd's `readRemoteVersionMsg` bookkeeping).
fn record_remote_version(p: &Peer, v: &MsgVersion, negotiated: u32) {
    let advertised = u32::try_from(v.protocol_version).unwrap_or(0);
    {
        let mut f = p.inner.flags.lock();
        f.advertised_protocol_version = advertised;
        f.protocol_version = negotiated;
        f.version_known = true;
        f.services = v.services;
        f.user_agent = v.user_agent.clone();
        f.relay_txes = !v.disable_relay_tx;
        f.witness_enabled = v.services.has(ServiceFlag::NODE_WITNESS);
    }
    let mut s = p.inner.stats.lock();
    s.last_block = v.last_block;
    s.starting_height = v.last_block;
    s.time_offset = v.timestamp - i64::try_from(unix_now()).unwrap_or(0);
}

/// Runs on thread `pN-neg`: the version handshake within the negotiate timeout, then starts
/// the peer's five working threads. Returns when the handshake is done, failed or timed out.
fn negotiate_handler(p: Peer, conn: Arc<dyn Conn>) {
    let cfg = p.inner.cfg.clone();
    if let Err(e) = conn.set_write_timeout(Some(cfg.write_timeout)) {
        p.disconnect_with(DisconnectReason::Setup(format!("set write timeout: {e}")));
        return;
    }
    let mut framer = Framer::new(cfg.network.magic(), cfg.protocol_version);
    framer.set_max_payload(cfg.max_receive_buffer);
    let mut neg = Negotiation::new(
        p.inner.inbound,
        cfg.protocol_version,
        cfg.min_protocol_version,
        cfg.negotiate_timeout,
        Instant::now(),
    )
    .allow_self_connection(cfg.allow_self_connections);
    let mut read_state = ReadState::default();
    let result = (|| -> Result<(), DisconnectReason> {
        for o in neg.start() {
            write_outgoing(&p, &*conn, o)?;
        }
        let mut first = true;
        loop {
            let timeout = cfg.negotiate_timeout;
            // Never `None`: the handshake does not mark its stack for trimming.
            let next = read_next(
                &p,
                &*conn,
                &mut framer,
                neg.deadline(),
                || DisconnectReason::NegotiateTimeout(timeout),
                &mut read_state,
            );
            let next = match next {
                Err(DisconnectReason::Malformed(_))
                    if first && framer.failed_foreign_magic().is_some() =>
                {
                    let reason = DisconnectReason::NotV1Message;
                    log::info!(target: "btcnode::peer", "{p}: closed: {reason}");
                    return Err(reason);
                }
                other => other?,
            };
            let Some((msg, n)) = next else {
                continue;
            };
            first = false;
            if let Message::Reject(r) = &msg {
                let by_remote = format!(
                    "reject {} code {:#04x} {:?}",
                    crate::wire::hex::printable(r.cmd.as_bytes()),
                    r.code,
                    crate::wire::hex::printable(r.reason.as_bytes())
                );
                log::warn!(target: "btcnode::peer", "{p}: the remote rejected us during the handshake: {by_remote}");
                return Err(DisconnectReason::Rejected { by_remote });
            }
            p.inner.last_recv.store(unix_now(), Ordering::Relaxed);
            p.listeners().on_read(&p, n, Some(&msg), None);
            let received = match &msg {
                Message::Version(v) => Received::Version {
                    protocol_version: u32::try_from(v.protocol_version).unwrap_or(0),
                    nonce: v.nonce,
                },
                Message::Verack => Received::VerAck,
                Message::SendAddrV2 => Received::SendAddrV2,
                Message::WtxidRelay => Received::WtxidRelay,
                Message::Unknown { command, .. } => Received::Unknown(command),
                other => Received::Other(other.command()),
            };
            let step = match neg.receive(received, &cfg.sent_nonces) {
                Ok(step) => step,
                Err(failure) => {
                    if let Some(r) = failure.reject {
                        let _ = write_outgoing(&p, &*conn, r);
                    }
                    return Err(failure.reason);
                }
            };
            match &msg {
                Message::Version(v) => {
                    record_remote_version(&p, v, neg.negotiated_version());
                    framer.set_pver(neg.negotiated_version());
                    log::debug!(target: "btcnode::peer", "{p}: negotiated protocol version {}", neg.negotiated_version());
                    if let Some(reject) = p.listeners().on_version(&p, v) {
                        let reason = reject.reason.clone();
                        let _ = p.write_message(&*conn, &Message::Reject(reject));
                        return Err(DisconnectReason::VersionRejected { reason });
                    }
                }
                Message::SendAddrV2 if neg.wants_addrv2() => {
                    p.inner.flags.lock().wants_addrv2 = true;
                    p.listeners().on_send_addr_v2(&p);
                }
                Message::Verack => {
                    p.inner.flags.lock().verack_received = true;
                    p.listeners().on_verack(&p);
                }
                _ => {}
            }
            for o in step.send {
                write_outgoing(&p, &*conn, o)?;
            }
            if step.done {
                return Ok(());
            }
        }
    })();
    if let Err(reason) = result {
        log::debug!(target: "btcnode::peer", "{p}: handshake failed: {reason}");
        p.disconnect_with(reason);
        return;
    }
    log::debug!(target: "btcnode::peer", "{p}: handshake complete");
    if let Err(e) = start_threads(&p, conn, framer) {
        p.disconnect_with(DisconnectReason::Setup(format!("spawn peer threads: {e}")));
    }
}

/// Spawns one of the peer's working threads, `p{id}-{role}`; a panic in `f` disconnects
/// the peer (and only it).
fn spawn_worker<F>(p: &Peer, role: &'static str, f: F) -> std::io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    let q = p.clone();
    spawn_peer_thread(thread_name(p.inner.id, role), move || {
        if catch_unwind(AssertUnwindSafe(f)).is_err() {
            let thread = thread_name(q.inner.id, role);
            q.disconnect_with(DisconnectReason::Panicked { thread });
        }
    })
}

/// Starts `pN-in`, which starts the other four working threads before it reads
/// ([`start_workers`]): `pN-neg` ends after one spawn instead of five, so a burst of
/// handshakes leaves fewer short-lived threads (and fewer cached stacks) behind.
fn start_threads(p: &Peer, conn: Arc<dyn Conn>, framer: Framer) -> std::io::Result<()> {
    // Under the handles lock, so a concurrent `wait_for_disconnect` sees pN-in or nothing.
    let mut handles = p.inner.handles.lock();
    if p.is_disconnecting() {
        return Ok(());
    }
    let q = p.clone();
    handles.push(spawn_worker(p, "in", move || {
        start_workers(&q, &conn);
        in_handler(q, conn, framer)
    })?);
    Ok(())
}

/// Runs on `pN-in` before it reads: starts `pN-stall`, `pN-queue`, `pN-out` and `pN-ping`
/// ([`spawn_workers`]), disconnecting the peer if one cannot be started. Not inlined: its
/// frame (four spawns, an error message) would otherwise sit under every read `pN-in` makes
/// for the life of the peer, pushing its message handlers onto a third stack page.
#[inline(never)]
fn start_workers(p: &Peer, conn: &Arc<dyn Conn>) {
    if let Err(e) = spawn_workers(p, conn) {
        p.disconnect_with(DisconnectReason::Setup(format!("spawn peer threads: {e}")));
    }
}

/// Spawns the four threads under the handles lock, so `wait_for_disconnect` (which joins
/// until no handle is left) finds all of them once `pN-in` has ended.
fn spawn_workers(p: &Peer, conn: &Arc<dyn Conn>) -> std::io::Result<()> {
    let mut handles = p.inner.handles.lock();
    if p.is_disconnecting() {
        return Ok(());
    }
    // A rendezvous: pN-queue hands a batch over only when pN-out is idle, so at most one
    // batch is ever with the writer and the rest stay in order in the outbox.
    let (send_tx, send_rx) = bounded::<Vec<OutMsg>>(0);

    let q = p.clone();
    handles.push(spawn_worker(p, "stall", move || stall_handler(q))?);

    let q = p.clone();
    handles.push(spawn_worker(p, "queue", move || {
        // Close even after a panic in the loop, so no done channel is left waiting.
        let r = catch_unwind(AssertUnwindSafe(|| queue_handler(&q, send_tx)));
        close_outbox(&q.inner);
        if let Err(e) = r {
            std::panic::resume_unwind(e);
        }
    })?);

    let q = p.clone();
    let c = conn.clone();
    handles.push(spawn_worker(p, "out", move || out_handler(q, c, send_rx))?);

    let q = p.clone();
    handles.push(spawn_worker(p, "ping", move || ping_handler(q))?);
    Ok(())
}

/// Runs on thread `pN-in`: reads messages, keeps the idle deadline, feeds the stall tracker
/// and dispatches to the listeners (btcd's `inHandler`). Returns on end of stream, a read
/// error, a malformed message, the idle timeout or disconnect, and disconnects the peer.
fn in_handler(p: Peer, conn: Arc<dyn Conn>, mut framer: Framer) {
    // pN-neg is ending: join it now so its stack is released, not held until disconnect.
    let neg = p.inner.neg_handle.lock().take();
    if let Some(h) = neg {
        let _ = h.join();
    }
    let cfg = &p.inner.cfg;
    let idle_timeout = cfg.idle_timeout;
    let mut idle_deadline = Instant::now() + idle_timeout;
    let mut read_state = ReadState::default();
    let mut ingress = IngressLimit::new(
        cfg.ingress_msgs_per_sec,
        cfg.ingress_msg_burst,
        cfg.ingress_bytes_per_sec,
        cfg.ingress_byte_burst,
        Instant::now(),
    );
    let reason = loop {
        if p.is_disconnecting() {
            break DisconnectReason::Requested; // not recorded: the first reason stands
        }
        // Not reading while paused: the remote was not heard, so its idle clock stops.
        match pause_while_over_budget(&p, &mut ingress) {
            Ok(paused) => idle_deadline += paused,
            Err(r) => break r,
        }
        let (msg, n) = match read_next(
            &p,
            &*conn,
            &mut framer,
            idle_deadline,
            || DisconnectReason::IdleTimeout(idle_timeout),
            &mut read_state,
        ) {
            Ok(Some(m)) => m,
            Ok(None) => {
                // Quiet after a message: give back the stack pages its handler used (the
                // reader parks a little over a page deep, its handlers go further). Called
                // here, not deeper, so the pages below this loop's own frame go too.
                release_unused_stack();
                continue;
            }
            Err(DisconnectReason::Malformed(e)) => {
                reject_malformed(&p, &e);
                break DisconnectReason::Malformed(e);
            }
            Err(r) => break r,
        };
        let now = Instant::now();
        ingress.on_bytes(n, now);
        ingress.on_message(now);
        p.inner.last_recv.store(unix_now(), Ordering::Relaxed);
        p.listeners().on_read(&p, n, Some(&msg), None);
        log::trace!(target: "btcnode::peer", "{p}: received {}", msg.command());
        {
            let mut stall = p.inner.stall.lock();
            stall.on_receive(msg.command());
            stall.on_handler_start(now);
        }
        if let Some(r) = dispatch(&p, msg, n) {
            break r;
        }
        p.inner.stall.lock().on_handler_done(Instant::now());
        idle_deadline = Instant::now() + idle_timeout;
        read_state.stack_dirty = true;
    };
    if matches!(reason, DisconnectReason::IdleTimeout(_)) && !p.is_disconnecting() {
        log::warn!(target: "btcnode::peer", "{p}: no answer for {idle_timeout:?} -- disconnecting");
    }
    p.disconnect_with(reason);
}

/// Stops `pN-in` from reading while the peer is at or over its send budget (Core's
/// `fPauseSend`: TCP then pushes back on a remote that asks without reading), and while its
/// ingress buckets are dry. Returns how long it paused. A send buffer still full after
/// twice the write timeout drops the peer ([`DisconnectReason::SendBufferFull`]); a dry
/// bucket never does.
fn pause_while_over_budget(
    p: &Peer,
    ingress: &mut IngressLimit,
) -> Result<Duration, DisconnectReason> {
    let inner = &p.inner;
    let limit = inner.cfg.max_send_buffer;
    // Twice the write timeout: a writer that is stuck altogether hits its own deadline
    // first (WriteTimeout); this catches a remote that reads, but too slowly to ever get
    // under its budget.
    let give_up = inner.cfg.write_timeout.saturating_mul(2);
    let start = Instant::now();
    {
        let mut ob = inner.outbox.lock();
        while ob.bytes >= limit && !ob.closed {
            if p.is_disconnecting() {
                return Err(DisconnectReason::Requested);
            }
            let waited = start.elapsed();
            if waited >= give_up {
                return Err(DisconnectReason::SendBufferFull {
                    queued: ob.bytes,
                    limit,
                });
            }
            // Woken when pN-out gives bytes back or on disconnect; the timeout only bounds
            // how late the write timeout is noticed.
            inner.send_room.wait_for(&mut ob, give_up - waited);
        }
    }
    let wait = ingress.wait(Instant::now());
    *inner.ingress.lock() = ingress.snap();
    if !wait.is_zero() {
        log::trace!(target: "btcnode::peer", "{p}: ingress limit: not reading for {wait:?}");
        // Disconnect drops the quit sender, which ends this wait early.
        if let Err(RecvTimeoutError::Disconnected) = inner.quit_rx.recv_timeout(wait) {
            return Err(DisconnectReason::Requested);
        }
    }
    Ok(start.elapsed())
}

/// Tells the remote why its message could not be read (btcd sends `reject` malformed).
/// Kept out of [`in_handler`] like [`dispatch`].
#[cold]
#[inline(never)]
fn reject_malformed(p: &Peer, e: &crate::wire::Error) {
    if !p.is_disconnecting() {
        log::warn!(target: "btcnode::peer", "{p}: cannot read message: {e}");
        let text = format!("can't read message from {p}: {e}");
        p.push_reject_msg("malformed", REJECT_MALFORMED, &text, None, true);
    }
}

/// Handles one message after the handshake; `Some` ends the connection. Not inlined into
/// [`in_handler`]: its frame is needed only while a message is handled, and kept out of
/// the reader's own frame it does not sit on the stack while the reader is parked, which
/// leaves a parked reader's second stack page room for the handlers.
#[inline(never)]
fn dispatch(p: &Peer, msg: Message, wire_len: usize) -> Option<DisconnectReason> {
    let l = p.listeners();
    match &msg {
        Message::Version(_) => {
            p.push_reject_msg(
                "version",
                REJECT_DUPLICATE,
                "duplicate version message",
                None,
                true,
            );
            return Some(DisconnectReason::DuplicateVersion);
        }
        Message::Verack => {
            p.push_reject_msg(
                "verack",
                REJECT_DUPLICATE,
                "duplicate verack message",
                None,
                true,
            );
            return Some(DisconnectReason::DuplicateVerAck);
        }
        Message::SendAddrV2 => return Some(DisconnectReason::SendAddrV2AfterHandshake),
        Message::GetAddr => l.on_get_addr(p),
        Message::Addr(m) => l.on_addr(p, m),
        Message::AddrV2(m) => l.on_addr_v2(p, m),
        Message::Ping(m) => {
            if p.protocol_version() > BIP0031_VERSION {
                p.queue_message(Message::Pong(MsgPong { nonce: m.nonce }), None);
            }
            l.on_ping(p, m);
        }
        Message::Pong(m) => {
            let pver = p.protocol_version();
            p.inner
                .stats
                .lock()
                .ping
                .on_pong(m.nonce, pver, Instant::now());
            l.on_pong(p, m);
        }
        Message::MemPool => l.on_mem_pool(p),
        Message::Tx(m) => l.on_tx(p, m),
        Message::Block(m) => l.on_block(p, m, wire_len),
        Message::Inv(m) => l.on_inv(p, m),
        Message::Headers(m) => l.on_headers(p, m),
        Message::NotFound(m) => l.on_not_found(p, m),
        Message::GetData(m) => l.on_get_data(p, m),
        Message::GetBlocks(m) => l.on_get_blocks(p, m),
        Message::GetHeaders(m) => l.on_get_headers(p, m),
        Message::GetCFilters(m) => l.on_get_cfilters(p, m),
        Message::GetCFHeaders(m) => l.on_get_cfheaders(p, m),
        Message::GetCFCheckpt(m) => l.on_get_cfcheckpt(p, m),
        Message::CFilter(m) => l.on_cfilter(p, m),
        Message::CFHeaders(m) => l.on_cfheaders(p, m),
        Message::CFCheckpt(m) => l.on_cfcheckpt(p, m),
        Message::FeeFilter(m) => l.on_fee_filter(p, m),
        Message::FilterAdd(m) => l.on_filter_add(p, m),
        Message::FilterClear => l.on_filter_clear(p),
        Message::FilterLoad(m) => l.on_filter_load(p, m),
        Message::MerkleBlock(m) => l.on_merkle_block(p, m),
        Message::Reject(m) => l.on_reject(p, m),
        Message::SendHeaders => {
            p.inner.flags.lock().send_headers_preferred = true;
            l.on_send_headers(p);
        }
        Message::SendCmpct(m) => l.on_send_cmpct(p, m),
        Message::WtxidRelay => {
            log::debug!(target: "btcnode::peer", "{p}: ignoring wtxidrelay after the handshake");
        }
        Message::Unknown { command, .. } => {
            log::debug!(target: "btcnode::peer", "{p}: ignoring unknown command {command:?}");
        }
    }
    None
}

/// Runs on thread `pN-queue`: btcd's `queueHandler`. Hands the waiting messages to `pN-out`
/// in order, in batches, whenever it is idle, and turns the inventory trickle into `inv`
/// messages every trickle interval; callers fill the [`Outbox`] themselves and unpark this
/// thread when it does not watch what they add. Returns on quit (or when `pN-out` is gone);
/// its caller then closes the outbox, firing every waiting message's done channel.
fn queue_handler(p: &Peer, send_tx: Sender<Vec<OutMsg>>) {
    let inner = &p.inner;
    inner.outbox.lock().queue_thread = Some(std::thread::current());
    let interval = inner.cfg.trickle_interval;
    // btcd's trickle ticker, as a deadline (no timer channel to allocate): a trickle that
    // falls due while nothing waits happens as soon as something does.
    let mut next_trickle = Instant::now() + interval;
    // Checked each round: disconnect unparks this thread, and may have come before it ran.
    while !p.is_disconnecting() {
        // An idle peer's queue thread sleeps until something arrives: the trickle deadline
        // is only watched while inventory waits, the writer only while messages wait.
        let (has_msgs, has_inv) = {
            let mut ob = inner.outbox.lock();
            ob.watching_send = !ob.queue.is_empty();
            ob.watching_trickle = !ob.trickle.is_empty();
            (ob.watching_send, ob.watching_trickle)
        };
        let wait = if has_inv {
            next_trickle.saturating_duration_since(Instant::now())
        } else {
            Duration::MAX // no deadline
        };
        if has_msgs {
            crossbeam_channel::select! {
                // The batch is taken only once pN-out is ready for it.
                send(send_tx, inner.outbox.lock().queue.take_batch(MAX_SEND_BATCH)) -> res => {
                    if let Err(e) = res {
                        e.into_inner().into_iter().for_each(|m| fire(m.done));
                        break; // pN-out is gone
                    }
                    continue;
                }
                recv(inner.quit_rx) -> _ => break, // disconnect
                default(wait) => {}
            }
        } else if has_inv {
            std::thread::park_timeout(wait);
        } else {
            std::thread::park();
        }
        if !has_inv || Instant::now() < next_trickle {
            continue; // woken by a caller (or spuriously): look at the outbox again
        }
        next_trickle = Instant::now() + interval;
        let mut ob = inner.outbox.lock();
        let batches = ob.trickle.on_tick(&mut inner.known_inventory.lock());
        for inv_list in batches {
            if let Err(full) = ob.push(inv_msg(inv_list)) {
                drop(ob);
                fire(full.done);
                p.disconnect_with(DisconnectReason::SendQueueFull(
                    inner.cfg.max_pending_messages,
                ));
                return; // disconnected: the remote is not reading
            }
        }
    }
}

/// Runs on thread `pN-out`: btcd's `outHandler`. Writes each batch handed over by
/// `pN-queue` in order (with the socket's write timeout), tells the stall tracker and records
/// pings; once the peer is disconnecting it only fires done channels. Returns when `pN-queue`
/// has ended (it ends on quit), after every batch handed over.
fn out_handler(p: Peer, conn: Arc<dyn Conn>, send_rx: Receiver<Vec<OutMsg>>) {
    let inner = &p.inner;
    // Ends when pN-queue drops its sender, so nothing handed over is left behind.
    for batch in send_rx.iter() {
        if !p.is_disconnecting() {
            let now = Instant::now();
            let pver = p.protocol_version();
            for m in &batch {
                if let Message::Ping(MsgPing { nonce }) = *m.msg {
                    inner.stats.lock().ping.on_ping_sent(nonce, pver, now);
                }
                inner.stall.lock().on_send(m.msg.command(), now);
            }
            let msgs: Vec<&Message> = batch.iter().map(|m| &*m.msg).collect();
            if let Err(reason) = p.write_messages(&*conn, &msgs) {
                p.disconnect_with(reason);
            }
        }
        // Written (or dropped): the budget gets its bytes back and a paused reader goes on.
        let written: usize = batch.iter().map(|m| m.size).sum();
        {
            let mut ob = inner.outbox.lock();
            ob.bytes = ob.bytes.saturating_sub(written);
        }
        inner.send_room.notify_all();
        batch.into_iter().for_each(|m| fire(m.done));
    }
}

/// Runs on thread `pN-stall`: btcd's `stallHandler`, the ticker around the peer's
/// [`StallTracker`] (which `pN-in` and `pN-out` feed directly). Returns on quit.
fn stall_handler(p: Peer) {
    let cfg = &p.inner.cfg;
    loop {
        let next_tick = Instant::now() + cfg.stall_tick_interval;
        // Nothing is ever sent on quit: any return but the timeout is the disconnect.
        if p.inner.quit_rx.recv_deadline(next_tick) != Err(RecvTimeoutError::Timeout) {
            break; // disconnect
        }
        if cfg.disable_stall_handler || p.is_disconnecting() {
            continue;
        }
        let overdue = p.inner.stall.lock().on_tick(Instant::now());
        if let Some(expected) = overdue {
            log::debug!(target: "btcnode::peer", "{p}: appears to be stalled or misbehaving, {} timeout -- disconnecting", expected.command());
            p.disconnect_with(DisconnectReason::Stalled {
                waiting_for: expected.command(),
            });
        }
    }
}

/// Runs on thread `pN-ping`: btcd's `pingHandler`. Queues a ping with a fresh nonce every
/// ping interval. Returns on quit.
fn ping_handler(p: Peer) {
    let inner = &p.inner;
    // The first ping is due one interval after the handshake.
    inner.stats.lock().ping = PingState::new(inner.cfg.ping_interval, Instant::now());
    loop {
        let next = inner.stats.lock().ping.next_ping_at();
        if inner.quit_rx.recv_deadline(next) != Err(RecvTimeoutError::Timeout) {
            break; // disconnect
        }
        if inner.stats.lock().ping.poll(Instant::now()) {
            p.queue_message(
                Message::Ping(MsgPing {
                    nonce: random_nonce(),
                }),
                None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_names_fit_linux() {
        assert_eq!(thread_name(7, "queue"), "p7-queue");
        for role in ["neg", "in", "out", "queue", "stall", "ping"] {
            assert!(thread_name(u64::MAX, role).len() <= 15, "{role}");
        }
    }
}
