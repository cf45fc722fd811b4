//! [`Operation`]: what a request asks the server to do.

use std::fmt;

/// The operation of a request, as Qt's `QNetworkAccessManager::Operation`.
///
/// ```
/// use netaccess_core::Operation;
/// assert_eq!(Operation::Get.verb(), "GET");
/// assert_eq!(Operation::Custom("PROPFIND".into()).verb(), "PROPFIND");
/// assert_eq!(Operation::from_verb("delete"), Operation::Delete);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `HEAD`: the metadata without the body.
    Head,
    /// `GET`: download.
    Get,
    /// `PUT`: upload to the URL.
    Put,
    /// `POST`: send data to the URL.
    Post,
    /// `DELETE`: remove the resource.
    Delete,
    /// Any other verb (Qt's `sendCustomRequest`), sent as written.
    Custom(String),
}

impl Operation {
    /// The verb sent on the wire.
    pub fn verb(&self) -> &str {
        match self {
            Operation::Head => "HEAD",
            Operation::Get => "GET",
            Operation::Put => "PUT",
            Operation::Post => "POST",
            Operation::Delete => "DELETE",
            Operation::Custom(verb) => verb,
        }
    }

    /// The operation for a verb: the five named ones case-insensitively, anything else as
    /// [`Operation::Custom`] in the case given.
    pub fn from_verb(verb: &str) -> Self {
        match verb.to_ascii_uppercase().as_str() {
            "HEAD" => Operation::Head,
            "GET" => Operation::Get,
            "PUT" => Operation::Put,
            "POST" => Operation::Post,
            "DELETE" => Operation::Delete,
            _ => Operation::Custom(verb.to_owned()),
        }
    }

    /// Whether a response to this operation never has a body (`HEAD`).
    pub fn is_head(&self) -> bool {
        matches!(self, Operation::Head)
    }
}

/// An `http::Method` as Qt's operation kind: the five named ones, any other as
/// [`Operation::Custom`].
///
/// ```
/// use netaccess_core::Operation;
/// assert_eq!(Operation::from(http::Method::PATCH), Operation::Custom("PATCH".into()));
/// assert_eq!(http::Method::try_from(&Operation::Delete).unwrap(), http::Method::DELETE);
/// ```
impl From<http::Method> for Operation {
    fn from(method: http::Method) -> Self {
        match method {
            http::Method::HEAD => Operation::Head,
            http::Method::GET => Operation::Get,
            http::Method::PUT => Operation::Put,
            http::Method::POST => Operation::Post,
            http::Method::DELETE => Operation::Delete,
            other => Operation::Custom(other.as_str().to_owned()),
        }
    }
}

impl From<&http::Method> for Operation {
    fn from(method: &http::Method) -> Self {
        Operation::from(method.clone())
    }
}

/// The operation's verb as an `http::Method`; a custom verb that is not a valid token fails.
impl TryFrom<&Operation> for http::Method {
    type Error = http::method::InvalidMethod;

    fn try_from(operation: &Operation) -> Result<Self, Self::Error> {
        http::Method::from_bytes(operation.verb().as_bytes())
    }
}

impl TryFrom<Operation> for http::Method {
    type Error = http::method::InvalidMethod;

    fn try_from(operation: Operation) -> Result<Self, Self::Error> {
        http::Method::try_from(&operation)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.verb())
    }
}
