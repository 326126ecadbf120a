//! `socks` section: what a SOCKS5 CONNECT through a real proxy (microsocks, on loopback)
//! costs over a direct loopback connect, and how fast replies parse.

use std::hint::black_box;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use btcnode::socks::proto::{Parsed, parse_reply};
use btcnode::socks::{Proxy, Target};

use crate::baseline::{ClosingListener, until_eof};

const CONNECTS: u32 = 1000;
const PARSES: u32 = 5_000_000;

/// Runs the section.
pub fn run() {
    let listener = ClosingListener::start();
    let target = listener.addr;
    let direct = listener.time_direct_connects(CONNECTS);
    println!("direct loopback connect:           {direct:>10.2?} per connection");

    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let child = Command::new("microsocks")
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            let proxy = Proxy::new(SocketAddr::from(([127, 0, 0, 1], port)));
            let deadline = Instant::now() + Duration::from_secs(5);
            while TcpStream::connect(proxy.addr).is_err() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let t = Target::Addr(target);
            let start = Instant::now();
            for _ in 0..CONNECTS {
                until_eof(proxy.connect(&t, Duration::from_secs(5)).expect("proxied"));
            }
            let proxied = start.elapsed() / CONNECTS;
            println!(
                "CONNECT through microsocks:        {proxied:>10.2?} per connection ({:.1}x direct)",
                proxied.as_secs_f64() / direct.as_secs_f64()
            );
            let _ = child.kill();
            let _ = child.wait();
        }
        Err(e) => println!("CONNECT through microsocks:        skipped ({e})"),
    }
    drop(listener);

    let mut v4 = [5u8, 0, 0, 1, 127, 0, 0, 1, 0x20, 0x8d];
    let start = Instant::now();
    for i in 0..PARSES {
        v4[7] = i as u8;
        match parse_reply(black_box(&v4)) {
            Ok(Parsed::Complete(r, n)) => {
                black_box((r, n));
            }
            other => panic!("{other:?}"),
        }
    }
    let per = start.elapsed() / PARSES;
    println!("parse_reply (IPv4 reply):          {per:>10.2?} per reply");
}
