//! Running a command to completion and turning its failure into an error
//! that shows what it printed.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::error::{io_error, LocalClusterError};

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to completion, capturing its output; the command line comes
/// back with it for error messages.
pub(crate) fn run(cmd: &mut Command) -> Result<(String, Output), LocalClusterError> {
    let desc = describe(cmd);
    tracing::debug!("running {desc}");
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io_error(format!("running `{desc}`"), e))?;
    Ok((desc, output))
}

/// Runs `cmd`, failing unless it exits successfully.
pub(crate) fn run_ok(cmd: &mut Command) -> Result<Output, LocalClusterError> {
    let (desc, output) = run(cmd)?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(LocalClusterError::CommandFailed {
            command: desc,
            output: combined_output(&output),
        })
    }
}

/// Standard output then standard error, or a note of the exit status when
/// both are empty.
pub(crate) fn combined_output(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.trim().is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&stderr);
    }
    if text.trim().is_empty() {
        text = format!("(no output; {})", output.status);
    }
    text
}

/// The last `lines` lines of a text file, if it can be read.
pub(crate) fn log_tail(path: &Path, lines: usize) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let all: Vec<&str> = text.lines().collect();
    Some(all[all.len().saturating_sub(lines)..].join("\n"))
}
