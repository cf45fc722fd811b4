//! What an FTP server says on the control connection, read through the real ftp backend.
//!
//! The input is the server's whole side of the control connection (greeting, replies to
//! USER/PASS/TYPE/SIZE/EPSV/PASV/RETR...), sent at once by a loopback server that then reads and
//! discards what it is sent. Each input is one download of `ftp://127.0.0.1:port/file`.
//! Properties: no panic, the download ends (the connect timeout and a transfer timeout bound it),
//! and a failure names the URL.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use libfuzzer_sys::fuzz_target;
use netaccess_connect::{Connector, TransportConfig};
use netaccess_core::{Backend, BackendRequest, Operation};
use netaccess_ftp::FtpBackend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

struct Server {
    runtime: tokio::runtime::Runtime,
    port: u16,
    /// The script for the next connection.
    script: Arc<Mutex<Vec<u8>>>,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let script = Arc::new(Mutex::new(Vec::new()));
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let shared = script.clone();
        runtime.spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let bytes = shared.lock().expect("lock").clone();
                tokio::spawn(async move {
                    let _ = stream.write_all(&bytes).await;
                    let mut sink = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                });
            }
        });
        Server { runtime, port, script }
    })
}

fuzz_target!(|data: &[u8]| {
    let server = server();
    *server.script.lock().expect("lock") = data.to_vec();
    let mut transport = TransportConfig::default();
    transport.connect_timeout = Duration::from_millis(100);
    transport.tls_handshake_timeout = Duration::from_millis(100);
    let backend = FtpBackend::new(None, Arc::new(Connector::new(transport)));
    let url = url::Url::parse(&format!("ftp://127.0.0.1:{}/file", server.port)).expect("url");
    let mut request = BackendRequest::new(Operation::Get, url.clone());
    request.attributes.transfer_timeout = Some(Duration::from_millis(50));
    let outcome = server.runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), async {
            match backend.send(request).await {
                Ok(response) => {
                    let mut body = response.body;
                    while let Some(chunk) = body.next().await {
                        if let Err(error) = chunk {
                            return Err(error);
                        }
                    }
                    Ok(())
                }
                Err(error) => Err(error),
            }
        })
        .await
    });
    let outcome = outcome.expect("the download ends within its timeouts");
    if let Err(error) = outcome {
        assert!(error.to_string().contains(url.as_str()), "the error names the URL: {error}");
    }
});
