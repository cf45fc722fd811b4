//! The `-w` format's syntax alone, curl's: `%{name}` a variable, `%%` a percent sign, `\n`,
//! `\r`, `\t` and `\\` escapes, anything else as it is (an unterminated `%{` too). No
//! dependency but `std`, so the fuzz target (`fuzz/fuzz_targets/write_out.rs`) compiles this
//! very file.

/// `format` with each variable replaced by what `value` gives for its name; a name it has no
/// value for prints nothing and is added to `unknown` once.
pub(crate) fn expand(format: &str, mut value: impl FnMut(&str) -> Option<String>, unknown: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(format.len() + 32);
    let mut rest = format;
    while let Some(at) = rest.find(['%', '\\']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("%{") {
            if let Some(end) = after.find('}') {
                let name = &after[..end];
                match value(name) {
                    Some(text) => out.push_str(&text),
                    None if !unknown.iter().any(|n| n == name) => unknown.push(name.to_owned()),
                    None => {}
                }
                rest = &after[end + 1..];
                continue;
            }
        }
        let (text, used) = match tail.as_bytes().get(1) {
            Some(b'%') if tail.starts_with('%') => ("%", 2),
            Some(b'n') if tail.starts_with('\\') => ("\n", 2),
            Some(b'r') if tail.starts_with('\\') => ("\r", 2),
            Some(b't') if tail.starts_with('\\') => ("\t", 2),
            Some(b'\\') if tail.starts_with('\\') => ("\\", 2),
            _ => (&tail[..1], 1),
        };
        out.push_str(text);
        rest = &tail[used..];
    }
    out.push_str(rest);
    out
}
