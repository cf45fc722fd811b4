//! The `file:` backend.
//!
//! # Design
//!
//! GET streams the file in 64 KiB chunks, so a file of any size never sits in memory; HEAD
//! gives the same headers without the body: `Content-Length`, `Last-Modified` from the file's
//! modification time, and `Content-Type` guessed from the extension when it is known. PUT creates
//! or truncates the file and writes the body as it comes, reporting upload progress.
//!
//! Errors follow Qt's file backend: a directory (or no path) is
//! `ContentOperationNotPermittedError`, a missing file `ContentNotFoundError`, a file the process
//! may not read or write `ContentAccessDenied`, a host other than empty or `localhost`
//! `ProtocolInvalidOperationError`. Qt answers other verbs with `ProtocolUnknownError` (no backend
//! takes them); here they are `ProtocolInvalidOperationError`, which says what is wrong.

use std::io;
use std::path::PathBuf;

use futures::future::{BoxFuture, FutureExt};
use futures::stream::StreamExt;
use netaccess_core::{
    Backend, BackendRequest, BackendResponse, Body, KnownHeaders, NetworkError, NetworkErrorKind, Operation,
    UploadProgress,
};
use tokio::io::AsyncWriteExt;
use url::Url;

/// The size of the chunks a file is read in.
pub const READ_CHUNK_SIZE: usize = 64 * 1024;

/// The backend for `file:` URLs.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileBackend;

impl Backend for FileBackend {
    fn send(&self, request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
        async move {
            let path = local_path(&request.url)?;
            match request.operation {
                Operation::Get | Operation::Head => read(&request.url, path, request.operation.is_head()).await,
                Operation::Put => write(request, path).await,
                ref other => Err(NetworkError::new(
                    NetworkErrorKind::ProtocolInvalidOperationError,
                    request.url.as_str(),
                    format!("file: URLs support GET, HEAD and PUT, not {other}"),
                )),
            }
        }
        .boxed()
    }

    fn is_local(&self) -> bool {
        true
    }
}

fn local_path(url: &Url) -> Result<PathBuf, NetworkError> {
    match url.host_str() {
        None | Some("") | Some("localhost") => {}
        Some(host) => {
            return Err(NetworkError::new(
                NetworkErrorKind::ProtocolInvalidOperationError,
                url.as_str(),
                format!("file: URLs can only name local files, not files on host \"{host}\""),
            ))
        }
    }
    url.to_file_path().map_err(|()| {
        NetworkError::new(NetworkErrorKind::ProtocolInvalidOperationError, url.as_str(), "not a local file path")
    })
}

fn io_error(url: &Url, action: &str, err: io::Error) -> NetworkError {
    let kind = match err.kind() {
        io::ErrorKind::NotFound => NetworkErrorKind::ContentNotFoundError,
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => NetworkErrorKind::ContentAccessDenied,
        io::ErrorKind::IsADirectory => NetworkErrorKind::ContentOperationNotPermittedError,
        _ => NetworkErrorKind::UnknownContentError,
    };
    let reason = match kind {
        NetworkErrorKind::ContentNotFoundError => "no such file".to_owned(),
        NetworkErrorKind::ContentAccessDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    };
    NetworkError::new(kind, url.as_str(), format!("cannot {action} the file: {reason}")).with_source(err)
}

fn is_directory(url: &Url, action: &str) -> NetworkError {
    NetworkError::new(
        NetworkErrorKind::ContentOperationNotPermittedError,
        url.as_str(),
        format!("cannot {action} a directory"),
    )
}

async fn read(url: &Url, path: PathBuf, head_only: bool) -> Result<BackendResponse, NetworkError> {
    let metadata = tokio::fs::metadata(&path).await.map_err(|e| io_error(url, "open", e))?;
    if metadata.is_dir() {
        return Err(is_directory(url, "open"));
    }
    // Opening checks read permission, for HEAD as well, as Qt does.
    let file = tokio::fs::File::open(&path).await.map_err(|e| io_error(url, "open", e))?;
    let len = metadata.len();
    let mut response = if head_only {
        BackendResponse::empty()
    } else {
        let error_url = url.clone();
        let chunks = tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK_SIZE)
            .map(move |chunk| chunk.map_err(|e| io_error(&error_url, "read", e)));
        BackendResponse::new(Box::pin(chunks), Some(len))
    };
    response.headers.set_content_length(len);
    if let Ok(modified) = metadata.modified() {
        response.headers.set_last_modified(modified);
    }
    if let Some(mime) = mime_guess::from_path(&path).first() {
        response.headers.set_content_type(mime.essence_str());
    }
    Ok(response)
}

async fn write(request: BackendRequest, path: PathBuf) -> Result<BackendResponse, NetworkError> {
    let url = &request.url;
    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
        return Err(is_directory(url, "write to"));
    }
    let mut file = tokio::fs::File::create(&path).await.map_err(|e| io_error(url, "create", e))?;
    let mut progress =
        UploadProgress::new(request.events.clone(), request.body.len(), request.attributes.emit_all_upload_progress);
    write_body(url, &mut file, request.body, &mut progress).await?;
    file.flush().await.map_err(|e| io_error(url, "write", e))?;
    file.sync_all().await.map_err(|e| io_error(url, "write", e))?;
    progress.finish().await;
    Ok(BackendResponse::empty())
}

async fn write_body(
    url: &Url,
    file: &mut tokio::fs::File,
    body: Body,
    progress: &mut UploadProgress,
) -> Result<(), NetworkError> {
    let mut chunks = body.into_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|err| NetworkError::upload_body(url.as_str(), err))?;
        file.write_all(&chunk).await.map_err(|e| io_error(url, "write", e))?;
        progress.advance(chunk.len() as u64).await;
    }
    Ok(())
}
