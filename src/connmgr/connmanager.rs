//! The connection manager's threads: `connmgr` (the handler that owns all request state),
//! short-lived `dial-N` threads, and one `listen-N` thread per listener. btcd counterpart:
//! `connmgr/connmanager.go`.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, select};
use parking_lot::Mutex;

use super::inbound::{InboundLimiter, InboundSlot, MAX_PENDING_HANDSHAKES_PER_GROUP};
use super::rules::{
    Action, ConnRules, DEFAULT_RETRY_DURATION, DEFAULT_TARGET_OUTBOUND, RetryPolicy,
};
use super::{ConnReq, ConnTarget, Error};
use crate::socks::Dialer;
use crate::thread::spawn_service_thread;

/// Capacity of the one channel that feeds the `connmgr` thread. Senders block (selecting on
/// quit) when it is full; the handler never sends to it itself, so it always drains.
pub const REQUESTS_CHANNEL_CAPACITY: usize = 64;

/// Default cap on inbound sockets: btcd's default `--maxpeers` (125) minus the outbound
/// target (8).
pub const DEFAULT_MAX_INBOUND: usize = 125 - DEFAULT_TARGET_OUTBOUND as usize;

/// How long `stop` waits for the self-connection that wakes a listener's `accept()`.
const WAKE_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Dials a target (btcd's `Config.Dial`). It blocks a `dial-N` thread, so it must have its
/// own timeout; [`dial_fn`] makes one from a [`Dialer`].
pub type DialFn = Arc<dyn Fn(&ConnTarget) -> io::Result<TcpStream> + Send + Sync>;
/// Picks an address for an automatic request, or `None` if there is none now
/// (btcd's `GetNewAddress`). Runs on a `dial-N` thread.
pub type GetNewAddressFn = Arc<dyn Fn() -> Option<ConnTarget> + Send + Sync>;
/// An outbound connection is established (btcd's `OnConnection`). Runs on the `dial-N`
/// thread that dialed it, never on `connmgr`; hand the stream off and return.
pub type OnConnectionFn = Arc<dyn Fn(ConnReq, TcpStream) + Send + Sync>;
/// An established connection was disconnected or removed (btcd's `OnDisconnection`). Runs
/// on the thread that called [`ConnManager::disconnect`] or [`ConnManager::remove`].
pub type OnDisconnectionFn = Arc<dyn Fn(ConnReq) + Send + Sync>;
/// An inbound socket was admitted (btcd's `OnAccept`). Runs on its `listen-N` thread, which
/// accepts nothing else meanwhile; hand the stream off and return. Keep the slot for the
/// life of the peer and call [`InboundSlot::complete`] when its handshake is done.
pub type OnAcceptFn = Arc<dyn Fn(TcpStream, SocketAddr, InboundSlot) + Send + Sync>;

/// A [`DialFn`] that dials through `dialer` with `timeout` for the whole exchange.
pub fn dial_fn(dialer: Dialer, timeout: Duration) -> DialFn {
    Arc::new(move |t: &ConnTarget| dialer.dial(t, timeout).map_err(io::Error::from))
}

/// The connection manager's configuration (btcd's `connmgr.Config`).
#[derive(Clone)]
pub struct Config {
    /// Base retry duration for permanent requests and throttled automatic ones.
    pub retry_duration: Duration,
    /// Outbound connections to keep (automatic requests are made only with
    /// `get_new_address`).
    pub target_outbound: u32,
    /// Cap on admitted inbound sockets (max peers minus outbound slots).
    pub max_inbound: usize,
    /// Most unfinished handshakes per IPv4 /24 or IPv6 /64.
    pub max_pending_handshakes_per_group: usize,
    /// How to dial.
    pub dial: DialFn,
    /// Address source for automatic requests.
    pub get_new_address: Option<GetNewAddressFn>,
    /// Outbound connection callback.
    pub on_connection: Option<OnConnectionFn>,
    /// Disconnection callback.
    pub on_disconnection: Option<OnDisconnectionFn>,
    /// Inbound callback; without it no listener is started (as in btcd).
    pub on_accept: Option<OnAcceptFn>,
}

impl Config {
    /// btcd's defaults with the given dial function.
    pub fn new(dial: DialFn) -> Config {
        Config {
            retry_duration: DEFAULT_RETRY_DURATION,
            target_outbound: DEFAULT_TARGET_OUTBOUND,
            max_inbound: DEFAULT_MAX_INBOUND,
            max_pending_handshakes_per_group: MAX_PENDING_HANDSHAKES_PER_GROUP,
            dial,
            get_new_address: None,
            on_connection: None,
            on_disconnection: None,
            on_accept: None,
        }
    }
}

/// A snapshot of the manager's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Pending (dialing or waiting to retry) requests, by id.
    pub pending: Vec<ConnReq>,
    /// Established requests, by id.
    pub established: Vec<ConnReq>,
    /// Consecutive failed automatic attempts.
    pub failed_attempts: u32,
    /// `dial-N` threads not yet joined.
    pub dial_threads: usize,
}

/// Messages to the `connmgr` thread.
enum Request {
    Connect(ConnReq, Sender<u64>),
    Connected {
        id: u64,
        addr: ConnTarget,
        stream: TcpStream,
        ack: Sender<Option<ConnReq>>,
    },
    Failed {
        id: u64,
        addr: Option<ConnTarget>,
        error: String,
    },
    Disconnect {
        id: u64,
        retry: bool,
        reply: Sender<Option<ConnReq>>,
    },
    Snapshot(Sender<Snapshot>),
}

/// The connection manager (btcd's `ConnManager`): keeps `target_outbound` connections,
/// retries permanent ones, accepts inbound ones within the caps. Dropping it stops it.
pub struct ConnManager {
    requests_tx: Sender<Request>,
    quit_tx: Mutex<Option<Sender<()>>>,
    quit_rx: Receiver<()>,
    stop_flag: Arc<AtomicBool>,
    handler: Mutex<Option<JoinHandle<()>>>,
    listeners: Mutex<Vec<(SocketAddr, JoinHandle<()>)>>,
    limiter: Arc<Mutex<InboundLimiter>>,
    on_disconnection: Option<OnDisconnectionFn>,
}

impl ConnManager {
    /// Starts the manager: the `connmgr` thread, a `listen-N` thread per listener (only with
    /// `on_accept`), and `target_outbound` automatic requests (only with `get_new_address`).
    pub fn start(cfg: Config, listeners: Vec<TcpListener>) -> Result<ConnManager, Error> {
        let (requests_tx, requests_rx) = bounded(REQUESTS_CHANNEL_CAPACITY);
        let (quit_tx, quit_rx) = bounded::<()>(0);
        let stop_flag = Arc::new(AtomicBool::new(false));
        let limiter = Arc::new(Mutex::new(InboundLimiter::new(
            cfg.max_inbound,
            cfg.max_pending_handshakes_per_group,
        )));
        let mut cm = ConnManager {
            requests_tx: requests_tx.clone(),
            quit_tx: Mutex::new(Some(quit_tx)),
            quit_rx: quit_rx.clone(),
            stop_flag: Arc::clone(&stop_flag),
            handler: Mutex::new(None),
            listeners: Mutex::new(Vec::new()),
            limiter: Arc::clone(&limiter),
            on_disconnection: cfg.on_disconnection.clone(),
        };
        let handler = Handler {
            rules: ConnRules::new(
                RetryPolicy {
                    retry_duration: cfg.retry_duration,
                },
                cfg.target_outbound,
                cfg.get_new_address.is_some(),
            ),
            cfg: cfg.clone(),
            requests_tx,
            requests_rx,
            quit_rx,
            streams: HashMap::new(),
            dials: Vec::new(),
        };
        let h = spawn_service_thread("connmgr".into(), move || handler.run()).map_err(|e| {
            Error::Spawn {
                thread: "connmgr".into(),
                source: e,
            }
        })?;
        *cm.handler.get_mut() = Some(h);
        if cfg.on_accept.is_none() && !listeners.is_empty() {
            log::warn!(target: "btcnode::connmgr", "no accept callback: not listening");
        }
        if let Some(on_accept) = cfg.on_accept {
            for (n, l) in listeners.into_iter().enumerate() {
                let local = l.local_addr().map_err(Error::Listener)?;
                let name = format!("listen-{n}");
                let (stop, lim, cb) = (
                    Arc::clone(&stop_flag),
                    Arc::clone(&limiter),
                    on_accept.clone(),
                );
                let h =
                    spawn_service_thread(name.clone(), move || listen_handler(l, stop, lim, cb))
                        .map_err(|e| Error::Spawn {
                            thread: name,
                            source: e,
                        })?;
                log::info!(target: "btcnode::connmgr", "listening on {local} (listen-{n})");
                cm.listeners.get_mut().push((local, h));
            }
        }
        Ok(cm)
    }

    fn send(&self, r: Request) -> Result<(), Error> {
        select! {
            send(self.requests_tx, r) -> res => res.map_err(|_| Error::Stopped),
            recv(self.quit_rx) -> _ => Err(Error::Stopped),
        }
    }

    fn call<T>(&self, make: impl FnOnce(Sender<T>) -> Request) -> Result<T, Error> {
        let (tx, rx) = bounded(1);
        self.send(make(tx))?;
        // A request left unread in the channel when the manager stops keeps its reply
        // sender alive, so wait on quit too.
        select! {
            recv(rx) -> r => r.map_err(|_| Error::Stopped),
            recv(self.quit_rx) -> _ => Err(Error::Stopped),
        }
    }

    /// Registers `req` and dials it (btcd's `Connect`). Returns its id once registered; the
    /// result arrives through the callbacks.
    pub fn connect(&self, req: ConnReq) -> Result<u64, Error> {
        if self.stop_flag.load(Ordering::SeqCst) {
            return Err(Error::Stopped);
        }
        self.call(|reply| Request::Connect(req, reply))
    }

    /// Disconnects request `id` and, if it is permanent or outbound is below target,
    /// reconnects (btcd's `Disconnect`). Calls the disconnection callback on this thread if
    /// it was established. Returns the request as it was, if found.
    pub fn disconnect(&self, id: u64) -> Result<Option<ConnReq>, Error> {
        self.disconnect_inner(id, true)
    }

    /// Removes request `id` for good: closes it if established, cancels it if pending
    /// (btcd's `Remove`).
    pub fn remove(&self, id: u64) -> Result<Option<ConnReq>, Error> {
        self.disconnect_inner(id, false)
    }

    fn disconnect_inner(&self, id: u64, retry: bool) -> Result<Option<ConnReq>, Error> {
        let r = self.call(|reply| Request::Disconnect { id, retry, reply })?;
        if let Some(req) = &r
            && req.state != super::ConnState::Canceled
            && let Some(cb) = &self.on_disconnection
        {
            cb(req.clone());
        }
        Ok(r)
    }

    /// A snapshot of the requests.
    pub fn snapshot(&self) -> Result<Snapshot, Error> {
        self.call(Request::Snapshot)
    }

    /// Admitted inbound sockets (their slots not yet dropped).
    pub fn inbound_count(&self) -> usize {
        self.limiter.lock().inbound()
    }

    /// The listeners' local addresses.
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.lock().iter().map(|(a, _)| *a).collect()
    }

    /// Stops everything and joins every thread: wakes each `accept()` with a loopback
    /// connection, ends retries, waits for dials in flight (each bounded by the dial
    /// function's timeout) and their callbacks. Idempotent. Never call it from a callback:
    /// it would wait for the thread it runs on.
    pub fn stop(&self) {
        self.stop_flag.store(true, Ordering::SeqCst);
        drop(self.quit_tx.lock().take());
        let listeners: Vec<(SocketAddr, JoinHandle<()>)> =
            std::mem::take(&mut *self.listeners.lock());
        for (addr, _) in &listeners {
            let wake = match addr.ip() {
                IpAddr::V4(ip) if ip.is_unspecified() => {
                    SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
                }
                IpAddr::V6(ip) if ip.is_unspecified() => {
                    SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
                }
                _ => *addr,
            };
            if let Err(e) = TcpStream::connect_timeout(&wake, WAKE_CONNECT_TIMEOUT) {
                log::warn!(target: "btcnode::connmgr", "waking listener {addr}: {e}");
            }
        }
        for (addr, h) in listeners {
            if h.join().is_err() {
                log::error!(target: "btcnode::connmgr", "listener {addr} thread panicked");
            }
        }
        if let Some(h) = self.handler.lock().take()
            && h.join().is_err()
        {
            log::error!(target: "btcnode::connmgr", "connmgr thread panicked");
        }
    }
}

impl Drop for ConnManager {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `connmgr` thread's state: the rules plus the streams and threads they refer to.
struct Handler {
    rules: ConnRules,
    cfg: Config,
    requests_tx: Sender<Request>,
    requests_rx: Receiver<Request>,
    quit_rx: Receiver<()>,
    /// A clone of each established stream, to shut it down on disconnect.
    streams: HashMap<u64, TcpStream>,
    dials: Vec<JoinHandle<()>>,
}

impl Handler {
    /// Runs on thread `connmgr` (btcd's `connHandler`); returns when quit is closed, after
    /// joining every `dial-N` thread.
    fn run(mut self) {
        let start = self.rules.start();
        self.execute(start);
        loop {
            self.reap_dials();
            let timeout = self
                .rules
                .next_timer()
                .map(|t| t.saturating_duration_since(Instant::now()));
            let msg = match timeout {
                Some(t) => select! {
                    recv(self.requests_rx) -> m => m.ok(),
                    recv(self.quit_rx) -> _ => break, // stop() dropped the quit sender
                    default(t) => None,
                },
                None => select! {
                    recv(self.requests_rx) -> m => m.ok(),
                    recv(self.quit_rx) -> _ => break, // stop() dropped the quit sender
                },
            };
            if let Some(m) = msg {
                self.handle(m);
            }
            let due = self.rules.poll_timers(Instant::now());
            self.execute(due);
        }
        self.rules.stop();
        // Dial threads see quit closed when they report; each dial ends within its timeout.
        for h in self.dials.drain(..) {
            if h.join().is_err() {
                log::error!(target: "btcnode::connmgr", "a dial thread panicked");
            }
        }
        // Every dial thread is gone: drop what is still queued (late streams close here).
        while self.requests_rx.try_recv().is_ok() {}
        log::debug!(target: "btcnode::connmgr", "connection handler done");
    }

    /// Joins the `dial-N` threads that have finished.
    fn reap_dials(&mut self) {
        let (done, running): (Vec<_>, Vec<_>) = self.dials.drain(..).partition(|h| h.is_finished());
        self.dials = running;
        for h in done {
            if h.join().is_err() {
                log::error!(target: "btcnode::connmgr", "a dial thread panicked");
            }
        }
    }

    fn handle(&mut self, m: Request) {
        let now = Instant::now();
        match m {
            Request::Connect(req, reply) => {
                let a = self.rules.connect(req);
                if let Action::Dial(r) = &a {
                    let _ = reply.try_send(r.id);
                }
                self.execute(vec![a]);
            }
            Request::Connected {
                id,
                addr,
                stream,
                ack,
            } => {
                let r = self.rules.handle_connected(id, addr);
                match &r {
                    Some(req) => {
                        log::debug!(target: "btcnode::connmgr", "connected to {req}");
                        self.streams.insert(id, stream);
                    }
                    None => {
                        log::debug!(target: "btcnode::connmgr", "ignoring connection for canceled reqid {id}");
                        let _ = stream.shutdown(std::net::Shutdown::Both);
                    }
                }
                // The dial thread waits on this with capacity 1: never blocks.
                let _ = ack.try_send(r);
            }
            Request::Failed { id, addr, error } => {
                log::debug!(target: "btcnode::connmgr", "failed to connect reqid {id}: {error}");
                let a = self.rules.handle_failed(id, addr, now);
                self.execute(a);
            }
            Request::Disconnect { id, retry, reply } => {
                let (r, actions) = self.rules.handle_disconnected(id, retry, now);
                if r.is_none() {
                    log::warn!(target: "btcnode::connmgr", "unknown connection reqid {id}");
                }
                let _ = reply.try_send(r);
                self.execute(actions);
            }
            Request::Snapshot(reply) => {
                let _ = reply.try_send(Snapshot {
                    pending: self.rules.pending(),
                    established: self.rules.established(),
                    failed_attempts: self.rules.failed_attempts(),
                    dial_threads: self.dials.iter().filter(|h| !h.is_finished()).count(),
                });
            }
        }
    }

    fn execute(&mut self, actions: Vec<Action>) {
        let mut queue = actions;
        while let Some(a) = queue.pop() {
            match a {
                Action::Close(id) => {
                    if let Some(s) = self.streams.remove(&id) {
                        let _ = s.shutdown(std::net::Shutdown::Both);
                    }
                }
                Action::Dial(req) => {
                    let id = req.id;
                    let name = format!("dial-{}", id % 10_000_000_000);
                    let job = DialJob {
                        req,
                        dial: Arc::clone(&self.cfg.dial),
                        get_new_address: self.cfg.get_new_address.clone(),
                        on_connection: self.cfg.on_connection.clone(),
                        requests_tx: self.requests_tx.clone(),
                        quit_rx: self.quit_rx.clone(),
                    };
                    match spawn_service_thread(name, move || job.run()) {
                        Ok(h) => self.dials.push(h),
                        Err(e) => {
                            log::warn!(target: "btcnode::connmgr", "cannot start dial thread: {e}");
                            queue.extend(self.rules.handle_failed(id, None, Instant::now()));
                        }
                    }
                }
            }
        }
    }
}

/// One dial, on its own `dial-N` thread (btcd's `go cm.Connect(c)` / `go cm.NewConnReq()`).
struct DialJob {
    req: ConnReq,
    dial: DialFn,
    get_new_address: Option<GetNewAddressFn>,
    on_connection: Option<OnConnectionFn>,
    requests_tx: Sender<Request>,
    quit_rx: Receiver<()>,
}

impl DialJob {
    fn report(&self, r: Request) -> bool {
        select! {
            send(self.requests_tx, r) -> res => res.is_ok(),
            recv(self.quit_rx) -> _ => false,
        }
    }

    /// Runs on thread `dial-N`; returns when the dial has failed, or succeeded and the
    /// connection callback has returned.
    fn run(self) {
        let id = self.req.id;
        let addr = match self.req.addr.clone() {
            Some(a) => a,
            None => match self.get_new_address.as_ref().and_then(|f| f()) {
                Some(a) => a,
                None => {
                    self.report(Request::Failed {
                        id,
                        addr: None,
                        error: "no address available".into(),
                    });
                    return;
                }
            },
        };
        log::debug!(target: "btcnode::connmgr", "attempting to connect to {addr} (reqid {id})");
        let stream = match (self.dial)(&addr).and_then(|s| s.try_clone().map(|c| (s, c))) {
            Ok(s) => s,
            Err(e) => {
                self.report(Request::Failed {
                    id,
                    addr: Some(addr),
                    error: e.to_string(),
                });
                return;
            }
        };
        let (ack_tx, ack_rx) = bounded(1);
        let (stream, clone) = stream;
        if !self.report(Request::Connected {
            id,
            addr,
            stream: clone,
            ack: ack_tx,
        }) {
            return; // stopped: the stream closes here
        }
        let ack = select! {
            recv(ack_rx) -> a => a.ok().flatten(),
            recv(self.quit_rx) -> _ => None, // stopped before answering: drop the stream
        };
        if let Some(req) = ack
            && let Some(cb) = &self.on_connection
        {
            cb(req, stream);
        }
    }
}

/// Runs on thread `listen-N` (btcd's `listenHandler`); returns when the stop flag is set
/// (`stop` wakes the blocked `accept()` with a loopback connection).
fn listen_handler(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    limiter: Arc<Mutex<InboundLimiter>>,
    on_accept: OnAcceptFn,
) {
    let mut backoff = super::accept_backoff::AcceptBackoff::new();
    loop {
        let r = listener.accept();
        if stop.load(Ordering::SeqCst) {
            break; // stop() set the flag and woke us
        }
        if r.is_ok() {
            backoff.on_success();
        }
        match r {
            Ok((stream, peer)) => match InboundSlot::acquire(&limiter, peer.ip()) {
                Ok(slot) => on_accept(stream, peer, slot),
                Err(why) => {
                    log::debug!(target: "btcnode::connmgr", "refusing inbound {peer}: {why}");
                    drop(stream);
                }
            },
            Err(e) => {
                let f = backoff.on_failure(Instant::now());
                if let Some(held_back) = f.warn {
                    log::warn!(target: "btcnode::connmgr", "accept failed: {e} ({held_back} more failures since the last warning; at most one warning a minute)");
                }
                std::thread::sleep(f.wait);
            }
        }
    }
}
