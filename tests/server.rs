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
