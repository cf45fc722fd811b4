//! A reply's queue of events: bounded, allocated only as events arrive.
//!
//! # Design
//!
//! One queue per reply, written by the task that carries the transfer (the driver and the
//! backend it calls) and read by the reply's holder. `tokio::sync::mpsc` served first, but its
//! channel allocates a block of 32 slots (2.8 KB for [`ReplyEvent`]s) when it is made: with
//! ten thousand requests issued at once, that was a fifth of all memory, held by requests that
//! had not started. This queue is a `VecDeque` behind a mutex that grows as events come (a
//! small reply's four events take a few hundred bytes, and only once it runs), with the two
//! wakers it needs stored beside it. Only one task reads and, in practice, one writes, so the
//! lock is never contended for long.
//!
//! The bound counts events ([`channel`]'s `capacity`): a writer waits while the queue is full,
//! and the reader wakes the writers when it takes an event from a full queue. When the reader
//! is dropped the queue empties and every later event is discarded (the reply aborts its
//! transfer on its own); when every writer is dropped the reader gets `None` after the last
//! event, so a reader never waits for a transfer that is gone.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::event::ReplyEvent;

/// A bounded queue of events between a transfer and its reply: returns its two ends.
///
/// ```
/// use netaccess_core::{event_queue, ReplyEvent};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (sender, mut receiver) = event_queue::channel(64);
/// sender.send(ReplyEvent::MetaDataChanged).await;
/// drop(sender); // the transfer is over
/// assert!(matches!(receiver.recv().await, Some(ReplyEvent::MetaDataChanged)));
/// assert!(receiver.recv().await.is_none());
/// # });
/// ```
pub fn channel(capacity: usize) -> (EventSender, EventReceiver) {
    let queue = Arc::new(Queue {
        state: Mutex::new(State {
            events: VecDeque::new(),
            reader: None,
            writers: Vec::new(),
            reader_gone: false,
            senders: 1,
        }),
        capacity: capacity.max(1),
    });
    (EventSender { queue: queue.clone() }, EventReceiver { queue })
}

#[derive(Debug)]
struct Queue {
    state: Mutex<State>,
    capacity: usize,
}

#[derive(Debug)]
struct State {
    events: VecDeque<ReplyEvent>,
    /// The reader, when it waits for an event.
    reader: Option<Waker>,
    /// The writers that wait for room.
    writers: Vec<Waker>,
    reader_gone: bool,
    senders: usize,
}

impl Queue {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The writing end of a reply's event queue; cheap to clone.
#[derive(Debug)]
pub struct EventSender {
    queue: Arc<Queue>,
}

impl EventSender {
    /// Queues `event`, waiting while the queue is full; discards it when the reader is gone.
    pub async fn send(&self, event: ReplyEvent) {
        let mut event = Some(event);
        poll_fn(|cx| self.poll_send(cx, &mut event, true)).await;
    }

    /// Queues `event` as [`send`](Self::send) does, without waking the reader: it reads the
    /// event with the next one (or when the writers are gone). For events nobody needs at once.
    pub async fn send_quietly(&self, event: ReplyEvent) {
        let mut event = Some(event);
        poll_fn(|cx| self.poll_send(cx, &mut event, false)).await;
    }

    fn poll_send(&self, cx: &mut Context<'_>, event: &mut Option<ReplyEvent>, wake: bool) -> Poll<()> {
        let mut state = self.queue.state();
        if state.reader_gone {
            event.take();
            return Poll::Ready(());
        }
        if state.events.len() < self.queue.capacity {
            if let Some(event) = event.take() {
                state.events.push_back(event);
            }
            if wake {
                let reader = state.reader.take();
                drop(state);
                if let Some(reader) = reader {
                    reader.wake();
                }
            }
            return Poll::Ready(());
        }
        if !state.writers.iter().any(|waker| waker.will_wake(cx.waker())) {
            state.writers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Whether the reader is gone (its events would be discarded).
    pub fn is_closed(&self) -> bool {
        self.queue.state().reader_gone
    }
}

impl Clone for EventSender {
    fn clone(&self) -> Self {
        self.queue.state().senders += 1;
        Self { queue: self.queue.clone() }
    }
}

impl Drop for EventSender {
    fn drop(&mut self) {
        let mut state = self.queue.state();
        state.senders -= 1;
        let reader = if state.senders == 0 { state.reader.take() } else { None };
        drop(state);
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

/// The reading end of a reply's event queue.
#[derive(Debug)]
pub struct EventReceiver {
    queue: Arc<Queue>,
}

impl EventReceiver {
    /// The next event; `None` once every sender is gone and the queue is empty. Cancel-safe.
    pub async fn recv(&mut self) -> Option<ReplyEvent> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next event (see [`recv`](Self::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<ReplyEvent>> {
        let mut state = self.queue.state();
        let was_full = state.events.len() >= self.queue.capacity;
        match state.events.pop_front() {
            Some(event) => {
                let writers = if was_full { std::mem::take(&mut state.writers) } else { Vec::new() };
                drop(state);
                writers.into_iter().for_each(Waker::wake);
                Poll::Ready(Some(event))
            }
            None if state.senders == 0 => Poll::Ready(None),
            None => {
                state.reader = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for EventReceiver {
    fn drop(&mut self) {
        let mut state = self.queue.state();
        state.reader_gone = true;
        let events = std::mem::take(&mut state.events);
        let writers = std::mem::take(&mut state.writers);
        drop(state);
        drop(events);
        writers.into_iter().for_each(Waker::wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_full_queue_holds_the_writer_until_the_reader_takes_one() {
        let (sender, mut receiver) = channel(2);
        sender.send(ReplyEvent::MetaDataChanged).await;
        sender.send(ReplyEvent::Encrypted).await;
        let third = tokio::spawn(async move {
            sender.send(ReplyEvent::Finished).await;
            sender
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!third.is_finished(), "the queue is full");
        assert!(matches!(receiver.recv().await, Some(ReplyEvent::MetaDataChanged)));
        let sender = tokio::time::timeout(Duration::from_secs(5), third).await.expect("woken").unwrap();
        assert!(matches!(receiver.recv().await, Some(ReplyEvent::Encrypted)));
        assert!(matches!(receiver.recv().await, Some(ReplyEvent::Finished)));
        drop(sender);
        assert!(receiver.recv().await.is_none(), "every sender is gone");
    }

    #[tokio::test]
    async fn a_quiet_event_waits_for_the_next_one_and_keeps_its_place() {
        let (sender, mut receiver) = channel(4);
        let mut reader = tokio::spawn(async move {
            let first = receiver.recv().await;
            let second = receiver.recv().await;
            (first, second)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        sender.send_quietly(ReplyEvent::RequestSent).await;
        let woken = tokio::time::timeout(Duration::from_millis(100), &mut reader).await;
        assert!(woken.is_err(), "a quiet event alone wakes nobody");
        sender.send(ReplyEvent::MetaDataChanged).await;
        let (first, second) = tokio::time::timeout(Duration::from_secs(5), reader).await.expect("woken").unwrap();
        assert!(matches!(first, Some(ReplyEvent::RequestSent)));
        assert!(matches!(second, Some(ReplyEvent::MetaDataChanged)));
    }

    #[tokio::test]
    async fn the_reader_waits_until_an_event_or_the_last_sender_goes() {
        let (sender, mut receiver) = channel(4);
        let clone = sender.clone();
        let reader = tokio::spawn(async move { (receiver.recv().await.is_some(), receiver) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!reader.is_finished());
        clone.send(ReplyEvent::Finished).await;
        let (got, mut receiver) = reader.await.unwrap();
        assert!(got);
        drop(clone);
        let reader = tokio::spawn(async move { receiver.recv().await.is_none() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!reader.is_finished(), "one sender is still there");
        drop(sender);
        assert!(tokio::time::timeout(Duration::from_secs(5), reader).await.expect("woken").unwrap());
    }

    #[tokio::test]
    async fn a_gone_reader_releases_a_waiting_writer_and_discards_events() {
        let (sender, receiver) = channel(1);
        sender.send(ReplyEvent::MetaDataChanged).await;
        let writer = tokio::spawn(async move {
            sender.send(ReplyEvent::Finished).await;
            sender
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!writer.is_finished());
        drop(receiver);
        let sender = tokio::time::timeout(Duration::from_secs(5), writer).await.expect("woken").unwrap();
        assert!(sender.is_closed());
        sender.send(ReplyEvent::Finished).await; // returns at once
    }
}
