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
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The timeout when the call names none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest timeout a call may ask for.
const MAX_TIMEOUT_S: u64 = 3600;

/// Whether an environment variable holds a secret the command must not see: API keys (any
/// `*_KEY`), tokens, personal access tokens, secrets, passwords, connection strings and the SSH
/// agent, by the names services give them.
pub fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    const EXACT: [&str; 8] = [
        "API_KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "REFLECT_API_KEY",
        "DATABASE_URL",
        "SSH_AUTH_SOCK",
        "GPG_AGENT_INFO",
    ];
    const ENDS: [&str; 9] = [
        "_KEY",
        "APIKEY",
        "_TOKEN",
        "_PAT",
        "_SECRET",
        "_PASSWORD",
        "_PASSWD",
        "_CREDENTIALS",
        "_DSN",
    ];
    EXACT.contains(&n.as_str()) || ENDS.iter().any(|e| n.ends_with(e)) || n.starts_with("SECRET_")
}

/// The environment with every secret left out.
pub fn without_secrets(
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    vars.filter(|(name, _)| !is_secret(&name.to_string_lossy()))
        .collect()
}

/// What a pipe gave: at most the cap kept, and the total counted.
type Captured = Arc<Mutex<(Vec<u8>, u64)>>;

/// Reads a pipe to its end on a thread, keeping at most the cap (the rest is counted, not kept,
/// so the command never blocks on a full pipe); the receiver hears when the pipe closed.
fn drain(mut pipe: impl Read + Send + 'static) -> (Captured, mpsc::Receiver<()>) {
    let captured: Captured = Arc::default();
    let (done, closed) = mpsc::channel();
    let into = captured.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut c = into.lock().unwrap_or_else(|e| e.into_inner());
            c.1 += n as u64;
            let room = (RESULT_CAP + 1).saturating_sub(c.0.len());
            c.0.extend_from_slice(&buf[..n.min(room)]);
        }
        let _ = done.send(());
    });
    (captured, closed)
}

/// Whether the process has exited, without reaping it (so that its pid, and its group's id,
/// cannot be reused before the group is killed).
fn exited(pid: libc::pid_t) -> std::io::Result<bool> {
    // SAFETY: a zeroed siginfo_t is a valid buffer for waitid(2) to fill.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child, WNOWAIT leaves it waitable.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: filled by waitid; 0 when the child has not exited (WNOHANG).
    Ok(unsafe { info.si_pid() } != 0)
}

/// How long, once the group is killed, the output may take to close: longer only when a
/// process that left the group still holds it.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

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
    let (out, out_closed) = drain(child.stdout.take().expect("stdout is piped"));
    let (err, err_closed) = drain(child.stderr.take().expect("stderr is piped"));
    let started = Instant::now();
    let ended = loop {
        match exited(group) {
            Ok(true) => break Ok(()),
            Err(e) => break Err(format!("run_command: lost the command: {e}")),
            Ok(false) if stop.load(Ordering::SeqCst) => break Err("cancelled".to_string()),
            Ok(false) if started.elapsed() >= timeout => {
                break Err(format!("timed out after {} s", timeout.as_secs()))
            }
            Ok(false) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    // The whole group, before the shell is reaped (its id cannot be reused meanwhile): what
    // the command left running in the background too.
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let status = child.wait();
    let deadline = Instant::now() + CLOSE_GRACE;
    let held = [out_closed, err_closed].iter().any(|closed| {
        closed
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_err()
    });
    let take = |c: &Captured| c.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (out, err) = (take(&out), take(&err));
    let ended =
        ended.and_then(|()| status.map_err(|e| format!("run_command: lost the command: {e}")));
    let status = match &ended {
        Ok(s) => match s.code() {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".to_string(),
        },
        Err(why) => format!("stopped: {why}"),
    };
    let mut text = report(&status, out, err);
    if held {
        text.push_str(
            "\n[the output was still held open by a process that left the command's process \
             group; it was not waited for]",
        );
    }
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
