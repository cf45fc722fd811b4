//! The manager's retry budget: retries may add at most a fifth to the requests a manager
//! sends, plus a few per second, however many requests fail at once.
//!
//! # Design
//!
//! A [`RetryPolicy`](netaccess_core::RetryPolicy) bounds one request's retries; a budget bounds
//! them all together, so that a server in trouble is not sent three times its load by clients
//! retrying in step (the "retry storm"). Each request issued deposits a fifth of a retry; each
//! retry withdraws a whole one, and when the deposits are spent a small reserve (ten a second)
//! still lets a quiet manager retry its rare failures. The numbers are Finagle's and gRPC's
//! (`RetryBudget`: 20 % and 10/s), which the Envoy and Linkerd proxies use too.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The share of issued requests that may be retries.
const DEPOSIT_PER_REQUEST: f64 = 0.2;
/// Retries allowed each second beyond the deposits.
const RESERVE_PER_SECOND: u32 = 10;
/// The most deposits kept: a long quiet spell does not save up a storm.
const MAX_SAVED: f64 = 100.0;

#[derive(Debug)]
pub(crate) struct RetryBudget {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    saved: f64,
    reserve_used: u32,
    reserve_since: Instant,
}

impl RetryBudget {
    pub(crate) fn new() -> Self {
        Self { state: Mutex::new(State { saved: 0.0, reserve_used: 0, reserve_since: Instant::now() }) }
    }

    /// A request was issued.
    pub(crate) fn deposit(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.saved = (state.saved + DEPOSIT_PER_REQUEST).min(MAX_SAVED);
    }

    /// Takes one retry from the budget; `false` when it is spent.
    pub(crate) fn withdraw(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.saved >= 1.0 {
            state.saved -= 1.0;
            return true;
        }
        if state.reserve_since.elapsed() >= Duration::from_secs(1) {
            state.reserve_since = Instant::now();
            state.reserve_used = 0;
        }
        if state.reserve_used < RESERVE_PER_SECOND {
            state.reserve_used += 1;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_a_fifth_of_requests_plus_the_reserve() {
        let budget = RetryBudget::new();
        for _ in 0..100 {
            budget.deposit();
        }
        let granted = (0..100).take_while(|_| budget.withdraw()).count();
        // 100 requests deposit 20 retries (give or take float rounding), the reserve 10 more.
        assert!((29..=30).contains(&granted), "{granted} retries granted");
        assert!(!budget.withdraw(), "spent until the next second or the next requests");
    }
}
