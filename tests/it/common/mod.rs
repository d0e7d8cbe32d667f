//! Shared helpers for the integration tests: scripted models written into a temporary
//! directory, and the `reflect` binary in a sealed environment ([`seal`]): its own home,
//! config, data and cache directories, no `REFLECT_*` variable of the developer's, and a check
//! that nothing was written to the home directory it was given.
#![allow(dead_code)]

pub mod fake_server;
pub mod hub_server;

use reflect::gguf::{ScriptItem, ScriptedModel};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A temporary directory that a test's runs of the binary live in. `home/` is the `HOME` they
/// see; it starts empty and must still be empty when the sandbox is dropped: everything reflect
/// writes belongs in the directories [`seal`] names, never in the user's home.
pub struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("home")).expect("home dir");
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

/// Every file and directory below `dir`.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(tree(&path));
        }
        out.push(path);
    }
    out
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let written = tree(&self.home());
        assert!(
            written.is_empty(),
            "reflect wrote into the home directory it was given: {written:?}"
        );
    }
}

/// What a command that can take environment variables needs for [`seal`].
pub trait Env {
    fn set_var(&mut self, key: &str, value: &OsStr);
    fn unset_var(&mut self, key: &str);
}

impl Env for std::process::Command {
    fn set_var(&mut self, key: &str, value: &OsStr) {
        self.env(key, value);
    }
    fn unset_var(&mut self, key: &str) {
        self.env_remove(key);
    }
}

impl Env for assert_cmd::Command {
    fn set_var(&mut self, key: &str, value: &OsStr) {
        self.env(key, value);
    }
    fn unset_var(&mut self, key: &str) {
        self.env_remove(key);
    }
}

impl Env for portable_pty::CommandBuilder {
    fn set_var(&mut self, key: &str, value: &OsStr) {
        self.env(key, value);
    }
    fn unset_var(&mut self, key: &str) {
        self.env_remove(key);
    }
}

/// Variables that could point the binary at the developer's files or change its behaviour:
/// all of reflect's, the XDG base directories, Hugging Face's.
fn inherited(key: &str) -> bool {
    ["REFLECT_", "XDG_", "HF_", "HUGGING_FACE_"]
        .iter()
        .any(|p| key.starts_with(p))
}

/// Seals a command into `base`: `HOME` is `base/home`; config, data and cache live in
/// `base/config/reflect`, `base/data/reflect` and `base/reflect` (through both reflect's own
/// variables and the XDG ones); every other `REFLECT_*`, `XDG_*` and `HF_*` variable of the
/// test process is removed, and so is `NO_COLOR` (tests that want it set it).
pub fn seal<C: Env>(cmd: &mut C, base: &Path) {
    for (key, _) in std::env::vars_os() {
        if let Some(key) = key.to_str().filter(|k| inherited(k)) {
            cmd.unset_var(key);
        }
    }
    cmd.unset_var("NO_COLOR");
    let home = base.join("home");
    let _ = std::fs::create_dir_all(&home);
    for (key, path) in [
        ("HOME", home),
        ("XDG_CACHE_HOME", base.to_path_buf()),
        ("XDG_CONFIG_HOME", base.join("config")),
        ("REFLECT_CONFIG_DIR", base.join("config").join("reflect")),
        ("XDG_DATA_HOME", base.join("data")),
        ("REFLECT_DATA_DIR", base.join("data").join("reflect")),
        ("XDG_STATE_HOME", base.join("state")),
        ("HF_HOME", base.join("huggingface")),
    ] {
        cmd.set_var(key, path.as_os_str());
    }
}

/// A normal (plain-text) token.
pub fn t(s: &str) -> ScriptItem {
    ScriptItem::text(s)
}

/// A control token, as Reflection-70B's tags are.
pub fn s(s: &str) -> ScriptItem {
    ScriptItem::special(s)
}

/// A sandbox holding one model file.
pub struct Model {
    pub dir: Sandbox,
    pub path: PathBuf,
}

pub fn model(items: Vec<ScriptItem>) -> Model {
    write(ScriptedModel::new(items))
}

pub fn write(m: ScriptedModel) -> Model {
    let dir = Sandbox::new();
    let path = dir.path().join("model.gguf");
    m.write(&path).expect("write scripted model");
    Model { dir, path }
}

/// The binary sealed into `base` ([`seal`]), with `NO_COLOR` and empty stdin.
pub fn reflect(base: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("reflect").expect("binary");
    seal(&mut cmd, base);
    cmd.env("NO_COLOR", "1").write_stdin("");
    cmd
}

/// Runs a command of the binary to its end: (exit code, stdout, stderr).
pub fn outcome(mut cmd: assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().expect("run reflect");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `reflect -m model ARGS` and returns (exit code, stdout, stderr).
pub fn run(m: &Model, args: &[&str]) -> (i32, String, String) {
    let mut cmd = reflect(m.dir.path());
    cmd.arg("-m").arg(&m.path).args(args);
    outcome(cmd)
}

/// The directory the binary saves sessions in, for `reflect(cache)` and `spawn_piped`.
pub fn sessions_dir(cache: &Path) -> PathBuf {
    cache.join("data").join("reflect").join("sessions")
}

/// Runs with `--format json` and parses the object.
pub fn run_json(m: &Model, args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(m, &all);
    let v = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, v, err)
}

/// The standard Reflection answer with tags as special tokens.
pub fn reflection_script() -> Vec<ScriptItem> {
    vec![
        s("<thinking>"),
        t("\nI add 2 and 2."),
        s("<reflection>"),
        t("\nCheck: 2+2 is 4, not 5."),
        s("</reflection>"),
        t("\nSo it is 4.\n"),
        s("</thinking>"),
        s("<output>"),
        t("\nThe answer is 4.\n"),
        s("</output>"),
    ]
}

/// The Reflection answer with its tags written as plain text, split over tokens.
pub fn plain_tag_script() -> Vec<ScriptItem> {
    vec![
        t("<think"),
        t("ing>\nI add 2 and 2."),
        t("<reflection>"),
        t("\nCheck: 2+2 is 4.</refl"),
        t("ection>\nSo it is 4.\n</thinking>"),
        t("<output>\nThe answer "),
        t("is 4.\n</output>"),
    ]
}

/// A Reflection answer that thinks `n` words (" {prefix}0 {prefix}1 …", a token each), then
/// answers "The answer is 4.".
pub fn thinker(prefix: &str, n: usize) -> Vec<ScriptItem> {
    let words: String = (0..n).map(|i| format!(" {prefix}{i}")).collect();
    let mut items = vec![s("<thinking>")];
    reflect::gguf::push_prose(&words, &mut Default::default(), &mut items);
    items.extend([
        s("</thinking>"),
        s("<output>"),
        t("\nThe answer is 4."),
        s("</output>"),
    ]);
    items
}

/// [`thinker`], slow enough (a few ms a token, padded with zero layers) for a test to act
/// mid-thought.
pub fn slow_thinker(prefix: &str, n: usize) -> Model {
    let mut sm = ScriptedModel::new(thinker(prefix, n));
    sm.padding = reflect::gguf::Padding {
        min_embd: 512,
        layers: 8,
    };
    write(sm)
}

/// A model that answers "w0 w1 … w{n-1}" slowly enough (a few ms a token, padded with zero
/// layers) for a test to cancel, interrupt or signal it mid-generation.
pub fn slow_words(n: usize) -> Model {
    let words: String = (0..n).map(|i| format!("w{i} ")).collect();
    let mut items = Vec::new();
    reflect::gguf::push_prose(&words, &mut Default::default(), &mut items);
    let mut sm = ScriptedModel::new(items);
    sm.padding = reflect::gguf::Padding {
        min_embd: 512,
        layers: 8,
    };
    write(sm)
}

/// Starts `reflect -m MODEL ARGS` with piped output and no input, for tests that read or
/// signal it while it runs.
pub fn spawn_piped(m: &Model, args: &[&str]) -> std::process::Child {
    use std::process::Stdio;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, m.dir.path());
    cmd.arg("-m")
        .arg(&m.path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn reflect")
}

/// Says why a test is skipped, past the test harness's capture (which swallows `eprintln!`),
/// so that a skip is seen in the run's output.
pub fn skip_note(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "note: skipped: {why}");
}

/// Whether `python3` imports `module` at exactly `version` (a package the tests compare reflect
/// with; scripts/bootstrap.sh installs it). CI must have it; elsewhere the test is skipped with
/// a note that says how to run it (`purpose` says what the package is for).
pub fn python_package(module: &str, version: &str, purpose: &str) -> bool {
    let found = std::process::Command::new("python3")
        .args([
            "-c",
            &format!("import {module}; print({module}.__version__)"),
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if found.as_deref() == Some(version) {
        return true;
    }
    let found = found.map_or("not installed".to_string(), |v| format!("version {v}"));
    assert!(
        std::env::var_os("CI").is_none(),
        "{module}=={version} is required in CI ({found}): scripts/bootstrap.sh installs it"
    );
    skip_note(&format!(
        "`pip install {module}=={version}` {purpose} ({found})"
    ));
    false
}

/// A port on 127.0.0.1 that refuses connections for as long as this lives: a socket bound to
/// it that does not listen. Unlike a listener bound and dropped, no other test can take the
/// port in the meantime.
pub struct ClosedPort {
    fd: std::os::fd::OwnedFd,
    addr: std::net::SocketAddr,
}

impl ClosedPort {
    pub fn new() -> ClosedPort {
        use std::os::fd::FromRawFd;
        // SAFETY: a fresh socket, owned at once; `bind` and `getsockname` write only into the
        // address structures passed with their sizes.
        unsafe {
            let raw = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(raw >= 0, "socket: {}", std::io::Error::last_os_error());
            let fd = std::os::fd::OwnedFd::from_raw_fd(raw);
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let sp = &mut sa as *mut libc::sockaddr_in as *mut libc::sockaddr;
            assert_eq!(libc::bind(raw, sp, len), 0, "bind 127.0.0.1:0");
            let mut got = len;
            assert_eq!(libc::getsockname(raw, sp, &mut got), 0);
            let port = u16::from_be(sa.sin_port);
            ClosedPort {
                fd,
                addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            }
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        let _ = &self.fd;
        self.addr
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        ClosedPort::new()
    }
}

/// Runs `cmd` to its end, or kills it once `limit` has passed and fails the test, saying so:
/// for outside programs (a browser) that can hang.
pub fn status_within(
    cmd: &mut std::process::Command,
    limit: std::time::Duration,
) -> std::process::ExitStatus {
    let name = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(limit) {
        Ok(status) => {
            let _ = waiter.join();
            status.unwrap()
        }
        Err(_) => {
            // SAFETY: the child is not reaped until the waiter's `wait` returns, so the pid is
            // still the child's.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            let _ = waiter.join();
            panic!("{name} did not finish within {limit:?}: killed");
        }
    }
}

/// How long `f` took, with what it returned.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, std::time::Duration) {
    let started = std::time::Instant::now();
    let out = f();
    (out, started.elapsed())
}

/// The longest a run may take, derived from a `reference` run of the same kind measured in
/// the same test (so that it scales with the machine and its load) rather than a fixed
/// number of seconds: ten references, plus twice the waits the run is told to make (a
/// timeout, a Retry-After). A run that waits for something it should not (a stalled server,
/// a back-off) takes far longer.
pub fn bound(reference: std::time::Duration, waits: std::time::Duration) -> std::time::Duration {
    reference * 10 + waits * 2
}

/// `reflect ARGS` in a pseudo-terminal (stdin, stdout and stderr all on it) to its end: the
/// exit code and every byte it wrote.
pub fn run_in_pty(m: &Model, args: &[&str], rows: u16, cols: u16) -> (u32, String) {
    use std::io::Read;
    let (master, mut child) = spawn_in_pty(m, args, &[], rows, cols);
    let mut reader = master.try_clone_reader().expect("reader");
    let collected = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = reader.read_to_end(&mut all);
        all
    });
    // A guard against a hang only (no speed is assumed): minutes, then the child is killed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for reflect") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("reflect {args:?} was still running after 5 minutes: a hang");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // The reader ends with EIO once the child, and so every user of the terminal's slave side,
    // is gone.
    drop(master);
    let bytes = collected.join().expect("reader thread");
    (
        status.exit_code(),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// The terminal's master side, and `reflect ARGS` (sealed into the model's sandbox, with `env`
/// set) started on a pseudo-terminal of `rows` × `cols` as stdin, stdout and stderr.
pub fn spawn_in_pty(
    m: &Model,
    args: &[&str],
    env: &[(&str, &str)],
    rows: u16,
    cols: u16,
) -> (
    Box<dyn portable_pty::MasterPty + Send>,
    Box<dyn portable_pty::Child + Send + Sync>,
) {
    spawn_in_pty_at(m, args, env, (rows, cols), None)
}

/// [`spawn_in_pty`] with the working directory `cwd` (the tools' workspace), when given.
pub fn spawn_in_pty_at(
    m: &Model,
    args: &[&str],
    env: &[(&str, &str)],
    (rows, cols): (u16, u16),
    cwd: Option<&Path>,
) -> (
    Box<dyn portable_pty::MasterPty + Send>,
    Box<dyn portable_pty::Child + Send + Sync>,
) {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    let pair = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pseudo-terminal");
    let mut cmd = CommandBuilder::new(assert_cmd::cargo::cargo_bin("reflect"));
    cmd.args(args);
    seal(&mut cmd, m.dir.path());
    cmd.env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(dir) = cwd {
        cmd.cwd(dir);
    }
    let child = pair.slave.spawn_command(cmd).expect("spawn reflect");
    (pair.master, child)
}

/// A local engine's events, as the tests read them.
pub type Events = tokio::sync::mpsc::UnboundedReceiver<reflect::llm::EngineEvent>;

/// Each generation's raw events added up, with its completion, until `n` are done (ids 1..=n).
pub fn raw_texts(events: &mut Events, n: usize) -> Vec<(String, reflect::llm::Completion)> {
    let mut raw = vec![String::new(); n];
    let mut done: Vec<Option<reflect::llm::Completion>> = vec![None; n];
    while done.iter().any(Option::is_none) {
        match events.blocking_recv().expect("engine alive") {
            reflect::llm::EngineEvent::Raw { id, text } => raw[id as usize - 1].push_str(&text),
            reflect::llm::EngineEvent::Done(d) => {
                let i = d.id as usize - 1;
                done[i] = Some(*d);
            }
            reflect::llm::EngineEvent::Error(e) => panic!("generation failed: {e}"),
            _ => {}
        }
    }
    raw.into_iter().zip(done.into_iter().flatten()).collect()
}
