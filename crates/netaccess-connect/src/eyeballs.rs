//! Happy eyeballs (RFC 8305): the order of the addresses, and the race between them.
//!
//! # Design
//!
//! The addresses are interleaved by family, starting with the family of the first one (the
//! resolver's preference), each family keeping its own order (§4). The first attempt starts at
//! once; the next one starts when the delay since the last start passed or as soon as an
//! attempt failed, whatever the families, so two IPv4 addresses race as well as a v6 and a v4.
//! The first connection up wins; the attempts still running are dropped, which closes their
//! sockets. The connect timeout is one budget for the whole race (curl's rule): an attempt still
//! running keeps going until the budget is spent, so a slow last address that answers at 1.5 s
//! of a 2 s budget connects; a black-holed address costs the ones after it only the delay.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The addresses in the order they are tried: families interleaved, the first family first.
pub(crate) fn interleave(addresses: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addresses.first() else { return addresses };
    let first_is_v6 = first.is_ipv6();
    let (mut preferred, mut other): (Vec<_>, Vec<_>) = addresses.into_iter().partition(|a| a.is_ipv6() == first_is_v6);
    let mut ordered = Vec::with_capacity(preferred.len() + other.len());
    preferred.reverse();
    other.reverse();
    loop {
        match (preferred.pop(), other.pop()) {
            (None, None) => return ordered,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
}

/// Why every attempt failed: the last failure, and the address it was for.
#[derive(Debug)]
pub(crate) struct AllFailed {
    pub(crate) address: SocketAddr,
    pub(crate) error: io::Error,
}

/// Races connections to `addresses` (already in order); the caller bounds the whole race with
/// the connect timeout. `on_attempt` hears of each attempt as it starts.
pub(crate) async fn race(
    addresses: &[SocketAddr],
    delay: Duration,
    mut on_attempt: impl FnMut(SocketAddr),
) -> Result<(TcpStream, SocketAddr), AllFailed> {
    let mut waiting = addresses.iter().copied();
    let mut running = FuturesUnordered::new();
    let mut start = |running: &mut FuturesUnordered<_>| -> bool {
        let Some(address) = waiting.next() else { return false };
        on_attempt(address);
        running.push(async move { (address, TcpStream::connect(address).await) });
        true
    };
    if !start(&mut running) {
        return Err(AllFailed {
            address: SocketAddr::from(([0, 0, 0, 0], 0)),
            error: io::Error::new(io::ErrorKind::NotFound, "no address to connect to"),
        });
    }
    let mut more = true;
    let mut next_start = Instant::now() + delay;
    loop {
        tokio::select! {
            biased;
            Some((address, outcome)) = running.next() => match outcome {
                Ok(stream) => return Ok((stream, address)),
                Err(error) => {
                    tracing::debug!(%address, %error, "a connection attempt failed");
                    if more {
                        more = start(&mut running);
                        next_start = Instant::now() + delay;
                    }
                    if running.is_empty() {
                        return Err(AllFailed { address, error });
                    }
                }
            },
            () = tokio::time::sleep_until(next_start), if more => {
                more = start(&mut running);
                next_start = Instant::now() + delay;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn families_alternate_starting_with_the_first_ones() {
        let mixed = addresses(&["[::1]:1", "[::2]:1", "[::3]:1", "10.0.0.1:1", "10.0.0.2:1"]);
        assert_eq!(interleave(mixed), addresses(&["[::1]:1", "10.0.0.1:1", "[::2]:1", "10.0.0.2:1", "[::3]:1"]));
        let v4_first = addresses(&["10.0.0.1:1", "[::1]:1", "10.0.0.2:1"]);
        assert_eq!(interleave(v4_first), addresses(&["10.0.0.1:1", "[::1]:1", "10.0.0.2:1"]));
        let one_family = addresses(&["10.0.0.3:1", "10.0.0.1:1"]);
        assert_eq!(interleave(one_family.clone()), one_family, "one family keeps its order");
        assert!(interleave(Vec::new()).is_empty());
    }
}
