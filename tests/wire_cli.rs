//! The `btcnode decode` / `btcnode encode` tools, run as the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::testdata_or_skip;

fn btcnode(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_btcnode"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("btcnode runs");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("btcnode exits")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone())
        .expect("utf8")
        .trim()
        .to_string()
}

/// The framed-message vectors of wire.json, or `None` (and `check` skipped) without test data.
fn framed_vectors(check: &str) -> Option<Vec<(String, String, u32, String)>> {
    let path = testdata_or_skip(check, "vectors/wire.json")?;
    let text = std::fs::read_to_string(path).expect("vectors");
    let v: Value = serde_json::from_str(&text).expect("json");
    let net = |m: &str| match m {
        "0x0709110b" => "--testnet3",
        "0xdab5bffa" => "--regtest",
        "0x40cf030a" => "--signet",
        _ => "--mainnet",
    };
    let out = v["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .filter(|x| x["kind"] == "framed message")
        .map(|x| {
            (
                x["name"].as_str().expect("name").to_string(),
                x["hex"].as_str().expect("hex").to_string(),
                x["protocol_version"].as_u64().expect("pver") as u32,
                net(x["decoded"]["magic"].as_str().unwrap_or("")).to_string(),
            )
        })
        .collect();
    Some(out)
}

#[test]
fn decode_then_encode_gives_back_every_framed_vector() {
    let Some(vectors) = framed_vectors("decode_then_encode_gives_back_every_framed_vector") else {
        return;
    };
    for (name, hex, pver, net) in vectors {
        let pver = pver.to_string();
        let d = btcnode(&["decode", &net, "--pver", &pver, &hex], None);
        if name == "framed_empty_tx_mainnet" {
            // Reads as a BIP144 marker with a zero flag: an error (see wire_vectors).
            assert_eq!(d.status.code(), Some(1));
            continue;
        }
        assert!(
            d.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&d.stderr)
        );
        let json = stdout(&d);
        let v: Value = serde_json::from_str(&json).expect("decode prints JSON");
        assert!(v["command"].is_string(), "{name}: {json}");
        // Through stdin this time.
        let e = btcnode(&["encode", &net, "--pver", &pver, "-"], Some(&json));
        assert!(
            e.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&e.stderr)
        );
        assert_eq!(stdout(&e), hex, "{name}");
    }
}

#[test]
fn hashes_print_in_display_order() {
    let Some(vectors) = framed_vectors("hashes_print_in_display_order") else {
        return;
    };
    let (_, inv, _, _) = vectors
        .into_iter()
        .find(|v| v.0 == "framed_inv_mainnet")
        .expect("inv vector");
    let d = btcnode(&["decode", "--pretty", &inv], None);
    assert!(d.status.success());
    let out = stdout(&d);
    assert!(
        out.contains("\"00000000000003264bc2ac36a60840790ba1d475d01367e7c723da941069e9dc\""),
        "{out}"
    );
    assert!(out.contains("\"MSG_BLOCK\""), "{out}");
    assert!(out.lines().count() > 3, "--pretty prints several lines");
}

#[test]
fn invalid_input_exits_1_with_one_line() {
    let cases: [&[&str]; 8] = [
        &["decode", "zz"],
        &["decode", "f9beb4d9"],
        &["decode", "0b1109070000000000000000000000000000000000000000"],
        &[
            "decode",
            "f9beb4d976657273696f6e000000000002000000efbe00000000",
        ],
        &[
            "decode",
            "f9beb4d976657261636b000000000000000000005df6e0e2ff",
        ],
        &["encode", "{not json"],
        &["encode", "{\"command\":\"ping\"}"],
        &[
            "encode",
            "{\"command\":\"inv\",\"inv_list\":[{\"type\":\"MSG_NOPE\",\"hash\":\"00\"}]}",
        ],
    ];
    for args in cases {
        let o = btcnode(args, None);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(o.stdout.is_empty());
    }
    let o = btcnode(&["decode", "--bogusnet", "00"], None);
    assert_eq!(o.status.code(), Some(2));
    let o = btcnode(&["decode"], None);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn unknown_commands_round_trip_as_raw_payload() {
    let json = r#"{"command":"sendtxrcncl","payload":"0100000002000000000000"}"#;
    let e = btcnode(&["encode", "--regtest", json], None);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let hex = stdout(&e);
    let d = btcnode(&["decode", "--regtest", &hex], None);
    let v: Value = serde_json::from_str(&stdout(&d)).expect("json");
    assert_eq!(v, serde_json::from_str::<Value>(json).expect("json"));
}

#[test]
fn a_real_block_round_trips_through_stdin() {
    let Some(path) = testdata_or_skip(
        "a_real_block_round_trips_through_stdin",
        "data/mainnet-block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.bin",
    ) else {
        return;
    };
    let payload = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let msg = btcnode::wire::Message::decode("block", payload, 70016).expect("real block");
    let frame = btcnode::wire::encode_message(&msg, 70016, 0xd9b4_bef9).expect("encodable");
    let hex = btcnode::wire::hex::encode(&frame);
    // Wrapped like a capture dump: whitespace is ignored.
    let wrapped: String = hex
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned() + "\n")
        .collect();
    let d = btcnode(&["decode", "-"], Some(&wrapped));
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let json = stdout(&d);
    assert!(json.starts_with("{\"command\":\"block\""));
    assert!(json.contains("00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab"));
    let e = btcnode(&["encode", "-"], Some(&json));
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    assert!(stdout(&e) == hex, "encode(decode(block)) differs");
}

/// Frames `payload` as `command` on mainnet, checking the payload survives the library.
fn frame(command: &str, payload: &[u8]) -> String {
    let msg = btcnode::wire::Message::decode(command, payload.to_vec(), 70016).expect("decodes");
    let frame = btcnode::wire::encode_message(&msg, 70016, 0xd9b4_bef9).expect("encodable");
    assert_eq!(&frame[24..], payload, "{command} payload kept");
    btcnode::wire::hex::encode(&frame)
}

#[test]
fn odd_relay_bytes_and_non_utf8_strings_round_trip_through_the_tool() {
    // version: NODE_NETWORK, two 127.0.0.1 addresses, user agent "/\xff/", relay byte 2.
    let mut version = Vec::new();
    version.extend_from_slice(&70016i32.to_le_bytes());
    version.extend_from_slice(&1u64.to_le_bytes());
    version.extend_from_slice(&1_700_000_000i64.to_le_bytes());
    for _ in 0..2 {
        version.extend_from_slice(&1u64.to_le_bytes());
        version.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
        version.extend_from_slice(&8333u16.to_be_bytes());
    }
    version.extend_from_slice(&42u64.to_le_bytes());
    version.extend_from_slice(b"\x03/\xff/");
    version.extend_from_slice(&800_000i32.to_le_bytes());
    version.push(2);
    let reject = b"\x02t\xff\x10\x03\xc3\x28!".to_vec();
    for (command, payload) in [("version", version), ("reject", reject)] {
        let hex = frame(command, &payload);
        let d = btcnode(&["decode", &hex], None);
        assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
        let json = stdout(&d);
        let v: Value = serde_json::from_str(&json).expect("json");
        if command == "version" {
            assert_eq!(v["user_agent"]["hex"], "2fff2f", "{json}");
            assert_eq!(v["relay_byte"], 2, "{json}");
        } else {
            assert_eq!(v["cmd"]["hex"], "74ff", "{json}");
            assert_eq!(v["reason"]["hex"], "c32821", "{json}");
        }
        let e = btcnode(&["encode", &json], None);
        assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
        assert_eq!(stdout(&e), hex, "{command}");
    }
}
