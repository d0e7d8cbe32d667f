//! MCP tools through the tool loops, end to end: the reference `everything` server
//! (REFLECT_MCP_SERVERS) configured in mcp.json, its `echo` tool offered as `every__echo` beside
//! the built-ins and called by a scripted local model (the real llama.cpp engine) and by the
//! fault-injection OpenAI server playing a model. Pipe mode: approved (`--allow`, `--yes`,
//! config.toml's `[tools] allow`) and denied; a server that fails to start, an untrusted project
//! `.mcp.json` and a broken mcp.json. The chat (pseudo-terminal): the servers in the status bar
//! and `/tools`, a call approved with `y`, a long call stopped with Esc, a server's prompt as a
//! slash command.

use crate::chat_tools_pty::{agent as endpoint_agent, results};
use crate::common::*;
use crate::mcp::reference_servers;
use reflect::gguf::agent::{self, Call, Format, Script};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const QUESTION: &str = "Say hi through the echo tool.";

/// mcp.json (and config.toml, when given) in the config directory of the sandbox at `base`.
fn configure(base: &Path, servers: Value, config_toml: Option<&str>) {
    let dir = base.join("config").join("reflect");
    std::fs::create_dir_all(&dir).unwrap();
    let text = json!({ "mcpServers": servers }).to_string();
    std::fs::write(dir.join("mcp.json"), text).unwrap();
    if let Some(toml) = config_toml {
        std::fs::write(dir.join("config.toml"), toml).unwrap();
    }
}

/// The everything server as `every`.
fn every(bin: &Path) -> Value {
    json!({"every": {"command": bin.join("mcp-server-everything")}})
}

/// The call of `every__echo` with `hi`.
fn echo_hi() -> (&'static str, Value) {
    ("every__echo", json!({"message": "hi"}))
}

/// A scripted local model that calls `every__echo`, with mcp.json beside it and a workspace.
fn local(bin: &Path) -> (Model, PathBuf) {
    let (name, args) = echo_hi();
    let mut sm = agent::model(Format::Llama3Json, Script::Answer(Call::new(name, args)));
    sm.context_length = 32768;
    let m = write(sm);
    configure(m.dir.path(), every(bin), None);
    let ws = m.dir.path().join("ws");
    std::fs::create_dir(&ws).unwrap();
    (m, ws)
}

/// `reflect -m MODEL --tools --workspace WS --ctx-size 32768 --format json ARGS QUESTION`
/// (the everything server's schemas are ~25,000 byte tokens), parsed.
fn ask_local(m: &Model, ws: &Path, args: &[&str]) -> (i32, Value, String) {
    let ws = ws.to_str().unwrap();
    let mut all = vec!["--tools", "--workspace", ws, "--ctx-size", "32768"];
    all.extend_from_slice(&["--format", "json"]);
    all.extend_from_slice(args);
    all.push(QUESTION);
    let (code, out, err) = run(m, &all);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\n{err}"));
    (code, v, err)
}

#[test]
fn a_local_model_calls_an_mcp_tool_allowed_with_allow_and_denied_without() {
    let Some(bin) = reference_servers() else {
        return;
    };
    let (m, ws) = local(&bin);
    let (code, v, err) = ask_local(&m, &ws, &["--allow", "every__echo"]);
    assert_eq!(code, 0, "{err}");
    let c = &v["tool_calls"][0];
    assert_eq!(c["name"], "every__echo", "{v}");
    assert_eq!(c["status"], "done", "{v}\n{err}");
    assert_eq!(c["result"], "Echo: hi");
    assert_eq!(
        v["output"],
        agent::ANSWER,
        "the model's step after the result"
    );
    assert!(!err.contains("MCP server"), "{err}");

    let (code, v, err) = ask_local(&m, &ws, &[]);
    assert_eq!(code, 0, "the model goes on: {err}");
    let c = &v["tool_calls"][0];
    assert_eq!(c["status"], "denied", "{v}");
    assert_eq!(
        c["result"],
        "denied: every__echo needs the user's approval, and no one could be asked"
    );
    assert!(
        err.contains(
            "reflect: denied every__echo message=hi: it needs approval, and pipe mode cannot ask; \
             allow it with --allow every__echo"
        ),
        "{err}"
    );
}

/// `reflect --endpoint URL --tools --format json ARGS QUESTION` in `ws` of the sandbox `base`.
fn ask_endpoint(base: &Path, ws: &Path, url: &str, args: &[&str]) -> (i32, Value, String) {
    let mut cmd = reflect(base);
    cmd.current_dir(ws)
        .args(["--endpoint", url, "--tools", "--format", "json"])
        .args(args)
        .arg(QUESTION);
    let (code, out, err) = outcome(cmd);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\n{err}"));
    (code, v, err)
}

/// The names of the tools a request offered.
fn offered(req: &crate::common::fake_server::Request) -> Vec<String> {
    let body = req.json();
    let tools = body["tools"].as_array().cloned().unwrap_or_default();
    let names = tools.iter().map(|t| t["function"]["name"].as_str());
    names.map(|n| n.unwrap_or_default().to_string()).collect()
}

#[test]
fn an_endpoint_model_calls_an_mcp_tool_approved_or_denied_and_a_failed_server_is_one_line() {
    let Some(bin) = reference_servers() else {
        return;
    };
    let mut servers = every(&bin);
    servers["broken"] = json!({"command": "/nonexistent/mcp-server"});
    let cases = [
        (&["--yes"][..], None, "Echo: hi"),
        (
            &[][..],
            Some("[tools]\nallow = [\"every__echo\"]\n"),
            "Echo: hi",
        ),
        (
            &[][..],
            None,
            "denied: every__echo needs the user's approval, and no one could be asked",
        ),
    ];
    for (flags, config, seen) in cases {
        let sb = Sandbox::new();
        configure(sb.path(), servers.clone(), config);
        let server = endpoint_agent(vec![echo_hi()]);
        let (code, v, err) = ask_endpoint(sb.path(), sb.path(), &server.url(), flags);
        assert_eq!(code, 0, "{flags:?} {config:?}: {err}");
        assert_eq!(
            v["output"],
            format!("Model saw: {seen}"),
            "{flags:?}: {err}"
        );
        let chats = server.chats();
        assert_eq!(results(&chats[1]), [seen], "the result reached the model");
        let names = offered(&chats[0]);
        assert!(names.contains(&"every__echo".to_string()), "{names:?}");
        assert!(
            names.contains(&"read_file".to_string()),
            "with the built-ins"
        );
        assert!(
            !names.iter().any(|n| n.starts_with("broken__")),
            "{names:?}"
        );
        let failed: Vec<_> = err
            .lines()
            .filter(|l| l.starts_with("reflect: MCP server broken: "))
            .collect();
        assert_eq!(failed.len(), 1, "one line for the failed server: {err}");
    }
}

#[test]
fn an_untrusted_project_file_starts_nothing_and_says_how_to_trust_it() {
    let sb = Sandbox::new();
    let ws = sb.path().join("work");
    std::fs::create_dir_all(&ws).unwrap();
    let marker = sb.path().join("started");
    let script = format!("touch {}", marker.display());
    let project = json!({"mcpServers": {"proj": {"command": "sh", "args": ["-c", script]}}});
    std::fs::write(ws.join(".mcp.json"), project.to_string()).unwrap();
    let server = endpoint_agent(vec![]);
    let (code, v, err) = ask_endpoint(sb.path(), &ws, &server.url(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["output"], "Model saw: nothing");
    assert!(err.contains("run `reflect mcp trust`"), "{err}");
    assert!(!marker.exists(), "the project's server never ran");
    assert!(!offered(&server.chats()[0])
        .iter()
        .any(|n| n.starts_with("proj__")));
}

#[test]
fn a_broken_mcp_json_is_a_usage_error_naming_the_file() {
    let sb = Sandbox::new();
    configure(sb.path(), json!({"x": {"command": 3}}), None);
    let server = endpoint_agent(vec![]);
    let mut cmd = reflect(sb.path());
    cmd.current_dir(sb.path())
        .args(["--endpoint", &server.url(), "--tools", QUESTION]);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("mcp.json"), "{err}");
    assert!(server.chats().is_empty(), "nothing was asked");
}

#[test]
fn the_chat_starts_the_servers_and_calls_an_mcp_tool_approved_with_y() {
    use crate::tui_pty::{start_at, wait_idle};
    let Some(bin) = reference_servers() else {
        return;
    };
    let ws = Sandbox::new();
    let server = endpoint_agent(vec![echo_hi()]);
    let m = model(reflection_script());
    configure(m.dir.path(), every(&bin), None);
    let url = server.url();
    let mut s = start_at(&m, &["--endpoint", &url, "--tools"], &[], Some(ws.path()));
    // The status bar: the server started, its tools counted.
    s.wait_text("MCP 1/1 servers");
    wait_idle(&s);
    s.send(b"/tools\r");
    let screen = s.wait_text("every__echo (ask)");
    assert!(screen.contains("read_file (allowed)"), "{screen}");
    s.send(b"say hi\r");
    let screen = s.wait_text("Allow every__echo?");
    assert!(screen.contains("MCP server every, tool echo"), "{screen}");
    s.wait_text("y run once"); // the prompt takes answers after a quiet moment
    s.send(b"y");
    s.wait_text("Model saw: Echo: hi");
    let chats = server.chats();
    assert!(offered(&chats[0]).contains(&"every__echo".to_string()));
    assert_eq!(results(&chats[1]), ["Echo: hi"]);
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn esc_stops_a_running_mcp_tool_in_the_chat_and_the_server_is_told_to_cancel() {
    use crate::mcp::{fault_server, python_mcp};
    use crate::tui_pty::{start_at, wait_idle};
    if !python_mcp() {
        return;
    }
    let ws = Sandbox::new();
    let (started, cancelled) = (ws.path().join("started"), ws.path().join("cancelled"));
    let faults = json!({"f": {"command": "python3", "args": [fault_server()], "env": {
        "STARTED_FILE": started, "CANCELLED_FILE": cancelled,
    }}});
    let server = endpoint_agent(vec![("f__hang", json!({}))]);
    let m = model(reflection_script());
    configure(
        m.dir.path(),
        faults,
        Some("[tools]\nallow = [\"f__hang\"]\n"),
    );
    let url = server.url();
    let mut s = start_at(&m, &["--endpoint", &url, "--tools"], &[], Some(ws.path()));
    s.wait_text("MCP 1/1 servers");
    s.send(b"hang\r");
    wait_until("the call to start on the server", || started.exists());
    // It never answers: only Esc ends it.
    s.send(b"\x1b");
    let screen = s.wait_text("⏹ interrupted");
    assert!(screen.contains("cancelled"), "{screen}");
    wait_until("the server to hear of it", || cancelled.exists());
    wait_idle(&s);
    assert_eq!(server.chats().len(), 1, "no next step");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn a_server_prompt_as_a_slash_command_fills_the_message_box() {
    use crate::tui_pty::start_at;
    let Some(bin) = reference_servers() else {
        return;
    };
    let ws = Sandbox::new();
    let server = endpoint_agent(vec![]);
    let m = model(reflection_script());
    configure(m.dir.path(), every(&bin), None);
    let url = server.url();
    let mut s = start_at(&m, &["--endpoint", &url, "--tools"], &[], Some(ws.path()));
    s.wait_text("MCP 1/1 servers");
    s.send(b"/every:args-prompt city=Lisbon\r");
    let screen = s.wait_text("Lisbon");
    let boxed = screen.lines().skip_while(|l| !l.contains("╭ Message"));
    assert!(boxed.take(4).any(|l| l.contains("Lisbon")), "{screen}");
    assert!(server.chats().is_empty(), "nothing was sent");
    // Ctrl+C empties the box.
    s.send(b"\x03");
    s.wait_for("an empty box", |t| !t.contains("Lisbon"));
    s.send(b"/every:no-such-prompt\r");
    s.wait_text("has no prompt 'no-such-prompt'");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn ctrl_c_in_pipe_mode_cancels_a_running_mcp_call_on_its_server() {
    use crate::mcp::{fault_server, python_mcp};
    use std::io::Read;
    if !python_mcp() {
        return;
    }
    let sb = Sandbox::new();
    let (started, cancelled) = (sb.path().join("started"), sb.path().join("cancelled"));
    let faults = json!({"f": {"command": "python3", "args": [fault_server()], "env": {
        "STARTED_FILE": started, "CANCELLED_FILE": cancelled,
    }}});
    configure(sb.path(), faults, None);
    let server = endpoint_agent(vec![("f__hang", json!({}))]);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, sb.path());
    let url = server.url();
    let args = ["--endpoint", &url, "--tools", "--allow", "f__hang"];
    let mut child = cmd
        .current_dir(sb.path())
        .args(args)
        .args(["--format", "json", QUESTION])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the call to start on the server", || started.exists());
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(v["tool_calls"][0]["status"], "cancelled", "{v}");
    assert!(cancelled.exists(), "the server was told to cancel: {err}");
    assert_eq!(server.chats().len(), 1, "no next step");
}

/// Waits until `pred` holds, failing after a minute (a hang guard, not a speed limit).
fn wait_until(what: &str, pred: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !pred() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

#[test]
fn the_chat_starts_no_untrusted_project_server_and_says_how_to_trust_it() {
    use crate::tui_pty::start_at;
    let ws = Sandbox::new();
    let marker = ws.path().join("started");
    let script = format!("touch {}", marker.display());
    let project = json!({"mcpServers": {"proj": {"command": "sh", "args": ["-c", script]}}});
    std::fs::write(ws.path().join(".mcp.json"), project.to_string()).unwrap();
    let server = endpoint_agent(vec![]);
    let m = model(reflection_script());
    let url = server.url();
    let mut s = start_at(&m, &["--endpoint", &url, "--tools"], &[], Some(ws.path()));
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    s.wait_for("the trust notice", |t| {
        words(t).contains(
            "names MCP servers that start only once you trust it: run `reflect mcp trust`",
        )
    });
    assert!(!marker.exists(), "the project's server never ran");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn a_second_ctrl_c_while_a_server_starts_leaves_no_server_behind() {
    let sb = Sandbox::new();
    let pid_file = sb.path().join("server.pid");
    // A server that never answers (nor notices that reflect is gone).
    let script = format!("echo $$ > {}; exec sleep 600", pid_file.display());
    let slow = json!({"slow": {"command": "sh", "args": ["-c", script]}});
    configure(sb.path(), slow, None);
    let server = endpoint_agent(vec![]);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, sb.path());
    let mut child = cmd
        .current_dir(sb.path())
        .args(["--endpoint", &server.url(), "--tools", QUESTION])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the server to start", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|p| p.trim().parse::<i32>().is_ok())
    });
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Ctrl+C until it exits (two signals sent at once may arrive as one): the first stops
    // the work, the next ends the process at once, the server still starting.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        std::thread::sleep(std::time::Duration::from_millis(25));
    };
    assert_eq!(status.code(), Some(130));
    wait_until("the server to be gone", || !alive(pid));
}

/// Whether process `pid` is there and not a zombie (one no one reaps may linger as such).
fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    state.is_some_and(|s| s != 'Z')
}
