//! The `btcnode decode` and `btcnode encode` tools: one framed message as hex in, JSON out,
//! and back. Operators use them on captures; `encode(decode(x)) == x` for every valid
//! message. Runs on the main thread, reads stdin when the argument is `-`.
//!
//! JSON form: an object with `"command"` and the message's fields (hashes in display hex,
//! byte strings as hex, addresses as text); unknown commands are
//! `{"command": ..., "payload": hex}`. Text fields (user agent, reject command and reason)
//! are plain strings when their bytes are UTF-8 and `{"hex": ...}` otherwise; a `version`
//! relay byte other than 0 or 1 shows as `"relay_byte"`; block headers (in `headers`,
//! `block`, `merkleblock`) show `bits` as "0x..." hex and their `block_hash`, which is
//! checked when read back.

use std::io::Read;

use super::PROTOCOL_VERSION;
use super::error::Error;
use super::framing::{encode_message, read_message};
use super::hex;
use super::message::{Message, is_known_command};
use crate::params::Network;

/// Options shared by both tools.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    network: Network,
    pver: u32,
    pretty: bool,
    input: String,
}

fn usage(tool: &str) -> String {
    let what = if tool == "decode" { "HEX|-" } else { "JSON|-" };
    format!(
        "usage: btcnode {tool} [--mainnet|--testnet3|--testnet4|--signet|--regtest|--simnet] \
         [--pver N] [--pretty] {what}"
    )
}

fn parse_args(tool: &str, args: &[String]) -> Result<Options, String> {
    let mut network = Network::Mainnet;
    let mut pver = PROTOCOL_VERSION;
    let mut pretty = false;
    let mut input = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pver" => {
                let v = it.next().ok_or("--pver needs a value")?;
                pver = v
                    .parse()
                    .map_err(|_| format!("--pver: {v:?} is not a protocol version"))?;
            }
            "--pretty" => pretty = true,
            "-h" | "--help" => return Err(usage(tool)),
            "-" => input = Some("-".to_string()),
            flag if flag.starts_with("--") => {
                if let Some(v) = flag.strip_prefix("--pver=") {
                    pver = v
                        .parse()
                        .map_err(|_| format!("--pver: {v:?} is not a protocol version"))?;
                } else {
                    network = flag[2..]
                        .parse()
                        .map_err(|e| format!("{e}; {}", usage(tool)))?;
                }
            }
            other => {
                if input.is_some() {
                    return Err(format!("more than one input; {}", usage(tool)));
                }
                input = Some(other.to_string());
            }
        }
    }
    let input = input.ok_or_else(|| usage(tool))?;
    Ok(Options {
        network,
        pver,
        pretty,
        input,
    })
}

fn read_input(arg: &str) -> Result<String, String> {
    if arg != "-" {
        return Ok(arg.to_string());
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| format!("reading stdin: {e}"))?;
    Ok(s)
}

/// A message as the JSON object the tools print.
pub fn message_to_json(msg: &Message) -> Result<serde_json::Value, String> {
    match msg {
        Message::Unknown { command, payload } => Ok(serde_json::json!({
            "command": command,
            "payload": hex::encode(payload),
        })),
        m => serde_json::to_value(m).map_err(|e| format!("cannot print {}: {e}", m.command())),
    }
}

/// A message from the JSON object [`message_to_json`] writes.
pub fn message_from_json(v: serde_json::Value) -> Result<Message, String> {
    let command = v
        .get("command")
        .and_then(|c| c.as_str())
        .ok_or("JSON object needs a \"command\" string")?
        .to_string();
    if is_known_command(&command) {
        return serde_json::from_value(v).map_err(|e| format!("invalid {command} message: {e}"));
    }
    let payload = match v.get("payload") {
        None => Vec::new(),
        Some(p) => hex::decode(
            p.as_str()
                .ok_or("\"payload\" of an unknown command must be a hex string")?,
        )
        .map_err(|e| format!("payload: {e}"))?,
    };
    Ok(Message::Unknown { command, payload })
}

/// Decodes one framed message from its bytes; the input must hold exactly one message.
pub fn decode_frame(bytes: &[u8], pver: u32, magic: u32) -> Result<Message, Error> {
    let mut r = bytes;
    let (msg, n) = read_message(&mut r, pver, magic)?;
    if n != bytes.len() {
        return Err(Error::InvalidValue {
            field: "input",
            reason: format!("{} bytes after the message", bytes.len() - n),
        });
    }
    Ok(msg)
}

fn decode_run(o: &Options) -> Result<String, String> {
    let text = read_input(&o.input)?;
    // Captures are often wrapped or spaced: whitespace anywhere is ignored.
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = hex::decode(&compact).map_err(|e| format!("invalid hex: {e}"))?;
    let msg = decode_frame(&bytes, o.pver, o.network.magic()).map_err(|e| e.to_string())?;
    // Known messages print straight from their types so "command" comes first and fields
    // keep their declared order; unknown ones go through the JSON value.
    let out = match (&msg, o.pretty) {
        (Message::Unknown { .. }, true) => serde_json::to_string_pretty(&message_to_json(&msg)?),
        (Message::Unknown { .. }, false) => serde_json::to_string(&message_to_json(&msg)?),
        (m, true) => serde_json::to_string_pretty(m),
        (m, false) => serde_json::to_string(m),
    };
    out.map_err(|e| e.to_string())
}

fn encode_run(o: &Options) -> Result<String, String> {
    let text = read_input(&o.input)?;
    let v: serde_json::Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("invalid JSON: {e}"))?;
    let msg = message_from_json(v)?;
    let bytes = encode_message(&msg, o.pver, o.network.magic()).map_err(|e| e.to_string())?;
    Ok(hex::encode(&bytes))
}

fn run(tool: &str, args: &[String], f: fn(&Options) -> Result<String, String>) -> i32 {
    let o = match parse_args(tool, args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("btcnode {tool}: {e}");
            return 2;
        }
    };
    match f(&o) {
        Ok(out) => {
            println!("{out}");
            0
        }
        Err(e) => {
            // One line, whatever the error text holds.
            eprintln!("btcnode {tool}: {}", e.replace('\n', " "));
            1
        }
    }
}

/// `btcnode decode [--NETWORK] [--pver N] [--pretty] HEX|-`: prints one framed message as
/// JSON. Exit code 0 ok, 1 invalid input (one line on stderr), 2 usage.
pub fn decode_main(args: &[String]) -> i32 {
    run("decode", args, decode_run)
}

/// `btcnode encode [--NETWORK] [--pver N] JSON|-`: prints the framed message as hex, the
/// inverse of `decode`. Exit codes as for [`decode_main`].
pub fn encode_main(args: &[String]) -> i32 {
    run("encode", args, encode_run)
}
