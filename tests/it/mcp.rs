//! The MCP client against real servers: the reference servers from the npm registry
//! (`@modelcontextprotocol/server-everything`, `server-filesystem`; .ci/run installs them and
//! sets REFLECT_MCP_SERVERS) and a fault server written with the Python `mcp` package
//! (tests/fixtures/mcp/fault_server.py): `reflect mcp list|call|trust` end to end and the
//! `mcp::Servers` seam the tool loops use.

use crate::common::{self, outcome, Sandbox};
use reflect::mcp::{Servers, Sources, State};
use reflect::tools::ToolCall;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The folder the reference servers are installed in (its node_modules/.bin); in CI a missing
/// one fails the test, elsewhere it is skipped with a note.
pub(crate) fn reference_servers() -> Option<PathBuf> {
    let dir = std::env::var_os("REFLECT_MCP_SERVERS").map(PathBuf::from);
    let bin = dir.map(|d| d.join("node_modules").join(".bin"));
    if let Some(bin) = bin.filter(|b| b.join("mcp-server-everything").exists()) {
        return Some(bin);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "REFLECT_MCP_SERVERS must name the reference MCP servers in CI (scripts/mcp-servers.sh)"
    );
    common::skip_note(
        "REFLECT_MCP_SERVERS=\"$(bash scripts/mcp-servers.sh)\" runs the tests with the reference MCP servers",
    );
    None
}

/// Whether the Python `mcp` package the fault server needs is there, at the version
/// scripts/bootstrap.sh pins (it has no `__version__`: its distribution's metadata is read). CI
/// must have it; elsewhere the test is skipped with a note.
pub(crate) fn python_mcp() -> bool {
    const VERSION: &str = "2.3.0";
    let found = std::process::Command::new("python3")
        .args([
            "-c",
            "import importlib.metadata as m, mcp; print(m.version('mcp'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if found.as_deref() == Some(VERSION) {
        return true;
    }
    let found = found.map_or("not installed".to_string(), |v| format!("version {v}"));
    assert!(
        std::env::var_os("CI").is_none(),
        "the Python mcp=={VERSION} package is required in CI ({found}): scripts/bootstrap.sh installs it"
    );
    common::skip_note(&format!(
        "`pip install mcp=={VERSION}` runs the MCP fault server ({found})"
    ));
    false
}

pub(crate) fn fault_server() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mcp/fault_server.py")
        .display()
        .to_string()
}

/// A sandbox with `mcp.json` holding `servers`, and a workspace folder in it.
fn sandbox(servers: Value) -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    let config = sb.path().join("config").join("reflect");
    std::fs::create_dir_all(&config).unwrap();
    let text = json!({ "mcpServers": servers }).to_string();
    std::fs::write(config.join("mcp.json"), text).unwrap();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    (sb, work)
}

/// `reflect mcp ARGS` in the workspace: (exit code, stdout, stderr).
fn mcp(sb: &Sandbox, work: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = common::reflect(sb.path());
    cmd.current_dir(work).arg("mcp").args(args);
    outcome(cmd)
}

fn faults(extra: Value) -> Value {
    let mut server = json!({"command": "python3", "args": [fault_server()]});
    server
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({ "f": server })
}

#[test]
fn everything_server_tools_prompts_and_a_scrubbed_environment() {
    let Some(bin) = reference_servers() else {
        return;
    };
    let every = json!({"every": {
        "command": bin.join("mcp-server-everything"),
        "env": {"GIVEN": "yes", "PASSED_TOKEN": "${GITHUB_TOKEN}"},
    }});
    let (sb, work) = sandbox(every);

    let (code, out, err) = mcp(&sb, &work, &["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("started, protocol 20"), "{out}");
    for tool in [
        "every__echo",
        "every__get-sum",
        "every__get-env",
        "every__trigger-long-running-operation",
    ] {
        assert!(out.contains(&format!("    {tool}  ")), "{tool} in {out}");
    }
    assert!(out.contains("/every:simple-prompt"), "{out}");
    assert!(out.contains("/every:args-prompt city [state]"), "{out}");

    let (code, out, _) = mcp(
        &sb,
        &work,
        &["call", "every__echo", r#"{"message": "hi there"}"#],
    );
    assert_eq!((code, out.as_str()), (0, "Echo: hi there\n"));
    let (code, out, _) = mcp(
        &sb,
        &work,
        &["call", "every__get-sum", r#"{"a": 2, "b": 40}"#],
    );
    assert_eq!(code, 0);
    assert!(out.contains("42"), "{out}");

    let mut cmd = common::reflect(sb.path());
    cmd.current_dir(&work)
        .args(["mcp", "call", "every__get-env"])
        .env("SOME_API_KEY", "sk-leak")
        .env("GITHUB_TOKEN", "gh-given")
        .env("PLAIN_VAR", "plain");
    let (code, out, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    let env: Value = serde_json::from_str(&out).expect("get-env prints JSON");
    assert_eq!(env["PLAIN_VAR"], "plain");
    assert_eq!(env["GIVEN"], "yes", "the configured env is set");
    assert_eq!(
        env["PASSED_TOKEN"], "gh-given",
        "a secret the config names is passed"
    );
    assert!(
        env.get("SOME_API_KEY").is_none() && env.get("GITHUB_TOKEN").is_none(),
        "{out}"
    );
}

#[test]
fn a_long_running_operation_is_cancelled_at_its_time_limit() {
    let Some(bin) = reference_servers() else {
        return;
    };
    let (sb, work) = sandbox(json!({"every": {"command": bin.join("mcp-server-everything")}}));
    let args = r#"{"duration": 600, "steps": 10}"#;
    let (code, out, _) = mcp(
        &sb,
        &work,
        &[
            "call",
            "every__trigger-long-running-operation",
            args,
            "--timeout",
            "1",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "every: trigger-long-running-operation timed out after 1 s (cancelled)\n"
    );
}

#[test]
fn filesystem_server_reads_a_file_and_refuses_outside_its_folder() {
    let Some(bin) = reference_servers() else {
        return;
    };
    let shared = tempfile::tempdir().unwrap();
    let root = shared.path().canonicalize().unwrap();
    std::fs::write(root.join("notes.txt"), "the notes\n").unwrap();
    let fs = json!({"fs": {"command": bin.join("mcp-server-filesystem"), "args": [root]}});
    let (sb, work) = sandbox(fs);
    let path = root.join("notes.txt").display().to_string();
    let (code, out, err) = mcp(
        &sb,
        &work,
        &[
            "call",
            "fs__read_text_file",
            &json!({"path": path}).to_string(),
        ],
    );
    assert_eq!((code, out.as_str()), (0, "the notes\n"), "{err}");
    let (code, out, _) = mcp(
        &sb,
        &work,
        &["call", "fs__read_text_file", r#"{"path": "/etc/hostname"}"#],
    );
    assert_eq!(code, 1, "an isError result is a failure: {out}");
}

#[test]
fn faults_crash_hang_huge_failure_bad_schema_and_slow_start() {
    if !python_mcp() {
        return;
    }
    let marks = tempfile::tempdir().unwrap();
    let cancelled = marks.path().join("cancelled");
    let env = json!({"CANCELLED_FILE": cancelled});
    let (sb, work) = sandbox(faults(json!({"env": env, "tool_timeout_sec": 1})));

    let (code, out, err) = mcp(&sb, &work, &["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("    f__echo  Returns the text."), "{out}");
    assert!(
        out.contains("withdrawn: bad_schema: its input schema's properties"),
        "{out}"
    );
    let (code, _, err) = mcp(&sb, &work, &["call", "f__bad_schema", r#"{"x": 1}"#]);
    assert_eq!(code, 2, "a withdrawn tool is unknown: {err}");
    assert!(err.contains("unknown tool 'f__bad_schema'"), "{err}");

    let (code, out, _) = mcp(&sb, &work, &["call", "f__crash"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("f: the server stopped during the call"),
        "{out}"
    );

    let (code, out, _) = mcp(&sb, &work, &["call", "f__hang"]);
    assert_eq!(
        (code, out.as_str()),
        (1, "f: hang timed out after 1 s (cancelled)\n")
    );
    let note = std::fs::read_to_string(&cancelled).unwrap_or_default();
    assert_eq!(
        note, "cancelled",
        "the server heard notifications/cancelled"
    );

    let (code, out, _) = mcp(&sb, &work, &["call", "f__huge", r#"{"size": 300000}"#]);
    assert_eq!(code, 0);
    assert!(
        out.len() < 70_000 && out.contains("[cut: "),
        "capped: {} bytes",
        out.len()
    );

    let (code, _, _) = mcp(&sb, &work, &["call", "f__fail"]);
    assert_eq!(code, 1, "an isError result");

    let slow = faults(json!({"env": {"START_DELAY": "30"}, "startup_timeout_sec": 0.5}));
    let (sb, work) = sandbox(slow);
    let (code, out, _) = mcp(&sb, &work, &["list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("not started: did not start within 0.5 s"),
        "{out}"
    );
    let (code, _, err) = mcp(&sb, &work, &["call", "f__echo", r#"{"text": "x"}"#]);
    assert_eq!(code, 1);
    assert!(
        err.contains("MCP server 'f' did not start: did not start within 0.5 s"),
        "{err}"
    );
}

#[test]
fn a_project_mcp_json_starts_nothing_until_trusted() {
    let (sb, work) = sandbox(json!({}));
    let started = work.join("started");
    let project = json!({"mcpServers": {"proj": {
        "command": "sh", "args": ["-c", format!("touch '{}'", started.display())],
    }}});
    std::fs::write(work.join(".mcp.json"), project.to_string()).unwrap();

    let (code, out, _) = mcp(&sb, &work, &["list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(".mcp.json is not trusted, so its servers (proj) were not started"),
        "{out}"
    );
    assert!(!started.exists(), "an untrusted project's server ran");
    let (code, _, err) = mcp(&sb, &work, &["call", "proj__x"]);
    assert_eq!(code, 2, "{err}");
    assert!(!started.exists());

    let (code, out, _) = mcp(&sb, &work, &["trust"]);
    assert_eq!(code, 0);
    assert!(out.contains("proj: runs sh -c touch"), "{out}");
    let (_, out, _) = mcp(&sb, &work, &["list"]);
    assert!(out.contains("proj  ("), "{out}");
    assert!(started.exists(), "a trusted project's server starts");

    // An edited file is not trusted any more.
    std::fs::remove_file(&started).unwrap();
    std::fs::write(work.join(".mcp.json"), project.to_string() + "\n").unwrap();
    let (_, out, _) = mcp(&sb, &work, &["list"]);
    assert!(out.contains("is not trusted"), "{out}");
    assert!(!started.exists());
}

#[test]
fn config_mistakes_and_bad_usage_are_exit_2_naming_file_and_key() {
    let table: [(Value, &str); 5] = [
        (
            json!({"x": {"command": "a", "args": "b"}}),
            "mcpServers.x.args: expected a list of strings",
        ),
        (
            json!({"x": {"command": "a", "env": {"K": 1}}}),
            "mcpServers.x.env.K: expected a string",
        ),
        (
            json!({"x": {"url": "ftp://h"}}),
            "mcpServers.x.url: expected an http:// or https:// URL",
        ),
        (json!({"x": {"cmd": "a"}}), "mcpServers.x.cmd: unknown key"),
        (
            json!({"a__b": {"command": "a"}}),
            "mcpServers.a__b: a server name is",
        ),
    ];
    for (servers, message) in table {
        let (sb, work) = sandbox(servers);
        let (code, _, err) = mcp(&sb, &work, &["list"]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("config/reflect/mcp.json: ") && err.contains(message),
            "{message}: {err}"
        );
    }
    let (sb, work) = sandbox(json!({}));
    std::fs::write(
        sb.path().join("config/reflect/mcp.json"),
        "{\n  \"mcpServers\": {,}\n}",
    )
    .unwrap();
    let (code, _, err) = mcp(&sb, &work, &["list"]);
    assert_eq!(code, 2);
    assert!(err.contains("mcp.json:2: not valid JSON"), "{err}");

    let (sb, work) = sandbox(json!({}));
    let (code, out, _) = mcp(&sb, &work, &["list"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("no MCP servers configured (add them to "),
        "{out}"
    );
    for (args, message) in [
        (
            vec!["call", "x__y", "{not json"],
            "the arguments are not valid JSON",
        ),
        (
            vec!["call", "x__y", "[1]"],
            "the arguments must be a JSON object",
        ),
        (vec!["call", "x__y"], "no MCP server 'x' for tool 'x__y'"),
        (vec!["trust"], "there is no .mcp.json in"),
    ] {
        let (code, _, err) = mcp(&sb, &work, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

/// The seam the tool loops use: schemas in the OpenAI shape, a call through a `ToolCall`, the
/// stop flag cancelling on the server, a crash withdrawing the server's tools.
#[test]
fn servers_seam_schemas_calls_stop_and_withdrawal() {
    if !python_mcp() {
        return;
    }
    let marks = tempfile::tempdir().unwrap();
    let (started, cancelled) = (marks.path().join("started"), marks.path().join("cancelled"));
    let env = json!({"STARTED_FILE": started, "CANCELLED_FILE": cancelled});
    let (sb, work) = sandbox(faults(json!({"env": env})));
    let config = sb.path().join("config").join("reflect");
    let sources = Sources::load(Some(&config), None, &work).unwrap();
    let servers = Servers::start(sources.to_start()).unwrap();

    let schemas = servers.schemas();
    let echo = schemas
        .iter()
        .find(|s| s["function"]["name"] == "f__echo")
        .expect("f__echo offered");
    assert_eq!(echo["type"], "function");
    assert_eq!(
        echo["function"]["parameters"]["properties"]["text"]["type"],
        "string"
    );
    assert!(!schemas
        .iter()
        .any(|s| s["function"]["name"] == "f__bad_schema"));
    assert_eq!(
        servers.find("f__echo").map(|(s, t)| (s, t.original)),
        Some(("f".into(), "echo".into()))
    );

    assert_eq!(servers.summary(), "MCP 1/1 servers, 5 tools");
    assert!(servers.failures().is_empty());
    let stop = AtomicBool::new(false);
    let args = |v: Value| v.as_object().unwrap().clone();
    let preview = servers.preview(&ToolCall::new("f__echo", args(json!({"text": "hello"}))));
    assert_eq!(
        preview,
        "MCP server f, tool echo:\n{\n  \"text\": \"hello\"\n}"
    );
    let out = servers.call(
        &ToolCall::new("f__echo", args(json!({"text": "hello"}))),
        &stop,
    );
    assert_eq!((out.ok, out.text.as_str()), (true, "hello"));

    // Stop once the tool is running: the server hears notifications/cancelled.
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            while !started.exists() {
                std::thread::yield_now();
            }
            stop.store(true, Ordering::SeqCst);
        });
        servers.call(&ToolCall::new("f__hang", Default::default()), &stop)
    });
    assert_eq!((out.ok, out.text.as_str()), (false, "cancelled"));
    stop.store(false, Ordering::SeqCst);

    let out = servers.call(&ToolCall::new("f__crash", Default::default()), &stop);
    assert!(
        !out.ok && out.text.contains("stopped during the call"),
        "{}",
        out.text
    );
    assert!(matches!(servers.servers()[0].state(), State::Failed(_)));
    assert!(
        servers.schemas().is_empty(),
        "a crashed server's tools are withdrawn"
    );
    let out = servers.call(&ToolCall::new("f__echo", Default::default()), &stop);
    assert_eq!(out.text, "unknown tool 'f__echo'");
    drop(servers);
    let note = std::fs::read_to_string(&cancelled).unwrap_or_default();
    assert_eq!(note, "cancelled");
}

/// Starts server-everything's streamable HTTP transport on a free port; returns it once it
/// says it listens (read from its stderr).
/// The major version of the `node` on the PATH (0 when it does not say).
fn node_major() -> u32 {
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let v = String::from_utf8_lossy(&o.stdout).trim().to_string();
            v.trim_start_matches('v').split('.').next()?.parse().ok()
        })
        .unwrap_or(0)
}

fn http_everything(bin: &Path) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = std::process::Command::new(bin.join("mcp-server-everything"));
    if node_major() < 19 {
        // Node 18 (Debian 12's) has the Web Crypto global the HTTP transport uses only behind
        // this flag; later versions have it by default.
        cmd.env("NODE_OPTIONS", "--experimental-global-webcrypto");
    }
    let mut child = cmd
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start server-everything");
    let err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut lines = err.lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        assert!(!line.contains("Failed to start"), "{line}");
        if line.contains("listening on port") {
            break;
        }
    }
    // Keep reading its stderr so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, port)
}

#[test]
fn streamable_http_server_tools_and_prompts() {
    let Some(bin) = reference_servers() else {
        return;
    };
    let (mut server, port) = http_everything(&bin);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let (sb, work) = sandbox(json!({"web": {"url": url, "headers": {"X-Test": "1"}}}));
    let (code, out, err) = mcp(
        &sb,
        &work,
        &["call", "web__echo", r#"{"message": "over http"}"#],
    );
    let (list_code, list, _) = mcp(&sb, &work, &["list"]);

    let config = sb.path().join("config").join("reflect");
    let sources = Sources::load(Some(&config), None, &work).unwrap();
    let servers = Servers::start_in_background(sources.to_start())
        .recv()
        .unwrap()
        .unwrap();
    let args = [("city".to_string(), "Paris".to_string())]
        .into_iter()
        .collect();
    let prompt = servers.prompt("web", "args-prompt", args);
    let missing = servers.prompt("web", "nope", Default::default());
    drop(servers);
    let _ = server.kill();
    let _ = server.wait();

    assert_eq!((code, out.as_str()), (0, "Echo: over http\n"), "{err}");
    assert_eq!(list_code, 0);
    assert!(
        list.contains("started, protocol 20") && list.contains("    web__get-sum  "),
        "{list}"
    );
    let prompt = prompt.expect("the prompt's text");
    assert!(prompt.contains("Paris"), "{prompt}");
    assert_eq!(
        missing,
        Err("MCP server 'web' has no prompt 'nope'".to_string())
    );
}

#[test]
fn a_servers_whole_process_group_is_stopped_with_reflect() {
    if !python_mcp() {
        return;
    }
    let marks = tempfile::tempdir().unwrap();
    let pid_file = marks.path().join("pid");
    // A server that leaves a process of its own behind, as `npx` or a shell wrapper may.
    let script = format!(
        "sleep 300 & echo $! > '{}'; exec python3 '{}'",
        pid_file.display(),
        fault_server()
    );
    let (sb, work) = sandbox(json!({"f": {"command": "sh", "args": ["-c", script]}}));
    let (code, out, err) = mcp(&sb, &work, &["call", "f__echo", r#"{"text": "x"}"#]);
    assert_eq!((code, out.as_str()), (0, "x\n"), "{err}");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next();
    assert!(
        stat.is_empty() || state == Some("Z"),
        "the server's sleep still runs: {stat}"
    );
}

#[test]
fn ctrl_c_cancels_a_call_on_the_server() {
    if !python_mcp() {
        return;
    }
    let marks = tempfile::tempdir().unwrap();
    let (started, cancelled) = (marks.path().join("started"), marks.path().join("cancelled"));
    let env = json!({"STARTED_FILE": started, "CANCELLED_FILE": cancelled});
    let (sb, work) = sandbox(faults(json!({"env": env})));
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    common::seal(&mut cmd, sb.path());
    let child = cmd
        .current_dir(&work)
        .args(["mcp", "call", "f__hang"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while !started.exists() {
        std::thread::yield_now();
    }
    // SAFETY: kill only sends a signal to the child started above.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cancelled\n");
    assert_eq!(
        std::fs::read_to_string(&cancelled).unwrap_or_default(),
        "cancelled"
    );
}
