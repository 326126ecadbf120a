//! Baselines shared by bench sections: a loopback listener that closes every connection at
//! once, and the time of a bare connect to it.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A loopback listener on thread `b-accept` that closes each accepted connection at once.
///
/// The server closes first and clients wait for that ([`until_eof`]), so TIME_WAIT stays on
/// the listener's side and client ports are not exhausted (gVisor slows down badly otherwise).
pub struct ClosingListener {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl ClosingListener {
    /// Binds 127.0.0.1 on a free port and starts accepting.
    pub fn start() -> ClosingListener {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let acceptor = btcnode::thread::spawn_named("b-accept".into(), 256 * 1024, move || {
            for s in l.incoming() {
                drop(s);
                if stop2.load(Ordering::SeqCst) {
                    break; // the bench is done
                }
            }
        })
        .expect("spawn");
        ClosingListener {
            addr,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// Mean time of `n` direct connects, each waiting for the listener's close, after a
    /// warm-up of `n / 10`.
    pub fn time_direct_connects(&self, n: u32) -> Duration {
        for _ in 0..n / 10 {
            until_eof(TcpStream::connect(self.addr).expect("warm-up"));
        }
        let start = Instant::now();
        for _ in 0..n {
            until_eof(TcpStream::connect(self.addr).expect("direct"));
        }
        start.elapsed() / n.max(1)
    }
}

impl Drop for ClosingListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes accept() so the thread sees the stop flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

/// Reads until the other side closes.
pub fn until_eof(mut s: TcpStream) {
    let mut b = [0u8; 16];
    while s.read(&mut b).is_ok_and(|n| n > 0) {}
}
