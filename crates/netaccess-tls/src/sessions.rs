//! Session resumption that never skips a decision.
//!
//! # Design
//!
//! A resumed TLS session does not show its certificate again, so the verifier is not asked. If a
//! session of a connection whose problems were ignored could be resumed, a later request that
//! ignored nothing would ride on that exception. So each connection writes its session tickets
//! through a gate: they are held until the connection is accepted, then kept only when it had no
//! certificate problem at all; tickets arriving later follow the same verdict.

use std::fmt;
use std::sync::{Arc, Mutex};

use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::NamedGroup;
use rustls_pki_types::ServerName;

enum Held {
    Tls12(ServerName<'static>, Tls12ClientSessionValue),
    Tls13(ServerName<'static>, Tls13ClientSessionValue),
}

enum Gate {
    Pending(Vec<Held>),
    Keep,
    Discard,
}

/// One connection's view of the shared session store.
pub(crate) struct GatedSessions {
    shared: Arc<dyn ClientSessionStore>,
    gate: Mutex<Gate>,
}

impl fmt::Debug for GatedSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatedSessions").finish_non_exhaustive()
    }
}

impl GatedSessions {
    pub(crate) fn new(shared: Arc<dyn ClientSessionStore>) -> Self {
        Self { shared, gate: Mutex::new(Gate::Pending(Vec::new())) }
    }

    /// Keeps (or discards) what this connection stored, now and later.
    pub(crate) fn decide(&self, keep: bool) {
        let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        let held = match std::mem::replace(&mut *gate, if keep { Gate::Keep } else { Gate::Discard }) {
            Gate::Pending(held) => held,
            _ => Vec::new(),
        };
        drop(gate);
        if keep {
            for item in held {
                self.store(item);
            }
        }
    }

    fn store(&self, item: Held) {
        match item {
            Held::Tls12(name, value) => self.shared.set_tls12_session(name, value),
            Held::Tls13(name, value) => self.shared.insert_tls13_ticket(name, value),
        }
    }

    fn offer(&self, item: Held) {
        let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *gate {
            Gate::Pending(held) => held.push(item),
            Gate::Keep => {
                drop(gate);
                self.store(item);
            }
            Gate::Discard => {}
        }
    }
}

impl ClientSessionStore for GatedSessions {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.shared.set_kx_hint(server_name, group);
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.shared.kx_hint(server_name)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.offer(Held::Tls12(server_name, value));
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.shared.tls12_session(server_name)
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.shared.remove_tls12_session(server_name);
    }

    fn insert_tls13_ticket(&self, server_name: ServerName<'static>, value: Tls13ClientSessionValue) {
        self.offer(Held::Tls13(server_name, value));
    }

    fn take_tls13_ticket(&self, server_name: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.shared.take_tls13_ticket(server_name)
    }
}
