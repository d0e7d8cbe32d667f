//! `reflect eval` end to end, on scripted models whose answers are known: exact accuracy,
//! Wilson interval and McNemar figures against values computed here independently; a bad
//! question file; `--resume`; Ctrl+C mid-run; and the endpoint mode with `--parallel`
//! against the real llama-server.

use crate::common::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// `reflect eval ARGS` in `base`'s sandbox: (code, stdout, stderr).
fn eval(base: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = reflect(base);
    cmd.arg("eval").args(args);
    outcome(cmd)
}

fn write_questions(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line ({e}): {l}")))
        .collect()
}

fn keys(rs: &[serde_json::Value]) -> Vec<(String, String)> {
    rs.iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["arm"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The 95% Wilson interval found independently of reflect's closed form: the two roots of
/// (p̂ - p)² = z² p (1 - p) / n, by bisection.
fn wilson_by_bisection(x: u64, n: u64) -> (f64, f64) {
    let z = 1.959_963_984_540_054_f64;
    let phat = x as f64 / n as f64;
    let f = |p: f64| (phat - p).powi(2) - z * z * p * (1.0 - p) / n as f64;
    let root = |mut lo: f64, mut hi: f64| {
        // f changes sign between lo and hi.
        for _ in 0..200 {
            let mid = (lo + hi) / 2.0;
            if (f(lo) > 0.0) == (f(mid) > 0.0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo + hi) / 2.0
    };
    let lower = if x == 0 { 0.0 } else { root(0.0, phat) };
    let upper = if x == n { 1.0 } else { root(phat, 1.0) };
    (lower, upper)
}

/// McNemar's exact two-sided p from the binomial coefficients, in exact integers.
fn mcnemar_by_counting(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let choose = |n: u64, k: u64| -> u128 {
        (0..k).fold(1u128, |acc, i| acc * (n - i) as u128 / (i + 1) as u128)
    };
    let tail: u128 = (0..=b.min(c)).map(|i| choose(n, i)).sum();
    (2.0 * tail as f64 / 2f64.powi(n as i32)).min(1.0)
}

/// The questions of the two-arm test and what each arm gets right. Under `reflection` the
/// answer is the output section, "The answer is 4."; under `plain` it is everything the model
/// says, thinking and tags included.
const QUESTIONS: [(&str, bool, bool); 9] = [
    (
        r#"{"id": "q1", "question": "2+2?", "answer": "4", "match": "number"}"#,
        true,
        true,
    ),
    (
        r#"{"id": "q2", "question": "2+2?", "answer": "the answer is 4"}"#,
        true,
        false,
    ),
    (
        r#"{"id": "q3", "question": "How?", "answer": "I add 2 and 2", "match": "contains"}"#,
        false,
        true,
    ),
    (
        r#"{"id": "q4", "question": "Check?", "answer": "check: 2+2", "match": "contains"}"#,
        false,
        true,
    ),
    (
        r#"{"id": "q5", "question": "2+3?", "answer": "5", "match": "number"}"#,
        false,
        false,
    ),
    (
        r#"{"id": "q6", "question": "Ends?", "answer": "answer is 4\\.$", "match": "regex"}"#,
        true,
        true,
    ),
    (
        r#"{"id": "q7", "question": "Thought?", "answer": "so it is 4", "match": "contains"}"#,
        false,
        true,
    ),
    (
        r#"{"id": "q8", "question": "Not?", "answer": "not 5", "match": "contains"}"#,
        false,
        true,
    ),
    (
        r#"{"id": "q9", "question": "First?", "answer": "^I add", "match": "regex"}"#,
        false,
        true,
    ),
];

#[test]
fn two_arms_on_a_scripted_model_give_the_exact_figures() {
    let m = model(reflection_script());
    let lines: Vec<&str> = QUESTIONS.iter().map(|q| q.0).collect();
    let file = write_questions(m.dir.path(), "q.jsonl", &lines);
    let out = m.dir.path().join("r.jsonl");
    let (code, stdout, err) = eval(
        m.dir.path(),
        &[
            file.to_str().unwrap(),
            "-m",
            m.path.to_str().unwrap(),
            "--profiles",
            "reflection,plain",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let rs = records(&out);
    assert_eq!(rs.len(), 2 * QUESTIONS.len());
    for (line, right_reflection, right_plain) in QUESTIONS {
        let id = serde_json::from_str::<serde_json::Value>(line).unwrap()["id"].clone();
        for (arm, want) in [("reflection", right_reflection), ("plain", right_plain)] {
            let r = rs
                .iter()
                .find(|r| r["id"] == id && r["arm"] == arm)
                .unwrap();
            assert_eq!(r["correct"], want, "{id} in {arm}: {r}");
        }
    }
    let r = rs
        .iter()
        .find(|r| r["id"] == "q1" && r["arm"] == "reflection")
        .unwrap();
    assert_eq!(r["answer"], "The answer is 4.");
    assert_eq!(r["reflections"], 1);
    assert_eq!(r["no_answer"], false);
    assert!(r["thinking_tokens"].as_u64().unwrap() > 0);
    // The same seed for a question in both arms.
    let seeds: HashSet<_> = rs
        .iter()
        .filter(|r| r["id"] == "q3")
        .map(|r| r["seed"].clone())
        .collect();
    assert_eq!(seeds.len(), 1);

    // Accuracy and interval, per arm, against the independent figures.
    let n = QUESTIONS.len() as u64;
    for (i, arm) in ["reflection", "plain"].iter().enumerate() {
        let x = QUESTIONS
            .iter()
            .filter(|q| if i == 0 { q.1 } else { q.2 })
            .count() as u64;
        let (lo, hi) = wilson_by_bisection(x, n);
        let cell = format!(
            "{:.1}% ({:.1}–{:.1}%)",
            x as f64 * 100.0 / n as f64,
            lo * 100.0,
            hi * 100.0
        );
        let row = stdout
            .lines()
            .find(|l| l.starts_with("accuracy (95% CI)"))
            .unwrap();
        assert!(row.contains(&cell), "{arm}: want {cell} in {row}\n{stdout}");
    }
    // McNemar between the arms.
    let b = QUESTIONS.iter().filter(|q| q.1 && !q.2).count() as u64;
    let c = QUESTIONS.iter().filter(|q| !q.1 && q.2).count() as u64;
    let both = QUESTIONS.iter().filter(|q| q.1 && q.2).count();
    let neither = QUESTIONS.iter().filter(|q| !q.1 && !q.2).count();
    let p = mcnemar_by_counting(b, c);
    assert!(
        p < 0.5,
        "the arms differ enough for a p-value that says something: {p}"
    );
    let diff = (c as f64 - b as f64) * 100.0 / n as f64;
    let want = format!(
        "plain vs reflection ({n} questions in both): {diff:+.1} points; right in reflection only {b}, in plain only {c}, in both {both}, in neither {neither}; McNemar exact p = {p:.4}"
    );
    assert!(stdout.contains(&want), "want {want}\n{stdout}");
}

#[test]
fn think_carefully_arms_and_a_model_that_never_answers() {
    // Thinking that never closes: no answer in either arm.
    let m = model(vec![s("<thinking>"), t("\nHmm, let me see.")]);
    let file = write_questions(
        m.dir.path(),
        "q.jsonl",
        &[r#"{"id": "a", "question": "2+2?", "answer": "4", "match": "number"}"#],
    );
    let out = m.dir.path().join("r.jsonl");
    let (code, stdout, err) = eval(
        m.dir.path(),
        &[
            file.to_str().unwrap(),
            "-m",
            m.path.to_str().unwrap(),
            "--compare",
            "think-carefully",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let rs = records(&out);
    assert_eq!(
        keys(&rs),
        [
            ("a".to_string(), "think-carefully".to_string()),
            ("a".to_string(), "no-think-carefully".to_string())
        ]
    );
    for r in &rs {
        assert_eq!(r["no_answer"], true, "{r}");
        assert_eq!(r["correct"], false, "{r}");
        assert!(
            r["why"].as_str().unwrap().contains("thinking never ended"),
            "{r}"
        );
    }
    let row = stdout.lines().find(|l| l.starts_with("no answer")).unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["no", "answer", "1", "1"]
    );
    assert!(err.contains("no answer"), "{err}");
}

#[test]
fn a_bad_question_file_lists_every_bad_line_and_runs_nothing() {
    let m = model(reflection_script());
    let file = write_questions(
        m.dir.path(),
        "q.jsonl",
        &[
            r#"{"id": "ok", "question": "2+2?", "answer": "4"}"#,
            r#"{"id": "x", "question": "2+2?"}"#,
            r#"{"id": "y", "question": "2+2?", "answer": "four", "match": "number"}"#,
            r#"{"id": "ok", "question": "again", "answer": "4"}"#,
            "{oops",
        ],
    );
    let out = m.dir.path().join("r.jsonl");
    let (code, stdout, err) = eval(
        m.dir.path(),
        &[
            file.to_str().unwrap(),
            "-m",
            m.path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(stdout.is_empty(), "{stdout}");
    let f = file.display().to_string();
    for want in [
        format!("{f}: 4 bad lines; nothing was run"),
        format!("{f}:2, field \"answer\": missing"),
        format!("{f}:3, field \"answer\": \"four\" is not a number"),
        format!("{f}:4, field \"id\": \"ok\" is already the id of line 1"),
        format!("{f}:5: not valid JSON"),
    ] {
        assert!(err.contains(&want), "want {want:?} in {err}");
    }
    assert!(!out.exists(), "nothing is written");

    let (code, _, err) = eval(
        m.dir.path(),
        &["missing.jsonl", "-m", m.path.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot read the question file missing.jsonl"),
        "{err}"
    );
}

#[test]
fn resume_runs_only_what_is_missing() {
    let m = model(reflection_script());
    let q = |id: &str| {
        format!(r#"{{"id": "{id}", "question": "{id}?", "answer": "4", "match": "number"}}"#)
    };
    let first = write_questions(m.dir.path(), "first.jsonl", &[&q("a"), &q("b")]);
    let all = write_questions(
        m.dir.path(),
        "all.jsonl",
        &[&q("a"), &q("b"), &q("c"), &q("d")],
    );
    let out = m.dir.path().join("r.jsonl");
    let model_path = m.path.to_str().unwrap();
    let (code, _, err) = eval(
        m.dir.path(),
        &[
            first.to_str().unwrap(),
            "-m",
            model_path,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read_to_string(&out).unwrap();
    let (code, stdout, err) = eval(
        m.dir.path(),
        &[
            all.to_str().unwrap(),
            "-m",
            model_path,
            "--resume",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("4 questions × 1 arm (reflection), 2 to run, 2 done already"),
        "{err}"
    );
    let after = std::fs::read_to_string(&out).unwrap();
    assert!(
        after.starts_with(&before),
        "earlier lines are kept as they were"
    );
    let ids: Vec<String> = keys(&records(&out)).into_iter().map(|k| k.0).collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    let row = stdout.lines().find(|l| l.starts_with("questions")).unwrap();
    assert!(row.ends_with(" 4"), "the summary counts all four: {row}");

    // Nothing left: nothing runs, the summary is printed again.
    let (code, stdout, err) = eval(
        m.dir.path(),
        &[
            all.to_str().unwrap(),
            "-m",
            model_path,
            "--resume",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 to run, 4 done already"), "{err}");
    assert!(stdout.contains("100.0%"), "{stdout}");
    assert_eq!(records(&out).len(), 4);
}

#[test]
fn ctrl_c_keeps_every_finished_line_and_resume_completes_the_run() {
    ctrl_c_then_resume("1");
}

#[test]
fn ctrl_c_with_batched_sequences_keeps_every_finished_line() {
    ctrl_c_then_resume("3");
}

fn ctrl_c_then_resume(parallel: &str) {
    let m = slow_thinker("t", 150);
    let lines: Vec<String> = (0..8)
        .map(|i| {
            format!(r#"{{"id": "q{i}", "question": "q{i}?", "answer": "4", "match": "number"}}"#)
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = write_questions(m.dir.path(), "q.jsonl", &refs);
    let out = m.dir.path().join("r.jsonl");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, m.dir.path());
    let mut child = cmd
        .args([
            "eval",
            file.to_str().unwrap(),
            "-m",
            m.path.to_str().unwrap(),
        ])
        .args(["--out", out.to_str().unwrap(), "--parallel", parallel])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for two finished lines however slow the machine is; a run that ends first is the
    // failure. The deadline only guards against a hang (minutes, then the child is killed).
    let hang = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while std::fs::read_to_string(&out).map_or(0, |t| t.lines().count()) < 2 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("eval ended ({status}) before two answers were written");
        }
        if std::time::Instant::now() > hang {
            let _ = child.kill();
            panic!("no answer line in 10 minutes: eval hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(err.contains("stopped by a signal"), "{err}");
    let kept = records(&out);
    assert!(kept.len() >= 2 && kept.len() < 8, "{} lines", kept.len());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("questions"),
        "the summary of what finished: {stdout}"
    );

    let (code, _, err) = eval(
        m.dir.path(),
        &[
            file.to_str().unwrap(),
            "-m",
            m.path.to_str().unwrap(),
            "--resume",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let all = records(&out);
    let ks = keys(&all);
    let unique: HashSet<_> = ks.iter().cloned().collect();
    assert_eq!(unique.len(), ks.len(), "no line twice: {ks:?}");
    assert_eq!(ks.len(), 8);
    assert!(all
        .iter()
        .all(|r| r["correct"] == true && r["stop_reason"] == "output_closed"));
}

/// What a question's answer is, whichever way it was run: everything but the time.
/// `reflect eval FILE -m MODEL ARGS --parallel N --out parallel-N.jsonl`, which must succeed:
/// its records.
fn run_parallel(m: &Model, file: &Path, args: &[&str], parallel: &str) -> Vec<serde_json::Value> {
    let out = m.dir.path().join(format!("parallel-{parallel}.jsonl"));
    let mut all = vec![file.to_str().unwrap(), "-m", m.path.to_str().unwrap()];
    all.extend_from_slice(args);
    all.extend(["--parallel", parallel, "--out", out.to_str().unwrap()]);
    let (code, _, err) = eval(m.dir.path(), &all);
    assert_eq!(code, 0, "{err}");
    records(&out)
}

fn outcome_of(rs: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = rs
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("time_ms");
            r.to_string()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn local_parallel_gives_the_sequential_results() {
    // Two arms that answer differently, nine questions judged differently, three sequences at
    // a time (so that finished ones are replaced): every record as the sequential run's, down
    // to the seed the engine drew each answer with, which is each question's own.
    let m = model(reflection_script());
    let lines: Vec<&str> = QUESTIONS.iter().map(|q| q.0).collect();
    let file = write_questions(m.dir.path(), "q.jsonl", &lines);
    let arms = ["--profiles", "reflection,plain"];
    let one = run_parallel(&m, &file, &arms, "1");
    let three = run_parallel(&m, &file, &arms, "3");
    assert_eq!(one.len(), 2 * QUESTIONS.len());
    assert_eq!(outcome_of(&three), outcome_of(&one));
    let seeds: HashSet<String> = three.iter().map(|r| r["seed"].to_string()).collect();
    assert_eq!(
        seeds.len(),
        QUESTIONS.len(),
        "a seed per question: {seeds:?}"
    );
}

#[test]
fn local_parallel_stops_at_an_end_of_turn_spelled_in_text_as_a_generation_alone_does() {
    // No chat tokens: the plain format, whose end of turn is a new "User:" line; the model
    // writes one and goes on.
    let mut sm = reflect::gguf::ScriptedModel::new(vec![
        t(" Four"),
        t("."),
        t("\nUs"),
        t("er"),
        t(": and"),
        t(" more"),
    ]);
    sm.chat_tokens = reflect::gguf::ChatTokens::Bare;
    sm.template = reflect::gguf::TemplateStyle::Missing;
    sm.start = b':';
    let m = write(sm);
    let lines: Vec<String> = (0..4)
        .map(|i| {
            format!(
                r#"{{"id": "q{i}", "question": "{i}+{i}?", "answer": "Four.", "match": "exact"}}"#
            )
        })
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = write_questions(m.dir.path(), "q.jsonl", &lines);
    let one = run_parallel(&m, &file, &["--profile", "plain"], "1");
    let two = run_parallel(&m, &file, &["--profile", "plain"], "2");
    assert_eq!(outcome_of(&two), outcome_of(&one));
    for r in &two {
        assert_eq!(r["answer"], "Four.", "{r}");
        assert_eq!(r["stop_reason"], "end_of_turn", "{r}");
        assert_eq!(r["correct"], true, "{r}");
    }
}

#[test]
fn local_parallel_with_a_thinking_budget_is_refused() {
    let m = model(reflection_script());
    let file = write_questions(
        m.dir.path(),
        "q.jsonl",
        &[r#"{"question": "2+2?", "answer": "4"}"#],
    );
    let (code, _, err) = eval(
        m.dir.path(),
        &[
            file.to_str().unwrap(),
            "-m",
            m.path.to_str().unwrap(),
            "--parallel",
            "4",
            "--think-budget",
            "10",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not support a thinking budget"), "{err}");
}

/// Eight number questions, "4" the answer of the even ones.
fn eight_questions(dir: &Path) -> PathBuf {
    let lines: Vec<String> = (0..8)
        .map(|i| {
            let answer = if i % 2 == 0 { 4 } else { 5 };
            format!(r#"{{"id": "q{i}", "question": "What is q{i}?", "answer": "{answer}", "match": "number"}}"#)
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    write_questions(dir, "q.jsonl", &refs)
}

/// What a question's answer is, whichever backend gave it.
fn per_question(rs: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = rs
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {} {} {}",
                r["id"],
                r["arm"],
                r["answer"],
                r["correct"],
                r["stop_reason"],
                r["thinking_tokens"],
                r["reflection_tokens"],
                r["output_tokens"]
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn an_endpoint_with_parallel_requests_gives_the_local_results() {
    let Some(bin) = crate::remote::server_binary() else {
        return;
    };
    let m = model(reflection_script());
    let server = crate::remote::Server::start(&bin, &m, &["--special", "-c", "4096", "-np", "4"]);
    let file = eight_questions(m.dir.path());
    let local = m.dir.path().join("local.jsonl");
    let remote = m.dir.path().join("remote.jsonl");
    let (code, _, err) = eval(
        m.dir.path(),
        &[
            file.to_str().unwrap(),
            "-m",
            m.path.to_str().unwrap(),
            "--out",
            local.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, stdout, err) = eval(
        m.dir.path(),
        &[
            file.to_str().unwrap(),
            "--endpoint",
            &server.url(),
            "--parallel",
            "4",
            "--out",
            remote.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (l, r) = (records(&local), records(&remote));
    assert_eq!(r.len(), 8);
    assert_eq!(per_question(&r), per_question(&l));
    let row = stdout
        .lines()
        .find(|l| l.starts_with("accuracy (95% CI)"))
        .unwrap();
    assert!(row.contains("50.0%"), "{row}");
}

/// Requests being answered at once by a fake server's handler, each held until `hold` of them
/// are there together: a client that sends that many at once is seen doing so however fast
/// or slow the machine.
struct InFlight {
    now: usize,
    most: usize,
    hold: usize,
    /// How long a request waits for the others before the hold is given up.
    patience: std::time::Duration,
}

type Flight = (std::sync::Mutex<InFlight>, std::sync::Condvar);

impl InFlight {
    fn new(hold: usize, patience: std::time::Duration) -> InFlight {
        InFlight {
            now: 0,
            most: 0,
            hold,
            patience,
        }
    }

    /// One request arrived: waits until `hold` were in flight together, or `patience` passed
    /// (then no later request waits: the test's count of `most` says what happened).
    fn arrive(state: &Flight) {
        let (lock, cv) = state;
        let mut s = lock.lock().unwrap();
        s.now += 1;
        s.most = s.most.max(s.now);
        cv.notify_all();
        let deadline = std::time::Instant::now() + s.patience;
        while s.most < s.hold {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                s.hold = 0;
                break;
            }
            s = cv.wait_timeout(s, left).unwrap().0;
        }
    }

    fn leave(state: &Flight) {
        state.0.lock().unwrap().now -= 1;
    }
}

#[test]
fn parallel_sends_that_many_requests_at_once_and_counts_the_cost() {
    use crate::common::fake_server::*;
    use std::sync::{Arc, Condvar, Mutex};
    // Held until four are in flight; a minute guards against a client that never sends four.
    let flight = Arc::new((
        Mutex::new(InFlight::new(4, std::time::Duration::from_secs(60))),
        Condvar::new(),
    ));
    let f = flight.clone();
    // Each answer's usage (100 prompt tokens, 20 completion tokens) comes with its last
    // content, as vLLM's continuous usage stats send it: the client has it before it closes
    // the stream at </output>.
    let (prompt, completion) = (100u32, 20u32);
    let server = FakeServer::start(move |_, _| {
        InFlight::arrive(&f);
        InFlight::leave(&f);
        let mut events: Vec<serde_json::Value> =
            ["<thinking>", "\nHm.", "</thinking>", "<output>", "4"]
                .iter()
                .map(|t| content(t))
                .collect();
        let mut last = content("</output>");
        last["usage"] = serde_json::json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion});
        events.extend([last, finish("stop")]);
        Reply::events(&events)
    });
    let base = Sandbox::new();
    let config = base.path().join("config").join("reflect");
    std::fs::create_dir_all(&config).unwrap();
    // USD per million tokens.
    let (input_price, output_price) = (1.0, 2.0);
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[endpoints.fake]\nurl = \"{}\"\nmodel = \"fake-model\"\nprice = {{ input = {input_price:.1}, output = {output_price:.1} }}\nspecial_tokens = true\n",
            server.url()
        ),
    )
    .unwrap();
    let file = eight_questions(base.path());
    let out = base.path().join("r.jsonl");
    let (code, stdout, err) = eval(
        base.path(),
        &[
            file.to_str().unwrap(),
            "--endpoint",
            "fake",
            "--parallel",
            "4",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(flight.0.lock().unwrap().most, 4, "four requests at once");
    let rs = records(&out);
    assert_eq!(rs.len(), 8);
    let each = (f64::from(prompt) * input_price + f64::from(completion) * output_price) / 1e6;
    for r in &rs {
        let cost = r["cost"].as_f64().expect("a cost");
        assert!((cost - each).abs() < 1e-12, "{cost} vs {each}: {r}");
    }
    let total = each * 8.0;
    let row = stdout.lines().find(|l| l.starts_with("cost")).unwrap();
    assert!(
        row.contains(&reflect::llm::format_usd(total)),
        "{row} vs {total}"
    );
    assert!(err.contains("$"), "progress shows the cost so far: {err}");

    // One at a time with --parallel 1: the first request is held for a while (a second one
    // sent alongside it would arrive in that time), then none is.
    *flight.0.lock().unwrap() = InFlight::new(2, std::time::Duration::from_millis(500));
    let (code, _, err) = eval(base.path(), &[file.to_str().unwrap(), "--endpoint", "fake"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(flight.0.lock().unwrap().most, 1);
}

/// Debian's chromium (or another name for it), if installed. In CI (`CI` set) it is required
/// (scripts/bootstrap.sh installs it); elsewhere the report test is skipped with a note.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .filter_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
        .next();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is required in CI: scripts/bootstrap.sh installs it (apt-get install chromium)"
        );
        skip_note(
            "install chromium (apt-get install chromium) to check the HTML report in a browser",
        );
    }
    found
}

/// A screenshot's pixels, decoded once.
struct Shot {
    width: usize,
    rows: Vec<Vec<[u8; 3]>>,
}

impl Shot {
    fn read(png: &Path) -> Shot {
        let decoder = png::Decoder::new(std::fs::File::open(png).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        assert!(channels >= 3, "{:?}", info.color_type);
        let width = info.width as usize;
        let rows = (0..info.height as usize)
            .map(|y| {
                (0..width)
                    .map(|x| {
                        let i = y * info.line_size + x * channels;
                        [buf[i], buf[i + 1], buf[i + 2]]
                    })
                    .collect()
            })
            .collect();
        Shot { width, rows }
    }

    fn like(p: [u8; 3], colour: [u8; 3], tol: u8) -> bool {
        p.iter().zip(colour).all(|(a, b)| a.abs_diff(b) <= tol)
    }

    /// Pixels in rows `rows` within `tol` of `colour`.
    fn count(&self, rows: std::ops::Range<usize>, colour: [u8; 3], tol: u8) -> usize {
        let end = rows.end.min(self.rows.len());
        self.rows[rows.start.min(end)..end]
            .iter()
            .flatten()
            .filter(|p| Shot::like(**p, colour, tol))
            .count()
    }

    /// The rows with a pixel within `tol` of `colour`, top to bottom.
    fn rows_with(&self, colour: [u8; 3], tol: u8) -> Vec<usize> {
        (0..self.rows.len())
            .filter(|&y| self.rows[y].iter().any(|p| Shot::like(*p, colour, tol)))
            .collect()
    }
}

#[test]
fn the_html_report_renders_its_charts_in_chromium() {
    let m = model(reflection_script());
    let lines: Vec<&str> = QUESTIONS.iter().map(|q| q.0).collect();
    let file = write_questions(m.dir.path(), "q.jsonl", &lines);
    let page = m.dir.path().join("report.html");
    let (code, _, err) = eval(
        m.dir.path(),
        &[
            file.to_str().unwrap(),
            "-m",
            m.path.to_str().unwrap(),
            "--profiles",
            "reflection,plain",
            "--report",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script"));
    assert_eq!(html.matches("<svg").count(), 2);

    let Some(browser) = chromium() else { return };
    // The browser gets a home and profile of its own inside the sandbox.
    let shot = m.dir.path().join("shot.png");
    let profile = m.dir.path().join("chromium-profile");
    let mut run = std::process::Command::new(browser);
    run.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--screenshot={}", shot.display()))
    .arg("--window-size=1200,1400")
    .arg(format!("file://{}", page.display()))
    .env("HOME", m.dir.path().join("chromium-home"))
    .env("XDG_CONFIG_HOME", m.dir.path().join("chromium-config"))
    .env("XDG_CACHE_HOME", m.dir.path().join("chromium-cache"))
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    let status = status_within(&mut run, std::time::Duration::from_secs(120));
    assert!(status.success(), "chromium failed: {status}");
    const BLUE: [u8; 3] = [0x44, 0x77, 0xAA];
    const GREEN: [u8; 3] = [0x22, 0x99, 0x33];
    const RED: [u8; 3] = [0xCC, 0x33, 0x11];
    const BORDER: [u8; 3] = [0xBB, 0xBB, 0xBB];
    let shot = Shot::read(&shot);
    assert_eq!(shot.width, 1200);
    // The accuracy chart's bars are #4477AA.
    let blue = shot.rows_with(BLUE, 8);
    let (Some(&first_bar), Some(&last_bar)) = (blue.first(), blue.last()) else {
        panic!("no accuracy bars in the screenshot")
    };
    let bars = shot.count(0..usize::MAX, BLUE, 8);
    assert!(bars > 2000, "accuracy bars: {bars} pixels");
    // The title and the summary table (its borders) come before the charts.
    let borders = shot.count(0..first_bar, BORDER, 4);
    assert!(
        borders > 1000,
        "table borders above the charts: {borders} pixels"
    );
    // The thinking chart comes after the accuracy chart: green dots for right answers, red for
    // wrong ones, none of them beside the bars.
    let (green, red) = (shot.rows_with(GREEN, 8), shot.rows_with(RED, 8));
    assert!(
        green.iter().chain(&red).all(|&y| y > last_bar),
        "dots below the bars (last bar row {last_bar}): green {green:?}, red {red:?}"
    );
    let green = shot.count(last_bar..usize::MAX, GREEN, 8);
    let red = shot.count(last_bar..usize::MAX, RED, 8);
    assert!(
        green > 40 && red > 40,
        "dots: {green} green, {red} red pixels"
    );
}

#[test]
fn on_a_terminal_progress_is_one_line_redrawn_with_accuracy_and_eta() {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    use std::io::Read;
    let m = model(reflection_script());
    let lines: Vec<&str> = QUESTIONS.iter().map(|q| q.0).collect();
    let file = write_questions(m.dir.path(), "q.jsonl", &lines);
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(assert_cmd::cargo::cargo_bin("reflect"));
    cmd.args([
        "eval",
        file.to_str().unwrap(),
        "-m",
        m.path.to_str().unwrap(),
    ]);
    cmd.args(["--compare", "think-carefully"]);
    seal(&mut cmd, m.dir.path());
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let collected = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = reader.read_to_end(&mut all);
        all
    });
    let status = child.wait().unwrap();
    drop(pair.master);
    let text = String::from_utf8_lossy(&collected.join().unwrap()).into_owned();
    assert_eq!(status.exit_code(), 0, "{text}");
    let last =
        "[####################] 18/18 · think-carefully 33.3%, no-think-carefully 33.3% · ETA 0s";
    assert!(text.contains(&format!("\r\x1b[K{last}")), "{text:?}");
    assert!(text.contains("\r\x1b[K[#"), "redrawn in place: {text:?}");
    assert!(
        !text.contains("reflect: eval 1/18"),
        "no log lines on a terminal: {text:?}"
    );
}

#[test]
fn a_model_that_cannot_load_is_exit_1_with_no_summary() {
    let dir = Sandbox::new();
    let bad = dir.path().join("bad.gguf");
    std::fs::write(&bad, b"not a model").unwrap();
    let file = write_questions(
        dir.path(),
        "q.jsonl",
        &[r#"{"question": "2+2?", "answer": "4"}"#],
    );
    let out = dir.path().join("r.jsonl");
    let (code, stdout, err) = eval(
        dir.path(),
        &[
            file.to_str().unwrap(),
            "-m",
            bad.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        err.contains("cannot load the model") && err.contains("bad.gguf"),
        "{err}"
    );
    assert!(err.contains("--resume goes on from there"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "",
        "no line written"
    );
}

#[test]
fn usage_mistakes_are_exit_2_and_say_what_to_do() {
    let m = model(reflection_script());
    let file = write_questions(
        m.dir.path(),
        "q.jsonl",
        &[r#"{"question": "2+2?", "answer": "4"}"#],
    );
    let not_results = write_questions(m.dir.path(), "notes.jsonl", &["{\"hello\": 1}"]);
    let (f, mp) = (file.to_str().unwrap(), m.path.to_str().unwrap());
    let taken = not_results.to_str().unwrap();
    let table: [(&[&str], &str); 6] = [
        (
            &["--out", taken],
            "the file already holds results; go on with them with --resume",
        ),
        (
            &["--out", "a.jsonl", "--resume", "b.jsonl"],
            "leave out --out a.jsonl",
        ),
        (
            &["--resume", not_results.to_str().unwrap()],
            "notes.jsonl:1: not a result line",
        ),
        (
            &["--profiles", "reflection,nope"],
            "--profiles: nope: there is no profile named 'nope'",
        ),
        (&["--tolerance", "-1"], "'-1' is not a tolerance"),
        (
            &["--compare", "sampling"],
            "possible values: think-carefully",
        ),
    ];
    for (args, want) in table {
        let mut all = vec![f, "-m", mp];
        all.extend_from_slice(args);
        let (code, stdout, err) = eval(m.dir.path(), &all);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
}

#[test]
fn a_question_too_long_for_the_context_is_named_in_parallel_as_alone() {
    let m = model(reflection_script());
    let long = format!(
        r#"{{"id": "long", "question": "{}", "answer": "4"}}"#,
        "word ".repeat(400)
    );
    let file = write_questions(
        m.dir.path(),
        "q.jsonl",
        &[
            r#"{"id": "short", "question": "2+2?", "answer": "4"}"#,
            &long,
        ],
    );
    for parallel in ["1", "2"] {
        let (code, _, err) = eval(
            m.dir.path(),
            &[
                file.to_str().unwrap(),
                "-m",
                m.path.to_str().unwrap(),
                "--ctx-size",
                "256",
                "--profile",
                "plain",
                "--parallel",
                parallel,
            ],
        );
        assert_eq!(code, 2, "--parallel {parallel}: {err}");
        assert!(
            err.contains("question long (line 2)"),
            "--parallel {parallel}: {err}"
        );
    }
}
