//! A minimal HTTP/1.1 server and client for JSON-RPC on std sockets: one request per
//! connection (`Connection: close`), bounded head and body sizes, read and write timeouts,
//! HTTP basic auth. Threads: one accept thread per `--rpclisten` address (`rpc`, then
//! `rpc-lN`) hands connections through a bounded queue to [`RPC_WORKERS`] workers (`rpc-N`);
//! all end and are joined in [`RpcServer::stop`]. Hand-written rather than `tiny_http`
//! because that crate starts unnamed, never-joined threads (its accept thread and task pool),
//! which breaks the node's thread rules; JSON-RPC needs only this small subset of HTTP.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, TrySendError, bounded};
use serde_json::{Value, json};

use crate::rpc::dispatch::handle_body;
use crate::rpc::error::{Error, RpcError};
use crate::rpc::types::NodeControl;
use crate::thread::spawn_service_thread;

/// Worker threads answering requests. Control calls are short; two let a slow client not
/// block an operator's next command (btcd's `rpcmaxconcurrentreqs` is 20 for a full RPC API).
pub const RPC_WORKERS: usize = 2;

/// Accepted connections waiting for a worker; beyond this a client gets 503 at once.
pub const RPC_QUEUE_LEN: usize = 16;

/// Read and write timeout on an RPC connection, so a client that stalls cannot hold a worker.
pub const RPC_IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request head (request line and headers).
pub const MAX_HEAD_SIZE: usize = 16 * 1024;

/// Largest request body; control calls are tiny (btcd allows 4 MiB for its whole API).
pub const MAX_BODY_SIZE: usize = 1024 * 1024;

/// Largest response the `ctl` client reads.
pub const MAX_RESPONSE_SIZE: usize = 64 * 1024 * 1024;

/// Delay before answering a request with wrong credentials, as bitcoind, to slow guessing.
pub const AUTH_FAILURE_DELAY: Duration = Duration::from_millis(250);

/// Base64 (standard alphabet, padded) as HTTP basic auth needs.
pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `Authorization` header value for `user:pass`.
pub fn basic_auth_header(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64_encode(format!("{user}:{pass}").as_bytes())
    )
}

/// Credentials the server accepts.
#[derive(Clone)]
pub struct Auth {
    expected: String,
}

impl Auth {
    /// Accept `user:pass`.
    pub fn new(user: &str, pass: &str) -> Auth {
        Auth {
            expected: basic_auth_header(user, pass),
        }
    }

    fn check(&self, header: Option<&str>) -> bool {
        let Some(h) = header else { return false };
        let (a, b) = (h.trim().as_bytes(), self.expected.as_bytes());
        // Compare in time independent of where the first difference is.
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The running RPC server. Dropping it without [`RpcServer::stop`] leaves threads running,
/// so the owner always calls `stop`.
pub struct RpcServer {
    stop: Arc<AtomicBool>,
    addrs: Vec<SocketAddr>,
    threads: Vec<JoinHandle<()>>,
}

impl RpcServer {
    /// Binds every address in `listen` and starts the accept and worker threads.
    pub fn start(
        listen: &[SocketAddr],
        auth: Auth,
        node: Arc<dyn NodeControl>,
    ) -> Result<RpcServer, Error> {
        let mut listeners = Vec::new();
        for &addr in listen {
            let l = TcpListener::bind(addr).map_err(|source| Error::Bind { addr, source })?;
            let local = l
                .local_addr()
                .map_err(|source| Error::Bind { addr, source })?;
            listeners.push((l, local));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (conn_tx, conn_rx) = bounded::<TcpStream>(RPC_QUEUE_LEN);
        let mut server = RpcServer {
            stop: stop.clone(),
            addrs: listeners.iter().map(|(_, a)| *a).collect(),
            threads: Vec::new(),
        };
        for i in 1..=RPC_WORKERS {
            let rx = conn_rx.clone();
            let (auth, node) = (auth.clone(), node.clone());
            match spawn_service_thread(format!("rpc-{i}"), move || worker_handler(rx, auth, node)) {
                Ok(h) => server.threads.push(h),
                Err(e) => {
                    drop(conn_tx);
                    server.stop();
                    return Err(Error::Spawn(e));
                }
            }
        }
        drop(conn_rx);
        for (i, (listener, local)) in listeners.into_iter().enumerate() {
            let name = if i == 0 {
                "rpc".to_string()
            } else {
                format!("rpc-l{i}")
            };
            let (tx, stop) = (conn_tx.clone(), stop.clone());
            log::info!("rpc server listening on {local}");
            match spawn_service_thread(name, move || accept_handler(listener, tx, stop)) {
                Ok(h) => server.threads.push(h),
                Err(e) => {
                    drop(conn_tx);
                    server.stop();
                    return Err(Error::Spawn(e));
                }
            }
        }
        Ok(server)
    }

    /// The bound addresses (useful with port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stops accepting, lets the workers finish the requests in hand, and joins every thread.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for addr in &self.addrs {
            // Wake the blocked accept(); the accept thread sees the flag and returns.
            let mut wake = *addr;
            if wake.ip().is_unspecified() {
                wake.set_ip(if wake.is_ipv4() {
                    [127, 0, 0, 1].into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        }
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

/// Runs on thread `rpc` (or `rpc-lN`): accepts connections and queues them for the workers.
/// Returns when the stop flag is set (a self-connect wakes `accept`) or the listener fails.
fn accept_handler(
    listener: TcpListener,
    conn_tx: crossbeam_channel::Sender<TcpStream>,
    stop: Arc<AtomicBool>,
) {
    let mut backoff = crate::connmgr::accept_backoff::AcceptBackoff::new();
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            break; // stopping; the connection that woke us is dropped
        }
        if accepted.is_ok() {
            backoff.on_success();
        }
        match accepted {
            Ok((stream, _)) => match conn_tx.try_send(stream) {
                Ok(()) => {}
                Err(TrySendError::Full(mut s)) => {
                    let _ = s.set_write_timeout(Some(RPC_IO_TIMEOUT));
                    let _ = write_response(&mut s, 503, b"{\"error\":\"server busy\"}");
                }
                Err(TrySendError::Disconnected(_)) => break, // workers gone
            },
            Err(e) => {
                // Out of descriptors and similar: back off instead of spinning, warn rarely.
                let f = backoff.on_failure(std::time::Instant::now());
                if let Some(held_back) = f.warn {
                    log::warn!("rpc accept failed: {e} ({held_back} more since the last warning)");
                }
                std::thread::sleep(f.wait.min(Duration::from_millis(100)));
            }
        }
    }
}

/// Runs on threads `rpc-N`: answers one request per queued connection. Returns when every
/// accept thread has ended (the queue's senders are gone).
fn worker_handler(conn_rx: Receiver<TcpStream>, auth: Auth, node: Arc<dyn NodeControl>) {
    for mut stream in conn_rx.iter() {
        if let Err(e) = serve_connection(&mut stream, &auth, node.as_ref()) {
            log::debug!("rpc connection: {e}");
        }
        let _ = stream.shutdown(Shutdown::Both);
    }
}

struct Request {
    method: String,
    authorization: Option<String>,
    body: Vec<u8>,
}

fn serve_connection(stream: &mut TcpStream, auth: &Auth, node: &dyn NodeControl) -> io::Result<()> {
    stream.set_read_timeout(Some(RPC_IO_TIMEOUT))?;
    stream.set_write_timeout(Some(RPC_IO_TIMEOUT))?;
    let req = match read_request(stream) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return write_response(stream, 400, e.to_string().as_bytes());
        }
        Err(e) => return Err(e),
    };
    if !auth.check(req.authorization.as_deref()) {
        log::warn!(
            "rpc: refused request from {} with wrong credentials",
            stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
        std::thread::sleep(AUTH_FAILURE_DELAY);
        return write_response(stream, 401, b"");
    }
    if req.method != "POST" {
        return write_response(stream, 405, b"JSONRPC server handles only POST requests");
    }
    let (status, body) = handle_body(node, &req.body);
    write_response(stream, status, &body)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

fn read_request(stream: &mut impl Read) -> io::Result<Request> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD_SIZE {
            return Err(bad("request head too large"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the request head",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("request head not utf-8"))?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let method = request_line
        .split(' ')
        .next()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("empty request line"))?
        .to_string();
    let mut content_length = None;
    let mut authorization = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| bad("invalid content-length"))?,
            );
        } else if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(value.to_string());
        }
    }
    let length = content_length.unwrap_or(0);
    if length > MAX_BODY_SIZE {
        return Err(bad("request body too large"));
    }
    let mut body = buf[head_end..].to_vec();
    if body.len() > length {
        body.truncate(length);
    }
    while body.len() < length {
        let want = (length - body.len()).min(chunk.len());
        let n = stream.read(&mut chunk[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside the request body",
            ));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Request {
        method,
        authorization,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

fn write_response(stream: &mut impl Write, status: u16, body: &[u8]) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(status),
        body.len()
    );
    if status == 401 {
        head.push_str("WWW-Authenticate: Basic realm=\"jsonrpc\"\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// Calls `method` on the JSON-RPC server at `addr` (host:port) with HTTP basic auth
/// `authorization` (a full header value), waiting up to `timeout` for each read or write.
/// Returns the result, or [`Error::Rpc`] with the server's error object.
pub fn call(
    addr: &str,
    authorization: &str,
    method: &str,
    params: &[Value],
    timeout: Duration,
) -> Result<Value, Error> {
    let io_err = |source: io::Error| Error::Connect {
        addr: addr.to_string(),
        source,
    };
    let sockaddrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(addr)
        .map_err(io_err)?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    let mut stream = None;
    for sa in sockaddrs {
        match TcpStream::connect_timeout(&sa, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let mut stream = stream.ok_or_else(|| io_err(last))?;
    stream.set_read_timeout(Some(timeout)).map_err(io_err)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_err)?;
    let body = json!({"jsonrpc": "1.0", "id": "btcnode-ctl", "method": method, "params": params})
        .to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {authorization}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(io_err)?;
    let mut response = Vec::new();
    stream
        .take(MAX_RESPONSE_SIZE as u64)
        .read_to_end(&mut response)
        .map_err(io_err)?;
    let head_end =
        find_head_end(&response).ok_or_else(|| Error::BadResponse("no http header".to_string()))?;
    let head = String::from_utf8_lossy(&response[..head_end]);
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::BadResponse(format!("bad status line {:?}", head.lines().next())))?;
    if status == 401 {
        return Err(Error::Unauthorized);
    }
    let body = &response[head_end..];
    let reply: Value = serde_json::from_slice(body).map_err(|e| {
        Error::BadResponse(format!(
            "http {status}: {e}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    })?;
    match reply.get("error") {
        Some(err) if !err.is_null() => {
            let e: RpcError = serde_json::from_value(err.clone())
                .map_err(|e| Error::BadResponse(format!("bad error object: {e}")))?;
            Err(Error::Rpc(e))
        }
        _ => Ok(reply.get("result").cloned().unwrap_or(Value::Null)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(i.as_bytes()), o);
        }
        assert_eq!(
            basic_auth_header("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn request_parsing_limits() {
        let raw =
            b"POST / HTTP/1.1\r\nContent-Length: 4\r\nauthorization: Basic eA==\r\n\r\nbodyEXTRA";
        let r = read_request(&mut &raw[..]).unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.body, b"body");
        assert_eq!(r.authorization.as_deref(), Some("Basic eA=="));
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_SIZE + 1
        );
        assert_eq!(
            read_request(&mut big.as_bytes()).err().unwrap().kind(),
            io::ErrorKind::InvalidData
        );
        let endless = vec![b'a'; MAX_HEAD_SIZE * 2];
        assert!(read_request(&mut &endless[..]).is_err());
        let short = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
        assert!(read_request(&mut &short[..]).is_err());
    }
}
