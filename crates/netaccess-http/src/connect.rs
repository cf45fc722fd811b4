//! Opening TCP connections: name resolution, every address in turn, the connect timeout.

use std::net::SocketAddr;
use std::time::Duration;

use netaccess_core::{within_limit, NetworkError, NetworkErrorKind};
use tokio::net::TcpStream;

use crate::connection::Connection;
use crate::errors::{connect_error, resolve_error};

/// Connects to `host:port` (or to `pinned`, the resolver override for it), trying each resolved
/// address until one answers, within `timeout` (zero: no limit).
pub(crate) async fn connect_tcp(
    url: &str,
    host: &str,
    port: u16,
    pinned: Option<SocketAddr>,
    timeout: Duration,
) -> Result<Connection, NetworkError> {
    let attempt = async {
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = match pinned {
            Some(address) => vec![address],
            None => {
                tokio::net::lookup_host((bare_host, port)).await.map_err(|e| resolve_error(url, host, e))?.collect()
            }
        };
        let mut last_error = None;
        for address in addresses {
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(Connection::new(Box::new(stream)));
                }
                Err(err) => last_error = Some(err),
            }
        }
        Err(match last_error {
            Some(err) => connect_error(url, host, port, err),
            None => NetworkError::new(NetworkErrorKind::HostNotFoundError, url, format!("host {host} has no address")),
        })
    };
    within_limit(timeout, attempt, || {
        NetworkError::new(
            NetworkErrorKind::TimeoutError,
            url,
            format!("connecting to {host}:{port} took longer than {} ms", timeout.as_millis()),
        )
    })
    .await
}
