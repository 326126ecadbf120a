//! The whole client side of a SOCKS5 exchange against a scripted proxy: the fuzz input is
//! what the proxy answers, cut into reads of fuzzed sizes. `negotiate` must never panic,
//! never read past the reply (the bytes after it stay with the stream) and always end, with
//! an address or an error.
#![no_main]

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use btcnode::socks::proto::{CMD_CONNECT, CMD_TOR_RESOLVE};
use btcnode::socks::{Deadline, Target, TimedStream, negotiate};
use libfuzzer_sys::fuzz_target;

/// A proxy that answers from a script, `chunk` bytes per read at most, and swallows writes.
struct Scripted<'a> {
    script: &'a [u8],
    pos: usize,
    chunk: usize,
    written: usize,
}

impl Read for Scripted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.script.len() - self.pos);
        buf[..n].copy_from_slice(&self.script[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Scripted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TimedStream for Scripted<'_> {
    fn set_io_timeout(&self, _: Duration) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let [ctl, script @ ..] = data else {
        return;
    };
    let chunk = usize::from(ctl & 0x0f) + 1;
    let creds = (ctl & 0x10 != 0).then_some(("user", "pass"));
    let (cmd, target) = match (ctl >> 5) & 3 {
        0 => (CMD_CONNECT, Target::host("127.0.0.1", 8333)),
        1 => (CMD_CONNECT, Target::host("::1", 18444)),
        2 => (CMD_CONNECT, Target::host("example.onion", 8333)),
        _ => (CMD_TOR_RESOLVE, Target::host("seed.example", 0)),
    };
    let mut s = Scripted {
        script,
        pos: 0,
        chunk,
        written: 0,
    };
    let deadline = Deadline::new(Instant::now(), Duration::from_secs(3600));
    let result = negotiate(&mut s, &deadline, creds, cmd, &target);
    assert!(s.pos <= script.len());
    assert!(s.written > 0, "nothing sent");
    if result.is_ok() {
        // Method selection (2), maybe the auth reply (2), then a reply of at least 7 bytes
        // (an empty domain name and the port).
        let auth = if creds.is_some() && script.get(1) == Some(&2) {
            2
        } else {
            0
        };
        assert!(s.pos >= 2 + auth + 7, "a reply from {} bytes", s.pos);
    }
    let _ = result.map_err(|e| e.to_string());
});
