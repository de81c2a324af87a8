//! Command ids that are unique across reboots.
//!
//! The hub acts on a command id once per counter (and remembers ids for 48 hours), so a device
//! must never reuse one. An id is `{boot:x}-{seq:x}`: `boot` is chosen at start-up and differs
//! between boots — a counter kept in flash, or a random number from the chip's ring oscillator —
//! and `seq` counts commands since start-up. A retry reuses the id of the command it repeats.
use core::fmt::Write;

use dawr_protocol::device::CommandId;

/// Hands out command ids.
#[derive(Debug, Clone)]
pub struct CommandIds {
    boot: u32,
    seq: u32,
}

impl CommandIds {
    pub const fn new(boot: u32) -> Self {
        CommandIds { boot, seq: 0 }
    }

    /// A new id, never handed out before in this boot.
    pub fn next_id(&mut self) -> CommandId {
        self.seq = self.seq.wrapping_add(1);
        let mut id = CommandId::new();
        // 8 + 1 + 8 characters always fit in 48.
        let _ = write!(id, "{:x}-{:x}", self.boot, self.seq);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_stay_unique_across_simulated_reboots() {
        let mut seen = HashSet::new();
        // 200 boots with a persistent boot counter, 500 commands each.
        for boot in 0..200 {
            let mut ids = CommandIds::new(boot);
            for _ in 0..500 {
                assert!(seen.insert(ids.next_id()), "id reused");
            }
        }
        // A device with random boot values (an xorshift stands in for the ring oscillator).
        let mut x: u32 = 0x9e37_79b9;
        for _ in 0..200 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let mut ids = CommandIds::new(x | 0x8000_0000);
            for _ in 0..500 {
                assert!(seen.insert(ids.next_id()), "id reused");
            }
        }
    }

    #[test]
    fn ids_look_as_documented() {
        let mut ids = CommandIds::new(0x2a);
        assert_eq!(ids.next_id().as_str(), "2a-1");
        assert_eq!(ids.next_id().as_str(), "2a-2");
    }
}
