//! Latest wins: the one place a brain keeps a camera frame until it is free to look at it.
//!
//! A [`Mailbox`] holds at most one item. A newer item replaces a waiting one, which is dropped
//! and counted, never queued: the brain always answers the newest picture, and a frame waits
//! at most one inference. The real-time brain shares one behind a mutex with the camera's
//! thread; the simulated run holds one directly (its items are captures, rendered only when
//! the brain takes them).

/// How many items a mailbox has taken in and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailboxCounts {
    /// Items put in.
    pub received: u64,
    /// Items replaced before they were taken.
    pub dropped: u64,
}

/// A latest-wins slot for items stamped with their arrival time (seconds, brain's clock).
#[derive(Debug)]
pub struct Mailbox<T> {
    item: Option<(T, f64)>,
    received: u64,
    dropped: u64,
    last_arrival: Option<f64>,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Mailbox {
            item: None,
            received: 0,
            dropped: 0,
            last_arrival: None,
        }
    }
}

impl<T> Mailbox<T> {
    /// An empty mailbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// `item` arrives at time `now`; returns the item it replaced (counted as dropped).
    pub fn put(&mut self, item: T, now: f64) -> Option<T> {
        self.received += 1;
        self.last_arrival = Some(now);
        let replaced = self.item.replace((item, now)).map(|(old, _)| old);
        if replaced.is_some() {
            self.dropped += 1;
        }
        replaced
    }

    /// The waiting item and when it arrived.
    pub fn take(&mut self) -> Option<(T, f64)> {
        self.item.take()
    }

    /// Whether an item waits.
    pub fn is_empty(&self) -> bool {
        self.item.is_none()
    }

    /// When the newest item arrived (taken or not), if any has.
    pub fn last_arrival(&self) -> Option<f64> {
        self.last_arrival
    }

    /// Items put in so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Items replaced before they were taken.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Both counts.
    pub fn counts(&self) -> MailboxCounts {
        MailboxCounts {
            received: self.received,
            dropped: self.dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_item_replaces_a_waiting_one_and_is_counted() {
        let mut m = Mailbox::new();
        assert!(m.is_empty() && m.last_arrival().is_none());
        assert_eq!(m.put("a", 1.0), None);
        assert_eq!(m.put("b", 2.0), Some("a"));
        assert_eq!(m.take(), Some(("b", 2.0)));
        assert_eq!(m.take(), None);
        assert_eq!(m.put("c", 3.0), None);
        assert_eq!((m.received(), m.dropped()), (3, 1));
        assert_eq!(m.last_arrival(), Some(3.0));
    }
}
