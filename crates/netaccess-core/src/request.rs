//! [`Request`]: the URL, the headers and the attributes of one request.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::attributes::RequestAttributes;

/// A request: what to fetch and how. The body is passed separately to the operation that sends
/// one (`post`, `put`, a custom verb), as in Qt.
///
/// A request keeps the URL text it was given even when it does not parse (an empty string, a bare
/// path): the manager then fails the reply with `ProtocolUnknownError`, as Qt does.
///
/// ```
/// use netaccess_core::Request;
/// let request = Request::new("data:,hello").with_header("x-trace", "1");
/// assert_eq!(request.url().map(|u| u.scheme()), Some("data"));
/// assert_eq!(request.headers()["x-trace"], "1");
///
/// let bare = Request::new("/etc/hosts");
/// assert!(bare.url().is_none());
/// assert_eq!(bare.url_text(), "/etc/hosts");
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    /// The text given, kept only when it did not parse (a parsed URL is its own text).
    unparsed_text: String,
    url: Option<Url>,
    headers: HeaderMap,
    /// Header names as the caller spelled them, for the wire (see
    /// [`names_as_written`](Self::names_as_written)); empty unless a name was written.
    names_as_written: Vec<Box<str>>,
    attributes: RequestAttributes,
}

impl Request {
    /// A request for `url`, parsed as an absolute URL.
    pub fn new(url: impl AsRef<str>) -> Self {
        let text = url.as_ref();
        let url = Url::parse(text).ok();
        Self {
            unparsed_text: if url.is_some() { String::new() } else { text.to_owned() },
            url,
            headers: HeaderMap::new(),
            names_as_written: Vec::new(),
            attributes: RequestAttributes::default(),
        }
    }

    /// A request for an already parsed URL.
    pub fn from_url(url: Url) -> Self {
        Self {
            unparsed_text: String::new(),
            url: Some(url),
            headers: HeaderMap::new(),
            names_as_written: Vec::new(),
            attributes: RequestAttributes::default(),
        }
    }

    /// The URL, when the text given parsed as an absolute URL.
    pub fn url(&self) -> Option<&Url> {
        self.url.as_ref()
    }

    /// The URL as text: normalised when it parsed, else as given.
    pub fn url_text(&self) -> &str {
        self.url.as_ref().map_or(&self.unparsed_text, Url::as_str)
    }

    /// Replaces the URL.
    pub fn set_url(&mut self, url: Url) {
        self.unparsed_text.clear();
        self.url = Some(url);
    }

    /// Adds `pairs` to the URL's query, form-encoded (an array of tuples works). A URL that did
    /// not parse (a relative one, for the manager's base URL) gets them appended to its text.
    ///
    /// ```
    /// use netaccess_core::Request;
    /// let request = Request::new("http://example.com/search?page=2").with_query([("q", "rust & qt")]);
    /// assert_eq!(request.url_text(), "http://example.com/search?page=2&q=rust+%26+qt");
    /// let relative = Request::new("items").with_query([("id", "1")]);
    /// assert_eq!(relative.url_text(), "items?id=1");
    /// ```
    #[must_use]
    pub fn with_query<I, K, V>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        match &mut self.url {
            Some(url) => {
                url.query_pairs_mut().extend_pairs(pairs);
            }
            None => {
                let mut query = url::form_urlencoded::Serializer::new(String::new());
                query.extend_pairs(pairs);
                let query = query.finish();
                if !query.is_empty() {
                    let separator = if self.unparsed_text.contains('?') { '&' } else { '?' };
                    self.unparsed_text.push(separator);
                    self.unparsed_text.push_str(&query);
                }
            }
        }
        self
    }

    /// The headers the caller set.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Sets a header (replacing any value of that name), its name going out on HTTP/1.1 as
    /// written here.
    ///
    /// # Panics
    /// An invalid name, or a value with a control character (CR, LF, NUL): for names and values
    /// that come from outside the program use [`try_with_header`](Self::try_with_header).
    #[must_use]
    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self.try_with_header(name, value) {
            Ok(request) => request,
            Err(err) => panic!("Request::with_header({name:?}, ..): {err}"),
        }
    }

    /// Sets a header as [`with_header`](Self::with_header) does, refusing an invalid name or
    /// value instead of panicking.
    ///
    /// ```
    /// use netaccess_core::Request;
    /// let request = Request::new("http://example.com/").try_with_header("X-Trace", "abc").unwrap();
    /// assert_eq!(request.headers()["x-trace"], "abc");
    /// assert!(Request::new("http://example.com/").try_with_header("X-Trace", "a\r\nInjected: 1").is_err());
    /// assert!(Request::new("http://example.com/").try_with_header("bad name", "x").is_err());
    /// ```
    ///
    /// # Errors
    /// The name is not a header name, or the value is not a header value.
    pub fn try_with_header(mut self, name: &str, value: &str) -> Result<Self, http::Error> {
        let parsed = HeaderName::from_bytes(name.as_bytes())?;
        let value = HeaderValue::from_str(value)?;
        self.headers.insert(parsed, value);
        self.keep_name_as_written(name);
        Ok(self)
    }

    /// Sends the header named `name` (in any case) spelled as `name` is on HTTP/1.1, where
    /// names are case-insensitive but some devices and proxies are not. A name never written
    /// goes out in its canonical form (`X-Api-Key`, `User-Agent`).
    ///
    /// ```
    /// use netaccess_core::Request;
    /// let mut request = Request::new("http://example.com/");
    /// request.headers_mut().insert("x-api-key", "1".parse().unwrap());
    /// request.keep_name_as_written("X-API-Key");
    /// assert_eq!(request.names_as_written(), ["X-API-Key".into()]);
    /// ```
    pub fn keep_name_as_written(&mut self, name: &str) {
        self.names_as_written.retain(|kept| !kept.eq_ignore_ascii_case(name));
        self.names_as_written.push(name.into());
    }

    /// The header names whose spelling the caller chose.
    pub fn names_as_written(&self) -> &[Box<str>] {
        &self.names_as_written
    }

    /// The attributes.
    pub fn attributes(&self) -> &RequestAttributes {
        &self.attributes
    }

    /// The attributes, to change.
    pub fn attributes_mut(&mut self) -> &mut RequestAttributes {
        &mut self.attributes
    }

    /// Replaces the attributes.
    #[must_use]
    pub fn with_attributes(mut self, attributes: RequestAttributes) -> Self {
        self.attributes = attributes;
        self
    }
}

impl From<Url> for Request {
    fn from(url: Url) -> Self {
        Request::from_url(url)
    }
}

impl From<&str> for Request {
    fn from(url: &str) -> Self {
        Request::new(url)
    }
}

/// An [`http::Request`] taken apart into what a manager sends: the request (its URI, as
/// absolute or as relative to the manager's base URL, and its headers), the operation (its
/// method) and the body. The HTTP version is not kept: the connection decides it. A
/// [`RequestAttributes`] in the request's extensions becomes the request's attributes (so a
/// tower caller can set a priority or a redirect policy).
///
/// ```
/// use netaccess_core::request::HttpRequestParts;
/// use netaccess_core::Operation;
/// let parts = HttpRequestParts::from(
///     http::Request::patch("https://api.example/items/1").header("x-trace", "1").body("{}").unwrap(),
/// );
/// assert_eq!(parts.operation, Operation::Custom("PATCH".into()));
/// assert_eq!(parts.request.url().unwrap().path(), "/items/1");
/// assert_eq!(parts.request.headers()["x-trace"], "1");
/// assert_eq!(parts.body.len(), Some(2));
/// ```
#[non_exhaustive]
#[derive(Debug)]
pub struct HttpRequestParts {
    /// The URL and headers.
    pub request: Request,
    /// The method, as Qt's operation kind.
    pub operation: crate::Operation,
    /// The body.
    pub body: crate::Body,
}

impl<B: Into<crate::Body>> From<http::Request<B>> for HttpRequestParts {
    fn from(request: http::Request<B>) -> Self {
        let (mut parts, body) = request.into_parts();
        let mut converted = Request::new(parts.uri.to_string());
        *converted.headers_mut() = parts.headers;
        if let Some(attributes) = parts.extensions.remove::<RequestAttributes>() {
            converted.attributes = attributes;
        }
        Self { request: converted, operation: crate::Operation::from(parts.method), body: body.into() }
    }
}
