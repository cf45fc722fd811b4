//! Local scenarios: a `file:` download from the page cache beside `tokio::fs` and `std::fs`,
//! and an ftp download from libunftp (in this process) beside the curl command.

use std::io::Read;

use netaccess::NetworkAccessManager;
use tokio::io::AsyncReadExt;
use tokio::runtime::Runtime;

use crate::clients::netaccess_get;
use crate::measure::Units;
use crate::{compare, Contender};

fn per_gib(mib: u32) -> Units<'static> {
    Units { rate: "MiB/s", per: "s/GiB", per_run: f64::from(mib), cpu_scale: 1024.0 }
}

pub(crate) fn file_download(runtime: &Runtime, quick: bool) {
    let (size_mib, runs) = if quick { (8u32, 3) } else { (256u32, 5) };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("payload.bin");
    let block: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&path).expect("create");
        for _ in 0..size_mib {
            file.write_all(&block).expect("write");
        }
    }
    let url = format!("file://{}", path.display());
    let expected = u64::from(size_mib) * 1024 * 1024;
    let manager = NetworkAccessManager::new();
    let contenders: Vec<Contender<'_>> = vec![
        (
            "netaccess file:",
            Box::new(|| {
                let total = runtime.block_on(netaccess_get(&manager, &url));
                assert_eq!(total, expected);
            }),
        ),
        (
            "tokio::fs",
            Box::new(|| {
                let total = runtime.block_on(async {
                    let mut file = tokio::fs::File::open(&path).await.expect("open");
                    let mut buffer = vec![0u8; 64 * 1024];
                    let mut total = 0u64;
                    loop {
                        match file.read(&mut buffer).await.expect("read") {
                            0 => return total,
                            n => total += n as u64,
                        }
                    }
                });
                assert_eq!(total, expected);
            }),
        ),
        (
            "std::fs",
            Box::new(|| {
                let mut file = std::fs::File::open(&path).expect("open");
                let mut buffer = vec![0u8; 64 * 1024];
                let mut total = 0u64;
                loop {
                    match file.read(&mut buffer).expect("read") {
                        0 => break,
                        n => total += n as u64,
                    }
                }
                assert_eq!(total, expected);
            }),
        ),
    ];
    let title = format!("file download, {size_mib} MiB from the page cache, {runs} runs each, interleaved");
    compare(&title, &per_gib(size_mib), runs, contenders);
}

/// A large ftp download from libunftp (in this process) by netaccess and by the curl command.
pub(crate) fn ftp_download(runtime: &Runtime, quick: bool) {
    let (size_mib, runs) = if quick { (8u32, 3) } else { (256u32, 5) };
    let server = runtime.block_on(netaccess_tests::FtpServer::start(None));
    let block: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    {
        use std::io::Write;
        let mut file = std::fs::File::create(server.root().join("large.bin")).expect("create");
        for _ in 0..size_mib {
            file.write_all(&block).expect("write");
        }
    }
    let url = server.url("", "/large.bin");
    let expected = u64::from(size_mib) * 1024 * 1024;
    let manager = NetworkAccessManager::new();
    let have_curl = crate::transfers::have_curl();
    let mut contenders: Vec<Contender<'_>> = vec![(
        "netaccess ftp:",
        Box::new(|| {
            let total = runtime.block_on(netaccess_get(&manager, &url));
            assert_eq!(total, expected);
        }),
    )];
    if have_curl {
        contenders.push((
            "curl (command)",
            Box::new(|| {
                let output = std::process::Command::new("curl")
                    .args(["-s", "-o", "/dev/null", "-w", "%{size_download}", &url])
                    .output()
                    .expect("curl");
                assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), expected.to_string());
            }),
        ));
    } else {
        println!("\nNOTE: curl is not installed: the ftp table has netaccess alone");
    }
    let title = format!("ftp download, {size_mib} MiB from libunftp on loopback, {runs} runs each, interleaved (curl's CPU is not counted)");
    compare(&title, &per_gib(size_mib), runs, contenders);
}
