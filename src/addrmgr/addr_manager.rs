//! The concurrency-safe address manager: an [`AddrBook`] behind a mutex, our local
//! addresses behind another, and the `addrmgr` thread that saves `peers.json` every
//! [`DUMP_ADDRESS_INTERVAL`] and once more on stop. btcd counterpart: the exported half of
//! `addrmgr/addrmanager.go` (`AddrManager`, `Start`, `Stop`, `addressHandler`).

use super::addr_book::{AddrBook, book_rng};
use super::error::Error;
use super::known_address::KnownAddress;
use super::local_address::{AddressPriority, LocalAddresses};
use super::peers_file::{LoadOutcome, PEERS_FILENAME, load_peers, write_atomic};
use crate::params::Network;
use crate::thread::spawn_service_thread;
use crate::wire::netaddress_str::{AddrParseError, parse_host_port};
use crate::wire::{NetAddress, ServiceFlag};
use crossbeam_channel::{Receiver, Sender, bounded, select, tick};
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// How often the address book is written to disk (btcd's `dumpAddressInterval`), so a crash
/// loses at most ten minutes of what was learnt.
pub const DUMP_ADDRESS_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Settings of an [`AddrManager`].
#[derive(Debug, Clone)]
pub struct AddrManagerConfig {
    /// The peers file (`<datadir>/<network>/peers.json`).
    pub peers_file: PathBuf,
    /// Seed for the random choices and the bucket key of a new book; `None` draws from the OS.
    /// Tests set it so runs repeat.
    pub seed: Option<u64>,
    /// How often the `addrmgr` thread saves ([`DUMP_ADDRESS_INTERVAL`]; tests shorten it).
    pub dump_address_interval: Duration,
}

impl AddrManagerConfig {
    /// The defaults for `network` under `data_dir`: `<data_dir>/<network>/peers.json`.
    pub fn new(data_dir: &Path, network: Network) -> AddrManagerConfig {
        AddrManagerConfig {
            peers_file: data_dir.join(network.name()).join(PEERS_FILENAME),
            seed: None,
            dump_address_interval: DUMP_ADDRESS_INTERVAL,
        }
    }
}

struct Shared {
    book: Mutex<AddrBook>,
    local: Mutex<LocalAddresses>,
    peers_file: PathBuf,
    /// Serialises writers of the peers file (the thread's saves and explicit ones share a
    /// temp file). Never held with `book`.
    save_lock: Mutex<()>,
}

impl Shared {
    fn save(&self) -> Result<(), Error> {
        let _writer = self.save_lock.lock();
        // Serialise under the book lock, write without it: peers keep working during the I/O.
        let data = self.book.lock().to_json();
        write_atomic(&self.peers_file, &data)
    }
}

struct Handler {
    quit_tx: Sender<()>,
    join: JoinHandle<()>,
}

/// A concurrency-safe address manager (btcd's `AddrManager`). Every method may be called from
/// any thread; none blocks on I/O except [`AddrManager::start`], [`AddrManager::stop`] and
/// [`AddrManager::save`].
pub struct AddrManager {
    shared: Arc<Shared>,
    dump_address_interval: Duration,
    handler: Mutex<Option<Handler>>,
    started: Mutex<bool>,
}

impl std::fmt::Debug for AddrManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddrManager")
            .field("peers_file", &self.shared.peers_file)
            .finish_non_exhaustive()
    }
}

impl AddrManager {
    /// A manager for `network` under `data_dir` with an empty book; [`AddrManager::start`]
    /// loads `peers.json` (btcd's `New`). `seed` makes its random choices repeatable.
    pub fn new(data_dir: &Path, network: Network, seed: Option<u64>) -> AddrManager {
        let mut config = AddrManagerConfig::new(data_dir, network);
        config.seed = seed;
        AddrManager::with_config(config)
    }

    /// A manager with explicit settings.
    pub fn with_config(config: AddrManagerConfig) -> AddrManager {
        AddrManager {
            shared: Arc::new(Shared {
                book: Mutex::new(AddrBook::new(book_rng(config.seed))),
                local: Mutex::new(LocalAddresses::default()),
                peers_file: config.peers_file,
                save_lock: Mutex::new(()),
            }),
            dump_address_interval: config.dump_address_interval,
            handler: Mutex::new(None),
            started: Mutex::new(false),
        }
    }

    /// The peers file this manager loads and saves.
    pub fn peers_file(&self) -> &Path {
        &self.shared.peers_file
    }

    /// Loads `peers.json` and starts the `addrmgr` thread (btcd's `Start`). Returns what the
    /// load found, or `None` if already started. A bad file never fails this: it is set aside
    /// and the book starts empty. Fails only if the thread cannot be created.
    pub fn start(&self) -> Result<Option<LoadOutcome>, Error> {
        let mut started = self.started.lock();
        if *started {
            return Ok(None);
        }
        log::trace!(target: "btcnode::addrmgr", "starting address manager");
        let outcome = {
            let mut book = self.shared.book.lock();
            let rng = StdRng::from_rng(&mut book.rng);
            let (loaded, outcome) = load_peers(&self.shared.peers_file, rng, SystemTime::now());
            *book = loaded;
            outcome
        };
        let (quit_tx, quit_rx) = bounded::<()>(1);
        let shared = Arc::clone(&self.shared);
        let interval = self.dump_address_interval;
        let join = spawn_service_thread("addrmgr".to_string(), move || {
            address_handler(&shared, &quit_rx, interval);
        })
        .map_err(|source| Error::Io {
            op: "spawn thread addrmgr for",
            path: self.shared.peers_file.clone(),
            source,
        })?;
        *self.handler.lock() = Some(Handler { quit_tx, join });
        *started = true;
        Ok(Some(outcome))
    }

    /// Stops the `addrmgr` thread after its final save and joins it (btcd's `Stop`).
    /// Idempotent; does nothing if never started.
    pub fn stop(&self) {
        let Some(h) = self.handler.lock().take() else {
            return;
        };
        log::info!(target: "btcnode::addrmgr", "address manager shutting down");
        drop(h.quit_tx);
        if h.join.join().is_err() {
            log::error!(target: "btcnode::addrmgr", "addrmgr thread panicked");
        }
    }

    /// Saves the book to the peers file now (atomically).
    pub fn save(&self) -> Result<(), Error> {
        self.shared.save()
    }

    /// Runs `f` on the book under its lock (tests and diagnostics).
    pub fn with_book<R>(&self, f: impl FnOnce(&mut AddrBook) -> R) -> R {
        f(&mut self.shared.book.lock())
    }

    /// Adds addresses learnt from `src` (btcd's `AddAddresses`); unroutable ones are ignored.
    pub fn add_addresses(&self, addrs: &[NetAddress], src: &NetAddress) {
        self.shared
            .book
            .lock()
            .add_addresses(addrs, src, SystemTime::now());
    }

    /// Adds one address learnt from `src` (btcd's `AddAddress`).
    pub fn add_address(&self, addr: &NetAddress, src: &NetAddress) {
        self.shared
            .book
            .lock()
            .add_address(addr, src, SystemTime::now());
    }

    /// Adds an address given as `host:port` (an IP, onion or I2P host; no DNS), as its own
    /// source (btcd's `AddAddressByIP`).
    pub fn add_address_by_ip(&self, addr: &str) -> Result<(), AddrParseError> {
        let (addr, port) = parse_host_port(addr)?;
        let now = SystemTime::now();
        let na = NetAddress {
            timestamp: super::known_address::wire_timestamp(now),
            services: ServiceFlag::NONE,
            addr,
            port,
        };
        self.shared.book.lock().add_address(&na, &na, now);
        Ok(())
    }

    /// Number of known addresses (btcd's `NumAddresses`).
    pub fn num_addresses(&self) -> usize {
        self.shared.book.lock().num_addresses()
    }

    /// Whether more addresses are wanted (btcd's `NeedMoreAddresses`).
    pub fn need_more_addresses(&self) -> bool {
        self.shared.book.lock().need_more_addresses()
    }

    /// Every known address (Core's `getnodeaddresses 0`: "0 to return all known
    /// addresses"); Tor v2 addresses (read only) left out, as in gossip.
    pub fn addresses(&self) -> Vec<NetAddress> {
        let mut all = self.shared.book.lock().addresses();
        all.retain(|a| !matches!(a.addr, crate::wire::AddrV2::TorV2(_)));
        all
    }

    /// Addresses for a `getaddr` reply (btcd's `AddressCache`).
    pub fn address_cache(&self) -> Vec<NetAddress> {
        self.shared.book.lock().address_cache()
    }

    /// An address to try connecting to, or `None` when the book is empty (btcd's
    /// `GetAddress`).
    pub fn get_address(&self) -> Option<KnownAddress> {
        self.shared.book.lock().get_address(SystemTime::now())
    }

    /// Counts a connection attempt (btcd's `Attempt`).
    pub fn attempt(&self, addr: &NetAddress) {
        self.shared.book.lock().attempt(addr, SystemTime::now());
    }

    /// Marks an address as connected now (btcd's `Connected`).
    pub fn connected(&self, addr: &NetAddress) {
        self.shared.book.lock().connected(addr, SystemTime::now());
    }

    /// Marks an address good after a version exchange, moving it to tried (btcd's `Good`).
    pub fn good(&self, addr: &NetAddress) {
        self.shared.book.lock().good(addr, SystemTime::now());
    }

    /// Sets an address's services (btcd's `SetServices`).
    pub fn set_services(&self, addr: &NetAddress, services: ServiceFlag) {
        self.shared.book.lock().set_services(addr, services);
    }

    /// Adds one of our own addresses to advertise (btcd's `AddLocalAddress`); unroutable
    /// addresses are refused.
    pub fn add_local_address(
        &self,
        addr: &NetAddress,
        priority: AddressPriority,
    ) -> Result<(), Error> {
        self.shared.local.lock().add(addr, priority)
    }

    /// Our local addresses with their scores (Bitcoin Core's `mapLocalHost`, shown by
    /// `getnetworkinfo`).
    pub fn local_addresses(&self) -> Vec<(NetAddress, i32)> {
        self.shared.local.lock().list()
    }

    /// The local address to advertise to `remote` (btcd's `GetBestLocalAddress`).
    pub fn get_best_local_address(&self, remote: &NetAddress) -> NetAddress {
        self.shared.local.lock().best(remote, SystemTime::now())
    }
}

impl Drop for AddrManager {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs on thread `addrmgr`: saves the book every `interval` and once more when `quit` loses
/// its sender, then returns (btcd's `addressHandler`).
fn address_handler(shared: &Shared, quit: &Receiver<()>, interval: Duration) {
    let ticker = tick(interval);
    loop {
        select! {
            recv(ticker) -> _ => {
                if let Err(e) = shared.save() {
                    log::error!(target: "btcnode::addrmgr", "saving addresses: {e}");
                }
            }
            // Only a dropped sender wakes this: stop() was called.
            recv(quit) -> _ => break,
        }
    }
    if let Err(e) = shared.save() {
        log::error!(target: "btcnode::addrmgr", "saving addresses: {e}");
    }
    log::trace!(target: "btcnode::addrmgr", "address handler done");
}
