//! What a transfer sends: `-d` and its kin, `--json`, `-F`, `-T`, and `-G`'s query.
//!
//! # Design
//!
//! The flags are read once, before the first transfer, into an [`Upload`] that each transfer
//! turns into a fresh body ([`Upload::body`]): several URLs send the same data, and a file is
//! opened anew for each. Standard input is the exception: it can be read once, so `-T -` takes
//! a single URL.

use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use netaccess::{Body, Multipart, MultipartKind, Operation, Part};
use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::args::Args;
use crate::plan::UsageError;

/// What to upload, kept in a form each transfer can open anew.
#[derive(Debug, Clone)]
pub(crate) enum Upload {
    None,
    Bytes(Bytes),
    File(PathBuf),
    /// `-T -`: standard input, sent chunked (its length is not known).
    Stdin,
    /// `-F`: a multipart/form-data body.
    Form(Vec<FormField>),
}

/// One `-F` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FormField {
    name: String,
    content: FormContent,
    content_type: Option<String>,
    file_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum FormContent {
    /// `name=value`, or `name=<file` read when the command starts.
    Value(Bytes),
    /// `name=@file`: a file part, read while it is sent.
    File(PathBuf),
}

impl Upload {
    pub(crate) async fn body(&self) -> std::io::Result<Body> {
        match self {
            Upload::None => Ok(Body::empty()),
            Upload::Bytes(bytes) => Ok(Body::from_bytes(bytes.clone())),
            Upload::File(path) => Body::from_file(path).await,
            Upload::Stdin => Ok(Body::from_async_read(tokio::io::stdin(), None)),
            Upload::Form(fields) => {
                let mut form = Multipart::new(MultipartKind::FormData);
                for field in fields {
                    form.append(field.part().await?);
                }
                Ok(form.into())
            }
        }
    }
}

impl FormField {
    async fn part(&self) -> std::io::Result<Part> {
        let part = match &self.content {
            FormContent::Value(bytes) => {
                Part::from_bytes(bytes.clone()).with_form_data(&self.name, self.file_name.as_deref())
            }
            FormContent::File(path) => {
                let default_name = file_name(path);
                let name = self.file_name.as_deref().unwrap_or(&default_name);
                Part::from_file(path).await?.with_form_data(&self.name, Some(name))
            }
        };
        let content_type = match (&self.content_type, &self.content) {
            (Some(given), _) => http::HeaderValue::from_str(given).ok(),
            (None, FormContent::File(path)) => Some(http::HeaderValue::from_static(file_part_type(path))),
            (None, FormContent::Value(_)) => None,
        };
        Ok(match content_type {
            Some(value) => part.with_header(http::header::CONTENT_TYPE, value),
            None => part,
        })
    }
}

/// The type of a `-F name=@file` part without `;type=`: curl's table of extensions (its
/// `Curl_mime_contenttype`), `application/octet-stream` for any other.
fn file_part_type(path: &std::path::Path) -> &'static str {
    const TYPES: [(&str, &str); 10] = [
        ("gif", "image/gif"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("png", "image/png"),
        ("svg", "image/svg+xml"),
        ("txt", "text/plain"),
        ("htm", "text/html"),
        ("html", "text/html"),
        ("pdf", "application/pdf"),
        ("xml", "application/xml"),
    ];
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    match TYPES.iter().find(|(known, _)| known.eq_ignore_ascii_case(extension)) {
        Some((_, content_type)) => content_type,
        None => "application/octet-stream",
    }
}

/// What the flags send.
#[derive(Debug)]
pub(crate) struct Sending {
    pub(crate) upload: Upload,
    pub(crate) operation: Operation,
    /// Headers the flags imply, each only when `-H` does not set it: `-d` a form type,
    /// `--json` JSON both ways.
    pub(crate) implied_headers: Vec<(http::HeaderName, &'static str)>,
    /// `-G`: the data, to append to each URL's query.
    pub(crate) query: Option<String>,
}

/// The upload, the operation it implies, and the headers that go with it.
pub(crate) fn sending(args: &Args) -> Result<Sending, UsageError> {
    let has_data = !(args.data.is_empty()
        && args.data_binary.is_empty()
        && args.data_raw.is_empty()
        && args.data_urlencode.is_empty());
    let sources = usize::from(args.upload_file.is_some())
        + usize::from(has_data && !args.get)
        + usize::from(!args.form.is_empty())
        + usize::from(!args.json.is_empty())
        + usize::from(args.head && !args.get);
    if sources > 1 {
        return Err(UsageError("use only one of -T, -d (and its kin), -F, --json and -I".into()));
    }
    let none = |operation| Sending { upload: Upload::None, operation, implied_headers: Vec::new(), query: None };
    if let Some(file) = &args.upload_file {
        let upload = if file.as_os_str() == "-" { Upload::Stdin } else { Upload::File(file.clone()) };
        return Ok(Sending { upload, ..none(Operation::Put) });
    }
    if !args.form.is_empty() {
        let fields = args.form.iter().map(|item| parse_form_field(item)).collect::<Result<_, _>>()?;
        return Ok(Sending { upload: Upload::Form(fields), ..none(Operation::Post) });
    }
    if !args.json.is_empty() {
        let mut json = Vec::new();
        for item in &args.json {
            json.extend(read_data(item)?);
        }
        return Ok(Sending {
            upload: Upload::Bytes(Bytes::from(json)),
            operation: Operation::Post,
            implied_headers: vec![
                (http::header::CONTENT_TYPE, "application/json"),
                (http::header::ACCEPT, "application/json"),
            ],
            query: None,
        });
    }
    let operation = if args.head { Operation::Head } else { Operation::Get };
    if !has_data {
        return Ok(none(operation));
    }
    let data = joined_data(args)?;
    if args.get {
        let query = String::from_utf8(data).map_err(|_| UsageError("-G needs the data to be UTF-8 text".into()))?;
        return Ok(Sending { query: Some(query), ..none(operation) });
    }
    let form_type = !(args.data.is_empty() && args.data_raw.is_empty() && args.data_urlencode.is_empty());
    let implied_headers =
        if form_type { vec![(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")] } else { Vec::new() };
    Ok(Sending { upload: Upload::Bytes(Bytes::from(data)), operation: Operation::Post, implied_headers, query: None })
}

/// Every `-d`, `--data-raw`, `--data-urlencode` and `--data-binary` item, joined with '&' (curl
/// joins them in command-line order; here they come flag by flag, in that order).
fn joined_data(args: &Args) -> Result<Vec<u8>, UsageError> {
    let mut parts = Vec::new();
    for item in &args.data {
        let mut bytes = read_data(item)?;
        if item.starts_with('@') {
            bytes.retain(|b| *b != b'\r' && *b != b'\n');
        }
        parts.push(bytes);
    }
    parts.extend(args.data_raw.iter().map(|item| item.as_bytes().to_vec()));
    for item in &args.data_urlencode {
        parts.push(url_encoded(item)?.into_bytes());
    }
    for item in &args.data_binary {
        parts.push(read_data(item)?);
    }
    Ok(parts.join(&b'&'))
}

/// What curl's `--data-urlencode` leaves as is: letters, digits and `-._~` (RFC 3986's
/// unreserved set) and the space, which becomes `+` as in a form (curl 7.88 does the same).
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b' ');

/// One `--data-urlencode` item: `content`, `=content`, `name=content`, `@file`, `name@file`
/// (the first `=` or `@` decides, as in curl).
fn url_encoded(item: &str) -> Result<String, UsageError> {
    // Bytes, not text: a file's content is encoded as it is, whatever its encoding.
    let encode = |bytes: &[u8]| percent_encode(bytes, URL_ENCODE).to_string().replace(' ', "+");
    match item.find(['=', '@']) {
        None => Ok(encode(item.as_bytes())),
        Some(at) => {
            let (name, rest) = item.split_at(at);
            let content = match rest.strip_prefix('@') {
                Some(file) => read_data(&format!("@{file}"))?,
                None => rest.as_bytes()[1..].to_vec(),
            };
            Ok(if name.is_empty() { encode(&content) } else { format!("{name}={}", encode(&content)) })
        }
    }
}

/// One `-F` item: `name=value`, `name=@file`, `name=<file`, then `;type=` and `;filename=`
/// (other `;` are part of the value).
fn parse_form_field(item: &str) -> Result<FormField, UsageError> {
    let (name, rest) =
        item.split_once('=').ok_or_else(|| UsageError(format!("-F {item:?} is not of the form name=content")))?;
    let mut content_type = None;
    let mut file_name = None;
    let mut pieces: Vec<&str> = rest.split(';').collect();
    while pieces.len() > 1 {
        let last = pieces[pieces.len() - 1].trim();
        if let Some(value) = last.strip_prefix("type=") {
            content_type.get_or_insert_with(|| value.to_owned());
        } else if let Some(value) = last.strip_prefix("filename=") {
            file_name.get_or_insert_with(|| value.trim_matches('"').to_owned());
        } else {
            break;
        }
        pieces.pop();
    }
    let content = pieces.join(";");
    let content = if let Some(path) = content.strip_prefix('@') {
        FormContent::File(PathBuf::from(path))
    } else if let Some(path) = content.strip_prefix('<') {
        FormContent::Value(Bytes::from(read_data(&format!("@{path}"))?))
    } else {
        FormContent::Value(Bytes::from(content))
    };
    Ok(FormField { name: name.to_owned(), content, content_type, file_name })
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// DATA as given, or the bytes of @FILE (@- standard input).
fn read_data(item: &str) -> Result<Vec<u8>, UsageError> {
    match item.strip_prefix('@') {
        Some("-") => {
            let mut buffer = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buffer)
                .map_err(|e| UsageError(format!("cannot read data from stdin: {e}")))?;
            Ok(buffer)
        }
        Some(path) => std::fs::read(path).map_err(|e| UsageError(format!("cannot read data file {path}: {e}"))),
        None => Ok(item.as_bytes().to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urlencode_takes_curls_five_forms() {
        assert_eq!(url_encoded("a b&c").unwrap(), "a+b%26c");
        assert_eq!(url_encoded("=x=y").unwrap(), "x%3Dy");
        assert_eq!(url_encoded("name=café ~ok").unwrap(), "name=caf%C3%A9+~ok");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.txt");
        std::fs::write(&file, "1+1=2").unwrap();
        assert_eq!(url_encoded(&format!("sum@{}", file.display())).unwrap(), "sum=1%2B1%3D2");
        assert_eq!(url_encoded(&format!("@{}", file.display())).unwrap(), "1%2B1%3D2");
    }

    #[test]
    fn form_fields_take_type_and_filename_and_keep_other_semicolons() {
        let field = parse_form_field("doc=@/tmp/a.txt;type=text/plain;filename=b.txt").unwrap();
        assert_eq!(field.content, FormContent::File(PathBuf::from("/tmp/a.txt")));
        assert_eq!(field.content_type.as_deref(), Some("text/plain"));
        assert_eq!(field.file_name.as_deref(), Some("b.txt"));
        let field = parse_form_field("q=a;b;type=text/x").unwrap();
        assert_eq!(field.content, FormContent::Value(Bytes::from("a;b")));
        assert_eq!(field.content_type.as_deref(), Some("text/x"));
        assert!(parse_form_field("no-equals").is_err());
    }
}
