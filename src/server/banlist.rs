//! The ban list: hosts (an IP, or a subnet given to `setban`) refused at accept and never
//! dialed until their ban expires. Persisted in `<datadir>/<network>/banlist.json`, written
//! atomically after every change; a file that fails to load is set aside and the node starts
//! with no bans; expired bans are dropped on load and whenever the list is read. A plain struct
//! taking `now` (Unix seconds, since bans outlive restarts) owned by the `server` thread.
//! btcd counterpart: the `banned` map in server.go's `peerState` (btcd does not persist it;
//! the file and its shape follow Bitcoin Core's `banlist.json` / `listbanned`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::config::IpNet;

/// Version of the `banlist.json` format written here.
pub const BANLIST_VERSION: u32 = 1;

/// One ban, as stored and as `listbanned` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanEntry {
    /// The banned network in CIDR form (`1.2.3.4/32`, `10.0.0.0/8`).
    pub address: String,
    /// When the ban was made, Unix seconds.
    pub ban_created: u64,
    /// When it ends, Unix seconds.
    pub banned_until: u64,
    /// Why (`ban score 100`, `setban`).
    #[serde(default)]
    pub reason: String,
}

#[derive(Serialize, Deserialize)]
struct BanFile {
    version: u32,
    banned_nets: Vec<BanEntry>,
}

/// The set of banned networks.
#[derive(Debug, Default)]
pub struct BanList {
    bans: BTreeMap<String, (IpNet, BanEntry)>,
    path: Option<PathBuf>,
}

fn cidr(net: &IpNet) -> String {
    format!("{}/{}", net.addr, net.prefix)
}

impl BanList {
    /// An empty list that is never saved (tests, `--nobanning`).
    pub fn in_memory() -> BanList {
        BanList::default()
    }

    /// Loads `path`. A missing file means no bans; a file that cannot be parsed is renamed to
    /// `banlist.json.bad-<time>` with a warning and the list starts empty. Expired bans are
    /// dropped.
    pub fn load(path: &Path, now: u64) -> BanList {
        let mut list = BanList {
            bans: BTreeMap::new(),
            path: Some(path.to_path_buf()),
        };
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return list,
            Err(e) => {
                log::warn!(
                    "cannot read ban list {}: {e}; starting empty",
                    path.display()
                );
                return list;
            }
        };
        let parsed: Result<BanFile, String> = serde_json::from_slice::<BanFile>(&text)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                if f.version == BANLIST_VERSION {
                    Ok(f)
                } else {
                    Err(format!("unknown version {}", f.version))
                }
            });
        match parsed {
            Ok(file) => {
                for e in file.banned_nets {
                    match IpNet::parse(&e.address) {
                        Ok(net) => {
                            list.bans.insert(cidr(&net), (net, e));
                        }
                        Err(err) => log::warn!("ban list: skipping {:?}: {err}", e.address),
                    }
                }
                list.sweep(now);
                log::info!("loaded {} bans from {}", list.bans.len(), path.display());
            }
            Err(e) => match atomic_file::set_aside(path, crate::clock::from_unix_secs(now)) {
                Ok(dest) => log::warn!(
                    "ban list {} is invalid ({e}); moved to {} and starting empty",
                    path.display(),
                    dest.display()
                ),
                Err(mv) => log::warn!(
                    "ban list {} is invalid ({e}) and cannot be moved aside ({mv}); starting empty",
                    path.display()
                ),
            },
        }
        list
    }

    /// Bans `net` until `now + duration`. Returns false when it was already banned at least
    /// that long.
    pub fn ban(&mut self, net: IpNet, now: u64, duration: Duration, reason: &str) -> bool {
        let until = now.saturating_add(duration.as_secs().max(1));
        let key = cidr(&net);
        if let Some((_, e)) = self.bans.get(&key)
            && e.banned_until >= until
        {
            return false;
        }
        self.bans.insert(
            key.clone(),
            (
                net,
                BanEntry {
                    address: key,
                    ban_created: now,
                    banned_until: until,
                    reason: reason.to_string(),
                },
            ),
        );
        self.save();
        true
    }

    /// Bans a single host.
    pub fn ban_ip(&mut self, ip: IpAddr, now: u64, duration: Duration, reason: &str) -> bool {
        let ip = crate::config::canonical_ip(ip);
        let prefix = if ip.is_ipv4() { 32 } else { 128 };
        self.ban(IpNet { addr: ip, prefix }, now, duration, reason)
    }

    /// Lifts the ban on exactly `net`. Returns whether there was one.
    pub fn unban(&mut self, net: &IpNet) -> bool {
        let removed = self.bans.remove(&cidr(net)).is_some();
        if removed {
            self.save();
        }
        removed
    }

    /// Lifts every ban.
    pub fn clear(&mut self) {
        self.bans.clear();
        self.save();
    }

    /// Whether `ip` is inside any unexpired ban.
    pub fn is_banned(&mut self, ip: IpAddr, now: u64) -> bool {
        self.sweep(now);
        self.bans.values().any(|(net, _)| net.contains(ip))
    }

    /// The unexpired bans, ordered by address.
    pub fn list(&mut self, now: u64) -> Vec<BanEntry> {
        self.sweep(now);
        self.bans.values().map(|(_, e)| e.clone()).collect()
    }

    /// Number of unexpired bans (as of the last sweep).
    pub fn len(&self) -> usize {
        self.bans.len()
    }

    /// Whether there are no bans.
    pub fn is_empty(&self) -> bool {
        self.bans.is_empty()
    }

    /// Drops bans that have expired by `now`, saving if any were dropped.
    pub fn sweep(&mut self, now: u64) {
        let before = self.bans.len();
        self.bans.retain(|_, (_, e)| e.banned_until > now);
        if self.bans.len() != before {
            self.save();
        }
    }

    /// Writes the list to its file (if it has one). Failures are logged: a ban list that cannot
    /// be saved still protects this run.
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        let file = BanFile {
            version: BANLIST_VERSION,
            banned_nets: self.bans.values().map(|(_, e)| e.clone()).collect(),
        };
        let result = serde_json::to_vec_pretty(&file)
            .map_err(std::io::Error::other)
            .and_then(|data| atomic_file::write_atomic(path, &data, None).map_err(Into::into));
        if let Err(e) = result {
            log::warn!("cannot save ban list {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("btcnode-ban-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.join("banlist.json")
    }

    const DAY: Duration = Duration::from_secs(86400);

    #[test]
    fn bans_persist_and_expire() {
        let path = tmp("persist");
        let mut l = BanList::load(&path, 1000);
        assert!(l.ban_ip("10.1.2.3".parse().unwrap(), 1000, DAY, "ban score 100"));
        assert!(l.ban(
            IpNet::parse("192.168.0.0/16").unwrap(),
            1000,
            Duration::from_secs(10),
            "setban"
        ));
        assert!(l.is_banned("10.1.2.3".parse().unwrap(), 1001));
        assert!(l.is_banned("::ffff:10.1.2.3".parse().unwrap(), 1001));
        assert!(l.is_banned("192.168.77.1".parse().unwrap(), 1001));
        assert!(!l.is_banned("10.1.2.4".parse().unwrap(), 1001));

        let mut again = BanList::load(&path, 1005);
        assert_eq!(again.len(), 2);
        assert_eq!(again.list(1005)[0].address, "10.1.2.3/32");
        // The subnet ban has expired by 1010 and is dropped, on disk too.
        assert!(!again.is_banned("192.168.77.1".parse().unwrap(), 1010));
        assert_eq!(BanList::load(&path, 1011).len(), 1);

        assert!(again.unban(&IpNet::parse("10.1.2.3").unwrap()));
        assert!(!again.unban(&IpNet::parse("10.1.2.3").unwrap()));
        assert!(BanList::load(&path, 1011).is_empty());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn bad_file_is_set_aside() {
        let path = tmp("bad");
        std::fs::write(&path, b"{not json").unwrap();
        let mut l = BanList::load(&path, 77);
        assert!(l.is_empty());
        assert!(path.with_file_name("banlist.json.bad-77").exists());
        l.ban_ip("1.2.3.4".parse().unwrap(), 77, DAY, "x");
        assert_eq!(BanList::load(&path, 78).len(), 1);
        l.clear();
        assert!(BanList::load(&path, 78).is_empty());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
