//! [`Chain`]: the validated header chain of one network — block index, best chain by most
//! work, reorganisation, locators, serving, and `headers.dat`. A plain struct with no threads:
//! the sync manager owns it (or shares it behind a lock) and passes the adjusted time in.
//! btcd counterpart: `blockchain.BlockChain` (`ProcessBlock` reduced to headers,
//! `checkBlockHeaderSanity`, `checkBlockHeaderContext`, `LatestBlockLocator`, `LocateHeaders`).

use super::block_index::{BlockIndex, BlockNode, BlockStatus, NodeId};
use super::chain_params::{
    ChainParams, MAX_FUTURE_BLOCK_TIME, MAX_TIMEWARP, MEDIAN_TIME_BLOCKS, RETARGET_INTERVAL,
};
use super::error::Error;
use super::pow::{self, PowError, PrevBlock};
use super::store::HeaderStore;
use super::u256::U256;
use crate::params::Network;
use crate::wire::{BlockHeader, Hash};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Most headers a `headers` message carries and a getheaders reply holds (btcd
/// `MaxBlockHeadersPerMsg`).
pub const MAX_BLOCK_HEADERS_PER_MSG: usize = 2000;

/// Most block hashes a getblocks reply announces (btcd `wire.MaxBlocksPerMsg`).
pub const MAX_BLOCKS_PER_MSG: usize = 500;

/// The chain counts as current when its tip is younger than this (btcd `isCurrent`'s 24 hours,
/// Core's `DEFAULT_MAX_TIP_AGE`).
pub const MAX_TIP_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// At most this many invalid header hashes are remembered to reject their descendants cheaply.
const MAX_INVALID_REMEMBERED: usize = 10_000;

/// A change of the best chain's tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TipChange {
    /// The new tip's hash.
    pub hash: Hash,
    /// The new tip's height.
    pub height: u32,
    /// Height of the last header the old and new best chains share.
    pub fork_height: u32,
    /// How many headers left the best chain (0 unless this was a reorganisation).
    pub disconnected: u32,
}

/// What [`Chain::process_headers`] did with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessOutcome {
    /// Headers added to the index (on any branch).
    pub connected: usize,
    /// Headers that were already known.
    pub duplicates: usize,
    /// The new best tip, when it changed.
    pub new_tip: Option<TipChange>,
    /// Hash and height of the batch's last header (known or new): the sender has it.
    pub last: Option<(Hash, u32)>,
}

/// Everything bitcoind's `getblockheader` shows about a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderInfo {
    /// The header.
    pub header: BlockHeader,
    /// Its hash.
    pub hash: Hash,
    /// Its height.
    pub height: u32,
    /// Total work of its chain.
    pub chain_work: U256,
    /// Whether it is on the best chain.
    pub in_best_chain: bool,
    /// Median time of it and its 10 ancestors.
    pub median_time_past: u32,
    /// The next header on the best chain, if it is on it and not the tip.
    pub next_hash: Option<Hash>,
    /// Confirmations as bitcoind counts them: tip height - height + 1 on the best chain, -1 off it.
    pub confirmations: i64,
}

/// The validated header chain of one network.
#[derive(Debug)]
pub struct Chain {
    params: ChainParams,
    index: BlockIndex,
    store: Option<HeaderStore>,
    invalid: HashSet<Hash>,
    /// The last two (bits, work) pairs: work is a 256-bit division, bits rarely change.
    work_cache: [(u32, U256); 2],
    /// The last header added: during sync the next one's parent, found without a map lookup.
    last_added: Option<(Hash, NodeId)>,
}

/// Seconds since the Unix epoch (0 before it), signed for header-time arithmetic.
fn unix_secs(t: SystemTime) -> i64 {
    i64::try_from(crate::clock::unix_secs(t)).unwrap_or(i64::MAX)
}

/// Result of accepting one header.
enum Accepted {
    New(NodeId),
    Known(NodeId),
}

impl Chain {
    /// A chain of `network` in memory only, holding its genesis header.
    pub fn new(network: Network) -> Chain {
        Chain::with_params(ChainParams::for_network(network))
    }

    /// A chain in memory only under custom rules (tests use their own checkpoints).
    pub fn with_params(params: ChainParams) -> Chain {
        let gwork = pow::calc_work(params.genesis.bits);
        Chain {
            index: BlockIndex::new(params.genesis, gwork),
            params,
            store: None,
            invalid: HashSet::new(),
            work_cache: [(0, U256::ZERO); 2],
            last_added: None,
        }
    }

    /// Opens the chain stored in `dir/headers.dat` (creating it if absent), validating every
    /// record. A torn last record is cut; the load stops at the first invalid record with a
    /// warning and the file is cut there (a read error likewise keeps what was read). Fails
    /// only when the directory or file cannot be created or opened; the caller may then run
    /// with [`Chain::new`] in memory.
    pub fn open(dir: &Path, network: Network) -> Result<Chain, Error> {
        Chain::open_with_params(dir, ChainParams::for_network(network))
    }

    /// [`Chain::open`] under custom rules.
    pub fn open_with_params(dir: &Path, params: ChainParams) -> Result<Chain, Error> {
        let mut chain = Chain::with_params(params);
        let io_err = |context, source| Error::Io {
            context,
            path: dir.join(super::store::HEADERS_FILE),
            source,
        };
        let mut store = HeaderStore::open(dir).map_err(|e| io_err("opening", e))?;
        let started = std::time::Instant::now();
        let total = store.records();
        chain.index.reserve(total as usize);
        let path = store.path().to_path_buf();
        let mut good = 0u64;
        let read = store.read_all(|i, h| match chain.accept(&h, h.block_hash(), None) {
            Ok(accepted) => {
                if let Accepted::New(id) = accepted {
                    chain.maybe_set_tip(id);
                }
                good = i + 1;
                true
            }
            Err(e) => {
                log::warn!(
                    "{}: record {i} of {total} fails validation, keeping the {i} before it: {e}",
                    path.display()
                );
                false
            }
        });
        if let Err(e) = read {
            // Start with what could be read rather than not at all.
            log::warn!(
                "{}: read error after {good} of {total} records, keeping those: {e}",
                path.display()
            );
        }
        let loaded = good;
        if loaded < total {
            store
                .truncate_records(loaded)
                .map_err(|e| io_err("truncating", e))?;
        }
        log::info!(
            "loaded {loaded} headers from {} in {:.2?}: height {}, tip {}",
            path.display(),
            started.elapsed(),
            chain.height(),
            chain.tip_hash()
        );
        chain.store = Some(store);
        Ok(chain)
    }

    /// The network's rules.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// The network.
    pub fn network(&self) -> Network {
        self.params.network
    }

    /// Height of the best chain's tip.
    pub fn height(&self) -> u32 {
        self.index.height()
    }

    /// Hash of the best chain's tip.
    pub fn tip_hash(&self) -> Hash {
        self.index.node(self.index.tip()).hash
    }

    /// The best chain's tip header.
    pub fn tip_header(&self) -> BlockHeader {
        self.index.node(self.index.tip()).header
    }

    /// Total work of the best chain.
    pub fn tip_work(&self) -> U256 {
        self.index.node(self.index.tip()).chain_work
    }

    /// Bytes in `headers.dat` (0 for a chain in memory).
    pub fn store_size(&self) -> u64 {
        self.store.as_ref().map_or(0, |s| s.records() * 80)
    }

    /// Number of headers in the index on every branch, genesis included.
    pub fn header_count(&self) -> usize {
        self.index.len()
    }

    /// The header with `hash`, on any branch.
    pub fn header_by_hash(&self, hash: &Hash) -> Option<BlockHeader> {
        self.index.lookup(hash).map(|id| self.index.node(id).header)
    }

    /// Height of the header with `hash`, on any branch.
    pub fn height_of(&self, hash: &Hash) -> Option<u32> {
        self.index.lookup(hash).map(|id| self.index.node(id).height)
    }

    /// Whether the header with `hash` is on the best chain.
    pub fn is_in_best_chain(&self, hash: &Hash) -> bool {
        self.index
            .lookup(hash)
            .is_some_and(|id| self.index.in_main(id))
    }

    /// What the chain knows about `hash`.
    pub fn status(&self, hash: &Hash) -> Option<BlockStatus> {
        if self.index.lookup(hash).is_some() {
            Some(BlockStatus::ValidHeader)
        } else if self.invalid.contains(hash) {
            Some(BlockStatus::Invalid)
        } else {
            None
        }
    }

    /// The best chain's header at `height`.
    pub fn header_at(&self, height: u32) -> Option<BlockHeader> {
        self.index
            .main_at(height)
            .map(|id| self.index.node(id).header)
    }

    /// The best chain's hash at `height`.
    pub fn hash_at(&self, height: u32) -> Option<Hash> {
        self.index
            .main_at(height)
            .map(|id| self.index.node(id).hash)
    }

    /// Full details of the header with `hash` (for `getblockheader`).
    pub fn header_info(&self, hash: &Hash) -> Option<HeaderInfo> {
        let id = self.index.lookup(hash)?;
        let n: &BlockNode = self.index.node(id);
        let in_best = self.index.in_main(id);
        let next_hash = if in_best {
            self.hash_at(n.height + 1)
        } else {
            None
        };
        let confirmations = if in_best {
            i64::from(self.height()) - i64::from(n.height) + 1
        } else {
            -1
        };
        Some(HeaderInfo {
            header: n.header,
            hash: n.hash,
            height: n.height,
            chain_work: n.chain_work,
            in_best_chain: in_best,
            median_time_past: self.median_time_past(id),
            next_hash,
            confirmations,
        })
    }

    /// A block locator for the best chain's tip (btcd `LatestBlockLocator`).
    pub fn locator(&self) -> Vec<Hash> {
        self.index.locator(self.index.tip())
    }

    /// A block locator for the header with `hash`, if known (btcd `BlockLocatorFromHash`).
    pub fn locator_for(&self, hash: &Hash) -> Option<Vec<Hash>> {
        self.index.lookup(hash).map(|id| self.index.locator(id))
    }

    /// Height of the newest locator entry on the best chain (genesis when none is).
    pub fn find_fork(&self, locator: &[Hash]) -> u32 {
        self.index.find_fork(locator)
    }

    /// Headers of the best chain after the locator's fork point, through `stop` if it is on
    /// the best chain (zero hash: no stop), at most `max` (a getheaders reply; btcd
    /// `LocateHeaders`).
    pub fn headers_after(&self, locator: &[Hash], stop: &Hash, max: usize) -> Vec<BlockHeader> {
        let max = max.min(MAX_BLOCK_HEADERS_PER_MSG);
        self.index
            .ids_after(locator, stop, max)
            .into_iter()
            .map(|id| self.index.node(id).header)
            .collect()
    }

    /// Hashes of the best chain after the locator's fork point, through `stop`, at most `max`
    /// (a getblocks reply; btcd `LocateBlocks`).
    pub fn hashes_after(&self, locator: &[Hash], stop: &Hash, max: usize) -> Vec<Hash> {
        let max = max.min(MAX_BLOCKS_PER_MSG);
        self.index
            .ids_after(locator, stop, max)
            .into_iter()
            .map(|id| self.index.node(id).hash)
            .collect()
    }

    /// Whether the chain has caught up: past the last checkpoint and its tip younger than a day
    /// at `now` (btcd `isCurrent`).
    pub fn is_current(&self, now: SystemTime) -> bool {
        if let Some(cp) = self.params.last_checkpoint()
            && self.height() < cp.height
        {
            return false;
        }
        let tip_time = i64::from(self.tip_header().timestamp);
        tip_time >= unix_secs(now) - MAX_TIP_AGE.as_secs() as i64
    }

    /// Whether the node is still in initial sync (bitcoind's `initialblockdownload`).
    pub fn is_initial_sync(&self, now: SystemTime) -> bool {
        !self.is_current(now)
    }

    /// Median time past of the best chain's tip.
    pub fn tip_median_time_past(&self) -> u32 {
        self.median_time_past(self.index.tip())
    }

    /// Validates and connects a batch of headers (a `headers` message), each building on the
    /// one before; `now` is the node's adjusted time. Headers before a failing one stay
    /// connected; all new headers are appended to `headers.dat` and fsynced once.
    pub fn process_headers(
        &mut self,
        headers: &[BlockHeader],
        now: SystemTime,
    ) -> Result<ProcessOutcome, Error> {
        let now = unix_secs(now);
        let old_tip = self.index.tip();
        let mut outcome = ProcessOutcome::default();
        let mut new_headers = Vec::new();
        let mut result = Ok(());
        let mut first_change: Option<(u32, u32)> = None;
        let mut prev_hash = None;
        for (i, h) in headers.iter().enumerate() {
            let hash = h.block_hash();
            if let Some(p) = prev_hash
                && h.prev_block != p
            {
                result = Err(Error::NonContinuous { index: i, hash });
                break;
            }
            prev_hash = Some(hash);
            match self.accept(h, hash, Some(now)) {
                Ok(Accepted::New(id)) => {
                    outcome.connected += 1;
                    new_headers.push(*h);
                    outcome.last = Some((hash, self.index.node(id).height));
                    if let Some(change) = self.maybe_set_tip(id)
                        && first_change.is_none()
                    {
                        first_change = Some(change);
                    }
                }
                Ok(Accepted::Known(id)) => {
                    outcome.duplicates += 1;
                    outcome.last = Some((hash, self.index.node(id).height));
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if let Some(store) = &mut self.store
            && let Err(e) = store.append(&new_headers)
        {
            log::error!(
                "could not append {} headers to {}: {e}",
                new_headers.len(),
                store.path().display()
            );
            if result.is_ok() {
                result = Err(Error::Io {
                    context: "appending to",
                    path: store.path().to_path_buf(),
                    source: e,
                });
            }
        }
        let tip = self.index.tip();
        if tip != old_tip {
            let (fork_height, disconnected) = first_change.unwrap_or((self.height(), 0));
            let change = TipChange {
                hash: self.index.node(tip).hash,
                height: self.height(),
                fork_height,
                disconnected,
            };
            if disconnected > 0 {
                log::info!(
                    "reorganised: {disconnected} headers left the best chain at fork height \
                     {fork_height}; new tip {} at height {}",
                    change.hash,
                    change.height
                );
            }
            outcome.new_tip = Some(change);
        }
        result.map(|()| outcome)
    }

    /// Makes `id` the tip when its chain has more work than the tip's; returns the fork height
    /// and number of headers disconnected when it did.
    fn maybe_set_tip(&mut self, id: NodeId) -> Option<(u32, u32)> {
        let tip = self.index.tip();
        if self.index.node(id).chain_work > self.index.node(tip).chain_work {
            Some(self.index.set_tip(id))
        } else {
            None
        }
    }

    fn work_of(&mut self, bits: u32) -> U256 {
        for (b, w) in &self.work_cache {
            if *b == bits && !w.is_zero() {
                return *w;
            }
        }
        let w = pow::calc_work(bits);
        self.work_cache[1] = self.work_cache[0];
        self.work_cache[0] = (bits, w);
        w
    }

    fn median_time_past(&self, id: NodeId) -> u32 {
        let mut ts = [0u32; MEDIAN_TIME_BLOCKS];
        let n = self.index.timestamps_back(id, &mut ts);
        let ts = &mut ts[..n];
        ts.sort_unstable();
        ts[n / 2]
    }

    /// Validates one header and adds it to the index. `now` is `None` when replaying
    /// `headers.dat` (a stored header was not from the future when it was accepted).
    fn accept(&mut self, h: &BlockHeader, hash: Hash, now: Option<i64>) -> Result<Accepted, Error> {
        // The parent is usually the header added last. Nothing has been added since, so no
        // child of it can be known yet: the duplicate lookup (a cache miss) can be skipped.
        let cached = match self.last_added {
            Some((last, id)) if last == h.prev_block => Some(id),
            _ => None,
        };
        if cached.is_none()
            && let Some(id) = self.index.lookup(&hash)
        {
            return Ok(Accepted::Known(id));
        }
        let Some(parent) = cached.or_else(|| self.index.lookup(&h.prev_block)) else {
            if self.invalid.contains(&h.prev_block) {
                self.remember_invalid(hash);
                return Err(Error::InvalidAncestor {
                    hash,
                    ancestor: h.prev_block,
                });
            }
            return Err(Error::DoesNotConnect {
                hash,
                prev_block: h.prev_block,
            });
        };
        // Context-free: proof of work against the header's own bits.
        pow::check_proof_of_work(&hash, h.bits, &self.params.pow_limit).map_err(|e| match e {
            PowError::TargetOutOfRange => Error::TargetOutOfRange { hash, bits: h.bits },
            PowError::HashAboveTarget => Error::BadProofOfWork { hash, bits: h.bits },
        })?;
        let last_normal_bits = match self.check_context(h, hash, parent, now) {
            Ok(b) => b,
            Err(e) => {
                if e.is_invalid_header() {
                    self.remember_invalid(hash);
                }
                return Err(e);
            }
        };
        let work = self.work_of(h.bits);
        let id = self.index.insert(*h, hash, parent, &work, last_normal_bits);
        self.last_added = Some((hash, id));
        Ok(Accepted::New(id))
    }

    fn remember_invalid(&mut self, hash: Hash) {
        if self.invalid.len() < MAX_INVALID_REMEMBERED {
            self.invalid.insert(hash);
        }
    }

    /// The checks that need the parent (btcd `checkBlockHeaderContext`, Core
    /// `ContextualCheckBlockHeader`); returns the new node's `last_normal_bits`.
    fn check_context(
        &self,
        h: &BlockHeader,
        hash: Hash,
        parent: NodeId,
        now: Option<i64>,
    ) -> Result<u32, Error> {
        let p = self.index.node(parent);
        let height = p.height + 1;

        // Checkpoints: the hash at a checkpoint height is fixed, and no fork may start below
        // the last checkpoint the best chain has passed.
        if let Some(cp) = self.params.checkpoint_at(height)
            && cp.hash() != hash
        {
            return Err(Error::CheckpointMismatch {
                height,
                expected: cp.hash(),
                got: hash,
            });
        }
        if let Some(cp_height) = self.last_passed_checkpoint()
            && height < cp_height
        {
            return Err(Error::ForkTooOld {
                hash,
                height,
                checkpoint_height: cp_height,
            });
        }

        // Difficulty.
        let prev = PrevBlock {
            height: p.height,
            timestamp: p.header.timestamp,
            bits: p.header.bits,
            last_normal_bits: p.last_normal_bits,
        };
        let expected = pow::next_work_required(&self.params, &prev, h.timestamp, |fh| {
            match self.index.ancestor(parent, fh) {
                Some(a) => {
                    let n = self.index.node(a);
                    (n.header.timestamp, n.header.bits)
                }
                // Unreachable: fh is below the parent's height.
                None => (p.header.timestamp, p.header.bits),
            }
        });
        if h.bits != expected {
            return Err(Error::BadDifficulty {
                hash,
                height,
                expected,
                got: h.bits,
            });
        }

        // Time: after the median of the last 11, not too far in the future.
        let mtp = self.median_time_past(parent);
        if h.timestamp <= mtp {
            return Err(Error::TimeTooOld {
                hash,
                timestamp: h.timestamp,
                median_time_past: mtp,
            });
        }
        if let Some(now) = now {
            let max = now + MAX_FUTURE_BLOCK_TIME.as_secs() as i64;
            if i64::from(h.timestamp) > max {
                return Err(Error::TimeTooNew {
                    hash,
                    timestamp: h.timestamp,
                    max: max.max(0) as u64,
                });
            }
        }
        if self.params.enforce_bip94
            && height.is_multiple_of(RETARGET_INTERVAL)
            && i64::from(h.timestamp)
                < i64::from(p.header.timestamp) - MAX_TIMEWARP.as_secs() as i64
        {
            return Err(Error::TimewarpAttack {
                hash,
                timestamp: h.timestamp,
                prev_timestamp: p.header.timestamp,
            });
        }

        // Version minimums (BIP34/66/65).
        let min = self.params.min_version(height);
        if h.version < min {
            return Err(Error::BadVersion {
                hash,
                height,
                version: h.version,
                min,
            });
        }

        Ok(
            if height.is_multiple_of(RETARGET_INTERVAL) || h.bits != self.params.pow_limit_bits {
                h.bits
            } else {
                p.last_normal_bits
            },
        )
    }

    /// Height of the newest checkpoint at or below the best chain's height (btcd
    /// `findPreviousCheckpoint`; the best chain has it, since checkpoint hashes are enforced).
    fn last_passed_checkpoint(&self) -> Option<u32> {
        let height = self.height();
        let cps = self.params.checkpoints;
        let n = cps.partition_point(|c| c.height <= height);
        n.checked_sub(1).map(|i| cps[i].height)
    }
}
