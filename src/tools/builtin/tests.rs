//! The built-in tools on a real directory: what each returns, and what each refuses.

use super::*;
use serde_json::json;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn call(name: &str, args: Value) -> ToolCall {
    let Value::Object(arguments) = args else {
        panic!("arguments must be an object")
    };
    ToolCall::new(name, arguments)
}

fn workspace() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::create_dir_all(p.join("target")).unwrap();
    std::fs::create_dir_all(p.join(".git")).unwrap();
    std::fs::write(p.join(".gitignore"), "target/\n").unwrap();
    std::fs::write(
        p.join("src/main.rs"),
        "fn main() {\n    println!(\"hi\");\n}\n",
    )
    .unwrap();
    std::fs::write(
        p.join("src/lib.rs"),
        "pub fn hi() {}\n// fn main is elsewhere\n",
    )
    .unwrap();
    std::fs::write(p.join("target/out.rs"), "fn main() {}\n").unwrap();
    std::fs::write(p.join("blob.bin"), b"fn main\0\x01\x02").unwrap();
    std::fs::write(p.join("README"), "one\ntwo\nthree\n").unwrap();
    let ws = Workspace::new(p).unwrap();
    (dir, ws)
}

fn run_tool(ws: &Workspace, name: &str, args: Value) -> Outcome {
    run(&call(name, args), ws, &AtomicBool::new(false))
}

#[test]
fn read_file_reads_text_whole_or_by_lines_and_refuses_the_rest() {
    let (dir, ws) = workspace();
    std::fs::write(dir.path().join("big.txt"), "x".repeat(70_000)).unwrap();
    let table: &[(Value, bool, &str)] = &[
        (json!({"path": "README"}), true, "one\ntwo\nthree\n"),
        (
            json!({"path": "README", "start_line": 2}),
            true,
            "two\nthree\n",
        ),
        (
            json!({"path": "README", "start_line": "2", "end_line": 2}),
            true,
            "two\n",
        ),
        (
            json!({"path": "README", "start_line": 5}),
            false,
            "README: lines 5 to 3 are not in the file, which has 3 lines",
        ),
        (
            json!({"path": "blob.bin"}),
            false,
            "blob.bin is a binary file (10 bytes): not read",
        ),
        (
            json!({"path": "src"}),
            false,
            "src is a directory; list it with list_dir",
        ),
        (
            json!({"path": "../x"}),
            false,
            "../x: refused, '..' leads out of the workspace",
        ),
        (
            json!({"path": "nope"}),
            false,
            "cannot read nope: No such file",
        ),
        (json!({}), false, "read_file needs the argument \"path\""),
        (
            json!({"path": 3}),
            false,
            "read_file: \"path\" must be a string",
        ),
    ];
    for (args, ok, want) in table {
        let got = run_tool(&ws, "read_file", args.clone());
        assert_eq!(got.ok, *ok, "{args}: {got:?}");
        assert!(got.text.starts_with(want), "{args}: {:?}", got.text);
    }
    let big = run_tool(&ws, "read_file", json!({"path": "big.txt"}));
    assert!(
        big.text.ends_with("[cut: 4464 of 70000 bytes not shown]"),
        "{}",
        &big.text[65_000..]
    );
}

#[test]
fn list_dir_lists_entries_without_ignored_ones() {
    let (_dir, ws) = workspace();
    let got = run_tool(&ws, "list_dir", json!({}));
    assert!(got.ok);
    assert_eq!(
        got.text,
        ".gitignore (8 bytes)\nREADME (14 bytes)\nblob.bin (10 bytes)\nsrc/"
    );
    let got = run_tool(&ws, "list_dir", json!({"path": "README"}));
    assert_eq!(
        (got.ok, got.text.as_str()),
        (false, "README is not a directory")
    );
}

#[test]
fn search_finds_lines_like_ripgrep_does() {
    let (_dir, ws) = workspace();
    let got = run_tool(&ws, "search", json!({"pattern": "fn main"}));
    assert!(got.ok);
    let mut lines: Vec<&str> = got.text.lines().collect();
    let tail = lines.pop().unwrap();
    lines.sort_unstable();
    // Not target/ (.gitignore), not blob.bin (binary).
    assert_eq!(
        lines,
        [
            "src/lib.rs:2:// fn main is elsewhere",
            "src/main.rs:1:fn main() {"
        ]
    );
    assert_eq!(tail, "[2 matches in 2 files]");
    let got = run_tool(&ws, "search", json!({"pattern": "fn", "glob": "main.rs"}));
    assert!(
        got.text
            .starts_with("src/main.rs:1:fn main() {\n[1 matches"),
        "{}",
        got.text
    );
    let got = run_tool(&ws, "search", json!({"pattern": "zzz", "path": "src"}));
    assert_eq!(got.text, "no matches for /zzz/ in src");
    let got = run_tool(&ws, "search", json!({"pattern": "("}));
    assert!(
        !got.ok && got.text.contains("is not a valid regular expression"),
        "{}",
        got.text
    );
}

#[test]
fn write_file_creates_and_replaces_inside_the_workspace_only() {
    let (dir, ws) = workspace();
    let got = run_tool(
        &ws,
        "write_file",
        json!({"path": "new/dir/a.txt", "content": "hello"}),
    );
    assert_eq!(got.text, "wrote 5 bytes to new/dir/a.txt (a new file)");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("new/dir/a.txt")).unwrap(),
        "hello"
    );
    let got = run_tool(&ws, "write_file", json!({"path": "README", "content": "x"}));
    assert_eq!(got.text, "wrote 1 bytes to README (it had 14)");
    let got = run_tool(&ws, "write_file", json!({"path": "/tmp/x", "content": "x"}));
    assert!(!got.ok && got.text.contains("absolute paths are not allowed"));
}

#[test]
fn edit_file_replaces_text_that_occurs_once_and_shows_the_diff() {
    let (dir, ws) = workspace();
    let edit = call(
        "edit_file",
        json!({"path": "README", "old": "two\n", "new": "2\n"}),
    );
    assert_eq!(
        preview(&edit, &ws),
        "--- a/README\n+++ b/README\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("README")).unwrap(),
        "one\ntwo\nthree\n"
    );
    let got = run(&edit, &ws, &AtomicBool::new(false));
    assert!(
        got.ok && got.text.starts_with("edited README:\n--- a/README"),
        "{}",
        got.text
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("README")).unwrap(),
        "one\n2\nthree\n"
    );
    let table: &[(Value, &str)] = &[
        (
            json!({"path": "README", "old": "zzz", "new": ""}),
            "the text to replace is not in README",
        ),
        (
            json!({"path": "src/lib.rs", "old": "fn", "new": ""}),
            "occurs 2 times in src/lib.rs",
        ),
        (
            json!({"path": "README", "old": "", "new": "x"}),
            "`old` is empty",
        ),
        (
            json!({"path": "README", "old": "one"}),
            "edit_file needs the argument \"new\"",
        ),
    ];
    for (args, want) in table {
        let got = run_tool(&ws, "edit_file", args.clone());
        assert!(!got.ok && got.text.contains(want), "{args}: {}", got.text);
    }
}

#[test]
fn run_command_reports_status_and_output_without_stdin_or_secrets() {
    let (_dir, ws) = workspace();
    let got = run_tool(
        &ws,
        "run_command",
        json!({"command": "echo out; echo err >&2; cat; ls README"}),
    );
    assert!(got.ok, "{got:?}");
    assert_eq!(
        got.text,
        "exit status 0\n--- stdout ---\nout\nREADME\n--- stderr ---\nerr"
    );
    let got = run_tool(&ws, "run_command", json!({"command": "exit 3"}));
    assert_eq!((got.ok, got.text.as_str()), (false, "exit status 3"));
    let got = run_tool(
        &ws,
        "run_command",
        json!({"command": "test -n \"$PATH\" && echo path"}),
    );
    assert!(
        got.text.ends_with("path"),
        "the rest of the environment stays: {}",
        got.text
    );
    let vars = [
        ("PATH", "/bin"),
        ("HF_TOKEN", "t"),
        ("OPENAI_API_KEY", "k"),
        ("REFLECT_API_KEY", "r"),
        ("GITHUB_TOKEN", "g"),
        ("AWS_SECRET_ACCESS_KEY", "a"),
        ("AWS_ACCESS_KEY", "a"),
        ("DB_PASSWORD", "p"),
        ("SECRET_KEY_BASE", "s"),
        ("GPG_PRIVATE_KEY", "g"),
        ("HOME", "/h"),
        ("TOKENIZERS_PARALLELISM", "1"),
        ("KEYMAP", "us"),
    ];
    let kept: Vec<String> =
        command::without_secrets(vars.iter().map(|(k, v)| (k.into(), v.into())))
            .into_iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
    assert_eq!(kept, ["PATH", "HOME", "TOKENIZERS_PARALLELISM", "KEYMAP"]);
}

/// Whether the process is still running (a zombie waiting to be reaped by init is not).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits until the process has stopped running; false if it still runs after a long while
/// (a failure, however loaded the machine).
fn ends(pid: i32) -> bool {
    let started = std::time::Instant::now();
    while running(pid) {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

/// The pid the command wrote, once it has (a failure if it never does).
fn pid_in(path: &Path) -> i32 {
    let started = std::time::Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{} was never written",
            path.display()
        );
        std::thread::yield_now();
    }
}

#[test]
fn a_timeout_kills_the_command_and_what_it_started() {
    let (dir, ws) = workspace();
    let got = run_tool(
        &ws,
        "run_command",
        json!({"command": "sleep 300 >/dev/null 2>&1 & echo $! > bg.pid; exec sleep 300", "timeout_s": 3}),
    );
    assert!(!got.ok);
    assert_eq!(got.text, "stopped: timed out after 3 s");
    let bg = pid_in(&dir.path().join("bg.pid"));
    assert!(ends(bg), "the background sleep {bg} outlived its command");
}

#[test]
fn output_held_by_a_process_outside_the_group_is_not_waited_for() {
    let (dir, ws) = workspace();
    let got = run_tool(
        &ws,
        "run_command",
        // The command ends only once the held process has left its group (written its pid):
        // killed before that, it would still be in the group.
        json!({"command": "setsid sh -c 'echo $$ > held.tmp; mv held.tmp held.pid; exec sleep 300' & while [ ! -f held.pid ]; do sleep 0.01; done; echo started"}),
    );
    let held = pid_in(&dir.path().join("held.pid"));
    // SAFETY: kills the test's own stray sleep.
    unsafe { libc::kill(held, libc::SIGKILL) };
    assert!(got.ok, "{got:?}");
    assert!(got.text.contains("--- stdout ---\nstarted"), "{}", got.text);
    assert!(
        got.text.contains("still held open by a process that left"),
        "{}",
        got.text
    );
}

#[test]
fn cancelling_stops_a_running_command() {
    let (dir, ws) = workspace();
    let stop = Arc::new(AtomicBool::new(false));
    let pid_file = dir.path().join("sh.pid");
    let canceller = {
        let (stop, pid_file) = (stop.clone(), pid_file.clone());
        std::thread::spawn(move || {
            pid_in(&pid_file);
            stop.store(true, Ordering::SeqCst);
        })
    };
    let c = call(
        "run_command",
        json!({"command": "echo $$ > sh.pid; sleep 300"}),
    );
    let got = run(&c, &ws, &stop);
    canceller.join().unwrap();
    assert_eq!((got.ok, got.text.as_str()), (false, "stopped: cancelled"));
    assert!(ends(pid_in(&pid_file)));
}

#[test]
fn every_builtin_offers_a_schema_and_unknown_tools_are_named() {
    for b in &BUILTINS {
        let s = b.schema();
        assert_eq!(s["function"]["name"], b.name);
        assert_eq!(s["function"]["parameters"]["type"], "object");
        for r in s["function"]["parameters"]["required"].as_array().unwrap() {
            assert!(s["function"]["parameters"]["properties"]
                .get(r.as_str().unwrap())
                .is_some());
        }
    }
    let got = run_tool(&workspace().1, "rm_rf", json!({}));
    assert!(!got.ok);
    assert_eq!(got.text, "there is no tool named 'rm_rf'; the tools are: read_file, list_dir, search, write_file, edit_file, run_command");
}

#[test]
fn secret_names_are_kept_from_commands_and_ordinary_ones_are_not() {
    use super::command::is_secret;
    for (name, secret) in [
        ("OPENAI_API_KEY", true),
        ("REFLECT_API_KEY", true),
        ("HF_TOKEN", true),
        ("GITHUB_PAT", true),
        ("STRIPE_SECRET", true),
        ("AWS_SECRET_ACCESS_KEY", true),
        ("MAPS_APIKEY", true),
        ("ANTHROPIC_KEY", true),
        ("DATABASE_URL", true),
        ("SENTRY_DSN", true),
        ("SSH_AUTH_SOCK", true),
        ("DB_PASSWD", true),
        ("PATH", false),
        ("HOME", false),
        ("LANG", false),
        ("KEYMAP", false),
        ("TERM", false),
    ] {
        assert_eq!(is_secret(name), secret, "{name}");
    }
}

#[test]
fn a_fifo_is_not_read_and_a_write_shows_its_whole_path() {
    let (_dir, ws) = workspace();
    let fifo = ws.root().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let stop = AtomicBool::new(false);
    let out = run(&call("read_file", json!({"path": "pipe"})), &ws, &stop);
    assert!(
        !out.ok && out.text.contains("not a regular file"),
        "{out:?}"
    );
    let long = format!("docs/{}/../../notes.txt", "a".repeat(80));
    let shown = preview(
        &call("write_file", json!({"path": long, "content": "x\n"})),
        &ws,
    );
    assert!(shown.starts_with("notes.txt: 1 lines"), "{shown}");
}

#[test]
fn the_names_settings_check_are_the_built_in_tools() {
    let names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
    assert_eq!(names, crate::tools::names::BUILTIN_NAMES);
}
