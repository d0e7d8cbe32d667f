//! `--hf` and `reflect models pull|list|rm|info` against a Hugging Face Hub on loopback
//! (`common::hub_server`, pointed at with HF_ENDPOINT): the cache layout, quantisation
//! choice, resume, hash checks, access errors, split files; and interoperability with the
//! reference implementation, the `huggingface_hub` Python package.

use crate::common::hub_server::{git_blob_id, Fault, Gate, HubFile, HubRepo, HubServer};
use crate::common::*;
use reflect::gguf::ScriptedModel;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A scripted model's bytes: it answers "The answer is 4.".
fn model_bytes(pad_layers: u64) -> Vec<u8> {
    let mut sm = ScriptedModel::new(reflection_script());
    sm.padding.layers = pad_layers;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    sm.write(&path).unwrap();
    std::fs::read(path).unwrap()
}

const REPO: &str = "test-org/Tiny-Reflect-GGUF";

/// A repository with three quantisations (all the same scripted model, padded to differ in
/// size) and a README.
fn repo() -> HubRepo {
    HubRepo::new(
        REPO,
        vec![
            HubFile::lfs("Tiny-Reflect-Q2_K.gguf", model_bytes(1)),
            HubFile::lfs("Tiny-Reflect-Q4_K_M.gguf", model_bytes(2)),
            HubFile::lfs("Tiny-Reflect-Q8_0.gguf", model_bytes(3)),
            HubFile {
                name: "README.md".into(),
                bytes: b"# tiny\n".to_vec(),
                lfs: false,
            },
        ],
    )
}

fn hub_cmd(base: &Path, server: &HubServer) -> assert_cmd::Command {
    let mut cmd = reflect(base);
    cmd.env("HF_ENDPOINT", server.url());
    cmd
}

fn hub_dir(base: &Path) -> PathBuf {
    base.join("huggingface").join("hub")
}

/// `reflect models pull SPEC` against `server`: (exit code, stdout, stderr).
fn pull(base: &Path, server: &HubServer, spec: &str) -> (i32, String, String) {
    let mut cmd = hub_cmd(base, server);
    cmd.args(["models", "pull", spec]);
    outcome(cmd)
}

/// The files in the test repository's `blobs/`.
fn blob_names(base: &Path) -> Vec<String> {
    let blobs = hub_dir(base).join("models--test-org--Tiny-Reflect-GGUF/blobs");
    std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

#[test]
fn pull_writes_the_hugging_face_cache_layout_and_a_cached_file_needs_no_network() {
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    let (code, out, err) = pull(sb.path(), &server, &format!("{REPO}:q4_k_m"));
    assert_eq!(code, 0, "{err}");
    let r = repo();
    let commit = &r.commit;
    let want = hub_dir(sb.path()).join(format!(
        "models--test-org--Tiny-Reflect-GGUF/snapshots/{commit}/Tiny-Reflect-Q4_K_M.gguf"
    ));
    assert_eq!(out.trim(), want.display().to_string());
    assert!(
        err.contains("Tiny-Reflect-Q4_K_M.gguf (Q4_K_M"),
        "says which file: {err}"
    );
    assert!(err.contains("sha256 verified"), "{err}");
    // The layout huggingface_hub writes: a relative link into blobs/, named by the sha256.
    let sha = r.files[1].sha256();
    assert_eq!(
        std::fs::read_link(&want).unwrap(),
        PathBuf::from(format!("../../blobs/{sha}"))
    );
    assert_eq!(std::fs::read(&want).unwrap(), r.files[1].bytes);
    let refs = hub_dir(sb.path()).join("models--test-org--Tiny-Reflect-GGUF/refs/main");
    assert_eq!(std::fs::read_to_string(refs).unwrap(), *commit);
    let names = blob_names(sb.path());
    assert_eq!(names, [sha], "no .incomplete left behind");

    // Asked again, and used for an answer: not one request more.
    let before = server.seen().len();
    let mut cmd = hub_cmd(sb.path(), &server);
    cmd.args(["--hf", &format!("{REPO}:Q4_K_M"), "what is 2+2?"]);
    let (code, out, err) = outcome(cmd);
    assert_eq!((code, out.as_str()), (0, "The answer is 4.\n"), "{err}");
    let mut cmd = hub_cmd(sb.path(), &server);
    cmd.args(["--hf", REPO, "what is 2+2?"]);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 0, "without a quant, the cached one: {err}");
    assert_eq!(
        server.seen().len(),
        before,
        "a cached file is used without a network call"
    );

    // HF_HUB_OFFLINE: the cache only, and a clear line for what is not there.
    let mut cmd = hub_cmd(sb.path(), &server);
    cmd.env("HF_HUB_OFFLINE", "1")
        .args(["--hf", &format!("{REPO}:Q8_0"), "q"]);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("HF_HUB_OFFLINE is set"), "{err}");
    assert_eq!(server.seen().len(), before);
}

#[test]
fn without_a_quant_the_documented_rule_picks_and_says_so() {
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    let (code, out, err) = pull(sb.path(), &server, REPO);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().ends_with("Tiny-Reflect-Q4_K_M.gguf"), "{out}");
    assert!(
        err.contains("Q4_K_M is picked when no quantisation is named"),
        "{err}"
    );

    // No Q4_K_M: the largest that fits in memory (these all do).
    let mut r = repo();
    r.id = "test-org/No-Q4".into();
    r.files.remove(1);
    let server = HubServer::start(vec![r]);
    let (code, out, err) = pull(sb.path(), &server, "test-org/No-Q4");
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().ends_with("Tiny-Reflect-Q8_0.gguf"), "{out}");
    assert!(err.contains("the largest that fits in"), "{err}");
}

#[test]
fn a_quant_that_is_not_there_lists_the_ones_that_are() {
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    let mut cmd = hub_cmd(sb.path(), &server);
    cmd.args(["--hf", &format!("{REPO}:Q5_K_M"), "q"]);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("has no Q5_K_M file; its quantisations: Q2_K, Q4_K_M, Q8_0"),
        "{err}"
    );
}

/// The test repository, gated as `gate`, under another name.
fn gated(gate: Gate) -> HubRepo {
    let mut r = repo();
    r.id = "test-org/Gated-GGUF".into();
    r.gated = gate;
    r
}

/// `reflect models pull SPEC` with these extra variables.
fn pull_with(
    base: &Path,
    server: &HubServer,
    env: &[(&str, &str)],
    spec: &str,
) -> (i32, String, String) {
    let mut cmd = hub_cmd(base, server);
    cmd.envs(env.iter().copied()).args(["models", "pull", spec]);
    outcome(cmd)
}

#[test]
fn a_gated_repository_lists_its_files_and_its_download_is_refused_with_exit_2() {
    // What to do depends on the gate the listing names: accept the licence, or ask the
    // authors.
    let fixes = [
        (Gate::Auto, "accept its licence at {page}, then set HF_TOKEN (or run `huggingface-cli login`)"),
        (Gate::Manual, "its authors grant access: ask for it at {page}, then once granted set HF_TOKEN (or run `huggingface-cli login`)"),
    ];
    for (gate, fix) in fixes {
        let server = HubServer::start(vec![gated(gate)]);
        let sb = Sandbox::new();
        let (code, _, err) = pull(sb.path(), &server, "test-org/Gated-GGUF");
        assert_eq!(code, 2, "{gate:?}: {err}");
        let fix = fix.replace("{page}", &format!("{}/test-org/Gated-GGUF", server.url()));
        // After the line that names the file picked, the refusal.
        assert_eq!(
            err.trim().lines().last().unwrap_or_default(),
            format!("reflect: test-org/Gated-GGUF is gated (HTTP 401): {fix}"),
            "{gate:?}"
        );
        // The listing answered; the file's own URL was refused.
        let seen = server.seen();
        assert_eq!(
            seen[0].path,
            "/api/models/test-org/Gated-GGUF/revision/main"
        );
        assert_eq!(seen[0].status, 200, "{seen:?}");
        let refused = seen.last().unwrap();
        assert!(
            refused.path.contains("/resolve/") && refused.path.ends_with("Q4_K_M.gguf"),
            "{seen:?}"
        );
        assert_eq!(
            (refused.status, refused.error_code.as_deref()),
            (401, Some("GatedRepo"))
        );
        assert!(server.data_gets().is_empty(), "{seen:?}");
        assert!(!hub_dir(sb.path())
            .join("models--test-org--Gated-GGUF/snapshots")
            .exists());
    }
}

#[test]
fn a_token_without_access_to_a_gated_repository_is_told_so_with_exit_2() {
    let fixes = [
        (Gate::Auto, "your token has no access to it: accept its licence at {page} (logged in as the token's owner), or use a token that has access"),
        (Gate::Manual, "its authors grant access and your token has none yet: ask for it at {page} (logged in as the token's owner) and wait for it, or use a token that has access"),
    ];
    for (gate, fix) in fixes {
        let server = HubServer::start(vec![gated(gate)]);
        let sb = Sandbox::new();
        let (code, _, err) = pull_with(
            sb.path(),
            &server,
            &[("HF_TOKEN", "hf_other")],
            "test-org/Gated-GGUF:Q2_K",
        );
        assert_eq!(code, 2, "{gate:?}: {err}");
        let fix = fix.replace("{page}", &format!("{}/test-org/Gated-GGUF", server.url()));
        assert!(
            err.contains(&format!("test-org/Gated-GGUF is gated (HTTP 403): {fix}")),
            "{gate:?}: {err}"
        );
        let refused = server.seen().pop().unwrap();
        assert_eq!(
            (refused.status, refused.error_code.as_deref()),
            (403, Some("GatedRepo"))
        );
    }
}

#[test]
fn the_token_comes_from_hf_token_or_the_login_file_and_never_goes_to_storage() {
    let server = HubServer::start(vec![gated(Gate::Auto)]);
    let sb = Sandbox::new();
    let (code, _, err) = pull_with(
        sb.path(),
        &server,
        &[("HF_TOKEN", "hf_good")],
        "test-org/Gated-GGUF:Q2_K",
    );
    assert_eq!(code, 0, "{err}");
    // The file `huggingface-cli login` writes.
    std::fs::create_dir_all(sb.path().join("huggingface")).unwrap();
    std::fs::write(sb.path().join("huggingface/token"), "hf_good\n").unwrap();
    let (code, _, err) = pull(sb.path(), &server, "test-org/Gated-GGUF:Q8_0");
    assert_eq!(code, 0, "{err}");
    let seen = server.seen();
    let resolves: Vec<_> = seen
        .iter()
        .filter(|s| s.path.contains("/resolve/"))
        .collect();
    assert_eq!(resolves.len(), 2, "{seen:?}");
    assert!(
        resolves
            .iter()
            .all(|s| s.authorization.as_deref() == Some("Bearer hf_good")),
        "{seen:?}"
    );
    let to_storage: Vec<_> = server
        .data_gets()
        .into_iter()
        .filter_map(|s| s.authorization)
        .collect();
    assert_eq!(server.data_gets().len(), 2);
    assert!(
        to_storage.is_empty(),
        "the token never goes to storage on another host: {to_storage:?}"
    );
}

#[test]
fn a_missing_repository_is_named_with_exit_2() {
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    let (code, _, err) = pull(sb.path(), &server, "test-org/No-Such-GGUF");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "no model repository test-org/No-Such-GGUF on {} (HTTP 404)",
            server.url()
        )),
        "{err}"
    );
}

#[test]
fn no_network_is_one_line_with_exit_1() {
    let sb = Sandbox::new();
    let closed = ClosedPort::new();
    let url = format!("http://{}", closed.addr());
    let mut cmd = reflect(sb.path());
    cmd.env("HF_ENDPOINT", &url)
        .args(["models", "pull", "test-org/x"]);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with(&format!("reflect: cannot reach {url}")) && err.trim().lines().count() == 1,
        "{err}"
    );
}

#[test]
fn the_fakes_blob_ids_are_gits() {
    // `git hash-object` of an empty file and of "hello\n".
    assert_eq!(git_blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    assert_eq!(
        git_blob_id(b"hello\n"),
        "ce013625030ba8dba906f756967f9e9ca394464a"
    );
}

#[test]
fn a_dropped_connection_resumes_with_range_and_a_bad_hash_leaves_nothing() {
    let server = HubServer::start(vec![repo()]);
    server.set_fault(Fault::DropOnceAt(5000));
    let sb = Sandbox::new();
    let (code, out, err) = pull(sb.path(), &server, &format!("{REPO}:Q2_K"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("the connection dropped at"), "{err}");
    let gets = server.data_gets();
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[1].range.as_deref(), Some("bytes=5000-"));
    assert_eq!(
        std::fs::read(out.trim()).unwrap(),
        repo().files[0].bytes,
        "resumed bytes are whole"
    );

    server.set_fault(Fault::WrongBytes);
    let (code, _, err) = pull(sb.path(), &server, &format!("{REPO}:Q8_0"));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the download is corrupt") && err.contains("it was deleted"),
        "{err}"
    );
    let names = blob_names(sb.path());
    assert_eq!(
        names,
        [repo().files[0].sha256()],
        "no corrupt blob, no partial file"
    );
}

#[test]
fn ctrl_c_keeps_the_partial_file_and_the_next_run_resumes_it() {
    let server = HubServer::start(vec![repo()]);
    server.set_fault(Fault::Drip(2048, Duration::from_millis(30)));
    let sb = Sandbox::new();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, sb.path());
    cmd.env("HF_ENDPOINT", server.url())
        .args(["models", "pull", &format!("{REPO}:Q2_K")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let blobs = hub_dir(sb.path()).join("models--test-org--Tiny-Reflect-GGUF/blobs");
    let partial = blobs.join(format!("{}.incomplete", repo().files[0].sha256()));
    // Interrupted once some bytes are on disk.
    let start = std::time::Instant::now();
    while std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0) < 8192 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("the next run resumes it"), "{err}");
    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept >= 8192, "{kept}");
    assert!(
        !blobs.join(repo().files[0].sha256()).exists(),
        "no blob from a partial download"
    );

    server.set_fault(Fault::None);
    let (code, out, err) = pull(sb.path(), &server, &format!("{REPO}:Q2_K"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resuming at"), "{err}");
    let last = server.data_gets().pop().unwrap();
    let from: u64 = last
        .range
        .unwrap()
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(from >= kept, "resumed from {from}, kept {kept}");
    assert_eq!(std::fs::read(out.trim()).unwrap(), repo().files[0].bytes);
}

#[test]
fn list_shows_the_cache_and_rm_removes_from_it() {
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    for q in ["Q2_K", "Q8_0"] {
        let mut cmd = hub_cmd(sb.path(), &server);
        cmd.args(["models", "pull", &format!("{REPO}:{q}")]);
        assert_eq!(outcome(cmd).0, 0);
    }
    let list = |sb: &Sandbox| {
        let mut cmd = reflect(sb.path());
        cmd.args(["models", "list"]);
        outcome(cmd)
    };
    let (code, out, _) = list(&sb);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("REPO") && lines[0].contains("QUANT") && lines[0].contains("USED"),
        "{out}"
    );
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with(REPO)
            && l.contains("Q2_K")
            && l.contains("KiB")
            && l.contains("just now")),
        "{out}"
    );

    let mut cmd = reflect(sb.path());
    cmd.args(["models", "rm", REPO]);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("several quantisations cached (Q2_K, Q8_0)"),
        "{err}"
    );
    let mut cmd = reflect(sb.path());
    cmd.args(["models", "rm", &format!("{REPO}:Q2_K")]);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("freed"), "{err}");
    let (_, out, _) = list(&sb);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(!out.contains("Q2_K"), "{out}");
    let mut cmd = reflect(sb.path());
    cmd.args(["models", "rm", REPO]);
    assert_eq!(outcome(cmd).0, 0);
    assert!(!hub_dir(sb.path())
        .join("models--test-org--Tiny-Reflect-GGUF")
        .exists());
}

#[test]
fn models_info_takes_a_repository_too() {
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    let mut cmd = hub_cmd(sb.path(), &server);
    cmd.args(["models", "info", &format!("{REPO}:Q2_K")]);
    let (code, out, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Tiny-Reflect-Q2_K.gguf") && out.contains("llama3 (llama.cpp's built-in)"),
        "{out}"
    );
    assert!(
        out.contains("tags as tokens <thinking> </thinking>"),
        "{out}"
    );
}

/// The version of `huggingface_hub` the interoperability tests are written against (and
/// scripts/bootstrap.sh installs).
const HF_HUB_VERSION: &str = "2.4.0";

/// The `huggingface_hub` Python package at [`HF_HUB_VERSION`], when it can be imported (CI
/// installs it; elsewhere the test says how to run it, past the harness's capture).
fn python_hub() -> Option<String> {
    python_package(
        "huggingface_hub",
        HF_HUB_VERSION,
        "to run the interoperability tests",
    )
    .then(|| "python3".to_string())
}

fn python(base: &Path, server: &HubServer, code: &str) -> String {
    let mut cmd = std::process::Command::new("python3");
    seal(&mut cmd, base);
    let out = cmd
        .env("HF_ENDPOINT", server.url())
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .args(["-c", code])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn huggingface_hub_finds_what_reflect_downloaded_and_reflect_uses_what_it_downloaded() {
    let Some(_) = python_hub() else { return };
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    let (code, out, err) = pull(sb.path(), &server, &format!("{REPO}:Q4_K_M"));
    assert_eq!(code, 0, "{err}");
    let found = python(
        sb.path(),
        &server,
        &format!("from huggingface_hub import try_to_load_from_cache as f; print(f('{REPO}', 'Tiny-Reflect-Q4_K_M.gguf'))"),
    );
    assert_eq!(
        found,
        out.trim(),
        "try_to_load_from_cache finds reflect's file"
    );

    // The other way: huggingface_hub downloads, reflect answers offline from its file.
    let got = python(
        sb.path(),
        &server,
        &format!("from huggingface_hub import hf_hub_download as d; print(d('{REPO}', 'Tiny-Reflect-Q8_0.gguf'))"),
    );
    let before = server.seen().len();
    let mut cmd = reflect(sb.path());
    cmd.env("HF_HUB_OFFLINE", "1")
        .args(["--hf", &format!("{REPO}:Q8_0"), "what is 2+2?"]);
    let (code, out, err) = outcome(cmd);
    assert_eq!((code, out.as_str()), (0, "The answer is 4.\n"), "{err}");
    assert_eq!(server.seen().len(), before);
    let mut cmd = reflect(sb.path());
    cmd.args(["models", "list"]);
    let (_, listed, _) = outcome(cmd);
    assert!(listed.contains(&got), "{listed}");
}

#[test]
fn a_split_model_downloads_every_part_and_loads_from_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let sm = ScriptedModel::new(reflection_script());
    let paths = sm
        .write_split(&dir.path().join("Tiny-Split-Q8_0"), 3)
        .unwrap();
    assert_eq!(paths.len(), 3);
    let mut files: Vec<HubFile> = paths
        .iter()
        .map(|p| {
            HubFile::lfs(
                &format!("Q8_0/{}", p.file_name().unwrap().to_string_lossy()),
                std::fs::read(p).unwrap(),
            )
        })
        .collect();
    files.push(HubFile::lfs("Tiny-Split-Q2_K.gguf", model_bytes(1)));
    let server = HubServer::start(vec![HubRepo::new("test-org/Split-GGUF", files)]);
    let sb = Sandbox::new();
    let mut cmd = hub_cmd(sb.path(), &server);
    cmd.args(["--hf", "test-org/Split-GGUF:Q8_0", "what is 2+2?"]);
    let (code, out, err) = outcome(cmd);
    assert_eq!((code, out.as_str()), (0, "The answer is 4.\n"), "{err}");
    assert!(
        err.contains("Q8_0/Tiny-Split-Q8_0-00001-of-00003.gguf (and 2 more parts)"),
        "{err}"
    );
    assert!(err.contains("(3/3)"), "{err}");
    assert_eq!(server.data_gets().len(), 3);
    let mut cmd = reflect(sb.path());
    cmd.args(["models", "list"]);
    let (_, listed, _) = outcome(cmd);
    assert_eq!(
        listed.lines().filter(|l| l.contains("Q8_0")).count(),
        1,
        "one row for the three parts: {listed}"
    );
}

#[test]
fn no_room_on_disk_is_said_before_downloading_and_a_failed_write_leaves_no_blob() {
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    server.set_fault(Fault::ClaimSize(1 << 60));
    let (code, _, err) = pull(sb.path(), &server, &format!("{REPO}:Q2_K"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("more and") && err.contains("free"), "{err}");
    assert!(err.contains("free some space"), "{err}");
    assert!(server.data_gets().is_empty(), "nothing was downloaded");

    // A write that fails mid-file (a file size limit standing in for a full disk).
    server.set_fault(Fault::None);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, sb.path());
    cmd.env("HF_ENDPOINT", server.url())
        .args(["models", "pull", &format!("{REPO}:Q2_K")]);
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 20_000,
                rlim_max: 20_000,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write") && err.contains(".incomplete"),
        "{err}"
    );
    let names = blob_names(sb.path());
    assert!(
        names.iter().all(|n| n.ends_with(".incomplete")),
        "no blob from a failed write: {names:?}"
    );
    // The next run, with room, resumes and completes.
    let (code, out, err) = pull(sb.path(), &server, &format!("{REPO}:Q2_K"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(out.trim()).unwrap(), repo().files[0].bytes);
}

#[test]
fn a_download_waits_for_another_holding_huggingface_hubs_lock() {
    use std::io::{BufRead, BufReader};
    use std::os::fd::AsRawFd;
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    let locks = hub_dir(sb.path()).join(".locks/models--test-org--Tiny-Reflect-GGUF");
    std::fs::create_dir_all(&locks).unwrap();
    let held =
        std::fs::File::create(locks.join(format!("{}.lock", repo().files[0].sha256()))).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX) }, 0);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, sb.path());
    let mut child = cmd
        .env("HF_ENDPOINT", server.url())
        .args(["models", "pull", &format!("{REPO}:Q2_K")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("waiting for another download") {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "reflect did not wait"
        );
    }
    assert!(
        server.data_gets().is_empty(),
        "nothing downloaded while the lock is held"
    );
    drop(held);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(server.data_gets().len(), 1);
}

#[test]
fn eval_takes_hf_as_it_takes_m() {
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    let questions = sb.path().join("q.jsonl");
    std::fs::write(
        &questions,
        "{\"id\": \"sum\", \"question\": \"2+2?\", \"answer\": \"4\", \"match\": \"number\"}\n",
    )
    .unwrap();
    let mut cmd = hub_cmd(sb.path(), &server);
    cmd.args(["eval"])
        .arg(&questions)
        .args(["--hf", &format!("{REPO}:Q2_K")]);
    let (code, out, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Tiny-Reflect-Q2_K.gguf"), "{err}");
    assert!(out.contains("100.0%") || out.contains("1/1"), "{out}");
}

#[test]
fn a_listing_whose_names_would_leave_the_cache_is_not_followed() {
    let evil = HubRepo::new(
        "test-org/Evil-GGUF",
        vec![
            HubFile::lfs("../../../escape-Q4_K_M.gguf", model_bytes(1)),
            HubFile::lfs("/abs-Q8_0.gguf", model_bytes(1)),
        ],
    );
    let server = HubServer::start(vec![evil]);
    let sb = Sandbox::new();
    let (code, _, err) = pull(sb.path(), &server, "test-org/Evil-GGUF");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("has no GGUF file"), "{err}");
    assert!(server.data_gets().is_empty());
    assert!(!sb.path().join("escape-Q4_K_M.gguf").exists());
}

#[test]
fn huggingface_hub_sees_the_gate_where_reflect_does() {
    let Some(_) = python_hub() else { return };
    let server = HubServer::start(vec![gated(Gate::Auto)]);
    let sb = Sandbox::new();
    let code = "from huggingface_hub import HfApi, hf_hub_download\n\
                from huggingface_hub.errors import GatedRepoError\n\
                print(HfApi().model_info('test-org/Gated-GGUF').gated)\n\
                try:\n    hf_hub_download('test-org/Gated-GGUF', 'Tiny-Reflect-Q2_K.gguf')\n\
                except GatedRepoError as e:\n    print(type(e).__name__, e.response.status_code)\n\
                p = hf_hub_download('test-org/Gated-GGUF', 'README.md', token='hf_good')\n\
                import os; print(os.path.basename(os.path.realpath(p)))";
    let out = python(sb.path(), &server, code);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["auto", "GatedRepoError 401", &git_blob_id(b"# tiny\n")],
        "{out}"
    );
}

#[test]
fn a_download_job_stops_when_asked_and_keeps_the_part() {
    use reflect::hub::{Hub, HubError, Interrupt, Job, Step};
    let server = HubServer::start(vec![repo()]);
    // Minutes for the whole file.
    server.set_fault(Fault::Drip(1024, Duration::from_millis(300)));
    let base = tempfile::tempdir().unwrap();
    let cache = hub_dir(base.path());
    let url = server.url();
    let env = reflect::env::Environment::new(
        None,
        [
            ("HF_ENDPOINT", url.as_str()),
            ("HF_HUB_CACHE", cache.to_str().unwrap()),
        ],
    );
    let hub = Hub::from_env(&env).unwrap();
    let spec = reflect::hub::RepoSpec::parse(&format!("{REPO}:Q4_K_M")).unwrap();
    let plan = hub.plan(&spec).unwrap();
    let (tx, steps) = std::sync::mpsc::channel();
    let job = Job::spawn(
        hub,
        plan,
        Interrupt::never(),
        move |step| {
            let _ = tx.send(step);
        },
        |fetched| fetched,
    );
    // Bytes are on disk: stop it there.
    while !matches!(steps.recv().unwrap(), Step::Bytes { done, .. } if done > 0) {}
    job.stop();
    match job.wait() {
        Err(HubError::Interrupted {
            partial: Some((path, have, size)),
            ..
        }) => {
            assert!(path.exists(), "the part is kept: {}", path.display());
            assert!(have > 0 && have < size, "{have} of {size}");
        }
        other => panic!("stopped, keeping the part: {other:?}"),
    }
}

#[test]
fn hf_draft_downloads_the_draft_model_as_hf_does_the_model() {
    let server = HubServer::start(vec![repo()]);
    let sb = Sandbox::new();
    let mut cmd = hub_cmd(sb.path(), &server);
    cmd.args(["--hf", &format!("{REPO}:Q2_K")])
        .args(["--hf-draft", &format!("{REPO}:Q8_0")])
        .args(["--format", "json", "--temperature", "0", "2+2?"]);
    let (code, out, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Tiny-Reflect-Q8_0.gguf"),
        "the draft's download: {err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(
        v["timings"]["draft_tokens"].is_u64(),
        "drafting was on: {v}"
    );
    assert_eq!(blob_names(sb.path()).len(), 2, "the model and its draft");
}
