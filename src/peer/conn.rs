//! The connection a peer runs on: anything that can be read and written through a shared
//! reference from several threads, timed out, and shut down. `TcpStream` in the node;
//! `UnixStream` in tests that want a socket pair without the network. One descriptor serves
//! every thread of the peer (no `try_clone`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// A byte stream shared by a peer's threads.
pub trait Conn: Send + Sync + 'static {
    /// Reads into `buf` (one `read`; a timeout is an error of kind `WouldBlock`/`TimedOut`).
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes some of `buf` (one `write`; a timeout is an error of kind
    /// `WouldBlock`/`TimedOut`).
    fn write(&self, buf: &[u8]) -> io::Result<usize>;
    /// Writes all of `buf` (a timeout is an error of kind `WouldBlock`/`TimedOut`). The
    /// socket's timeout applies to each `write` call, and a call that wrote a little restarts
    /// it; use [`write_all_by`] for a deadline.
    fn write_all(&self, buf: &[u8]) -> io::Result<()>;
    /// Sets the read timeout (`SO_RCVTIMEO`).
    fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()>;
    /// Sets the write timeout (`SO_SNDTIMEO`).
    fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()>;
    /// Shuts both directions down, waking any thread blocked in `read` or `write`.
    fn shutdown(&self) -> io::Result<()>;
    /// The remote's address, for the sockets that have one.
    fn remote_addr(&self) -> Option<SocketAddr>;
}

/// Implements [`Conn`] for a std socket type whose I/O methods take `&self`; `$remote` maps the
/// socket to its remote address.
macro_rules! impl_conn {
    ($ty:ty, $remote:expr) => {
        impl Conn for $ty {
            fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                let mut r = self;
                Read::read(&mut r, buf)
            }
            fn write(&self, buf: &[u8]) -> io::Result<usize> {
                let mut w = self;
                Write::write(&mut w, buf)
            }
            fn write_all(&self, buf: &[u8]) -> io::Result<()> {
                let mut w = self;
                Write::write_all(&mut w, buf)
            }
            fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
                <$ty>::set_read_timeout(self, d)
            }
            fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
                <$ty>::set_write_timeout(self, d)
            }
            fn shutdown(&self) -> io::Result<()> {
                <$ty>::shutdown(self, Shutdown::Both)
            }
            fn remote_addr(&self) -> Option<SocketAddr> {
                let remote: fn(&$ty) -> Option<SocketAddr> = $remote;
                remote(self)
            }
        }
    };
}

impl_conn!(TcpStream, |s| s.peer_addr().ok());
// A Unix socket pair has no IP address (tests use it for scripted peers).
impl_conn!(UnixStream, |_| None);

/// `Read` over a shared connection, for the framer's `read_from`.
pub(crate) struct ConnReader<'a>(pub &'a dyn Conn);

impl Read for ConnReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// Writes all of `buf` by `deadline`, or fails with `TimedOut`. `SO_SNDTIMEO` bounds one
/// `write` call, and a call that moves a few bytes returns early and starts the next call's
/// timeout afresh: a remote that opens its window a little now and then held a plain
/// `write_all` for several timeouts (184 s for a 60 s timeout was measured). Here every call
/// waits at most for what is left until the deadline. The socket's write timeout is left
/// changed; every writer of a connection sets it before writing.
pub(crate) fn write_all_by(conn: &dyn Conn, mut buf: &[u8], deadline: Instant) -> io::Result<()> {
    let mut current: Option<Duration> = None;
    while !buf.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "write deadline passed",
            ));
        }
        // The socket option is only touched when it would overshoot the deadline by more
        // than 100 ms.
        let stale = current.is_none_or(|c| c > left + Duration::from_millis(100));
        if stale {
            // Zero would mean "no timeout" to the OS; at least a millisecond.
            conn.set_write_timeout(Some(left.max(Duration::from_millis(1))))?;
            current = Some(left);
        }
        match conn.write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether an I/O error is a socket timeout (`WouldBlock` on Unix, `TimedOut` elsewhere).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
