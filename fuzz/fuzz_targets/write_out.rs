//! The `-w` format (curl's `--write-out`): the command's expander, this very file compiled here.
//!
//! Properties: no panic; a format without `%` or `\` comes out as it went in; an unknown name is
//! reported once and never holds a `}`; nothing but the known values, the escapes and the
//! format's own text is written (the output is at most the format plus the values).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/netaccess-cli/src/write_out/syntax.rs"]
mod syntax;

fuzz_target!(|data: &[u8]| {
    let Ok(format) = std::str::from_utf8(data) else { return };
    let mut unknown = Vec::new();
    let mut looked_up = 0usize;
    let out = syntax::expand(
        format,
        |name| {
            looked_up += 1;
            (name == "http_code").then(|| "200".to_owned())
        },
        &mut unknown,
    );
    if !format.contains(['%', '\\']) {
        assert_eq!(out, format);
    }
    assert!(out.len() <= format.len() + 3 * looked_up);
    for (i, name) in unknown.iter().enumerate() {
        assert!(!name.contains('}'));
        assert!(!unknown[..i].contains(name), "reported twice: {name}");
    }
});
