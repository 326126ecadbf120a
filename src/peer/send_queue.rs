//! The rules of the send pipeline, as plain structs: btcd's ordered queue with one message
//! in flight ([`SendQueue`]), the inventory trickle ([`InvTrickle`]), back-to-back duplicate
//! `getblocks`/`getheaders` suppression ([`DuplicateRequestFilter`]) and the choice of at
//! most 1,000 addresses for `addr`/`addrv2` ([`choose_addresses`]). The `pN-queue` thread is
//! their shell. btcd counterpart: `peer.queueHandler`, `PushGetBlocksMsg`,
//! `PushGetHeadersMsg`, `PushAddrMsg`.

use std::collections::VecDeque;
use std::hash::Hash;
use std::time::Duration;

use rand::{Rng, RngExt};

use super::lru::LruSet;

/// The interval between inventory trickles (btcd's `DefaultTrickleInterval`): "the min time
/// between attempts to send an inv message to a peer".
pub const TRICKLE_INTERVAL: Duration = Duration::from_secs(10);

/// The most inventory vectors sent in one trickled `inv` (btcd's `maxInvTrickleSize`).
pub const MAX_INV_TRICKLE_SIZE: usize = 1000;

/// The number of inventory vectors remembered as known to the peer (btcd's
/// `maxKnownInventory`).
pub const MAX_KNOWN_INVENTORY: usize = 1000;

/// The most inventory vectors waiting for the next trickle. btcd's list is unbounded; a peer
/// that is announced more than this between two trickles loses the newest announcements
/// rather than growing without limit.
pub const MAX_INV_QUEUE: usize = 50_000;

/// The most messages waiting behind the one in flight. btcd's list is unbounded; past this a
/// peer is not reading what it asked for and is disconnected.
pub const MAX_PENDING_MESSAGES: usize = 5_000;

/// The most waiting messages handed to the writer at once. Order is kept; a batch saves a
/// thread hand-off per message when messages are queued faster than they are written.
pub const MAX_SEND_BATCH: usize = 256;

/// The most addresses per `addr`/`addrv2` message (btcd's `MaxAddrPerMsg`,
/// `MaxV2AddrPerMsg`).
pub const MAX_ADDR_PER_MSG: usize = 1000;

/// btcd's ordered send queue (its `pendingMsgs` list). The writer takes waiting messages
/// in order, as one batch, whenever it is idle (the hand-off is a rendezvous, so at most one
/// batch is ever with the writer); everything else waits here, up to a limit.
#[derive(Debug)]
pub struct SendQueue<T> {
    pending: VecDeque<T>,
    limit: usize,
}

/// More than the pending limit were queued; the message is handed back.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

impl<T> SendQueue<T> {
    /// An empty queue holding at most `limit` messages.
    pub fn new(limit: usize) -> SendQueue<T> {
        SendQueue {
            pending: VecDeque::new(),
            limit,
        }
    }

    /// Queues `msg` behind the others, or hands it back when the queue is full.
    pub fn push(&mut self, msg: T) -> Result<(), QueueFull<T>> {
        if self.pending.len() >= self.limit {
            return Err(QueueFull(msg));
        }
        self.pending.push_back(msg);
        Ok(())
    }

    /// Takes up to `max` waiting messages, oldest first, for the writer.
    pub fn take_batch(&mut self, max: usize) -> Vec<T> {
        let n = self.pending.len().min(max.max(1));
        let batch: Vec<T> = self.pending.drain(..n).collect();
        if self.pending.is_empty() {
            // Give back the memory of a burst so an idle peer holds nothing.
            self.pending = VecDeque::new();
        }
        batch
    }

    /// How many messages wait.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Takes every waiting message (on shutdown, to fire their done channels).
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.pending.drain(..)
    }
}

/// What to do with an inventory vector handed to the trickle.
#[derive(Debug, PartialEq, Eq)]
pub enum InvAction<I> {
    /// Announce it now in an `inv` of its own (a block).
    SendNow(I),
    /// It waits for the next trickle.
    Queued,
    /// Dropped: the handshake is not done, or the trickle queue is full.
    Dropped,
}

/// Inventory waiting for the next trickle.
#[derive(Debug)]
pub struct InvTrickle<I> {
    queue: VecDeque<I>,
    max_per_msg: usize,
    limit: usize,
}

impl<I: Clone + Eq + Hash> InvTrickle<I> {
    /// An empty trickle queue with btcd's batch size and [`MAX_INV_QUEUE`].
    pub fn new() -> InvTrickle<I> {
        InvTrickle::with_limits(MAX_INV_TRICKLE_SIZE, MAX_INV_QUEUE)
    }

    /// An empty trickle queue sending at most `max_per_msg` per `inv` and holding at most
    /// `limit`.
    pub fn with_limits(max_per_msg: usize, limit: usize) -> InvTrickle<I> {
        InvTrickle {
            queue: VecDeque::new(),
            max_per_msg: max_per_msg.max(1),
            limit,
        }
    }

    /// Hands `iv` to the trickle. Before the remote's version is known it is dropped ("they'll
    /// find out soon enough", btcd); blocks are announced at once, skipping the trickle;
    /// everything else waits.
    pub fn queue(&mut self, iv: I, is_block: bool, version_known: bool) -> InvAction<I> {
        if !version_known {
            return InvAction::Dropped;
        }
        if is_block {
            return InvAction::SendNow(iv);
        }
        if self.queue.len() >= self.limit {
            return InvAction::Dropped;
        }
        self.queue.push_back(iv);
        InvAction::Queued
    }

    /// How many vectors wait.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The trickle tick: empties the queue into `inv` batches of at most the batch size,
    /// skipping vectors that became known to the peer meanwhile and marking the sent ones
    /// known.
    pub fn on_tick(&mut self, known: &mut LruSet<I>) -> Vec<Vec<I>> {
        let mut batches = Vec::new();
        let mut batch = Vec::new();
        for iv in self.queue.drain(..) {
            if known.contains(&iv) {
                continue;
            }
            known.insert(iv.clone());
            batch.push(iv);
            if batch.len() >= self.max_per_msg {
                batches.push(std::mem::take(&mut batch));
            }
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
        self.queue = VecDeque::new();
        batches
    }
}

impl<I: Clone + Eq + Hash> Default for InvTrickle<I> {
    fn default() -> Self {
        InvTrickle::new()
    }
}

/// Suppresses a `getblocks`/`getheaders` identical to the previous one (same first locator
/// hash and stop hash), as btcd does to avoid back-to-back duplicate requests.
#[derive(Debug, Clone, Default)]
pub struct DuplicateRequestFilter<H> {
    prev: Option<(H, H)>,
}

impl<H: Eq + Copy> DuplicateRequestFilter<H> {
    /// An empty filter.
    pub fn new() -> DuplicateRequestFilter<H> {
        DuplicateRequestFilter { prev: None }
    }

    /// Whether a request starting at `begin` (the locator's first hash; `None` for an empty
    /// locator, which is never a duplicate) and ending at `stop` repeats the previous one.
    /// If not, it becomes the previous one.
    pub fn check_and_record(&mut self, begin: Option<H>, stop: H) -> bool {
        if let (Some(b), Some((pb, ps))) = (begin, self.prev)
            && b == pb
            && stop == ps
        {
            return true;
        }
        self.prev = begin.map(|b| (b, stop));
        false
    }
}

/// At most `max` of `list`, chosen uniformly at random when there are more (a partial
/// Fisher–Yates shuffle; btcd's `PushAddrV2Msg` shuffle copied entries instead of swapping
/// them, duplicating some and losing others).
pub fn choose_addresses<T, R: Rng + ?Sized>(mut list: Vec<T>, max: usize, rng: &mut R) -> Vec<T> {
    let n = list.len();
    if n <= max {
        return list;
    }
    for i in 0..max {
        let j = rng.random_range(i..n);
        list.swap(i, j);
    }
    list.truncate(max);
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn batches_keep_order_and_limit() {
        let mut q = SendQueue::new(10);
        for i in 1..=5 {
            assert_eq!(q.push(i), Ok(()));
        }
        assert_eq!(q.take_batch(3), vec![1, 2, 3]);
        assert_eq!(q.take_batch(3), vec![4, 5]);
        assert!(q.is_empty());
        assert_eq!(q.take_batch(3), Vec::<i32>::new());
    }

    #[test]
    fn pending_limit_hands_message_back() {
        let mut q = SendQueue::new(2);
        q.push(1).expect("first");
        q.push(2).expect("second");
        assert_eq!(q.push(3), Err(QueueFull(3)));
        assert_eq!(q.len(), 2);
        assert_eq!(q.drain().collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn blocks_go_now_and_others_wait() {
        let mut t = InvTrickle::new();
        assert_eq!(t.queue(1u32, true, false), InvAction::Dropped);
        assert_eq!(t.queue(1u32, true, true), InvAction::SendNow(1));
        assert_eq!(t.queue(2u32, false, true), InvAction::Queued);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn trickle_batches_at_most_1000_and_skips_known() {
        let mut t = InvTrickle::new();
        let mut known = LruSet::new(MAX_KNOWN_INVENTORY);
        known.insert(5u32);
        for i in 0..2500u32 {
            assert_eq!(t.queue(i, false, true), InvAction::Queued);
        }
        let batches = t.on_tick(&mut known);
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1000, 1000, 499]);
        assert!(!batches.iter().flatten().any(|&i| i == 5));
        assert!(t.is_empty());
        // What was sent is now known: queueing it again sends nothing.
        t.queue(2499, false, true);
        assert!(t.on_tick(&mut known).is_empty());
    }

    #[test]
    fn trickle_queue_is_bounded() {
        let mut t = InvTrickle::with_limits(10, 3);
        for i in 0..3u32 {
            t.queue(i, false, true);
        }
        assert_eq!(t.queue(9, false, true), InvAction::Dropped);
    }

    #[test]
    fn duplicate_requests_are_suppressed_back_to_back_only() {
        let mut f = DuplicateRequestFilter::new();
        assert!(!f.check_and_record(Some(1u8), 0));
        assert!(f.check_and_record(Some(1), 0));
        assert!(!f.check_and_record(Some(1), 9)); // other stop hash
        assert!(!f.check_and_record(Some(1), 0)); // differs from the previous one
        assert!(!f.check_and_record(None, 0)); // empty locator: never a duplicate
        assert!(!f.check_and_record(None, 0));
    }

    #[test]
    fn address_choice_is_a_true_sample() {
        let mut rng = StdRng::seed_from_u64(1);
        let small: Vec<u32> = (0..10).collect();
        assert_eq!(choose_addresses(small.clone(), 1000, &mut rng), small);
        let big: Vec<u32> = (0..5000).collect();
        let mut chosen = choose_addresses(big, MAX_ADDR_PER_MSG, &mut rng);
        assert_eq!(chosen.len(), 1000);
        chosen.sort_unstable();
        chosen.dedup();
        assert_eq!(chosen.len(), 1000, "no duplicates");
        // Not simply the first 1,000.
        assert!(chosen.iter().any(|&a| a >= 1000));
    }
}
