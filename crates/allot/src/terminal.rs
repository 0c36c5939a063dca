//! Secrets from the terminal or stdin.

use anyhow::{Context as _, Result};

/// The first line of stdin, without its line end: a secret piped in.
pub fn stdin_line(what: &str) -> Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).with_context(|| format!("cannot read the {what} from stdin"))?;
    let secret = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!secret.is_empty(), "no {what} on stdin");
    Ok(secret)
}

/// Asks on the terminal, without echo where `stty` can turn it off.
pub fn ask_hidden(prompt: &str) -> Result<String> {
    use std::io::Write as _;
    let echo = |on: bool| {
        let tty = std::fs::File::open("/dev/tty").ok()?;
        std::process::Command::new("stty").arg(if on { "echo" } else { "-echo" }).stdin(tty).status().ok()
    };
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let hidden = echo(false).is_some_and(|s| s.success());
    let read = stdin_line("password");
    if hidden {
        echo(true);
        eprintln!();
    }
    read
}
