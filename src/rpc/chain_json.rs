//! The JSON of the chain's RPC methods in bitcoind's shapes — `getblockcount`,
//! `getbestblockhash`, `getblockheader` (verbose object or hex) and `getblockchaininfo` — built
//! from a [`Chain`] so the RPC dispatcher only parses parameters and takes the lock. Runs on
//! whichever `rpc-N` thread asks. btcd counterpart: `handleGetBlockCount`,
//! `handleGetBestBlockHash`, `handleGetBlockHeader`, `handleGetBlockChainInfo` in
//! `rpcserver.go`.

use crate::chain::pow::{self, compact_to_target};
use crate::chain::{Chain, HeaderInfo};
use crate::params::Network;
use crate::rpc::RpcError;
use crate::wire::Hash;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// bitcoind's `RPC_INVALID_ADDRESS_OR_KEY`, returned with "Block not found".
pub const RPC_INVALID_ADDRESS_OR_KEY: i64 = -5;

/// The chain name bitcoind reports (`main`, `test`, `testnet4`, `signet`, `regtest`; btcd's
/// `simnet`).
pub fn chain_name(network: Network) -> &'static str {
    match network {
        Network::Mainnet => "main",
        Network::Testnet3 => "test",
        Network::Testnet4 => "testnet4",
        Network::Signet => "signet",
        Network::Regtest => "regtest",
        Network::Simnet => "simnet",
    }
}

/// `getblockcount`: the best chain's height.
pub fn getblockcount(chain: &Chain) -> Value {
    json!(chain.height())
}

/// `getbestblockhash`: the best chain's tip hash.
pub fn getbestblockhash(chain: &Chain) -> Value {
    json!(chain.tip_hash().to_string())
}

/// `getblockheader hash verbose`: the object bitcoind shows, or the 80 bytes as hex when
/// `verbose` is false; `None` when the hash is unknown ("Block not found", -5).
pub fn getblockheader(chain: &Chain, hash: &Hash, verbose: bool) -> Option<Value> {
    let info = chain.header_info(hash)?;
    if !verbose {
        return Some(json!(hex(&info.header.to_bytes())));
    }
    Some(header_object(&info))
}

fn header_object(info: &HeaderInfo) -> Value {
    let h = &info.header;
    let mut v = json!({
        "hash": info.hash.to_string(),
        "confirmations": info.confirmations,
        "height": info.height,
        "version": h.version,
        "versionHex": format!("{:08x}", h.version as u32),
        "merkleroot": h.merkle_root.to_string(),
        "time": h.timestamp,
        "mediantime": info.median_time_past,
        "nonce": h.nonce,
        "bits": format!("{:08x}", h.bits),
        "target": compact_to_target(h.bits).target.to_string(),
        "difficulty": pow::difficulty(h.bits),
        "chainwork": info.chain_work.to_string(),
        // No `nTx`: Core gives the block's transaction count, which a header does not carry,
        // and this node holds headers only; an invented 0 would be wrong for every block.
    });
    if info.height > 0 {
        v["previousblockhash"] = json!(h.prev_block.to_string());
    }
    if let Some(next) = info.next_hash {
        v["nextblockhash"] = json!(next.to_string());
    }
    v
}

/// `getblockchaininfo`. This node validates headers only, so `blocks` is 0 (no block is held,
/// as Core reports before it has any block data) and `headers` is the header chain's height; `verificationprogress` is the tip's time over the time
/// since genesis.
pub fn getblockchaininfo(chain: &Chain, adjusted_time: SystemTime) -> Value {
    let tip = chain.tip_header();
    let now = adjusted_time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let genesis_time = u64::from(chain.params().genesis.timestamp);
    let ibd = chain.is_initial_sync(adjusted_time);
    let progress = if !ibd || now <= genesis_time {
        1.0
    } else {
        (u64::from(tip.timestamp).saturating_sub(genesis_time) as f64 / (now - genesis_time) as f64)
            .clamp(0.0, 1.0)
    };
    json!({
        "chain": chain_name(chain.network()),
        "blocks": 0,
        "headers": chain.height(),
        "bestblockhash": chain.tip_hash().to_string(),
        "bits": format!("{:08x}", tip.bits),
        "target": compact_to_target(tip.bits).target.to_string(),
        "difficulty": pow::difficulty(tip.bits),
        "time": tip.timestamp,
        "mediantime": chain.tip_median_time_past(),
        "verificationprogress": progress,
        "initialblockdownload": ibd,
        "chainwork": chain.tip_work().to_string(),
        "size_on_disk": chain.store_size(),
        "pruned": false,
        "warnings": [],
    })
}

/// The chain's RPC methods, for `NodeControl::other`.
pub const METHODS: &[&str] = &[
    "getbestblockhash",
    "getblockchaininfo",
    "getblockcount",
    "getblockhash",
    "getblockheader",
];

/// Answers a chain RPC method (`None` if `method` is not one); `adjusted_time` is the node's
/// clock. Parameters as bitcoind takes them.
pub fn dispatch(
    chain: &Chain,
    method: &str,
    params: &[Value],
    adjusted_time: SystemTime,
) -> Option<Result<Value, RpcError>> {
    let param = |i: usize| params.get(i).filter(|v| !v.is_null());
    Some(match method {
        "getblockcount" => Ok(getblockcount(chain)),
        "getbestblockhash" => Ok(getbestblockhash(chain)),
        "getblockchaininfo" => Ok(getblockchaininfo(chain, adjusted_time)),
        "getblockhash" => match param(0).and_then(Value::as_u64) {
            Some(h) => u32::try_from(h)
                .ok()
                .and_then(|h| chain.hash_at(h))
                .map(|hash| json!(hash.to_string()))
                .ok_or_else(|| RpcError::new(RPC_INVALID_PARAMETER, "Block height out of range")),
            None => Err(RpcError::invalid_param(
                "height must be a non-negative integer",
            )),
        },
        "getblockheader" => {
            let hash = match param(0).and_then(Value::as_str).map(str::parse::<Hash>) {
                Some(Ok(h)) => h,
                _ => {
                    return Some(Err(RpcError::invalid_param(
                        "blockhash must be a 64-digit hex string",
                    )));
                }
            };
            let verbose = match param(1) {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Some(Err(RpcError::invalid_param("verbose must be a boolean"))),
            };
            getblockheader(chain, &hash, verbose)
                .ok_or_else(|| RpcError::new(RPC_INVALID_ADDRESS_OR_KEY, "Block not found"))
        }
        _ => return None,
    })
}

/// bitcoind's `RPC_INVALID_PARAMETER`.
const RPC_INVALID_PARAMETER: i64 = -8;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_header_json_matches_bitcoind() {
        let chain = Chain::new(Network::Mainnet);
        let g = chain.tip_hash();
        let v = getblockheader(&chain, &g, true).expect("genesis");
        assert_eq!(v["height"], 0);
        assert_eq!(v["confirmations"], 1);
        assert_eq!(v["versionHex"], "00000001");
        assert_eq!(v["bits"], "1d00ffff");
        assert_eq!(v["difficulty"], 1.0);
        assert_eq!(
            v["chainwork"],
            "0000000000000000000000000000000000000000000000000000000100010001"
        );
        assert_eq!(
            v["target"],
            "00000000ffff0000000000000000000000000000000000000000000000000000"
        );
        assert!(v.get("previousblockhash").is_none());
        let hexv = getblockheader(&chain, &g, false).expect("genesis");
        assert_eq!(
            hexv,
            "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c"
        );
        assert!(getblockheader(&chain, &Hash::ZERO, true).is_none());
        let info = getblockchaininfo(&chain, SystemTime::now());
        assert_eq!(info["chain"], "main");
        assert_eq!(info["initialblockdownload"], true);
        assert_eq!(getblockcount(&chain), 0);
        assert_eq!(
            getbestblockhash(&chain),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
        let now = SystemTime::now();
        let call = |m: &str, p: &[Value]| dispatch(&chain, m, p, now);
        assert_eq!(call("getblockcount", &[]).expect("known").expect("ok"), 0);
        assert_eq!(
            call("getblockhash", &[json!(0)])
                .expect("known")
                .expect("ok"),
            json!(g.to_string())
        );
        assert_eq!(
            call("getblockhash", &[json!(1)])
                .expect("known")
                .map_err(|e| e.code),
            Err(-8)
        );
        assert_eq!(
            call("getblockheader", &[json!(Hash::ZERO.to_string())])
                .expect("known")
                .map_err(|e| e.code),
            Err(RPC_INVALID_ADDRESS_OR_KEY)
        );
        assert!(call("getpeerinfo", &[]).is_none());
    }
}
