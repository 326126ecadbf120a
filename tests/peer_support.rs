//! Helpers for the peer tests: short-timeout configs, loopback pairs, a scripted remote peer
//! speaking raw wire messages, a recording listener, and counters for peer threads and
//! socket descriptors.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use btcnode::params::Network;
use btcnode::peer::{Config, MessageListeners, Peer};
use btcnode::wire::{
    Message, MsgVersion, NetAddress, PROTOCOL_VERSION, ServiceFlag, read_message, write_message,
};
use crossbeam_channel::{Receiver, Sender, unbounded};
use parking_lot::Mutex;

/// Peer tests count threads and sockets, so they run one at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// The network every peer test uses.
pub const NET: Network = Network::Regtest;

/// A config with timeouts short enough for tests (and long enough for a busy machine).
pub fn test_config() -> Config {
    let mut c = Config::new(NET);
    c.negotiate_timeout = Duration::from_secs(5);
    c.idle_timeout = Duration::from_secs(30);
    c.read_poll_timeout = Duration::from_millis(50);
    c.write_timeout = Duration::from_secs(5);
    c
}

pub use crate::support::wait_until;

/// A connected loopback TCP pair: (the side that dialed, the side that accepted).
pub fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let dialed = TcpStream::connect(addr).expect("connect");
    let (accepted, _) = l.accept().expect("accept");
    (dialed, accepted)
}

/// Two `Peer`s over loopback: (outbound, inbound), both started.
pub fn peer_pair(out_cfg: &Config, in_cfg: &Config) -> (Peer, Peer) {
    let (dialed, accepted) = tcp_pair();
    let addr = dialed.peer_addr().expect("peer addr").to_string();
    let out = Peer::new_outbound(&Arc::new(out_cfg.clone()), &addr);
    let inb = Peer::new_inbound(&Arc::new(in_cfg.clone()));
    inb.associate_connection(accepted)
        .expect("associate inbound");
    out.associate_connection(dialed)
        .expect("associate outbound");
    (out, inb)
}

/// A scripted remote peer: raw messages over a socket, no `Peer` machinery.
pub struct Remote {
    /// The socket.
    pub stream: TcpStream,
    /// Protocol version used to encode and decode.
    pub pver: u32,
    /// Network magic.
    pub magic: u32,
}

impl Remote {
    /// Wraps a socket (5 s read timeout so a broken test fails instead of hanging).
    pub fn new(stream: TcpStream) -> Remote {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        Remote {
            stream,
            pver: PROTOCOL_VERSION,
            magic: NET.magic(),
        }
    }

    /// Sends a message.
    pub fn send(&mut self, m: &Message) {
        write_message(&mut self.stream, m, self.pver, self.magic).expect("remote send");
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, b: &[u8]) {
        use std::io::Write;
        self.stream.write_all(b).expect("remote send raw");
    }

    /// Receives one message (panics on timeout or error).
    pub fn recv(&mut self) -> Message {
        read_message(&mut self.stream, self.pver, self.magic)
            .expect("remote recv")
            .0
    }

    /// Receives one message, or the error (timeouts and EOF included).
    pub fn try_recv(&mut self) -> Result<Message, btcnode::wire::Error> {
        read_message(&mut self.stream, self.pver, self.magic).map(|(m, _)| m)
    }

    /// Receives messages until one with `command` arrives, returning it.
    pub fn recv_until(&mut self, command: &str) -> Message {
        loop {
            let m = self.recv();
            if m.command() == command {
                return m;
            }
        }
    }

    /// A version message from this remote.
    pub fn version(&self, pver: i32, nonce: u64) -> MsgVersion {
        let na = NetAddress::from_socket_addr(([127, 0, 0, 1], 18444).into(), ServiceFlag::NONE);
        MsgVersion::new(
            pver,
            ServiceFlag::NODE_NETWORK | ServiceFlag::NODE_WITNESS,
            1_700_000_000,
            na,
            na,
            nonce,
            "/remote:1.0/".to_string(),
            100,
            false,
        )
    }

    /// The handshake Bitcoin Core does with the peer under test. `peer_is_outbound`: the
    /// peer sends its version first. Returns the peer's version. Leaves the peer's `verack`
    /// consumed.
    pub fn handshake(&mut self, peer_is_outbound: bool) -> MsgVersion {
        let v = self.version(PROTOCOL_VERSION as i32, 0x5eed);
        let theirs = if peer_is_outbound {
            let Message::Version(theirs) = self.recv() else {
                panic!("peer did not start with version");
            };
            self.send(&Message::Version(v));
            theirs
        } else {
            self.send(&Message::Version(v));
            let Message::Version(theirs) = self.recv() else {
                panic!("peer did not answer with version");
            };
            theirs
        };
        self.send(&Message::WtxidRelay);
        self.send(&Message::SendAddrV2);
        self.send(&Message::Verack);
        self.recv_until("verack");
        theirs
    }

    /// Reads and discards everything in a background thread until the socket closes.
    pub fn drain_in_background(self) -> std::thread::JoinHandle<Vec<String>> {
        std::thread::spawn(move || {
            let mut r = self;
            let _ = r.stream.set_read_timeout(Some(Duration::from_secs(30)));
            let mut seen = Vec::new();
            while let Ok(m) = r.try_recv() {
                seen.push(m.command().to_string());
            }
            seen
        })
    }
}

/// A peer under test on one side of loopback and a scripted remote on the other.
pub fn scripted(cfg: &Config, peer_is_outbound: bool) -> (Peer, Remote) {
    let (dialed, accepted) = tcp_pair();
    if peer_is_outbound {
        let cfg = Arc::new(cfg.clone());
        let p = Peer::new_outbound(&cfg, &dialed.peer_addr().expect("addr").to_string());
        p.associate_connection(dialed).expect("associate");
        (p, Remote::new(accepted))
    } else {
        let p = Peer::new_inbound(&Arc::new(cfg.clone()));
        p.associate_connection(accepted).expect("associate");
        (p, Remote::new(dialed))
    }
}

/// A listener that records every received message's command and forwards it on a channel.
pub struct Recorder {
    tx: Sender<String>,
    /// Commands in arrival order.
    pub seen: Mutex<Vec<String>>,
}

impl Recorder {
    /// A recorder and the receiving end of its channel.
    pub fn new() -> (Arc<Recorder>, Receiver<String>) {
        let (tx, rx) = unbounded();
        (
            Arc::new(Recorder {
                tx,
                seen: Mutex::new(Vec::new()),
            }),
            rx,
        )
    }
}

impl MessageListeners for Recorder {
    fn on_read(
        &self,
        _p: &Peer,
        _bytes: usize,
        msg: Option<&Message>,
        _err: Option<&btcnode::wire::Error>,
    ) {
        if let Some(m) = msg {
            self.seen.lock().push(m.command().to_string());
            let _ = self.tx.send(m.command().to_string());
        }
    }
}

/// Threads of this process named like peer threads (`p<digits>-...`).
pub fn peer_thread_count() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|name| {
            let name = name.trim();
            name.strip_prefix('p')
                .and_then(|rest| rest.split_once('-'))
                .is_some_and(|(digits, _)| {
                    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
                })
        })
        .count()
}

/// Open socket descriptors of this process.
pub fn socket_fd_count() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|t| t.to_string_lossy().starts_with("socket:"))
        .count()
}
