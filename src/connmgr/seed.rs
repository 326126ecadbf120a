//! DNS seeding: ask each of the network's DNS seeds for node addresses, each on its own
//! short-lived `seed-N` thread, through the configured lookup (the system resolver, or Tor's
//! RESOLVE when proxied), and hand the addresses to a callback with timestamps 3 to 7 days
//! in the past. btcd counterpart: `connmgr/seed.go`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::{Rng, RngExt};

use crate::params::DnsSeed;
use crate::socks;
use crate::thread::spawn_named;
use crate::wire::{NetAddress, ServiceFlag};

/// Youngest timestamp given to seeded addresses: 3 days ago (btcd's `secondsIn3Days`), as
/// bitcoind does, so seeded addresses rank below ones learned from peers.
pub const SEED_MIN_AGE: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// Spread of seeded timestamps beyond [`SEED_MIN_AGE`] (btcd's `secondsIn4Days`).
pub const SEED_AGE_SPREAD: Duration = Duration::from_secs(4 * 24 * 60 * 60);

/// Stack size of `seed-N` threads: they only wait on a lookup.
const SEED_THREAD_STACK_SIZE: usize = 128 * 1024;

/// Resolves a host name (btcd's `LookupFunc`).
pub type LookupFn = Arc<dyn Fn(&str) -> Result<Vec<IpAddr>, socks::Error> + Send + Sync>;

/// A [`LookupFn`] that resolves through `dialer` (Tor's RESOLVE when proxied, the system
/// resolver otherwise; refused rather than leaked when the proxy cannot resolve), with
/// `timeout` for a Tor exchange.
pub fn lookup_fn(dialer: socks::Dialer, timeout: Duration) -> LookupFn {
    Arc::new(move |host: &str| dialer.lookup(host, timeout))
}

/// Receives the addresses one seed returned (btcd's `OnSeed`).
pub type OnSeedFn = Arc<dyn Fn(Vec<NetAddress>) + Send + Sync>;

/// The name to look up for `seed`: `x{services:x}.host` when the seed filters by service
/// bits and more than NODE_NETWORK is wanted, else the seed's host.
pub fn seed_host(seed: &DnsSeed, req_services: ServiceFlag) -> String {
    if !seed.has_filtering || req_services == ServiceFlag::NODE_NETWORK {
        seed.host.to_string()
    } else {
        format!("x{:x}.{}", req_services.0, seed.host)
    }
}

/// Addresses for `ips` on `port`, advertising `services` (what the seed was asked for, as
/// Bitcoin Core assumes), each stamped a random time 3 to 7 days before `now_unix`.
pub fn seed_addresses<R: Rng + ?Sized>(
    ips: &[IpAddr],
    port: u16,
    services: ServiceFlag,
    now_unix: u64,
    rng: &mut R,
) -> Vec<NetAddress> {
    ips.iter()
        .map(|ip| {
            let age = SEED_MIN_AGE.as_secs() + rng.random_range(0..SEED_AGE_SPREAD.as_secs());
            let ts = now_unix.saturating_sub(age);
            let mut a = NetAddress::from_socket_addr(SocketAddr::new(*ip, port), services);
            a.timestamp = u32::try_from(ts).unwrap_or(u32::MAX);
            a
        })
        .collect()
}

/// Starts one `seed-N` thread per seed (btcd's `SeedFromDNS`). Each looks its name up with
/// `lookup`, logs the outcome and calls `on_seed` with what it found (not at all on failure
/// or an empty answer). The caller joins the returned handles; each thread ends when its
/// lookup returns. A thread that cannot be started is logged and skipped.
pub fn seed_from_dns(
    seeds: &[DnsSeed],
    default_port: u16,
    req_services: ServiceFlag,
    lookup: LookupFn,
    on_seed: OnSeedFn,
) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    for (n, seed) in seeds.iter().enumerate() {
        let host = seed_host(seed, req_services);
        let (lookup, on_seed) = (Arc::clone(&lookup), Arc::clone(&on_seed));
        let name = format!("seed-{n}");
        let r = spawn_named(name.clone(), SEED_THREAD_STACK_SIZE, move || {
            let ips = match lookup(&host) {
                Ok(ips) => ips,
                Err(e) => {
                    log::info!(target: "btcnode::connmgr", "DNS discovery failed on seed {host}: {e}");
                    return;
                }
            };
            log::info!(target: "btcnode::connmgr", "{} addresses found from DNS seed {host}", ips.len());
            if ips.is_empty() {
                return;
            }
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            on_seed(seed_addresses(
                &ips,
                default_port,
                req_services,
                now,
                &mut rand::rng(),
            ));
        });
        match r {
            Ok(h) => handles.push(h),
            Err(e) => log::warn!(target: "btcnode::connmgr", "cannot start {name}: {e}"),
        }
    }
    handles
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn service_subdomain_only_for_filtering_seeds() {
        let f = DnsSeed {
            host: "seed.example",
            has_filtering: true,
        };
        let nf = DnsSeed {
            host: "seed.example",
            has_filtering: false,
        };
        let want = ServiceFlag(ServiceFlag::NODE_NETWORK.0 | ServiceFlag::NODE_WITNESS.0);
        assert_eq!(seed_host(&f, want), "x9.seed.example");
        assert_eq!(seed_host(&nf, want), "seed.example");
        assert_eq!(seed_host(&f, ServiceFlag::NODE_NETWORK), "seed.example");
        assert_eq!(seed_host(&f, ServiceFlag(0x409)), "x409.seed.example");
    }

    #[test]
    fn timestamps_between_three_and_seven_days_ago() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let now = 1_700_000_000u64;
        let ips: Vec<IpAddr> = (0..200)
            .map(|i| IpAddr::from([192, 0, 2, i as u8]))
            .collect();
        let addrs = seed_addresses(&ips, 8333, ServiceFlag::NODE_NETWORK, now, &mut rng);
        assert_eq!(addrs.len(), 200);
        for a in &addrs {
            let age = now - u64::from(a.timestamp);
            assert!(
                (SEED_MIN_AGE.as_secs()..SEED_MIN_AGE.as_secs() + SEED_AGE_SPREAD.as_secs())
                    .contains(&age)
            );
            assert_eq!(a.port, 8333);
        }
        let distinct: std::collections::HashSet<u32> = addrs.iter().map(|a| a.timestamp).collect();
        assert!(distinct.len() > 100, "timestamps are spread");
    }
}
