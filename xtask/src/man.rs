//! `cargo xtask man`: the man page and the shell completions, generated from the command's
//! argument definitions (`netaccess manpage`, `netaccess completions SHELL`) into
//! `target/man/netaccess.1` and `target/completions/`, and checked: every flag `--help` lists
//! is in the page and in each completion script.

use std::process::Command;

use crate::shell::{cargo, run as run_command, target_dir};

pub(crate) fn run() -> Result<(), String> {
    run_command(&mut cargo(&["build", "--quiet", "-p", "netaccess-cli"]))?;
    let cli = target_dir().join("debug").join("netaccess");
    let output = |args: &[&str]| -> Result<String, String> {
        let out = Command::new(&cli).args(args).output().map_err(|e| format!("cannot run {}: {e}", cli.display()))?;
        if !out.status.success() {
            return Err(format!("netaccess {args:?} failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        String::from_utf8(out.stdout).map_err(|e| format!("netaccess {args:?} wrote no text: {e}"))
    };
    let help = output(&["--help"])?;
    let mut flags: Vec<&str> = help
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '<' || c == '=')
        .map(|word| word.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.')))
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .collect();
    flags.sort_unstable();
    flags.dedup();
    if flags.len() < 40 {
        return Err(format!("--help lists only {} flags: {flags:?}", flags.len()));
    }

    let man_dir = target_dir().join("man");
    let completion_dir = target_dir().join("completions");
    for dir in [&man_dir, &completion_dir] {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let page = output(&["manpage"])?;
    let mut missing = Vec::new();
    for flag in &flags {
        // roff writes a hyphen as "\-".
        if !page.contains(&flag.replace('-', "\\-")) {
            missing.push(format!("man page: {flag}"));
        }
    }
    std::fs::write(man_dir.join("netaccess.1"), &page).map_err(|e| format!("cannot write the man page: {e}"))?;
    for (shell, file) in [("bash", "netaccess.bash"), ("zsh", "_netaccess"), ("fish", "netaccess.fish")] {
        let script = output(&["completions", shell])?;
        for flag in &flags {
            // fish names long flags without their dashes (`-l retry`).
            let name = flag.trim_start_matches('-');
            let found = if shell == "fish" { script.contains(&format!("-l {name}")) } else { script.contains(flag) };
            if !found {
                missing.push(format!("{shell} completions: {flag}"));
            }
        }
        std::fs::write(completion_dir.join(file), script).map_err(|e| format!("cannot write {file}: {e}"))?;
    }
    if !missing.is_empty() {
        return Err(format!("generated files lack flags:\n  {}", missing.join("\n  ")));
    }
    println!(
        "man: {} flags in {} and in the bash, zsh and fish completions in {}",
        flags.len(),
        man_dir.join("netaccess.1").display(),
        completion_dir.display()
    );
    Ok(())
}
