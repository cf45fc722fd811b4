//! The byte bound on the body waiting in a reply for its reader (Qt's read buffer size).
//!
//! # Design
//!
//! The driver task counts each chunk in before it queues it and the reply counts it out when
//! the reader takes it; the driver waits while the queue is non-empty and the chunk would not
//! fit. Only the driver ever waits, so one [`Notify`] serves: the reader (or a new limit)
//! wakes it, and a wake-up that finds no waiter is kept for the next wait. Two atomics per
//! chunk on the path where the reader keeps up.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// How many body bytes a reply holds for its reader, and how many it may.
#[derive(Debug)]
pub(crate) struct ReadBuffer {
    queued: AtomicU64,
    /// `0` is unlimited.
    limit: AtomicU64,
    room: Notify,
}

impl ReadBuffer {
    pub(crate) fn new(limit: u64) -> Self {
        Self { queued: AtomicU64::new(0), limit: AtomicU64::new(limit), room: Notify::new() }
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit.load(Ordering::Acquire)
    }

    pub(crate) fn set_limit(&self, limit: u64) {
        self.limit.store(limit, Ordering::Release);
        self.room.notify_one();
    }

    /// Waits until `len` more bytes fit under the limit, or nothing is queued (a chunk larger
    /// than the limit goes alone), then counts them in.
    pub(crate) async fn wait_for_room(&self, len: u64) {
        while !self.fits(len) {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.fits(len) {
                break;
            }
            notified.await;
        }
        self.queued.fetch_add(len, Ordering::AcqRel);
    }

    /// The reader took `len` bytes.
    pub(crate) fn taken(&self, len: u64) {
        self.queued.fetch_sub(len, Ordering::AcqRel);
        self.room.notify_one();
    }

    fn fits(&self, len: u64) -> bool {
        let limit = self.limit();
        let queued = self.queued.load(Ordering::Acquire);
        limit == 0 || queued == 0 || queued.saturating_add(len) <= limit
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn the_writer_waits_until_the_reader_makes_room() {
        let buffer = Arc::new(ReadBuffer::new(10));
        buffer.wait_for_room(6).await;
        buffer.wait_for_room(4).await;
        let writer = tokio::spawn({
            let buffer = buffer.clone();
            async move { buffer.wait_for_room(1).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!writer.is_finished(), "11 bytes do not fit under 10");
        buffer.taken(6);
        tokio::time::timeout(Duration::from_secs(5), writer).await.unwrap().unwrap();
        assert_eq!(buffer.queued.load(Ordering::Acquire), 5);
    }

    #[tokio::test]
    async fn a_chunk_larger_than_the_limit_goes_alone_and_zero_is_unlimited() {
        let buffer = ReadBuffer::new(4);
        buffer.wait_for_room(100).await;
        assert!(!buffer.fits(1), "nothing else while it waits");
        buffer.taken(100);
        assert!(buffer.fits(100));
        buffer.wait_for_room(100).await;
        buffer.set_limit(0);
        assert!(buffer.fits(u64::MAX), "0 is unlimited");
    }

    #[tokio::test]
    async fn raising_the_limit_wakes_the_writer() {
        let buffer = Arc::new(ReadBuffer::new(4));
        buffer.wait_for_room(4).await;
        let writer = tokio::spawn({
            let buffer = buffer.clone();
            async move { buffer.wait_for_room(4).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!writer.is_finished());
        buffer.set_limit(8);
        tokio::time::timeout(Duration::from_secs(5), writer).await.unwrap().unwrap();
    }
}
