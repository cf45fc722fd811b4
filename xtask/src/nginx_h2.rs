//! HTTP/2 against nginx over TLS (ALPN `h2`): 100 requests at once on one connection (from
//! nginx's log: `$connection`, `$connection_requests`, `$server_protocol`), every static file
//! with its checksum, an upload read back, gzip; and the command beside curl with `--http2`.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use futures::future::join_all;
use netaccess::{NetworkAccessManager, Request, TlsConfig, Trust};

use crate::interop::{content, sha, Nginx, SIZES};

type Check = (String, Result<String, String>);

pub(crate) async fn checks(nginx: &Nginx) -> Vec<Check> {
    let manager = NetworkAccessManager::builder()
        .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(nginx.ca_der().to_vec()))
        .build();
    vec![
        ("h2: 100 GETs at once, one connection".into(), hundred_at_once(nginx, &manager).await),
        ("h2: files 0 B - 10 MiB".into(), files(nginx, &manager).await),
        ("h2: 3 MiB PUT, read back".into(), upload(nginx, &manager).await),
        ("h2: gzip decoded".into(), gzip(nginx, &manager).await),
        ("h2: past nginx's GOAWAY at 1,000".into(), past_goaway(nginx, &manager).await),
        ("h2: the command, like curl".into(), command_like_curl(nginx)),
    ]
}

fn expect(condition: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(why())
    }
}

/// A body, checking the reply came over HTTP/2.
async fn fetch_h2(manager: &NetworkAccessManager, url: &str) -> Result<(Bytes, netaccess::Reply), String> {
    let mut reply = manager.get(Request::new(url));
    let body = tokio::time::timeout(Duration::from_secs(60), reply.bytes())
        .await
        .map_err(|_| format!("{url}: no answer in 60 s"))?
        .map_err(|e| e.to_string())?;
    reply.error_for_status_ref().map_err(|e| e.to_string())?;
    expect(reply.attributes().http2_was_used, || format!("{url}: not over HTTP/2"))?;
    Ok((body, reply))
}

async fn hundred_at_once(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    let prefix = "/files/1024.bin?h2-burst=";
    let urls: Vec<String> = (0..100).map(|i| format!("{}{prefix}{i}", nginx.h2_base)).collect();
    for result in join_all(urls.iter().map(|url| fetch_h2(manager, url))).await {
        let (body, _) = result?;
        expect(body == content(1024), || "a body differs".into())?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logged = nginx.logged(prefix);
    expect(logged.len() == 100, || format!("nginx logged {} of the 100", logged.len()))?;
    let connections: BTreeSet<u64> = logged.iter().map(|l| l.connection).collect();
    expect(connections.len() == 1, || format!("100 GETs used {} connections", connections.len()))?;
    expect(logged.iter().all(|l| l.protocol == "HTTP/2.0"), || "not all HTTP/2.0 in nginx's log".into())?;
    let most = logged.iter().map(|l| l.connection_requests).max().unwrap_or(0);
    expect(most >= 100, || format!("the connection carried {most} requests"))?;
    Ok(format!("100 GETs on connection {:?}, $connection_requests up to {most}", connections.first().unwrap_or(&0)))
}

/// nginx ends an HTTP/2 connection with `GOAWAY` after `keepalive_requests` (1,000 here):
/// 1,500 GETs in flight cross it without an error, the unprocessed ones sent again on a new
/// connection.
async fn past_goaway(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    let prefix = "/files/1.bin?h2-goaway=";
    let urls: Vec<String> = (0..1500).map(|i| format!("{}{prefix}{i}", nginx.h2_base)).collect();
    for result in join_all(urls.iter().map(|url| fetch_h2(manager, url))).await {
        let (body, _) = result?;
        expect(body == content(1), || "a body differs".into())?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logged = nginx.logged(prefix);
    let connections: BTreeSet<u64> = logged.iter().map(|l| l.connection).collect();
    expect(connections.len() >= 2, || format!("1,500 GETs on {} connection(s)", connections.len()))?;
    expect(logged.len() == 1500, || format!("nginx processed {} requests, not 1,500 once each", logged.len()))?;
    expect(logged.iter().all(|l| l.connection_requests <= 1000), || "a connection carried more than 1,000".into())?;
    Ok(format!("1,500 GETs over {} connections, {} requests logged", connections.len(), logged.len()))
}

async fn files(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    let replies = SIZES.map(|size| {
        let url = format!("{}/files/{size}.bin?h2-files", nginx.h2_base);
        async move { (size, fetch_h2(manager, &url).await) }
    });
    for (size, result) in join_all(replies).await {
        let (body, _) = result?;
        expect(sha(&body) == sha(&content(size)), || format!("{size} bytes: checksum differs"))?;
    }
    Ok(format!("{} files at once, checksums equal", SIZES.len()))
}

async fn upload(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    let data = Bytes::from(content(3 * 1024 * 1024 + 5));
    let url = format!("{}/dav/h2/upload.bin", nginx.h2_base);
    let mut put = manager.put(Request::new(&url), data.clone());
    put.finished().await.map_err(|e| e.to_string())?;
    expect(put.attributes().http2_was_used, || "the PUT was not over HTTP/2".into())?;
    let created = put.status();
    expect(matches!(created, Some(201 | 204)), || format!("PUT status {created:?}"))?;
    let (body, _) = fetch_h2(manager, &url).await?;
    expect(sha(&body) == sha(&data), || "the uploaded file differs".into())?;
    Ok(format!("PUT {}, read back equal", created.unwrap_or(0)))
}

async fn gzip(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    let original = std::fs::read(nginx.root().join("files/text.txt")).map_err(|e| e.to_string())?;
    let (body, reply) = fetch_h2(manager, &format!("{}/files/text.txt", nginx.h2_base)).await?;
    expect(body == original, || "decoded text differs".into())?;
    let sent = reply.attributes().original_content_length;
    expect(reply.header("content-encoding").is_none(), || "not decoded".into())?;
    Ok(format!(
        "{} bytes decoded equal (sent gzipped{})",
        original.len(),
        sent.map(|n| format!(", {n} bytes")).unwrap_or_default()
    ))
}

/// `--http2` and `--http1.1`: the protocol `-w %{http_version}` reports is curl's.
fn command_like_curl(nginx: &Nginx) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &nginx.ca_pem).map_err(|e| e.to_string())?;
    let url = format!("{}/files/1024.bin?h2-command", nginx.h2_base);
    let mut seen = Vec::new();
    for flag in ["--http2", "--http1.1"] {
        let mut versions = Vec::new();
        for (program, quiet) in
            [(crate::shell::target_dir().join("debug").join("netaccess"), "--no-progress"), ("curl".into(), "-s")]
        {
            let output = std::process::Command::new(&program)
                .args([quiet, flag, "--cacert"])
                .arg(&ca)
                .args(["-o", "/dev/null", "-w", "%{http_version}", &url])
                .output()
                .map_err(|e| format!("{}: {e}", program.display()))?;
            expect(output.status.success(), || {
                format!("{} {flag}: {}", program.display(), String::from_utf8_lossy(&output.stderr))
            })?;
            versions.push(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        expect(versions[0] == versions[1], || {
            format!("{flag}: netaccess says {:?}, curl {:?}", versions[0], versions[1])
        })?;
        seen.push(format!("{flag} → {}", versions[0]));
    }
    Ok(seen.join(", "))
}
