//! JSON-RPC 1.0 request handling: parses a request body (one call or a batch), checks the
//! parameters of each method and calls [`NodeControl`]. Runs on the `rpc-N` worker threads.
//! btcd counterpart: `rpcserver.go` (`standardCmdResult`, the handler table).

use serde_json::{Value, json};

use crate::clock::unix_now;
use crate::config::IpNet;
use crate::rpc::error::*;
use crate::rpc::types::{AddNodeCommand, DisconnectTarget, NodeControl};

/// The methods this server answers, for `help` and error messages.
pub const METHODS: &[&str] = &[
    "addnode",
    "clearbanned",
    "disconnectnode",
    "getconnectioncount",
    "getdisconnects",
    "getnettotals",
    "getnetworkinfo",
    "getnodeaddresses",
    "getpeerinfo",
    "help",
    "listbanned",
    "ping",
    "setban",
    "stop",
    "uptime",
];

fn param(params: &[Value], i: usize) -> Option<&Value> {
    params.get(i).filter(|v| !v.is_null())
}

fn str_param<'a>(params: &'a [Value], i: usize, name: &str) -> Result<&'a str, RpcError> {
    match param(params, i) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(RpcError::new(
            RPC_TYPE_ERROR,
            format!("{name} must be a string"),
        )),
        None => Err(RpcError::invalid_param(format!("missing {name}"))),
    }
}

fn u64_param(params: &[Value], i: usize, name: &str) -> Result<Option<u64>, RpcError> {
    match param(params, i) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(Some)
            .ok_or_else(|| {
                RpcError::new(
                    RPC_TYPE_ERROR,
                    format!("{name} must be a non-negative integer"),
                )
            }),
    }
}

fn bool_param(params: &[Value], i: usize, name: &str) -> Result<bool, RpcError> {
    match param(params, i) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(_) => Err(RpcError::new(
            RPC_TYPE_ERROR,
            format!("{name} must be a boolean"),
        )),
    }
}

/// Calls `method` with `params` on `node`.
pub fn dispatch(node: &dyn NodeControl, method: &str, params: &[Value]) -> Result<Value, RpcError> {
    let to_value = |v: Result<Value, serde_json::Error>| {
        v.map_err(|e| RpcError::new(RPC_MISC_ERROR, format!("cannot encode result: {e}")))
    };
    match method {
        "getpeerinfo" => to_value(serde_json::to_value(node.peer_info())),
        "getconnectioncount" => Ok(json!(node.connection_count())),
        "getnetworkinfo" => to_value(serde_json::to_value(node.network_info())),
        "getnodeaddresses" => {
            let count = u64_param(params, 0, "count")?.unwrap_or(1);
            let network = match param(params, 1) {
                None => None,
                Some(Value::String(s)) => {
                    if !["ipv4", "ipv6", "onion", "i2p", "cjdns"].contains(&s.as_str()) {
                        return Err(RpcError::invalid_param(format!(
                            "Network not recognized: {s}"
                        )));
                    }
                    Some(s.as_str())
                }
                Some(_) => return Err(RpcError::new(RPC_TYPE_ERROR, "network must be a string")),
            };
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            to_value(serde_json::to_value(node.node_addresses(count, network)))
        }
        "addnode" => {
            let addr = str_param(params, 0, "node")?;
            let command = match str_param(params, 1, "command")? {
                "add" => AddNodeCommand::Add,
                "remove" => AddNodeCommand::Remove,
                "onetry" => AddNodeCommand::OneTry,
                other => {
                    return Err(RpcError::invalid_param(format!(
                        "command must be add, remove or onetry, not {other:?}"
                    )));
                }
            };
            node.add_node(addr, command).map(|()| Value::Null)
        }
        "disconnectnode" => {
            let addr = param(params, 0)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let id = u64_param(params, 1, "nodeid")?;
            let target = match (addr, id) {
                (Some(a), None) => DisconnectTarget::Address(a.to_string()),
                (None, Some(id)) => DisconnectTarget::Id(id),
                _ => {
                    return Err(RpcError::invalid_param(
                        "Only one of address and nodeid should be provided.",
                    ));
                }
            };
            node.disconnect_node(target).map(|()| Value::Null)
        }
        "setban" => {
            let subnet = str_param(params, 0, "subnet")?;
            let net = IpNet::parse(subnet).map_err(|_| {
                RpcError::new(RPC_CLIENT_INVALID_IP_OR_SUBNET, "Error: Invalid IP/Subnet")
            })?;
            match str_param(params, 1, "command")? {
                "add" => {
                    let bantime = u64_param(params, 2, "bantime")?.filter(|&t| t > 0);
                    let absolute = bool_param(params, 3, "absolute")?;
                    let until = match (bantime, absolute) {
                        (None, _) => None,
                        (Some(t), true) => Some(t),
                        (Some(t), false) => Some(unix_now().saturating_add(t)),
                    };
                    node.ban(net, until).map(|()| Value::Null)
                }
                "remove" => node.unban(net).map(|()| Value::Null),
                other => Err(RpcError::invalid_param(format!(
                    "command must be add or remove, not {other:?}"
                ))),
            }
        }
        "listbanned" => to_value(serde_json::to_value(node.list_banned())),
        "getdisconnects" => to_value(serde_json::to_value(node.disconnects())),
        "clearbanned" => {
            node.clear_banned();
            Ok(Value::Null)
        }
        "getnettotals" => to_value(serde_json::to_value(node.net_totals())),
        "uptime" => Ok(json!(node.uptime())),
        "ping" => {
            node.ping();
            Ok(Value::Null)
        }
        "stop" => {
            node.stop();
            Ok(json!("btcnode stopping"))
        }
        "help" => {
            let mut all: Vec<&str> = METHODS
                .iter()
                .chain(crate::rpc::chain_json::METHODS)
                .copied()
                .collect();
            all.sort_unstable();
            Ok(json!(all.join("\n")))
        }
        other => node.other(other, params).unwrap_or_else(|| {
            Err(RpcError::new(
                RPC_METHOD_NOT_FOUND,
                format!("Method not found: {other}"),
            ))
        }),
    }
}

/// Handles one HTTP request body: a JSON-RPC call or a batch of them. Returns the HTTP status
/// (200; 500 for a failed single call and 404 for an unknown method, as bitcoind does for
/// JSON-RPC 1.0) and the response body.
pub fn handle_body(node: &dyn NodeControl, body: &[u8]) -> (u16, Vec<u8>) {
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let resp = reply(
                Value::Null,
                Err(RpcError::new(RPC_PARSE_ERROR, format!("Parse error: {e}"))),
            );
            return (500, resp.to_string().into_bytes());
        }
    };
    match request {
        Value::Array(calls) => {
            let replies: Vec<Value> = calls.iter().map(|c| call(node, c).1).collect();
            (200, Value::Array(replies).to_string().into_bytes())
        }
        single => {
            let (status, resp) = call(node, &single);
            (status, resp.to_string().into_bytes())
        }
    }
}

fn reply(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(v) => json!({"result": v, "error": null, "id": id}),
        Err(e) => json!({"result": null, "error": e, "id": id}),
    }
}

/// The reply to a malformed request: HTTP 500 with `RPC_INVALID_REQUEST` and `message`.
fn invalid_request(id: Value, message: &str) -> (u16, Value) {
    (
        500,
        reply(id, Err(RpcError::new(RPC_INVALID_REQUEST, message))),
    )
}

fn call(node: &dyn NodeControl, req: &Value) -> (u16, Value) {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return invalid_request(id, "Method must be a string");
    };
    let params = match req.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return invalid_request(id, "Params must be an array");
        }
    };
    log::debug!("rpc call {method} {}", Value::Array(params.clone()));
    let result = dispatch(node, method, &params);
    let status = match &result {
        Ok(_) => 200,
        Err(e) if e.code == RPC_METHOD_NOT_FOUND => 404,
        Err(_) => 500,
    };
    (status, reply(id, result))
}
