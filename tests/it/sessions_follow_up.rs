//! End-to-end tests that a follow-up never lands in the wrong conversation or on a model it
//! does not name: a damaged latest session stops `-c` and `--resume`, `sessions rm` deletes a
//! damaged file, `-c` / `--session` run on the session's model, and each turn records the
//! model that answered it.

use crate::common::*;
use reflect::gguf::ScriptedModel;
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
    run_in_pty(m, args, 24, 200)
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
    for (args, flag) in [
        (&["-m", path, "--resume"][..], "--resume"),
        (&["-m", path, "-c"][..], "--continue"),
    ] {
        let (code, text) = in_terminal(&m, args);
        assert_eq!(code, 2, "{args:?}: {text}");
        assert!(
            text.contains(&format!(
                "reflect: {flag}: the latest session cannot be read"
            )) && text.contains(&format!("`reflect sessions rm {latest}`")),
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

#[test]
fn continue_and_session_without_m_use_the_sessions_model_from_anywhere() {
    let m = model(reflection_script());
    // Asked with a relative path, from the model's directory.
    let mut cmd = reflect(m.dir.path());
    cmd.current_dir(m.dir.path())
        .args(["--format", "json", "-m", "model.gguf", "Q1"]);
    let (code, out, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = v["session"].as_str().unwrap().to_string();

    // Followed up from another directory, with no -m: the -h example.
    let home = m.dir.home();
    for args in [
        vec!["-c", "and this change?"],
        vec!["--session", &id[..15], "and that one?"],
    ] {
        let mut cmd = reflect(m.dir.path());
        cmd.current_dir(&home).args(&args);
        let (code, out, err) = outcome(cmd);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(out.trim(), "The answer is 4.", "{args:?}");
        assert!(!err.contains("note:"), "the same model: {err}");
    }
    assert_eq!(read_session(&m, &id)["turns"].as_array().unwrap().len(), 3);

    // The model file is gone: said, with what to do, and nothing is appended.
    let moved = m.dir.path().join("moved.gguf");
    std::fs::rename(&m.path, &moved).unwrap();
    let before = snapshot(&m);
    let (code, out, err) = bare(&m, &["-c", "again"]);
    assert_eq!(code, 1, "as any model that cannot be loaded: {err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!("session {id} was answered by "))
            && err.contains("model.gguf, which is no longer there")
            && err.contains("-m MODEL"),
        "{err}"
    );
    assert_eq!(snapshot(&m), before);
    // Naming another model goes on.
    let (code, _, err) = bare(&m, &["-m", moved.to_str().unwrap(), "-c", "again"]);
    assert_eq!(code, 0, "{err}");
}

/// A second model file in `m`'s sandbox, named `name`, answering "Another answer.".
fn second_model(m: &Model, name: &str) -> PathBuf {
    let mut sm = ScriptedModel::new(vec![
        s("<thinking>"),
        t("\nHmm."),
        s("</thinking>"),
        s("<output>"),
        t("\nAnother answer.\n"),
        s("</output>"),
    ]);
    sm.name = name.into();
    let path = m.dir.path().join("other.gguf");
    sm.write(&path).expect("write the second model");
    path
}

fn turn_model(v: &serde_json::Value, i: usize) -> (String, String) {
    let t = &v["turns"][i]["model"];
    (
        t["name"].as_str().unwrap_or_default().to_string(),
        t["path"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn each_turn_records_its_model_and_a_follow_up_on_another_says_so() {
    let m = model(reflection_script());
    let other = second_model(&m, "other-model");
    let (a, b) = (m.path.to_str().unwrap(), other.to_str().unwrap());
    let id = first_turn(&m, "Q1");

    let (code, out, err) = bare(&m, &["-m", b, "-c", "Q2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "Another answer.");
    assert!(
        err.contains(&format!("note: session {id} was answered by"))
            && err.contains(a)
            && err.contains(&format!("this turn is answered by {b}")),
        "{err}"
    );
    let v = read_session(&m, &id);
    assert_eq!(turn_model(&v, 0), ("reflect-scripted".into(), a.into()));
    assert_eq!(turn_model(&v, 1), ("other-model".into(), b.into()));
    assert_eq!(
        v["model"], "other-model",
        "the session names the latest model"
    );
    assert_eq!(v["model_path"], b);
    assert_eq!(v["version"], 1);

    // The next follow-up without -m goes on with that one, without a note.
    let (code, out, err) = bare(&m, &["-c", "Q3"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "Another answer.");
    assert!(!err.contains("note:"), "{err}");

    let (code, md, err) = bare(&m, &["sessions", "show", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(
        md.contains(&format!("*answered by reflect-scripted (`{a}`)")),
        "{md}"
    );
    assert_eq!(
        md.matches(&format!("*answered by other-model (`{b}`)"))
            .count(),
        2,
        "{md}"
    );
    let (code, json, err) = bare(&m, &["sessions", "export", &id, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let exported: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(turn_model(&exported, 0).1, a);
    assert_eq!(turn_model(&exported, 2).1, b);
}

#[test]
fn a_session_file_from_before_per_turn_models_still_continues() {
    let m = model(reflection_script());
    let dir = sessions_dir(m.dir.path());
    std::fs::create_dir_all(&dir).unwrap();
    let old = serde_json::json!({
        "version": 1,
        "id": "20261101-100000-abcd",
        "created": "2026-11-01T10:00:00Z",
        "updated": "2026-11-01T10:00:00Z",
        "model": "reflect-scripted",
        "model_path": m.path,
        "profile": "reflection",
        "turns": [{"prompt": "Q1", "answer": "The answer is 4.", "state": "done"}],
    });
    let path = dir.join("20261101-100000-abcd.json");
    std::fs::write(&path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    let (code, _, err) = bare(&m, &["-c", "Q2"]);
    assert_eq!(code, 0, "{err}");
    let v = read_session(&m, "20261101-100000-abcd");
    let a = m.path.to_str().unwrap();
    assert_eq!(turn_model(&v, 0), ("reflect-scripted".into(), a.into()));
    assert_eq!(turn_model(&v, 1), ("reflect-scripted".into(), a.into()));

    // Older files may name the model by a path relative to where reflect ran: from elsewhere,
    // the message says so rather than that the model is gone.
    let mut old = old;
    old["model_path"] = "model.gguf".into();
    std::fs::write(&path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    let (code, _, err) = bare(&m, &["-c", "Q3"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("by the relative path model.gguf (saved by an older reflect)")
            && err.contains("run from the directory it was saved in, or pass -m MODEL"),
        "{err}"
    );
}
