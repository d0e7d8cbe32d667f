//! End-to-end tests that a follow-up never lands in the wrong conversation: a damaged latest
//! session stops `-c` and `--resume`, and `sessions rm` deletes a damaged file.

use crate::common::*;
use std::path::PathBuf;

/// Asks `q` in a new session; its id.
fn first_turn(m: &Model, q: &str) -> String {
    let (code, v, err) = run_json(m, &[q]);
    assert_eq!(code, 0, "{err}");
    v["session"].as_str().expect("a session id").to_string()
}

fn session_path(m: &Model, id: &str) -> PathBuf {
    sessions_dir(m.dir.path()).join(format!("{id}.json"))
}

fn read_session(m: &Model, id: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(session_path(m, id)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every file in the sessions directory and its bytes, by name.
fn snapshot(m: &Model) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(sessions_dir(m.dir.path()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// `reflect ARGS` (no `-m` added), sealed into the model's sandbox.
fn bare(m: &Model, args: &[&str]) -> (i32, String, String) {
    let mut cmd = reflect(m.dir.path());
    cmd.args(args);
    outcome(cmd)
}

/// `reflect ARGS` in a pseudo-terminal, to its end: (exit code, everything it wrote).
fn in_terminal(m: &Model, args: &[&str]) -> (u32, String) {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    use std::io::Read;
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pseudo-terminal");
    let mut cmd = CommandBuilder::new(assert_cmd::cargo::cargo_bin("reflect"));
    cmd.args(args);
    seal(&mut cmd, m.dir.path());
    cmd.env("TERM", "xterm-256color");
    let mut child = pair.slave.spawn_command(cmd).expect("spawn reflect");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // Ends with the child: EOF, or EIO once the terminal's last user has gone.
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    let status = child.wait().expect("wait for reflect");
    (
        status.exit_code(),
        String::from_utf8_lossy(&out).into_owned(),
    )
}

#[test]
fn a_damaged_latest_session_stops_continue_and_resume_and_nothing_is_appended() {
    let m = model(reflection_script());
    let older = first_turn(&m, "Q1");
    let latest = first_turn(&m, "Q2");
    std::fs::write(session_path(&m, &latest), "{\"version\":1").unwrap();
    let before = snapshot(&m);

    let (code, out, err) = run(&m, &["-c", "go on"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "no answer: {out}");
    for want in [
        format!("{latest}.json"),
        format!("`reflect sessions rm {latest}`"),
        "--session ID".to_string(),
    ] {
        assert!(err.contains(&want), "{want}: {err}");
    }
    assert!(
        !err.contains(&older),
        "the older session is not taken: {err}"
    );
    assert_eq!(snapshot(&m), before, "nothing appended anywhere");

    // The chat: --resume, and -c without a question, stop before the screen opens.
    let path = m.path.to_str().unwrap();
    for args in [&["-m", path, "--resume"][..], &["-m", path, "-c"][..]] {
        let (code, text) = in_terminal(&m, args);
        assert_eq!(code, 2, "{args:?}: {text}");
        assert!(
            text.contains(&format!("`reflect sessions rm {latest}`")),
            "{args:?}: {text}"
        );
        assert!(!text.contains("Resumed session"), "{args:?}: {text}");
    }
    assert_eq!(snapshot(&m), before, "nothing appended anywhere");

    // What the message says to do works: with the file deleted, -c goes on in the older one.
    let (code, _, err) = bare(&m, &["sessions", "rm", &latest]);
    assert_eq!(code, 0, "{err}");
    let (code, v, err) = run_json(&m, &["-c", "go on"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["session"], older.as_str());
}

#[test]
fn sessions_rm_deletes_a_damaged_session() {
    let m = model(reflection_script());
    let id = first_turn(&m, "Q1");
    std::fs::write(session_path(&m, &id), "{\"version\":1").unwrap();
    let (code, _, err) = bare(&m, &["sessions", "rm", &id[..15]]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("removed session {id}")), "{err}");
    assert!(!session_path(&m, &id).exists());
    let (code, out, err) = bare(&m, &["sessions", "list"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
}
