//! FTP failures as Qt's errors, with the server's reply text.

use netaccess_core::{NetworkError, NetworkErrorKind};
use suppaftp::{FtpError, Status};

/// The error for `error` while `doing` something with `url`.
pub(crate) fn ftp_error(url: &str, doing: &str, error: FtpError) -> NetworkError {
    let (kind, detail) = match &error {
        FtpError::UnexpectedResponse(response) => {
            let text = String::from_utf8_lossy(&response.body).trim().to_owned();
            let code = response.status.code().to_string();
            let text = text.strip_prefix(code.as_str()).map_or(text.as_str(), str::trim_start).to_owned();
            let lower = text.to_ascii_lowercase();
            let kind = match response.status {
                Status::NotLoggedIn | Status::StoringNeedAccount => NetworkErrorKind::AuthenticationRequiredError,
                Status::FileUnavailable | Status::BadFilename
                    if lower.contains("permission") || lower.contains("denied") =>
                {
                    NetworkErrorKind::ContentAccessDenied
                }
                Status::FileUnavailable | Status::BadFilename => NetworkErrorKind::ContentNotFoundError,
                Status::ExceededStorage => NetworkErrorKind::UnknownContentError,
                // "Connection closed; transfer aborted": the data connection went away.
                Status::TransferAborted => NetworkErrorKind::RemoteHostClosedError,
                _ => NetworkErrorKind::ProtocolFailure,
            };
            (kind, format!("the server replied {} {text}", response.status.code()))
        }
        FtpError::ConnectionError(io) => (NetworkErrorKind::RemoteHostClosedError, io.to_string()),
        other => (NetworkErrorKind::ProtocolFailure, other.to_string()),
    };
    NetworkError::new(kind, url, format!("{doing} failed: {detail}")).with_source(error)
}

/// Whether the server does not know a command (EPSV on old servers).
pub(crate) fn unsupported(error: &FtpError) -> bool {
    matches!(
        error,
        FtpError::UnexpectedResponse(response)
            if matches!(response.status, Status::BadCommand | Status::NotImplemented | Status::BadArguments)
    )
}
