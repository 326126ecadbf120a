//! Inbound protection: a cap on accepted sockets and on unfinished handshakes per network
//! group, so one /24 (or IPv6 /64) cannot fill the node's inbound slots with connections
//! that never finish the version handshake. The rules are [`InboundLimiter`]; the owner holds
//! an [`InboundSlot`] for each accepted socket and says when its handshake is done.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// Most unfinished handshakes allowed from one IPv4 /24 or IPv6 /64 at a time.
pub const MAX_PENDING_HANDSHAKES_PER_GROUP: usize = 8;

/// The network group handshake limits are counted in: an IPv4 /24 (IPv4-mapped IPv6
/// addresses count as IPv4) or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboundGroup {
    /// The first three bytes of an IPv4 address.
    V4([u8; 3]),
    /// The first eight bytes of an IPv6 address.
    V6([u8; 8]),
}

impl InboundGroup {
    /// The group `ip` belongs to.
    pub fn of(ip: IpAddr) -> InboundGroup {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                InboundGroup::V4([o[0], o[1], o[2]])
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                let mut g = [0u8; 8];
                g.copy_from_slice(&o[..8]);
                InboundGroup::V6(g)
            }
        }
    }
}

/// Why an inbound socket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundRejected {
    /// All inbound slots are taken.
    Full {
        /// The cap.
        max_inbound: usize,
    },
    /// Too many unfinished handshakes from this group.
    GroupBusy {
        /// The group.
        group: InboundGroup,
        /// The per-group cap.
        max_pending: usize,
    },
}

impl fmt::Display for InboundRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InboundRejected::Full { max_inbound } => {
                write!(f, "all {max_inbound} inbound slots taken")
            }
            InboundRejected::GroupBusy { group, max_pending } => {
                write!(
                    f,
                    "{max_pending} unfinished handshakes from group {group:?}"
                )
            }
        }
    }
}

/// Counts accepted sockets and unfinished handshakes per group.
#[derive(Debug)]
pub struct InboundLimiter {
    max_inbound: usize,
    max_pending_per_group: usize,
    inbound: usize,
    pending: HashMap<InboundGroup, usize>,
}

impl InboundLimiter {
    /// A limiter for at most `max_inbound` sockets and `max_pending_per_group` unfinished
    /// handshakes per group.
    pub fn new(max_inbound: usize, max_pending_per_group: usize) -> InboundLimiter {
        InboundLimiter {
            max_inbound,
            max_pending_per_group,
            inbound: 0,
            pending: HashMap::new(),
        }
    }

    /// Admits a socket from `ip` (counting it as inbound with an unfinished handshake), or
    /// says why not.
    pub fn try_accept(&mut self, ip: IpAddr) -> Result<InboundGroup, InboundRejected> {
        if self.inbound >= self.max_inbound {
            return Err(InboundRejected::Full {
                max_inbound: self.max_inbound,
            });
        }
        let group = InboundGroup::of(ip);
        let n = self.pending.entry(group).or_insert(0);
        if *n >= self.max_pending_per_group {
            return Err(InboundRejected::GroupBusy {
                group,
                max_pending: self.max_pending_per_group,
            });
        }
        *n += 1;
        self.inbound += 1;
        Ok(group)
    }

    /// The handshake of a socket from `group` finished (or failed): free its handshake slot.
    pub fn handshake_done(&mut self, group: InboundGroup) {
        if let Some(n) = self.pending.get_mut(&group) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.pending.remove(&group);
            }
        }
    }

    /// A socket from `group` closed; `handshake_pending` if its handshake never finished.
    pub fn release(&mut self, group: InboundGroup, handshake_pending: bool) {
        if handshake_pending {
            self.handshake_done(group);
        }
        self.inbound = self.inbound.saturating_sub(1);
    }

    /// Sockets currently admitted.
    pub fn inbound(&self) -> usize {
        self.inbound
    }

    /// Unfinished handshakes from `group`.
    pub fn pending_in(&self, group: InboundGroup) -> usize {
        self.pending.get(&group).copied().unwrap_or(0)
    }
}

/// The owner's hold on one admitted inbound socket. [`InboundSlot::complete`] frees the
/// handshake slot once the version handshake is done; dropping the slot (when the peer goes
/// away) frees the inbound slot, and the handshake slot too if it was never completed.
#[derive(Debug)]
pub struct InboundSlot {
    limiter: Arc<Mutex<InboundLimiter>>,
    group: InboundGroup,
    handshake_pending: bool,
}

impl InboundSlot {
    /// Admits a socket from `ip` through `limiter`.
    pub fn acquire(
        limiter: &Arc<Mutex<InboundLimiter>>,
        ip: IpAddr,
    ) -> Result<InboundSlot, InboundRejected> {
        let group = limiter.lock().try_accept(ip)?;
        Ok(InboundSlot {
            limiter: Arc::clone(limiter),
            group,
            handshake_pending: true,
        })
    }

    /// The handshake finished: other sockets from the same group may now handshake.
    /// Idempotent.
    pub fn complete(&mut self) {
        if self.handshake_pending {
            self.handshake_pending = false;
            self.limiter.lock().handshake_done(self.group);
        }
    }

    /// The socket's group.
    pub fn group(&self) -> InboundGroup {
        self.group
    }
}

impl Drop for InboundSlot {
    fn drop(&mut self) {
        self.limiter
            .lock()
            .release(self.group, self.handshake_pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn groups_are_slash24_and_slash64() {
        assert_eq!(
            InboundGroup::of(ip("10.1.2.3")),
            InboundGroup::of(ip("10.1.2.200"))
        );
        assert_ne!(
            InboundGroup::of(ip("10.1.2.3")),
            InboundGroup::of(ip("10.1.3.3"))
        );
        assert_eq!(
            InboundGroup::of(ip("::ffff:10.1.2.3")),
            InboundGroup::of(ip("10.1.2.9"))
        );
        assert_eq!(
            InboundGroup::of(ip("2001:db8:1:2::1")),
            InboundGroup::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            InboundGroup::of(ip("2001:db8:1:2::1")),
            InboundGroup::of(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn eight_unfinished_handshakes_per_group() {
        let mut l = InboundLimiter::new(100, MAX_PENDING_HANDSHAKES_PER_GROUP);
        for i in 0..8 {
            l.try_accept(ip(&format!("192.0.2.{i}"))).expect("admitted");
        }
        assert!(matches!(
            l.try_accept(ip("192.0.2.77")),
            Err(InboundRejected::GroupBusy { max_pending: 8, .. })
        ));
        l.try_accept(ip("198.51.100.1")).expect("other group");
        let g = InboundGroup::of(ip("192.0.2.0"));
        l.handshake_done(g);
        l.try_accept(ip("192.0.2.77")).expect("slot freed");
        assert_eq!(l.inbound(), 10);
    }

    #[test]
    fn inbound_cap_and_slot_guard() {
        let l = Arc::new(Mutex::new(InboundLimiter::new(2, 1)));
        let mut a = InboundSlot::acquire(&l, ip("127.0.0.1")).expect("a");
        assert!(matches!(
            InboundSlot::acquire(&l, ip("127.0.0.2")),
            Err(InboundRejected::GroupBusy { .. })
        ));
        a.complete();
        a.complete();
        let b = InboundSlot::acquire(&l, ip("127.0.0.2")).expect("b");
        assert!(matches!(
            InboundSlot::acquire(&l, ip("10.0.0.1")),
            Err(InboundRejected::Full { max_inbound: 2 })
        ));
        drop(b);
        assert_eq!(l.lock().pending_in(InboundGroup::of(ip("127.0.0.9"))), 0);
        drop(a);
        assert_eq!(l.lock().inbound(), 0);
    }
}
