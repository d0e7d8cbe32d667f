//! Shared helpers for the integration tests: scripted models written into a temporary
//! directory, and the `reflect` binary with a clean environment.
#![allow(dead_code)]

use reflect::gguf::{ScriptItem, ScriptedModel};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A normal (plain-text) token.
pub fn t(s: &str) -> ScriptItem {
    ScriptItem::text(s)
}

/// A control token, as Reflection-70B's tags are.
pub fn s(s: &str) -> ScriptItem {
    ScriptItem::special(s)
}

/// A temporary directory holding one scripted model.
pub struct Model {
    pub dir: TempDir,
    pub path: PathBuf,
}

pub fn model(items: Vec<ScriptItem>) -> Model {
    write(ScriptedModel::new(items))
}

pub fn write(m: ScriptedModel) -> Model {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.gguf");
    m.write(&path).expect("write scripted model");
    Model { dir, path }
}

/// The binary, with no configuration inherited from the developer's environment, empty stdin
/// and its cache under `cache`.
pub fn reflect(cache: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("reflect").expect("binary");
    cmd.env_remove("REFLECT_MODEL")
        .env_remove("REFLECT_LOG")
        .env("XDG_CACHE_HOME", cache)
        .env("XDG_CONFIG_HOME", cache.join("config"))
        .env("REFLECT_CONFIG_DIR", cache.join("config").join("reflect"))
        .env("XDG_DATA_HOME", cache.join("data"))
        .env("REFLECT_DATA_DIR", cache.join("data").join("reflect"))
        .env("NO_COLOR", "1")
        .write_stdin("");
    cmd
}

/// Runs `reflect -m model ARGS` and returns (exit code, stdout, stderr).
pub fn run(m: &Model, args: &[&str]) -> (i32, String, String) {
    let out = reflect(m.dir.path())
        .arg("-m")
        .arg(&m.path)
        .args(args)
        .output()
        .expect("run reflect");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"))
        .arg("-m")
        .arg(&m.path)
        .args(args)
        .env("XDG_CACHE_HOME", m.dir.path())
        .env("REFLECT_CONFIG_DIR", m.dir.path().join("config"))
        .env(
            "REFLECT_DATA_DIR",
            m.dir.path().join("data").join("reflect"),
        )
        .env_remove("REFLECT_MODEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn reflect")
}
