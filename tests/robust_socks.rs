//! Seeded fuzz smoke for the SOCKS5 client, run in the normal suite: random and mutated
//! replies into `socks::proto::parse_reply`, and whole exchanges against a scripted proxy
//! through `socks::negotiate`. Garbage must give an error or a well-formed answer, never a
//! panic or a hang. Deterministic (fixed seeds) and fast; `scripts/fuzz.sh` runs the same
//! properties under libFuzzer for longer.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use btcnode::socks::proto::{CMD_CONNECT, CMD_TOR_RESOLVE, Parsed, parse_reply};
use btcnode::socks::{Deadline, Error, Target, TimedStream, negotiate};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Longest reply: header, a 255-byte domain with its length byte, and the port.
const MAX_REPLY_LEN: usize = 4 + 1 + 255 + 2;

/// Valid replies to mutate.
fn valid_replies() -> Vec<Vec<u8>> {
    let mut domain = vec![5, 0, 0, 3, 9];
    domain.extend_from_slice(b"a.example");
    domain.extend_from_slice(&[0, 80]);
    let mut v6 = vec![5, 0, 0, 4];
    v6.extend_from_slice(&[0; 15]);
    v6.extend_from_slice(&[1, 0x47, 0x6c]);
    vec![
        vec![5, 0, 0, 1, 127, 0, 0, 1, 0x20, 0x8d],
        v6,
        domain,
        vec![5, 4, 0, 0, 0, 0, 0, 0, 0, 0],
        vec![5, 5, 0, 1, 0, 0, 0, 0, 0, 0],
    ]
}

/// Random bytes, usually starting like a reply so the parser gets past its first checks.
fn random_reply(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.random_range(0..300usize);
    let mut b: Vec<u8> = (0..len).map(|_| rng.random()).collect();
    if rng.random_range(0..4u8) != 0 {
        let head = [
            5u8,
            rng.random_range(0..10u8),
            0,
            [0u8, 1, 3, 4][rng.random_range(0..4usize)],
        ];
        for (i, h) in head.iter().enumerate() {
            if i < b.len() {
                b[i] = *h;
            }
        }
    }
    b
}

/// One mutation: flip, insert, delete or truncate.
fn mutate(rng: &mut StdRng, mut b: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.random_range(1..4u8) {
        match rng.random_range(0..4u8) {
            0 if !b.is_empty() => {
                let i = rng.random_range(0..b.len());
                b[i] ^= 1 << rng.random_range(0..8u8);
            }
            1 => {
                let i = rng.random_range(0..=b.len());
                b.insert(i, rng.random());
            }
            2 if !b.is_empty() => {
                let i = rng.random_range(0..b.len());
                b.remove(i);
            }
            _ => {
                let keep = rng.random_range(0..=b.len());
                b.truncate(keep);
            }
        }
    }
    b
}

/// The properties `parse_reply` keeps on any input.
fn check_parse(b: &[u8]) {
    match parse_reply(b) {
        Ok(Parsed::Complete(reply, used)) => {
            assert!(used <= b.len() && used <= MAX_REPLY_LEN, "{b:?}");
            assert_eq!(
                parse_reply(&b[..used]).ok(),
                Some(Parsed::Complete(reply.clone(), used))
            );
            for cut in 0..used {
                assert!(
                    matches!(parse_reply(&b[..cut]), Ok(Parsed::NeedMore(w)) if w > cut && w <= MAX_REPLY_LEN),
                    "prefix {cut} of {b:?}"
                );
            }
            let _ = reply.into_result().map_err(|e| e.to_string());
        }
        Ok(Parsed::NeedMore(want)) => assert!(want > b.len() && want <= MAX_REPLY_LEN, "{b:?}"),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

#[test]
fn robust_socks_parse_reply_random_garbage_never_panics() {
    let mut rng = StdRng::seed_from_u64(0x50c5);
    for _ in 0..50_000 {
        check_parse(&random_reply(&mut rng));
    }
}

#[test]
fn robust_socks_parse_reply_mutated_replies_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x50c6);
    let valid = valid_replies();
    for v in &valid {
        assert!(matches!(parse_reply(v), Ok(Parsed::Complete(..))), "{v:?}");
    }
    for i in 0..50_000 {
        let b = mutate(&mut rng, valid[i % valid.len()].clone());
        check_parse(&b);
    }
}

/// A proxy answering from a script, at most `chunk` bytes per read; a finished script reads
/// as EOF (what a proxy that closes gives) or as a timeout (one that hangs).
struct Scripted {
    script: Vec<u8>,
    pos: usize,
    chunk: usize,
    hang_at_end: bool,
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.script.len() && self.hang_at_end {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.chunk).min(self.script.len() - self.pos);
        buf[..n].copy_from_slice(&self.script[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TimedStream for Scripted {
    fn set_io_timeout(&self, _: Duration) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn robust_socks_negotiate_scripted_garbage_never_panics() {
    let mut rng = StdRng::seed_from_u64(0x50c7);
    let targets = [
        (CMD_CONNECT, Target::host("127.0.0.1", 8333)),
        (CMD_CONNECT, Target::host("::1", 18444)),
        (CMD_CONNECT, Target::host("example.onion", 8333)),
        (CMD_TOR_RESOLVE, Target::host("seed.example", 0)),
    ];
    let valid = valid_replies();
    let (mut ok, mut failed) = (0, 0);
    for i in 0..20_000 {
        let creds = rng.random_range(0..2u8) == 0;
        // A method selection (sometimes right), maybe an auth reply, then a reply that is
        // valid, mutated or random.
        let mut script = vec![5, if creds { 2 } else { 0 }];
        if creds {
            script.extend_from_slice(&[1, 0]);
        }
        let reply = match rng.random_range(0..3u8) {
            0 => valid[i % valid.len()].clone(),
            1 => mutate(&mut rng, valid[i % valid.len()].clone()),
            _ => random_reply(&mut rng),
        };
        script.extend_from_slice(&reply);
        let script = if rng.random_range(0..4u8) == 0 {
            mutate(&mut rng, script)
        } else {
            script
        };
        let len = script.len();
        let mut s = Scripted {
            script,
            pos: 0,
            chunk: rng.random_range(1..16usize),
            hang_at_end: rng.random_range(0..2u8) == 0,
        };
        let (cmd, target) = &targets[i % targets.len()];
        let deadline = Deadline::new(Instant::now(), Duration::from_secs(60));
        let c = creds.then_some(("u", "p"));
        match negotiate(&mut s, &deadline, c, *cmd, target) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                failed += 1;
            }
        }
        assert!(s.pos <= len);
    }
    // Both outcomes are exercised.
    assert!(ok > 1000 && failed > 1000, "ok {ok}, failed {failed}");
}

#[test]
fn robust_socks_negotiate_never_reads_past_the_reply() {
    let mut script = vec![5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0x20, 0x8d];
    script.extend_from_slice(b"payload after the reply");
    let mut s = Scripted {
        script,
        pos: 0,
        chunk: 64,
        hang_at_end: false,
    };
    let deadline = Deadline::new(Instant::now(), Duration::from_secs(5));
    let got = negotiate(
        &mut s,
        &deadline,
        None,
        CMD_CONNECT,
        &Target::host("127.0.0.1", 8333),
    );
    assert!(got.is_ok(), "{got:?}");
    assert_eq!(s.pos, 12, "read into the data after the reply");
}

#[test]
fn robust_socks_hanging_proxy_times_out() {
    let mut s = Scripted {
        script: vec![5, 0, 5],
        pos: 0,
        chunk: 1,
        hang_at_end: true,
    };
    let deadline = Deadline::new(Instant::now(), Duration::from_secs(5));
    let got = negotiate(
        &mut s,
        &deadline,
        None,
        CMD_CONNECT,
        &Target::host("127.0.0.1", 8333),
    );
    assert!(matches!(got, Err(Error::TimedOut { .. })), "{got:?}");
}

/// Found by the `socks_negotiate` fuzz target (its first finding, a wrong assumption in the
/// target): a reply may carry an empty domain name, making it 7 bytes long; it parses, and
/// nothing after it is read.
#[test]
fn robust_socks_reply_with_an_empty_domain_name_is_seven_bytes() {
    // Method selection (user/pass), auth OK, then `5 0 0 3 0 0 40` and trailing bytes.
    let script = vec![5, 2, 1, 0, 5, 0, 0, 3, 0, 0, 40, 248, 248, 97, 46];
    let mut s = Scripted {
        script,
        pos: 0,
        chunk: 4,
        hang_at_end: false,
    };
    let deadline = Deadline::new(Instant::now(), Duration::from_secs(5));
    let got = negotiate(
        &mut s,
        &deadline,
        Some(("user", "pass")),
        CMD_CONNECT,
        &Target::host("127.0.0.1", 8333),
    );
    assert_eq!(
        got.ok(),
        Some(btcnode::socks::proto::BoundAddr::Domain(String::new(), 40))
    );
    assert_eq!(s.pos, 11, "read past the reply");
}
