//! End-to-end tests of hostile and oversized input: an unreadable model file (run as an
//! unprivileged user when the tests run as root), megabytes on stdin, and model output full of
//! escape sequences written to a terminal in pipe mode (neutralised, or as-is with --raw).

use crate::common::*;
use std::io::Read;

/// Runs `reflect -m model q` and returns (exit code, stderr).
#[cfg(unix)]
fn run_as_other_user(m: &Model, model: &std::path::Path) -> (i32, String) {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let root = unsafe { libc::geteuid() } == 0;
    let command = |bin: &std::path::Path| {
        let mut cmd = std::process::Command::new(bin);
        seal(&mut cmd, m.dir.path());
        cmd.arg("-m")
            .arg(model)
            .arg("q")
            .stdin(std::process::Stdio::null());
        if root {
            // Root reads any file: run as `nobody`, for whom the mode bits count.
            cmd.uid(65534).gid(65534);
        }
        cmd
    };
    let bin = assert_cmd::cargo::cargo_bin("reflect");
    let out = match command(&bin).output() {
        Ok(out) => out,
        // `nobody` cannot reach the build directory (e.g. under /root): use a copy.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            let copy = m.dir.path().join("reflect-copy");
            std::fs::copy(&bin, &copy).unwrap();
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
            command(&copy).output().unwrap()
        }
        Err(e) => panic!("spawn: {e}"),
    };
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn an_unreadable_model_file_is_named_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let m = model(reflection_script());
    // `nobody` must be able to reach the file to be refused by its own mode.
    std::fs::set_permissions(m.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&m.path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let (code, err) = run_as_other_user(&m, &m.path);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{}: permission denied", m.path.display())),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn megabytes_on_stdin_are_refused_with_the_numbers_before_tokenizing() {
    let m = model(reflection_script());
    let big = "All work and no play makes Jack a dull boy. ".repeat(120_000); // ~5.3 MB
    let out = reflect(m.dir.path())
        .arg("-m")
        .arg(&m.path)
        .write_stdin(big.clone())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let want = format!(
        "the message is {} bytes, at least",
        big.len() + " Think carefully.".len() - 1
    );
    assert!(err.contains(&want), "{err}");
    assert!(err.contains("tokens, but the context holds"), "{err}");
    assert!(out.stdout.is_empty());
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn stdin_beyond_64_mib_is_not_even_read() {
    let m = model(reflection_script());
    let huge = vec![b'x'; (64 << 20) + 1];
    let out = reflect(m.dir.path())
        .arg("-m")
        .arg(&m.path)
        .write_stdin(huge)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("stdin is more than 64 MiB"), "{err}");
}

/// Runs reflect in pipe mode with a pseudo-terminal as stdout; returns everything it wrote.
#[cfg(unix)]
fn pipe_mode_on_a_terminal(m: &Model, extra: &[&str]) -> Vec<u8> {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(assert_cmd::cargo::cargo_bin("reflect"));
    cmd.arg("-m");
    cmd.arg(&m.path);
    cmd.args(extra);
    cmd.arg("hi");
    seal(&mut cmd, m.dir.path());
    let mut child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let reading = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    });
    let status = child.wait().unwrap();
    drop(pair.master);
    let all = reading.join().unwrap();
    assert!(status.success(), "{}", String::from_utf8_lossy(&all));
    all
}

#[cfg(unix)]
#[test]
fn escape_sequences_reach_a_terminal_only_neutralised_unless_raw() {
    let m = model(vec![
        s("<output>"),
        t("Safe \u{1b}]0;pwned\u{7} \u{1b}]52;c;ZXZpbA==\u{7} \u{1b}[2J \u{202e}rev done."),
        s("</output>"),
    ]);
    let shown = pipe_mode_on_a_terminal(&m, &[]);
    let text = String::from_utf8_lossy(&shown);
    assert!(text.contains("Safe") && text.contains("done."), "{text}");
    for raw in ["\u{1b}]0;pwned", "\u{1b}]52;", "\u{1b}[2J", "\u{202e}"] {
        assert!(
            !text.contains(raw),
            "{raw:?} reached the terminal: {text:?}"
        );
    }
    assert!(
        text.contains("␛]0;pwned") && text.contains("␛[2J"),
        "{text:?}"
    );
    assert!(text.contains("<U+202E>"), "{text:?}");

    let raw = pipe_mode_on_a_terminal(&m, &["--raw"]);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("\u{1b}]0;pwned\u{7}"),
        "--raw writes as-is: {text:?}"
    );

    // To a pipe the text is written as the model produced it.
    let (code, out, _) = run(&m, &["hi"]);
    assert_eq!(code, 0);
    assert!(out.contains("\u{1b}]52;c;ZXZpbA==\u{7}"), "{out:?}");
}
