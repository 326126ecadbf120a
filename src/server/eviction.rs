//! Inbound eviction: which inbound peer to drop when inbound is full and a new inbound peer
//! arrives. A plain function over [`EvictionCandidate`] values, no sockets and no clock, so
//! the rules are tested with chosen figures. It runs on the `server` thread inside
//! `ServerState::add_peer`, and again for `getpeerinfo` to explain each peer's standing.
//!
//! btcd has no eviction (a full node refuses every newcomer, so an attacker who fills the
//! slots first keeps them). This is Bitcoin Core's `SelectNodeToEvict` and
//! `ProtectEvictionCandidatesByRatio` (src/node/eviction.cpp): protect peers an attacker
//! cannot cheaply imitate (diverse netgroups, low latency, useful headers and transactions,
//! long uptime, scarce networks), then evict the youngest peer of the netgroup holding the
//! most connections.

use std::cmp::Ordering;
use std::time::Duration;

/// Peers protected by distinct keyed netgroup (Core: 4). The key is secret, so an attacker
/// cannot pick addresses that will be protected.
pub const PROTECT_BY_NETGROUP: usize = 4;
/// Peers protected by lowest minimum ping (Core: 8): hard to fake from far away.
pub const PROTECT_BY_PING: usize = 8;
/// Peers protected for most recently sending novel transactions (Core: 4).
pub const PROTECT_BY_TX: usize = 4;
/// Peers protected for most recently sending novel headers (Core: 4, for blocks).
pub const PROTECT_BY_HEADERS: usize = 4;

/// The network a candidate is on, for the ratio protection of scarce networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionNetwork {
    /// IPv4 or IPv6 (not localhost).
    Ip,
    /// Tor onion.
    Onion,
    /// I2P.
    I2p,
    /// CJDNS.
    Cjdns,
}

/// What eviction knows about one inbound peer (Core's `NodeEvictionCandidate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvictionCandidate {
    /// The peer id.
    pub id: u64,
    /// When it connected, in seconds on any fixed scale (greater is younger).
    pub connected: u64,
    /// Its lowest ping round trip; `None` when it never answered a ping.
    pub min_ping: Option<Duration>,
    /// When it last sent headers that extended our best chain (same scale as `connected`).
    pub last_block_time: Option<u64>,
    /// When it last sent a novel transaction (we relay none yet: always `None`).
    pub last_tx_time: Option<u64>,
    /// Its netgroup hashed with the node's secret key.
    pub keyed_netgroup: u64,
    /// Its network.
    pub network: EvictionNetwork,
    /// Whether it connects from localhost (Tor's hidden service usually arrives this way).
    pub is_local: bool,
    /// Whether it is `--whitelist`ed (Core's `noban`): never evicted.
    pub noban: bool,
}

/// Why a peer is safe from eviction, or that it is not: what `getpeerinfo` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionStatus {
    /// Whitelisted (`noban`).
    Whitelist,
    /// One of the distinct keyed netgroups.
    Netgroup,
    /// Among the lowest minimum pings.
    Ping,
    /// Recently sent novel transactions.
    Transactions,
    /// Recently sent novel headers.
    Headers,
    /// Its share of the scarce-network (onion/I2P/CJDNS/localhost) protection.
    Network,
    /// Among the longest connected.
    Uptime,
    /// Could be evicted.
    Candidate,
}

impl EvictionStatus {
    /// The `getpeerinfo` spelling: `protected: ping`, or `candidate`.
    pub fn label(self) -> &'static str {
        match self {
            EvictionStatus::Whitelist => "protected: whitelist",
            EvictionStatus::Netgroup => "protected: netgroup",
            EvictionStatus::Ping => "protected: ping",
            EvictionStatus::Transactions => "protected: transactions",
            EvictionStatus::Headers => "protected: headers",
            EvictionStatus::Network => "protected: network",
            EvictionStatus::Uptime => "protected: uptime",
            EvictionStatus::Candidate => "candidate",
        }
    }
}

/// The outcome for a set of candidates: each peer's standing and the one to evict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvictionPlan {
    /// Every candidate's id and standing, in input order.
    pub status: Vec<(u64, EvictionStatus)>,
    /// The peer to evict, if anyone may go.
    pub evict: Option<u64>,
}

/// Core's `EraseLastKElements`: sort `rest` by `cmp` (best last), then take up to `k` of the
/// last `k` that match `pred` out of `rest`, marking them `why`.
fn protect_last_k(
    rest: &mut Vec<EvictionCandidate>,
    out: &mut Vec<(u64, EvictionStatus)>,
    cmp: impl Fn(&EvictionCandidate, &EvictionCandidate) -> Ordering,
    k: usize,
    pred: impl Fn(&EvictionCandidate) -> bool,
    why: EvictionStatus,
) -> usize {
    rest.sort_by(&cmp);
    let start = rest.len() - k.min(rest.len());
    let mut taken = 0;
    let mut i = start;
    while i < rest.len() {
        if pred(&rest[i]) {
            let c = rest.remove(i);
            out.push((c.id, why));
            taken += 1;
        } else {
            i += 1;
        }
    }
    taken
}

/// Younger first, so the oldest sit at the end (Core's `ReverseCompareNodeTimeConnected`).
fn younger_first(a: &EvictionCandidate, b: &EvictionCandidate) -> Ordering {
    b.connected.cmp(&a.connected).then(b.id.cmp(&a.id))
}

/// Core's `ProtectEvictionCandidatesByRatio`: protect half of `rest` by uptime, a quarter of
/// all going first to the scarce networks (fewest candidates first), oldest within each.
fn protect_by_ratio(rest: &mut Vec<EvictionCandidate>, out: &mut Vec<(u64, EvictionStatus)>) {
    let total_protect = rest.len() / 2;
    // (is_local, network, count); in Core's order, which breaks ties in counts.
    let mut nets: Vec<(bool, EvictionNetwork, usize)> = vec![
        (false, EvictionNetwork::Cjdns, 0),
        (false, EvictionNetwork::I2p, 0),
        (true, EvictionNetwork::Ip, 0),
        (false, EvictionNetwork::Onion, 0),
    ];
    let on = |local: bool, net: EvictionNetwork, c: &EvictionCandidate| {
        if local { c.is_local } else { c.network == net }
    };
    for n in &mut nets {
        n.2 = rest.iter().filter(|c| on(n.0, n.1, c)).count();
    }
    nets.sort_by_key(|n| n.2); // stable: ties keep Core's order
    let max_by_network = total_protect / 2;
    let mut protected = 0;
    'outer: while protected < max_by_network {
        let with_peers = nets.iter().filter(|n| n.2 > 0).count();
        if with_peers == 0 {
            break;
        }
        let per_network = ((max_by_network - protected) / with_peers).max(1);
        let mut any = false;
        for n in &mut nets {
            if n.2 == 0 {
                continue;
            }
            let (local, net) = (n.0, n.1);
            let taken = protect_last_k(
                rest,
                out,
                |a, b| {
                    // Peers of this network last, oldest last among them.
                    on(local, net, a)
                        .cmp(&on(local, net, b))
                        .then_with(|| younger_first(a, b))
                },
                per_network,
                |c| on(local, net, c),
                EvictionStatus::Network,
            );
            if taken > 0 {
                any = true;
                protected += taken;
                if protected >= max_by_network {
                    break 'outer;
                }
                n.2 -= taken;
            }
        }
        if !any {
            break;
        }
    }
    protect_last_k(
        rest,
        out,
        younger_first,
        total_protect - protected,
        |_| true,
        EvictionStatus::Uptime,
    );
}

/// Core's `SelectNodeToEvict`, with each peer's reason kept: whitelisted peers are never
/// candidates; then protect [`PROTECT_BY_NETGROUP`] distinct keyed netgroups (Core takes the
/// 4 highest keys even when they repeat; distinct ones cannot all be one attacker's),
/// [`PROTECT_BY_PING`] lowest pings, [`PROTECT_BY_TX`] and [`PROTECT_BY_HEADERS`] most recent
/// senders of novel data (only peers that sent any: a peer that never did is not protected
/// by a zero time), half the rest by uptime with scarce networks first; then evict the
/// youngest peer of the netgroup with the most connections (ties: the group whose youngest
/// is youngest). `None` when nobody is left to evict.
pub fn select_node_to_evict(candidates: &[EvictionCandidate]) -> EvictionPlan {
    let mut out: Vec<(u64, EvictionStatus)> = Vec::with_capacity(candidates.len());
    let mut rest: Vec<EvictionCandidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        if c.noban {
            out.push((c.id, EvictionStatus::Whitelist));
        } else {
            rest.push(c.clone());
        }
    }
    // Distinct netgroups, highest keys first; the oldest peer of each is protected.
    let mut groups: Vec<u64> = rest.iter().map(|c| c.keyed_netgroup).collect();
    groups.sort_unstable_by(|a, b| b.cmp(a));
    groups.dedup();
    for g in groups.into_iter().take(PROTECT_BY_NETGROUP) {
        let Some(pos) = rest
            .iter()
            .enumerate()
            .filter(|(_, c)| c.keyed_netgroup == g)
            .min_by(|(_, a), (_, b)| younger_first(b, a))
            .map(|(i, _)| i)
        else {
            continue;
        };
        let c = rest.remove(pos);
        out.push((c.id, EvictionStatus::Netgroup));
    }
    let ping = |c: &EvictionCandidate| c.min_ping.unwrap_or(Duration::MAX);
    protect_last_k(
        &mut rest,
        &mut out,
        |a, b| ping(b).cmp(&ping(a)).then_with(|| younger_first(a, b)),
        PROTECT_BY_PING,
        |_| true,
        EvictionStatus::Ping,
    );
    protect_last_k(
        &mut rest,
        &mut out,
        |a, b| {
            a.last_tx_time
                .cmp(&b.last_tx_time)
                .then_with(|| younger_first(a, b))
        },
        PROTECT_BY_TX,
        |c| c.last_tx_time.is_some(),
        EvictionStatus::Transactions,
    );
    protect_last_k(
        &mut rest,
        &mut out,
        |a, b| {
            a.last_block_time
                .cmp(&b.last_block_time)
                .then_with(|| younger_first(a, b))
        },
        PROTECT_BY_HEADERS,
        |c| c.last_block_time.is_some(),
        EvictionStatus::Headers,
    );
    protect_by_ratio(&mut rest, &mut out);

    // The netgroup with the most connections; its youngest member goes.
    rest.sort_by(younger_first);
    let mut evict = None;
    let mut best: Option<(usize, u64)> = None; // (size, youngest connected)
    let mut seen: Vec<u64> = Vec::new();
    for c in &rest {
        if seen.contains(&c.keyed_netgroup) {
            continue;
        }
        seen.push(c.keyed_netgroup);
        let size = rest
            .iter()
            .filter(|o| o.keyed_netgroup == c.keyed_netgroup)
            .count();
        // `c` is its group's youngest: the list is sorted younger first.
        if best.is_none_or(|(s, t)| size > s || (size == s && c.connected > t)) {
            best = Some((size, c.connected));
            evict = Some(c.id);
        }
    }
    for c in &rest {
        out.push((c.id, EvictionStatus::Candidate));
    }
    let order = |id: u64| candidates.iter().position(|c| c.id == id);
    out.sort_by_key(|(id, _)| order(*id));
    EvictionPlan { status: out, evict }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` plain IPv4 candidates, each in its own netgroup, connected in id order, no ping.
    fn candidates(n: u64) -> Vec<EvictionCandidate> {
        (0..n)
            .map(|id| EvictionCandidate {
                id,
                connected: 1000 + id,
                min_ping: None,
                last_block_time: None,
                last_tx_time: None,
                keyed_netgroup: id,
                network: EvictionNetwork::Ip,
                is_local: false,
                noban: false,
            })
            .collect()
    }

    fn status_of(plan: &EvictionPlan, id: u64) -> EvictionStatus {
        plan.status
            .iter()
            .find(|(i, _)| *i == id)
            .expect("listed")
            .1
    }

    /// Whether the selection evicts someone other than `ids` (Core's `IsProtected`).
    fn never_evicted(cands: &[EvictionCandidate], ids: &[u64]) -> bool {
        let plan = select_node_to_evict(cands);
        plan.evict.is_some_and(|e| !ids.contains(&e))
    }

    #[test]
    fn nobody_to_evict_when_all_protected() {
        // 4 netgroup + 8 ping = 12; with no pings the ping step still takes the rest.
        let plan = select_node_to_evict(&candidates(12));
        assert_eq!(plan.evict, None);
        assert!(
            plan.status
                .iter()
                .all(|(_, s)| *s != EvictionStatus::Candidate)
        );
        assert_eq!(select_node_to_evict(&[]).evict, None);
    }

    #[test]
    fn whitelisted_never_evicted() {
        let mut c = candidates(40);
        for x in &mut c {
            x.noban = true;
        }
        let plan = select_node_to_evict(&c);
        assert_eq!(plan.evict, None);
        assert_eq!(status_of(&plan, 7), EvictionStatus::Whitelist);
    }

    #[test]
    fn largest_netgroup_loses_its_youngest() {
        // 30 peers: ids 0..20 in group 99 (the attacker), the rest each in their own group.
        let mut c = candidates(30);
        for x in c.iter_mut().take(20) {
            x.keyed_netgroup = 99;
        }
        // Attackers are the youngest peers.
        for x in c.iter_mut().take(20) {
            x.connected += 100;
        }
        let plan = select_node_to_evict(&c);
        assert_eq!(plan.evict, Some(19), "{plan:?}");
    }

    #[test]
    fn lowest_pings_protected() {
        let mut c = candidates(40);
        for x in &mut c {
            x.keyed_netgroup = 1; // one group: netgroup protection takes only one
            x.min_ping = Some(Duration::from_millis(100 + x.id));
        }
        // The 8 youngest have the best pings.
        for x in c.iter_mut().skip(32) {
            x.min_ping = Some(Duration::from_millis(1));
        }
        let plan = select_node_to_evict(&c);
        for id in 32..40 {
            assert_eq!(status_of(&plan, id), EvictionStatus::Ping, "{id}");
        }
        assert!(never_evicted(&c, &(32..40).collect::<Vec<_>>()));
    }

    #[test]
    fn recent_headers_protected_only_when_sent() {
        let mut c = candidates(40);
        for x in &mut c {
            x.keyed_netgroup = 1;
            x.min_ping = Some(Duration::from_millis(1000 + x.id));
        }
        // Youngest peers (not protected by ping or uptime) delivered headers.
        c[39].last_block_time = Some(5000);
        c[38].last_block_time = Some(5001);
        let plan = select_node_to_evict(&c);
        assert_eq!(status_of(&plan, 39), EvictionStatus::Headers);
        assert_eq!(status_of(&plan, 38), EvictionStatus::Headers);
        // Nobody else is protected for headers they never sent.
        let n = plan
            .status
            .iter()
            .filter(|(_, s)| *s == EvictionStatus::Headers)
            .count();
        assert_eq!(n, 2);
        assert!(never_evicted(&c, &[38, 39]));
        assert_eq!(
            plan.status
                .iter()
                .filter(|(_, s)| *s == EvictionStatus::Transactions)
                .count(),
            0
        );
    }

    #[test]
    fn half_the_rest_protected_by_uptime() {
        let mut c = candidates(40);
        for x in &mut c {
            x.keyed_netgroup = 1;
        }
        let plan = select_node_to_evict(&c);
        // 1 by netgroup (the oldest), 8 by "ping" (none answered: the oldest win the tie),
        // then 31 left: 15 by uptime.
        let uptime = plan
            .status
            .iter()
            .filter(|(_, s)| *s == EvictionStatus::Uptime)
            .count();
        assert_eq!(uptime, 15);
        assert_eq!(status_of(&plan, 0), EvictionStatus::Netgroup);
        assert_eq!(status_of(&plan, 1), EvictionStatus::Ping);
        assert_eq!(status_of(&plan, 9), EvictionStatus::Uptime);
        // The youngest candidate of the single group goes.
        let youngest = plan
            .status
            .iter()
            .filter(|(_, s)| *s == EvictionStatus::Candidate)
            .map(|(id, _)| *id)
            .max();
        assert_eq!(plan.evict, youngest);
    }

    #[test]
    fn scarce_networks_get_a_quarter() {
        // 60 in one group with equal pings, 4 of them onion and 4 localhost, all young.
        let mut c = candidates(60);
        for x in &mut c {
            x.keyed_netgroup = 1;
            x.min_ping = Some(Duration::from_millis(500));
        }
        for x in c.iter_mut().skip(50).take(4) {
            x.network = EvictionNetwork::Onion;
        }
        for x in c.iter_mut().skip(54).take(4) {
            x.is_local = true;
        }
        let plan = select_node_to_evict(&c);
        // 60 - 1 netgroup - 8 ping = 51 left; protect 25 by uptime, 12 of them by network:
        // 6 per network, but each has only 4.
        let by_net: Vec<u64> = plan
            .status
            .iter()
            .filter(|(_, s)| *s == EvictionStatus::Network)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(by_net.len(), 8, "{plan:?}");
        assert!(by_net.iter().all(|id| (50..58).contains(id)));
        let uptime = plan
            .status
            .iter()
            .filter(|(_, s)| *s == EvictionStatus::Uptime)
            .count();
        assert_eq!(uptime, 25 - 8);
    }

    #[test]
    fn ratio_takes_oldest_of_a_crowded_network() {
        let mut c = candidates(20);
        for x in &mut c {
            x.keyed_netgroup = 1;
            x.min_ping = Some(Duration::from_millis(500));
            x.network = EvictionNetwork::I2p;
        }
        let mut rest = c.clone();
        let mut out = Vec::new();
        protect_by_ratio(&mut rest, &mut out);
        // 20 → protect 10, 5 by network: the 5 oldest I2P peers, then 5 more by uptime.
        let net: Vec<u64> = out
            .iter()
            .filter(|(_, s)| *s == EvictionStatus::Network)
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(net.len(), 5);
        assert!(net.iter().all(|id| *id < 5), "{net:?}");
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn distinct_netgroups_protect_one_each() {
        let mut c = candidates(30);
        // Attacker holds the four highest keys' group many times: only one is protected.
        for x in c.iter_mut().take(10) {
            x.keyed_netgroup = u64::MAX;
            x.connected += 100;
        }
        let plan = select_node_to_evict(&c);
        let protected: Vec<u64> = plan
            .status
            .iter()
            .filter(|(_, s)| *s == EvictionStatus::Netgroup)
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(protected.len(), 4);
        assert_eq!(
            protected.iter().filter(|id| **id < 10).count(),
            1,
            "{protected:?}"
        );
        assert!(plan.evict.is_some_and(|e| e < 10));
    }

    #[test]
    fn labels_as_getpeerinfo_shows_them() {
        assert_eq!(EvictionStatus::Ping.label(), "protected: ping");
        assert_eq!(EvictionStatus::Candidate.label(), "candidate");
    }
}
