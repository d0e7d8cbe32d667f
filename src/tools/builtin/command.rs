//! The run_command tool: `sh -c COMMAND` in the workspace, with no stdin, a timeout, its own
//! process group (killed on timeout, on cancel, and when the command ends, so nothing it
//! started lingers), and an environment without secrets.

use super::args::Args;
use crate::tools::result::RESULT_CAP;
use crate::tools::workspace::Workspace;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The timeout when the call names none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest timeout a call may ask for.
const MAX_TIMEOUT_S: u64 = 3600;

/// Whether an environment variable holds a secret the command must not see.
pub fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n == "REFLECT_API_KEY"
        || n == "HF_TOKEN"
        || n.ends_with("_API_KEY")
        || n.ends_with("_TOKEN")
        || n == "API_KEY"
        || n == "TOKEN"
}

/// The environment with every secret left out.
pub fn without_secrets(
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    vars.filter(|(name, _)| !is_secret(&name.to_string_lossy()))
        .collect()
}

/// Reads a pipe to its end, keeping at most the cap (the rest is counted, not kept, so the
/// command never blocks on a full pipe).
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<(Vec<u8>, u64)> {
    std::thread::spawn(move || {
        let (mut kept, mut total, mut buf) = (Vec::new(), 0u64, [0u8; 8192]);
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
            let room = (RESULT_CAP + 1).saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        (kept, total)
    })
}

/// `run_command command [timeout_s]`.
pub fn run_command(ws: &Workspace, args: &Args, stop: &AtomicBool) -> Result<String, String> {
    let command = args.str("command")?;
    let timeout = match args.opt_u64("timeout_s")? {
        Some(0) => return Err("run_command: timeout_s must be at least 1".into()),
        Some(s) => Duration::from_secs(s.min(MAX_TIMEOUT_S)),
        None => DEFAULT_TIMEOUT,
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(ws.root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    cmd.env_clear().envs(without_secrets(std::env::vars_os()));
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("run_command: cannot start sh: {e}"))?;
    let group = child.id() as libc::pid_t;
    let out = drain(child.stdout.take().expect("stdout is piped"));
    let err = drain(child.stderr.take().expect("stderr is piped"));
    let started = Instant::now();
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Err(e) => break Err(format!("run_command: lost the command: {e}")),
            Ok(None) if stop.load(Ordering::SeqCst) => break Err("cancelled".to_string()),
            Ok(None) if started.elapsed() >= timeout => {
                break Err(format!("timed out after {} s", timeout.as_secs()))
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    // The whole group: what the command left running in the background too.
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let _ = child.wait();
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    let status = match &ended {
        Ok(s) => match s.code() {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".to_string(),
        },
        Err(why) => format!("stopped: {why}"),
    };
    let text = report(&status, out, err);
    match ended {
        Ok(s) if s.success() => Ok(text),
        _ => Err(text),
    }
}

/// The status line, then stdout and stderr (each marked when cut).
fn report(
    status: &str,
    (out, out_total): (Vec<u8>, u64),
    (err, err_total): (Vec<u8>, u64),
) -> String {
    let mut text = status.to_string();
    for (name, bytes, total) in [("stdout", out, out_total), ("stderr", err, err_total)] {
        if total == 0 {
            continue;
        }
        let kept = bytes.len().min(RESULT_CAP / 2);
        let shown = String::from_utf8_lossy(&bytes[..kept]);
        text.push_str(&format!(
            "\n--- {name} ---\n{}",
            shown.trim_end_matches('\n')
        ));
        let kept = kept as u64;
        if total > kept {
            text.push_str(&format!(
                "\n[cut: {} of {total} bytes not shown]",
                total - kept
            ));
        }
    }
    text
}
