//! End-to-end tests of the `btcnode` binary: real processes on loopback regtest, talking over
//! their JSON-RPC ports and `btcnode ctl`. Nothing here dials anything but 127.0.0.1.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::server_support::*;

#[test]
fn bad_flags_exit_2_with_one_line() {
    for args in [
        &["--nosuchflag"][..],
        &["--regtest", "--testnet"],
        &["--maxpeers=lots"],
        &["--banduration=forever"],
        &["--debuglevel=PEER=shout"],
        &["--connect=127.0.0.1:1", "--addpeer=127.0.0.1:2"],
        &["ctl"],
        &["ctl", "--rpcuser=only", "uptime"],
    ] {
        let out = Command::new(bin()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    let out = Command::new(bin()).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("btcnode "));
    let out = Command::new(bin()).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--rpclisten"));
}

#[test]
fn rpc_cookie_auth_and_401() {
    let mut node = Node::start("cookie", &["--nolisten".to_string()]);
    let cookie = node.net_dir().join(".cookie");
    let text = std::fs::read_to_string(&cookie).unwrap();
    assert!(text.starts_with("__cookie__:"), "{text}");
    assert_eq!(text.len(), "__cookie__:".len() + 64);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&cookie).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    assert_eq!(node.call("getconnectioncount", &[]), json!(0));
    let info = node.call("getnetworkinfo", &[]);
    assert_eq!(info["connections"], json!(0));
    assert!(
        info["subversion"]
            .as_str()
            .unwrap()
            .starts_with("/btcnode:")
    );

    // Wrong credentials: 401, and ctl exits non-zero.
    let wrong = btcnode::rpc::call(
        &format!("127.0.0.1:{}", node.rpc_port),
        &btcnode::rpc::basic_auth_header("__cookie__", "nope"),
        "uptime",
        &[],
        Duration::from_secs(5),
    );
    assert!(
        matches!(wrong, Err(btcnode::rpc::Error::Unauthorized)),
        "{wrong:?}"
    );
    let out = node.ctl(&["--rpcuser=x", "--rpcpass=y", "uptime"]);
    assert_eq!(out.status.code(), Some(1));

    // ctl with the cookie works; an unknown method is an error with exit 1.
    let out = node.ctl(&["getconnectioncount"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    let out = node.ctl(&["nosuchmethod"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-32601"));

    assert!(node.stop().success());
    assert!(!cookie.exists(), "cookie removed on stop");
}

#[test]
fn rpc_user_pass_auth() {
    let node = Node::start(
        "userpass",
        &[
            "--nolisten".to_string(),
            "--rpcuser=alice".to_string(),
            "--rpcpass=s3cret".to_string(),
        ],
    );
    assert!(!node.net_dir().join(".cookie").exists());
    let addr = format!("127.0.0.1:{}", node.rpc_port);
    let ok = btcnode::rpc::call(
        &addr,
        &btcnode::rpc::basic_auth_header("alice", "s3cret"),
        "uptime",
        &[],
        Duration::from_secs(5),
    );
    assert!(ok.is_ok(), "{ok:?}");
    let bad = btcnode::rpc::call(
        &addr,
        &btcnode::rpc::basic_auth_header("alice", "wrong"),
        "uptime",
        &[],
        Duration::from_secs(5),
    );
    assert!(matches!(bad, Err(btcnode::rpc::Error::Unauthorized)));
    let out = node.ctl(&["--rpcuser=alice", "--rpcpass=s3cret", "uptime"]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn setban_listbanned_clearbanned_persist() {
    let mut node = Node::start("bans", &["--nolisten".to_string()]);
    node.call("setban", &[json!("10.0.0.0/8"), json!("add")]);
    node.call("setban", &[json!("192.0.2.1"), json!("add"), json!(3600)]);
    let again = node.try_call("setban", &[json!("192.0.2.1"), json!("add")]);
    assert!(
        matches!(again, Err(btcnode::rpc::Error::Rpc(ref e)) if e.code == -23),
        "{again:?}"
    );
    let bad = node.try_call("setban", &[json!("not-an-ip"), json!("add")]);
    assert!(matches!(bad, Err(btcnode::rpc::Error::Rpc(ref e)) if e.code == -30));
    let list = node.call("listbanned", &[]);
    let addrs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    assert_eq!(addrs, vec!["10.0.0.0/8", "192.0.2.1/32"]);
    assert_eq!(list[1]["ban_duration"], json!(3600));

    // SIGTERM: exit 0 and a valid banlist.json that the next run loads.
    assert!(node.stop().success());
    let banlist = node.net_dir().join("banlist.json");
    assert!(valid_json_file(&banlist));
    let datadir = node.datadir.clone();
    let node2 = Node::start(
        "bans2",
        &[
            "--nolisten".to_string(),
            format!("--datadir={}", datadir.display()),
        ],
    );
    assert_eq!(node2.call("listbanned", &[]).as_array().unwrap().len(), 2);
    node2.call("setban", &[json!("10.0.0.0/8"), json!("remove")]);
    assert_eq!(node2.call("listbanned", &[]).as_array().unwrap().len(), 1);
    node2.call("clearbanned", &[]);
    assert_eq!(node2.call("listbanned", &[]), json!([]));
    drop(node2);
}

#[test]
fn bad_banlist_is_set_aside() {
    let datadir = temp_dir("badban");
    std::fs::create_dir_all(datadir.join("regtest")).unwrap();
    std::fs::write(datadir.join("regtest/banlist.json"), b"{garbage").unwrap();
    let node = Node::start(
        "badban-run",
        &[
            "--nolisten".to_string(),
            format!("--datadir={}", datadir.display()),
        ],
    );
    assert_eq!(node.call("listbanned", &[]), json!([]));
    let aside = std::fs::read_dir(datadir.join("regtest"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("banlist.json.bad-")
        });
    assert!(aside);
}

#[test]
fn stop_rpc_and_signals() {
    // The stop RPC ends the process with 0.
    let mut node = Node::start("stoprpc", &["--nolisten".to_string()]);
    assert_eq!(node.call("stop", &[]), Value::from("btcnode stopping"));
    let status = node
        .wait_exit(Duration::from_secs(20))
        .expect("exit after stop");
    assert!(status.success());

    // SIGINT twice: the second says it is already stopping; exit 0.
    let mut node = Node::start("sigint", &["--nolisten".to_string()]);
    node.signal("USR1");
    assert!(wait_until(Duration::from_secs(5), || node
        .log_text()
        .contains("state dump end")));
    node.signal("INT");
    node.signal("INT");
    let status = node.wait_exit(Duration::from_secs(20)).expect("exit");
    assert!(status.success());
    let log = node.log_text();
    assert!(log.contains("shutdown complete"), "{log}");
}

// ---- peers -------------------------------------------------------------------------------

use btcnode::wire::{
    AddrV2, Message, MsgAddr, MsgFeeFilter, MsgFilterLoad, MsgPing, NetAddress, ServiceFlag,
};
use std::net::TcpStream;

use crate::peer_support::Remote;

fn connect_count(node: &Node) -> u64 {
    node.try_call("getconnectioncount", &[])
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(u64::MAX)
}

/// A scripted peer connected to `node` with the handshake done.
fn scripted_peer(node: &Node) -> Remote {
    let s = TcpStream::connect(("127.0.0.1", node.port)).expect("connect to node");
    let mut r = Remote::new(s);
    r.handshake(false);
    r
}

/// Sends a ping and returns every message received before its pong.
fn until_pong(r: &mut Remote, nonce: u64) -> Vec<Message> {
    r.send(&Message::Ping(MsgPing { nonce }));
    let mut seen = Vec::new();
    loop {
        match r.recv() {
            Message::Pong(p) if p.nonce == nonce => return seen,
            m => seen.push(m),
        }
    }
}

/// `n` routable addresses (documentation-style data, never dialed: every node here runs
/// with --connect or without automatic outbound connections).
fn routable_addrs(n: usize, fresh: bool) -> Vec<NetAddress> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    (0..n)
        .map(|i| NetAddress {
            timestamp: if fresh { now } else { now - 3 * 3600 },
            services: ServiceFlag::NODE_NETWORK,
            addr: AddrV2::Ipv4([11, 20 + i as u8, 1, 1].into()),
            port: 8333,
        })
        .collect()
}

#[test]
fn three_node_net_counts_and_dump() {
    let a = Node::start("net-a", &[]);
    // b dials a and listens on a port of its own; c dials both and does not listen.
    let b = Node::start(
        "net-b",
        &[
            format!("--connect=127.0.0.1:{}", a.port),
            format!("--listen=127.0.0.1:{}", free_port()),
        ],
    );
    let b_listen = listen_port_of(&b);
    let c = Node::start(
        "net-c",
        &[
            format!("--connect=127.0.0.1:{}", a.port),
            format!("--connect=127.0.0.1:{b_listen}"),
            "--nolisten".to_string(),
        ],
    );
    assert!(
        wait_until(Duration::from_secs(20), || connect_count(&a) == 2
            && connect_count(&b) == 2
            && connect_count(&c) == 2),
        "counts {} {} {}\n{}",
        connect_count(&a),
        connect_count(&b),
        connect_count(&c),
        c.log_text()
    );
    let peers = c.call("getpeerinfo", &[]);
    let list = peers.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|p| p["inbound"] == json!(false)
        && p["connection_type"] == json!("manual")
        && p["version"] == json!(70016)));
    let out = a.ctl(&["getconnectioncount"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    let out = a.ctl(&["getpeerinfo"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|p| p["inbound"] == json!(true))
    );

    // SIGUSR1 on a: one block per peer with its threads.
    a.signal("USR1");
    assert!(wait_until(Duration::from_secs(5), || a
        .log_text()
        .contains("state dump end")));
    let log = a.log_text();
    let ids: Vec<u64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    for id in ids {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("dump peer {id} ")))
            .unwrap_or_else(|| panic!("no dump line for peer {id}:\n{log}"));
        assert!(line.contains(&format!("p{id}-in")), "{line}");
        assert!(
            line.contains("inbound") && line.contains("version 70016"),
            "{line}"
        );
        // Queue depths and what the peer waits for (stall deadlines, or none owed).
        assert!(line.contains("| queues: send "), "{line}");
        assert!(line.contains(" send ") && line.contains(" inv "), "{line}");
        // Nothing is owed by these peers (or, once the chain syncs headers, a `headers`
        // deadline relative to now).
        assert!(
            line.contains("| waits for: no response;") || line.contains("| waits for: headers in "),
            "{line}"
        );
    }
}

/// The p2p port a node listens on, from its log line "listening on 127.0.0.1:PORT".
fn listen_port_of(node: &Node) -> u16 {
    let log = node.log_text();
    let at = log.find("listening on 127.0.0.1:").expect("listen line");
    let rest = &log[at + "listening on 127.0.0.1:".len()..];
    rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap()]
        .parse()
        .unwrap()
}

#[test]
fn max_peers_enforced() {
    // Inbound gets max peers minus the 8 outbound slots (btcd's meaning, outbound reserved
    // as in Core): 9 leaves one inbound slot.
    let node = Node::start("maxpeers", &["--maxpeers=9".to_string()]);
    let _first = scripted_peer(&node);
    assert!(wait_until(Duration::from_secs(10), || connect_count(&node) == 1));
    let s = TcpStream::connect(("127.0.0.1", node.port)).unwrap();
    let mut second = Remote::new(s);
    let v = second.version(70016, 7);
    second.send(&Message::Version(v));
    // Refused: closed without a version.
    assert!(second.try_recv().is_err());
    assert_eq!(connect_count(&node), 1);
}

/// The inbound count drops when the node closes a socket (the done notice, not a poll): a
/// client that reconnects as soon as it saw the close is never refused, even with one slot.
#[test]
fn sequential_handshakes_are_never_refused() {
    let node = Node::start("sequential", &["--maxpeers=9".to_string()]);
    for i in 0..20 {
        let mut r = scripted_peer(&node); // panics if refused: no version comes back
        // A fee rate below zero makes the node drop us (misbehaving, not banned).
        r.send(&Message::FeeFilter(MsgFeeFilter { min_fee: -1 }));
        let mut seen = 0;
        while r.try_recv().is_ok() {
            seen += 1;
            assert!(seen < 100, "connection {i} was not closed");
        }
    }
    let lost = node.call("getdisconnects", &[]);
    let lost = lost.as_array().expect("an array");
    assert_eq!(lost.len(), 20, "{lost:?}");
    assert!(lost.iter().all(|r| r["kind"] == json!("misbehaving")
        && r["reason"] == json!("misbehaving: invalid feefilter -1")));
    assert!(!node.log_text().contains("refusing"));
}

#[test]
fn misbehaving_peer_is_banned_refused_listed_and_unbanned() {
    let node = Node::start("ban", &[]);
    let mut r = scripted_peer(&node);
    r.send(&Message::FilterLoad(MsgFilterLoad {
        filter: vec![0; 10],
        hash_funcs: 1,
        tweak: 0,
        flags: 0,
    }));
    assert!(
        r.try_recv().is_err() || r.try_recv().is_err(),
        "node should drop the peer"
    );
    assert!(wait_until(Duration::from_secs(10), || node
        .call("listbanned", &[])
        .as_array()
        .is_some_and(|l| l.len() == 1)));
    let bans = node.call("listbanned", &[]);
    assert_eq!(bans[0]["address"], json!("127.0.0.1/32"));
    // Refused on reconnect, before any handshake.
    let s = TcpStream::connect(("127.0.0.1", node.port)).unwrap();
    let mut again = Remote::new(s);
    let v = again.version(70016, 9);
    again.send(&Message::Version(v));
    assert!(again.try_recv().is_err());
    assert!(node.log_text().contains("refusing"));
    // Unban: connections work again.
    node.call("setban", &[json!("127.0.0.1"), json!("remove")]);
    let _ok = scripted_peer(&node);
    assert!(wait_until(Duration::from_secs(10), || connect_count(&node) == 1));
    // clearbanned empties the list.
    node.call("setban", &[json!("10.1.1.1"), json!("add")]);
    node.call("clearbanned", &[]);
    assert_eq!(node.call("listbanned", &[]), json!([]));
}

#[test]
fn getaddr_answered_once_per_connection() {
    // --connect to a closed port: the node never dials the addresses it learns.
    let closed = free_port();
    let node = Node::start(
        "getaddr",
        &[
            format!("--connect=127.0.0.1:{closed}"),
            "--whitelist=127.0.0.1".to_string(),
        ],
    );
    let node_listen = listen_port_of(&node);
    let connect = || {
        let s = TcpStream::connect(("127.0.0.1", node_listen)).unwrap();
        let mut r = Remote::new(s);
        r.handshake(false);
        r
    };
    let mut feeder = connect();
    feeder.send(&Message::Addr(MsgAddr {
        addr_list: routable_addrs(20, false),
    }));
    until_pong(&mut feeder, 1);
    // `getnodeaddresses 0` is the whole book (Core), not the 23% getaddr sample.
    assert!(
        wait_until(Duration::from_secs(5), || node
            .call("getnodeaddresses", &[json!(0)])
            .as_array()
            .is_some_and(|l| l.len() == 20)),
        "{}",
        node.call("getnodeaddresses", &[json!(0)])
    );

    let mut asker = connect();
    asker.send(&Message::GetAddr);
    asker.send(&Message::GetAddr);
    let seen = until_pong(&mut asker, 2);
    let replies = seen
        .iter()
        .filter(|m| matches!(m, Message::Addr(_) | Message::AddrV2(_)))
        .count();
    assert_eq!(replies, 1, "{seen:?}");
    // A new connection gets its own answer.
    let mut again = connect();
    again.send(&Message::GetAddr);
    let seen = until_pong(&mut again, 3);
    assert_eq!(
        seen.iter()
            .filter(|m| matches!(m, Message::Addr(_) | Message::AddrV2(_)))
            .count(),
        1
    );
    // Nothing but the --connect target was dialed.
    let log = node.log_text();
    // The learned addresses are 11.20.1.1 .. 11.39.1.1; match their whole shape, since a bare
    // "11.2" also occurs in log timestamps.
    let dialed = (0..20).any(|i| log.contains(&format!("11.{}.1.1", 20 + i)));
    assert!(!dialed, "dialed a learned address:\n{log}");
}

#[test]
fn addr_relay_rate_limited() {
    let closed = free_port();
    let node = Node::start("addrlimit", &[format!("--connect=127.0.0.1:{closed}")]);
    let listen = listen_port_of(&node);
    let s = TcpStream::connect(("127.0.0.1", listen)).unwrap();
    let mut r = Remote::new(s);
    r.handshake(false);
    r.send(&Message::Addr(MsgAddr {
        addr_list: routable_addrs(20, true),
    }));
    until_pong(&mut r, 5);
    let info = node.call("getpeerinfo", &[]);
    let p = &info[0];
    assert_eq!(p["addr_processed"], json!(1), "{info}");
    assert_eq!(p["addr_rate_limited"], json!(19), "{info}");
}

#[test]
fn sigterm_leaves_valid_files_and_connect_dials_only_targets() {
    let a = Node::start("files-a", &[]);
    let mut b = Node::start(
        "files-b",
        &[
            format!("--connect=127.0.0.1:{}", a.port),
            "--nolisten".to_string(),
        ],
    );
    assert!(wait_until(Duration::from_secs(10), || connect_count(&b) == 1));
    let peers = b.call("getpeerinfo", &[]);
    assert_eq!(peers[0]["addr"], json!(format!("127.0.0.1:{}", a.port)));
    assert!(b.stop().success());
    assert!(valid_json_file(&b.net_dir().join("peers.json")));
    assert!(valid_json_file(&b.net_dir().join("banlist.json")));
    let log = b.log_text();
    assert!(log.contains("shutdown complete"));
    assert!(!log.contains("DNS"), "no seeding with --connect:\n{log}");
}

/// Names of the node process's per-peer threads (`pN-*`), from /proc.
fn peer_threads(node: &Node) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{}/task", node.pid())) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| {
            n.strip_prefix('p')
                .and_then(|r| r.split_once('-'))
                .is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect()
}

#[test]
fn whitelisted_peer_is_not_banned_and_threads_end() {
    let node = Node::start("whitelist", &["--whitelist=127.0.0.0/8".to_string()]);
    let mut r = scripted_peer(&node);
    assert!(wait_until(Duration::from_secs(10), || !peer_threads(&node).is_empty()));
    r.send(&Message::FilterLoad(MsgFilterLoad {
        filter: vec![0; 10],
        hash_funcs: 1,
        tweak: 0,
        flags: 0,
    }));
    // Bloom is still not served (disconnect), but a whitelisted host is never banned.
    while r.try_recv().is_ok() {}
    assert!(wait_until(Duration::from_secs(10), || connect_count(&node) == 0));
    assert_eq!(node.call("listbanned", &[]), json!([]));
    // Every thread of the gone peer has ended.
    assert!(
        wait_until(Duration::from_secs(10), || peer_threads(&node).is_empty()),
        "{:?}",
        peer_threads(&node)
    );
    let _again = scripted_peer(&node);
    assert!(wait_until(Duration::from_secs(10), || connect_count(&node) == 1));
}

#[test]
fn fresh_addresses_are_relayed_to_two_peers() {
    let closed = free_port();
    let node = Node::start("relay", &[format!("--connect=127.0.0.1:{closed}")]);
    let mut sender = scripted_peer(&node);
    let mut others: Vec<Remote> = (0..2).map(|_| scripted_peer(&node)).collect();
    assert!(wait_until(Duration::from_secs(10), || connect_count(&node) == 3));
    let addr = routable_addrs(1, true);
    sender.send(&Message::Addr(MsgAddr {
        addr_list: addr.clone(),
    }));
    for r in &mut others {
        let got = loop {
            match r.try_recv() {
                Ok(Message::AddrV2(m)) => break m.addr_list,
                Ok(Message::Addr(m)) => break m.addr_list,
                Ok(_) => continue,
                Err(e) => panic!("no relayed address: {e}"),
            }
        };
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].addr, addr[0].addr);
    }
}

#[test]
fn addnode_add_remove_onetry() {
    let a = Node::start("addnode-a", &[]);
    let b = Node::start("addnode-b", &["--nolisten".to_string()]);
    let target = format!("127.0.0.1:{}", a.port);
    b.call("addnode", &[json!(target), json!("add")]);
    assert!(wait_until(Duration::from_secs(10), || connect_count(&b) == 1));
    let again = b.try_call("addnode", &[json!(target), json!("add")]);
    assert!(matches!(again, Err(btcnode::rpc::Error::Rpc(ref e)) if e.code == -23));
    assert_eq!(
        b.call("getpeerinfo", &[])[0]["connection_type"],
        json!("manual")
    );

    // remove: disconnected and never redialed. A permanent peer is retried 5 s after it
    // goes away; a witness permanent peer at a closed port, added now, is retried on the same
    // schedule, so once its second attempt is logged a redial of `target` would have been too.
    b.call("addnode", &[json!(target), json!("remove")]);
    assert!(wait_until(Duration::from_secs(10), || connect_count(&b) == 0));
    let dead = format!("127.0.0.1:{}", free_port());
    b.call("addnode", &[json!(dead), json!("add")]);
    let attempt = format!("attempting to connect to {dead} ");
    assert!(
        wait_until(Duration::from_secs(20), || b
            .log_text()
            .matches(&attempt)
            .count()
            >= 2),
        "the witness was not retried; log:\n{}",
        b.log_text()
    );
    assert_eq!(connect_count(&b), 0);
    assert_eq!(connect_count(&a), 0);
    b.call("addnode", &[json!(dead), json!("remove")]);
    let gone = b.try_call("addnode", &[json!(target), json!("remove")]);
    assert!(matches!(gone, Err(btcnode::rpc::Error::Rpc(ref e)) if e.code == -24));

    // onetry connects once.
    b.call("addnode", &[json!(target), json!("onetry")]);
    assert!(wait_until(Duration::from_secs(10), || connect_count(&b) == 1));
    // disconnectnode by address.
    b.call("disconnectnode", &[json!(target)]);
    assert!(wait_until(Duration::from_secs(10), || connect_count(&b) == 0));
    let none = b.try_call("disconnectnode", &[json!(target)]);
    assert!(matches!(none, Err(btcnode::rpc::Error::Rpc(ref e)) if e.code == -29));
    // Both drops are in getdisconnects with the RPC that made them, newest last.
    let lost = b.call("getdisconnects", &[]);
    let kinds: Vec<(&str, &str)> = lost
        .as_array()
        .expect("an array")
        .iter()
        .filter(|r| r["addr"] == json!(target))
        .map(|r| {
            (
                r["kind"].as_str().unwrap_or(""),
                r["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("rpc", "dropped by rpc addnode"),
            ("rpc", "dropped by rpc disconnectnode")
        ],
        "{lost}"
    );
    assert!(
        b.log_text()
            .contains("disconnected: dropped by rpc disconnectnode")
    );
}

#[test]
fn local_net_script_brings_up_three_connected_nodes() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/local-net.sh");
    let dir = temp_dir("localnet");
    // The script uses base..base+2 and base+100..base+102.
    let base = free_port_block(3);
    let out = Command::new("bash")
        .arg(&script)
        .arg("3")
        .env("BTCNODE_BIN", bin())
        .env("BASE_PORT", base.to_string())
        .env("LOCALNET_DIR", &dir)
        .env("LOCALNET_SECONDS", "0")
        .output()
        .expect("run local-net.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for i in 0..3 {
        assert!(text.contains(&format!("== node{i}: 2 peers")), "{text}");
    }
    assert!(text.contains("stopped 3 nodes"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn runtime_failure_exits_1() {
    // The p2p port is taken: a runtime error, exit code 1, nothing left running.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = temp_dir("exit1");
    let out = Command::new(bin())
        .args([
            "--regtest".to_string(),
            "--nodnsseed".to_string(),
            format!("--datadir={}", dir.display()),
            format!("--listen=127.0.0.1:{port}"),
            format!("--rpclisten=127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A microsocks SOCKS5 server on loopback requiring `user`/`pass`; killed on drop.
struct Microsocks(std::process::Child, u16);

impl Microsocks {
    fn start(user: &str, pass: &str) -> Microsocks {
        let port = free_port();
        let child = Command::new("microsocks")
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-u",
                user,
                "-P",
                pass,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("microsocks is installed (scripts/test.sh installs it)");
        assert!(wait_until(Duration::from_secs(5), || TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()));
        Microsocks(child, port)
    }
}

impl Drop for Microsocks {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn outbound_goes_through_the_socks_proxy() {
    let socks = Microsocks::start("alice", "s3cret");
    let a = Node::start("proxy-a", &[]);
    let through = |name: &str, pass: &str| {
        Node::start(
            name,
            &[
                format!("--connect=127.0.0.1:{}", a.port),
                format!("--proxy=127.0.0.1:{}", socks.1),
                "--proxyuser=alice".to_string(),
                format!("--proxypass={pass}"),
                "--nolisten".to_string(),
            ],
        )
    };
    // Wrong proxy password: the proxy refuses, so no connection ever reaches a. The refusal
    // in the log shows the dial was made and ended.
    let refused = through("proxy-bad", "wrong");
    assert!(
        wait_until(Duration::from_secs(10), || refused
            .log_text()
            .contains("socks5: proxy rejected username and password")),
        "no proxy refusal; log:\n{}",
        refused.log_text()
    );
    assert_eq!(connect_count(&refused), 0);
    assert_eq!(connect_count(&a), 0);
    drop(refused);
    // The right password: connected through the proxy.
    let b = through("proxy-b", "s3cret");
    assert!(
        wait_until(Duration::from_secs(10), || connect_count(&b) == 1),
        "{}",
        b.log_text()
    );
    assert!(wait_until(Duration::from_secs(10), || connect_count(&a) == 1));
}

/// Names of this process's threads.
fn own_thread_names() -> Vec<String> {
    btcnode::server::state::thread_names()
}

/// The server thread waits on the connection manager and on peers' queues while listeners,
/// dials and peer handlers wait on the server's channel. With that channel shrunk to one
/// message, a flood of inbound connects and closes plus refused and retried outbound
/// requests (release_request calls connmgr from the server thread) must neither wedge the
/// node nor stop it from shutting down and joining everything.
#[test]
fn tiny_server_channel_survives_connect_flood() {
    // In process: hold the peer tests' lock so their peer-thread counts stay exact.
    let _g = crate::peer_support::SERIAL.lock();
    let baseline_peers = crate::peer_support::peer_thread_count();
    // Removed on drop, failed or not: this test runs the server in process, not as a Node.
    let dir = crate::support::Scratch::new("flood");
    let dir = dir.path();
    let port = free_port();
    let mut args = vec![
        "--regtest".to_string(),
        format!("--datadir={}", dir.display()),
        format!("--listen=127.0.0.1:{port}"),
        "--norpc".to_string(),
        "--nodnsseed".to_string(),
        "--maxpeers=3".to_string(),
        "--peertimeout=2s".to_string(),
    ];
    // Persistent requests to ourselves: each is an outbound and an inbound connection, most
    // refused at max peers (and so released to the connection manager and retried).
    for _ in 0..6 {
        args.push(format!("--connect=127.0.0.1:{port}"));
    }
    let btcnode::config::Command::Run(mut config) =
        btcnode::config::parse_args(&args).expect("args")
    else {
        panic!("not a run command")
    };
    config.server_queue_len = 1;
    let server = btcnode::server::Server::start(*config, Box::new(|| {})).expect("start");
    let floods: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..50 {
                    if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                        drop(s);
                    }
                }
            })
        })
        .collect();
    // Meanwhile the server thread calls the connection manager (addnode onetry) while the
    // dials it starts wait to hand their connections over the full channel, and it still
    // answers every query.
    let control = server.control();
    let target = format!("127.0.0.1:{port}");
    for i in 0..20 {
        server.dump(); // never blocks, even with the channel full
        let t = target.clone();
        let r = control.query(move |s| {
            if i % 2 == 0 {
                s.add_node(&t, btcnode::rpc::AddNodeCommand::OneTry).is_ok()
            } else {
                // Manual peers (6 --connect, 10 onetry) are always admitted; inbound gets
                // no slot (3 max peers − 6 manual).
                s.peers.len() <= 3 + 6 + 10
            }
        });
        assert_eq!(r.ok(), Some(true), "query {i}");
    }
    for f in floods {
        f.join().expect("flood thread");
    }
    assert_eq!(
        control.query(|s| s.peers.len() <= 3 + 6 + 10).ok(),
        Some(true)
    );
    // Stop on another thread so a wedged server fails the test instead of hanging it.
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let stopper = std::thread::spawn(move || {
        server.stop_and_join();
        let _ = done_tx.send(());
    });
    assert!(
        done_rx.recv_timeout(Duration::from_secs(60)).is_ok(),
        "server did not stop: threads {:?}",
        own_thread_names()
    );
    stopper.join().expect("stopper");
    let no_server = |names: &[String]| !names.iter().any(|n| n == "server" || n == "reaper");
    crate::peer_support::wait_until(Duration::from_secs(2), || no_server(&own_thread_names()));
    let names = own_thread_names();
    assert!(no_server(&names), "{names:?}");
    assert!(
        crate::peer_support::wait_until(Duration::from_secs(5), || {
            crate::peer_support::peer_thread_count() <= baseline_peers
        }),
        "peer threads left: {:?}",
        own_thread_names()
    );
}

/// The `addr`/`addrv2` entries in `msgs`.
fn addrs_in(msgs: &[Message]) -> Vec<NetAddress> {
    msgs.iter()
        .flat_map(|m| match m {
            Message::Addr(a) => a.addr_list.clone(),
            Message::AddrV2(a) => a.addr_list.clone(),
            _ => Vec::new(),
        })
        .collect()
}

/// `getnetworkinfo`'s `localaddresses` as (address, port, score).
fn local_addresses(node: &Node) -> Vec<(String, u64, u64)> {
    let info = node.call("getnetworkinfo", &[]);
    info["localaddresses"]
        .as_array()
        .unwrap_or_else(|| panic!("no localaddresses: {info}"))
        .iter()
        .map(|a| {
            (
                a["address"].as_str().unwrap_or_default().to_string(),
                a["port"].as_u64().unwrap_or(0),
                a["score"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn own_address_advertised_after_handshake_and_not_repeated() {
    // 11.22.33.44 is data only: the node dials nothing but the closed --connect port, and
    // the test only ever connects to the node's loopback listener.
    let closed = free_port();
    let node = Node::start(
        "advert",
        &[
            format!("--connect=127.0.0.1:{closed}"),
            "--externalip=11.22.33.44".to_string(),
        ],
    );
    let ours = AddrV2::Ipv4([11, 22, 33, 44].into());
    // An --externalip without a port gets the port we listen on.
    assert_eq!(
        local_addresses(&node),
        vec![("11.22.33.44".to_string(), u64::from(node.port), 4)]
    );
    let mut r = scripted_peer(&node);
    // The first server tick (1 s) after the handshake sends it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    let advertised = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no advertisement; got {seen:?}; log:\n{}",
            node.log_text()
        );
        match r.try_recv() {
            Ok(m) => {
                let got = addrs_in(std::slice::from_ref(&m));
                if let Some(a) = got.iter().find(|a| a.addr == ours) {
                    break *a;
                }
                seen.push(m);
            }
            Err(e) => panic!("no advertisement ({e}); got {seen:?}"),
        }
    };
    assert_eq!(advertised.port, node.port, "{advertised:?}");
    // Each connection gets its own first advertisement, on a server tick after its
    // handshake, which is after the first peer's advertisement.
    let mut r2 = scripted_peer(&node);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        assert!(std::time::Instant::now() < deadline, "second peer not told");
        if let Ok(m) = r2.try_recv()
            && addrs_in(std::slice::from_ref(&m))
                .iter()
                .any(|a| a.addr == ours && a.port == node.port)
        {
            break;
        }
    }
    // Not again before the day is up: that later tick (and any before it) sent the first peer
    // nothing, and whatever it queued for it arrives before the pong to a ping sent now.
    let later = until_pong(&mut r, 7);
    assert!(
        !addrs_in(&later).iter().any(|a| a.addr == ours),
        "advertised twice: {later:?}"
    );
}

#[test]
fn version_addr_you_teaches_our_external_address() {
    let closed = free_port();
    let node = Node::start("seenlocal", &[format!("--connect=127.0.0.1:{closed}")]);
    // A peer seeing us at a loopback address teaches nothing.
    let mut plain = scripted_peer(&node);
    until_pong(&mut plain, 1);
    assert_eq!(local_addresses(&node), vec![]);

    // An inbound peer saying it sees us at 11.22.33.55 (data only, never dialed).
    let s = TcpStream::connect(("127.0.0.1", node.port)).expect("connect to node");
    let mut r = Remote::new(s);
    let mut v = r.version(btcnode::wire::PROTOCOL_VERSION as i32, 0x5eed);
    v.addr_you = NetAddress {
        timestamp: 0,
        services: ServiceFlag::NONE,
        addr: AddrV2::Ipv4([11, 22, 33, 55].into()),
        port: 50_000,
    };
    r.send(&Message::Version(v));
    r.recv_until("version");
    r.send(&Message::Verack);
    r.recv_until("verack");
    until_pong(&mut r, 2);
    // Learned with our listen port (not the port the peer named) at the lowest score, as
    // Core's SeenLocal / btcd's InterfacePrio.
    assert!(
        wait_until(Duration::from_secs(5), || local_addresses(&node)
            == vec![("11.22.33.55".to_string(), u64::from(node.port), 0)]),
        "{:?}",
        local_addresses(&node)
    );
}
