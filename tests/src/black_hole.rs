//! An address that never answers, on loopback.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// A listener with a backlog of 1 whose accept queue is full: Linux drops further SYNs, so a
/// connection to [`addr`](Self::addr) neither succeeds nor fails until the client gives up, as
/// over a broken route (a dead IPv6 path is the common case). Nothing is ever accepted.
#[derive(Debug)]
pub struct BlackHole {
    /// The address that never answers.
    pub addr: SocketAddr,
    _listener: TcpListener,
    _queued: Vec<TcpStream>,
}

impl BlackHole {
    /// Fills the accept queue of a fresh listener until a connect stays unanswered.
    pub async fn new() -> Self {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let listener = socket.listen(1).expect("listen");
        let addr = listener.local_addr().expect("address");
        let mut queued = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => queued.push(stream),
                Ok(Err(error)) => panic!("filling the accept queue of {addr}: {error}"),
                Err(_unanswered) => break,
            }
            assert!(queued.len() < 64, "the accept queue of {addr} never filled");
        }
        Self { addr, _listener: listener, _queued: queued }
    }
}

impl BlackHole {
    /// After `delay`, starts accepting every connection: a client still sending SYNs (Linux
    /// retransmits after 1 s, then 2 s more) connects at its next retransmission.
    pub fn answer_after(self, delay: Duration) -> SocketAddr {
        let Self { addr, _listener: listener, _queued: queued } = self;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut accepted = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                accepted.push(stream);
            }
            drop(queued);
        });
        addr
    }
}
