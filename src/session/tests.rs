//! Session files: round trips, atomic owner-only writes, lookup by id prefix, broken files.

use super::*;
use crate::conversation::{Turn, TurnState};
use crate::llm::{StopReason, Usage};
use crate::stream::Channel;

fn answered(prompt: &str, answer: &str) -> Turn {
    let mut t = Turn::queued(prompt);
    t.sent = format!("{prompt} Think carefully.");
    t.state = TurnState::Running;
    t.push_text(Channel::Thinking, "let me see");
    t.reflection_start(1);
    t.push_text(Channel::Reflection, "wait, no");
    t.reflection_end(1);
    t.push_text(Channel::Thinking, " right");
    t.push_text(Channel::Output, answer);
    t.state = TurnState::Done;
    t.stop_reason = Some(StopReason::OutputClosed);
    t.raw = format!(
        "<thinking>let me see<reflection>wait, no</reflection> right</thinking><output>{answer}</output>"
    );
    t.usage = Some(Usage {
        prompt_tokens: 40,
        prompt_tokens_evaluated: 40,
        completion_tokens: 12,
        ..Usage::default()
    });
    t
}

fn session_with(turns: &[Turn]) -> Session {
    let mut s = Session::new("tiny", None, "reflection");
    s.set_turns(turns);
    s
}

#[test]
fn a_turn_survives_saving_and_loading_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("sessions"));
    let turn = answered("What is 2+2?", "4");
    let s = session_with(std::slice::from_ref(&turn));
    let path = store.save(&s).unwrap();
    assert_eq!(path, store.path(&s.id));
    let back = store.find(&s.id).unwrap();
    assert_eq!(back, s);
    let live = back.live_turns();
    assert_eq!(live[0].sent, turn.sent);
    assert_eq!(live[0].thinking, turn.thinking);
    assert_eq!(live[0].answer, "4");
    assert_eq!(live[0].state, TurnState::Done);
    assert_eq!(live[0].reflections[0].text, "wait, no");
    assert!(!live[0].reflections[0].open);
    assert_eq!(live[0].usage, turn.usage);
    assert_eq!(
        live[0].raw, turn.raw,
        "the text as generated, for a full history"
    );
}

#[test]
fn which_turns_are_saved_and_how() {
    let mut queued = Turn::queued("later");
    queued.state = TurnState::Queued;
    let mut running = answered("Q", "half");
    running.state = TurnState::Running;
    let mut never_sent = Turn::queued("x");
    never_sent.state = TurnState::Failed("not sent: the model did not load".into());
    let mut failed = answered("boom", "");
    failed.state = TurnState::Failed("decoding failed".into());
    let s = session_with(&[answered("A", "a"), running, queued, never_sent, failed]);
    let states: Vec<(SavedState, Option<&str>)> = s
        .turns
        .iter()
        .map(|t| (t.state, t.error.as_deref()))
        .collect();
    assert_eq!(
        states,
        [
            (SavedState::Done, None),
            (SavedState::Interrupted, None),
            (SavedState::Failed, Some("decoding failed")),
        ]
    );
}

#[cfg(unix)]
#[test]
fn files_are_private_and_writes_leave_no_temporary_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("data").join("sessions"));
    let mut s = session_with(&[answered("Q", "A")]);
    store.save(&s).unwrap();
    s.push(SavedTurn::from_turn(&answered("Q2", "A2")).unwrap());
    let path = store.save(&s).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
    let names: Vec<String> = std::fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [format!("{}.json", s.id)]);
    assert_eq!(store.find(&s.id).unwrap().turns.len(), 2);
}

#[test]
fn ids_are_found_by_a_unique_start_and_ambiguity_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    for id in [
        "20261126-100000-aaaa",
        "20261126-100000-aabb",
        "20261127-090000-cccc",
    ] {
        let mut s = session_with(&[answered(id, "x")]);
        s.id = id.into();
        store.save(&s).unwrap();
    }
    assert_eq!(store.find("20261127").unwrap().id, "20261127-090000-cccc");
    assert_eq!(
        store.find("20261126-100000-aabb").unwrap().id,
        "20261126-100000-aabb"
    );
    let err = store.find("20261126").unwrap_err().to_string();
    assert!(err.contains("matches several sessions"), "{err}");
    assert!(
        err.contains("20261126-100000-aaaa, 20261126-100000-aabb"),
        "{err}"
    );
    for bad in ["nope", "../etc/passwd", "", ".lock"] {
        let err = store.find(bad).unwrap_err();
        assert!(matches!(err, SessionError::NotFound { .. }), "{bad}: {err}");
    }
}

#[test]
fn a_broken_file_is_named_and_the_others_still_list_and_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let good = session_with(&[answered("fine", "ok")]);
    store.save(&good).unwrap();
    let cases = [
        (
            "truncated",
            "{\n  \"version\": 1,\n  \"id\": \"x\",\n",
            "line 4",
        ),
        ("not-json", "hello", "line 1, column 1"),
        ("newer", r#"{"version": 9, "turns": []}"#, "newer reflect"),
        ("no-version", r#"{"turns": []}"#, "\"version\" must be 1"),
        (
            "bad-field",
            r#"{"version": 1, "id": "x", "created": "", "updated": "", "model": "m", "profile": "p", "turns": [{"prompt": 3}]}"#,
            "line 1, column 108: invalid type: integer `3`",
        ),
        (
            "wrong-type",
            "{\n  \"version\": 1,\n  \"id\": \"x\",\n  \"created\": \"\",\n  \"updated\": 20261126,\n  \"model\": \"m\",\n  \"profile\": \"p\",\n  \"turns\": []\n}",
            "line 5, column 21: invalid type: integer `20261126`, expected a string",
        ),
        (
            "bad-state",
            r#"{"version": 1, "id": "x", "created": "", "updated": "", "model": "m", "profile": "p", "turns": [{"prompt": "q", "state": "exploded"}]}"#,
            "unknown variant `exploded`",
        ),
    ];
    for (name, text, _) in &cases {
        std::fs::write(dir.path().join(format!("{name}.json")), text).unwrap();
    }
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 1 + cases.len());
    assert_eq!(listed[0].session.as_ref().unwrap().id, good.id);
    for (name, _, want) in &cases {
        let err = store.find(name).unwrap_err().to_string();
        assert!(err.contains(&format!("{name}.json")), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
    }
    let (table, errors) = listing(&listed);
    assert_eq!(errors.len(), cases.len());
    assert!(
        table.contains(&good.id) && table.contains("fine"),
        "{table}"
    );
    // The broken files were written after the good one: the latest session is broken, and
    // --continue must not go on in the good one instead.
    let err = store.latest().unwrap_err();
    assert!(
        matches!(err, SessionError::LatestUnreadable { .. }),
        "{err}"
    );
}

/// Sets a file's modification time.
fn set_modified(path: &std::path::Path, t: std::time::SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn latest_refuses_a_newer_file_that_does_not_read_back_but_not_an_older_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let mut good = session_with(&[answered("fine", "ok")]);
    good.id = "20261206-100000-aaaa".into();
    store.save(&good).unwrap();
    let broken = store.path("20261205-090000-bbbb");
    std::fs::write(&broken, "{\"version\":1").unwrap();
    let now = std::time::SystemTime::now();
    let hour = std::time::Duration::from_secs(3600);
    set_modified(&store.path(&good.id), now);

    // Written before the good session: an old broken file does not block --continue.
    set_modified(&broken, now - hour);
    assert_eq!(store.latest().unwrap().id, good.id);

    // Written after it: that file is the latest session, and it is named with what to do.
    set_modified(&broken, now + hour);
    let err = store.latest().unwrap_err();
    assert!(
        matches!(&err, SessionError::LatestUnreadable { id, .. } if id == "20261205-090000-bbbb"),
        "{err}"
    );
    let msg = err.to_string();
    for want in [
        "20261205-090000-bbbb.json",
        "line 1",
        "`reflect sessions rm 20261205-090000-bbbb`",
        "--session ID",
    ] {
        assert!(msg.contains(want), "{want}: {msg}");
    }
    assert!(!msg.contains("fix or delete it;"), "said once: {msg}");
    // A given id still opens.
    assert_eq!(store.open(Some("20261206")).unwrap().id, good.id);
}

#[test]
fn remove_deletes_a_file_that_does_not_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    std::fs::write(store.path("20261205-090000-bbbb"), "{\"version\":1").unwrap();
    let (id, held) = store.remove("20261205").unwrap();
    assert_eq!(id, "20261205-090000-bbbb");
    assert!(matches!(held, Err(SessionError::Invalid { .. })));
    assert!(!store.path(&id).exists());
    let err = store.remove("20261205").unwrap_err().to_string();
    assert!(err.contains("`reflect sessions list` lists them"), "{err}");
    assert!(!err.contains("--sessions"), "{err}");
}

#[test]
fn the_listing_shows_escape_sequences_in_titles_and_model_names_instead_of_sending_them() {
    let mut s = session_with(&[answered("\u{1b}]0;pwned\u{7}\u{1b}[2J hi", "A")]);
    s.model = "m\u{1b}[31m\u{202e}".into();
    let (table, errors) = listing(&[Listed {
        id: s.id.clone(),
        session: Ok(s),
    }]);
    assert!(errors.is_empty());
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}'),
        "{table:?}"
    );
    assert!(!table.contains('\u{202e}'), "{table:?}");
    assert!(
        table.contains("\u{241b}]0;pwned\u{2407}\u{241b}[2J hi"),
        "{table:?}"
    );
    assert!(table.contains("m\u{241b}[31m<U+202E>"), "{table:?}");
}

#[test]
fn latest_is_the_most_recently_updated_and_the_file_name_is_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    assert!(matches!(store.latest(), Err(SessionError::Empty { .. })));
    let mut old = session_with(&[answered("old", "1")]);
    old.id = "b-old".into();
    old.updated = "2026-01-01T00:00:00Z".into();
    let mut new = session_with(&[answered("new", "2")]);
    new.id = "a-new".into();
    new.updated = "2026-06-01T00:00:00Z".into();
    store.save(&old).unwrap();
    store.save(&new).unwrap();
    assert_eq!(store.latest().unwrap().id, "a-new");
    // A copied file keeps working under its new name.
    std::fs::copy(store.path("b-old"), store.path("copied")).unwrap();
    assert_eq!(store.find("copied").unwrap().id, "copied");
}

#[test]
fn append_keeps_turns_another_process_saved_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let mut first = session_with(&[answered("Q1", "A1")]);
    store.save(&first).unwrap();
    let mut second = first.clone();
    store
        .append(
            &mut second,
            SavedTurn::from_turn(&answered("Q2", "A2")).unwrap(),
        )
        .unwrap();
    store
        .append(
            &mut first,
            SavedTurn::from_turn(&answered("Q3", "A3")).unwrap(),
        )
        .unwrap();
    let prompts: Vec<String> = store
        .find(&first.id)
        .unwrap()
        .turns
        .into_iter()
        .map(|t| t.prompt)
        .collect();
    assert_eq!(prompts, ["Q1", "Q2", "Q3"]);
}

#[test]
fn markdown_export_has_a_section_per_channel_and_turn() {
    let mut cut = answered("Second\n\nquestion", "par");
    cut.state = TurnState::Interrupted;
    let s = session_with(&[answered("First question", "Four."), cut]);
    let md = markdown(&s);
    for want in [
        "# First question\n",
        "## Turn 1\n\n> First question\n",
        "### Thinking\n\nlet me see right\n",
        "### Reflection 1\n\nwait, no\n",
        "### Output\n\nFour.\n",
        "## Turn 2\n\n> Second\n>\n> question\n",
        "*answered by tiny · interrupted · 40 prompt tokens, 12 generated · stop: output_closed*",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    assert_eq!(md.matches("### Output").count(), 2);
    let json = ExportFormat::Json.render(&s);
    let back: Session = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(
        ExportFormat::pick(std::path::Path::new("x.JSON"), false),
        ExportFormat::Json
    );
    assert_eq!(
        ExportFormat::pick(std::path::Path::new("-"), false),
        ExportFormat::Markdown
    );
}

#[test]
fn ids_sort_by_time_and_titles_are_short_first_lines() {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
    let id = new_id(t);
    assert!(id.starts_with("20261118-"), "{id}");
    assert_eq!(id.len(), "20261118-100000-abcd".len());
    assert!(new_id(t + std::time::Duration::from_secs(3600)) > id);
    let mut s = session_with(&[answered(&format!("\n  {}\nmore", "x".repeat(100)), "a")]);
    assert_eq!(s.title().chars().count(), 60);
    assert!(s.title().ends_with('…'));
    s.turns.clear();
    assert_eq!(s.title(), "(empty)");
}

#[test]
fn remove_deletes_one_session_and_prune_the_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    for (id, updated) in [
        ("a", "2026-01-01T00:00:00Z"),
        ("b", "2026-03-20T00:00:00Z"),
        ("c", "not a time"),
        ("d", "2026-03-30T00:00:00Z"),
    ] {
        let mut s = session_with(&[answered("q", "a")]);
        s.id = id.into();
        s.updated = updated.into();
        store.save(&s).unwrap();
    }
    std::fs::write(dir.path().join("broken.json"), "{").unwrap();
    assert!(matches!(
        store.remove("nosuch"),
        Err(SessionError::NotFound { .. })
    ));
    assert_eq!(store.remove("d").unwrap().0, "d");
    assert!(!store.path("d").exists());
    let now = humantime::parse_rfc3339("2026-03-31T00:00:00Z").unwrap();
    let pruned = store
        .prune(std::time::Duration::from_secs(30 * 24 * 3600), now)
        .unwrap();
    assert_eq!(pruned.removed, ["a"]);
    assert_eq!(pruned.unreadable.len(), 2, "{:?}", pruned.unreadable);
    assert!(store.path("b").exists() && store.path("c").exists());
    assert!(dir.path().join("broken.json").exists());
}

fn local(name: &str, path: &str) -> AnsweredBy {
    AnsweredBy {
        name: name.into(),
        path: Some(path.into()),
        endpoint: None,
    }
}

#[test]
fn each_turn_records_the_model_that_answered_it() {
    let mut s = Session::new("", None, "reflection");
    s.answered_by(local("Tiny", "/m/tiny.gguf"));
    s.push(SavedTurn::from_turn(&answered("Q1", "A1")).unwrap());
    s.answered_by(local("Other", "/m/other.gguf"));
    s.push(SavedTurn::from_turn(&answered("Q2", "A2")).unwrap());
    let models: Vec<Option<AnsweredBy>> = s.turns.iter().map(|t| t.model.clone()).collect();
    assert_eq!(
        models,
        [
            Some(local("Tiny", "/m/tiny.gguf")),
            Some(local("Other", "/m/other.gguf"))
        ]
    );
    assert_eq!(
        s.model, "Other",
        "the session names the model that answered last"
    );
    // Through a file and the chat's turns, each keeps its own.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    store.save(&s).unwrap();
    let back = store.find(&s.id).unwrap();
    assert_eq!(back, s);
    let live = back.live_turns();
    assert_eq!(back.saved_turns(&live), s.turns);
    let text = std::fs::read_to_string(store.path(&s.id)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["turns"][0]["model"],
        serde_json::json!({"name": "Tiny", "path": "/m/tiny.gguf"})
    );
    assert_eq!(
        v["version"], 1,
        "an optional field: the format stays version 1"
    );
}

#[test]
fn a_file_written_before_turns_named_their_model_still_loads_and_names_the_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let old = r#"{"version": 1, "id": "x", "created": "", "updated": "", "model": "Tiny",
        "model_path": "/m/tiny.gguf", "profile": "reflection",
        "turns": [{"prompt": "Q1", "answer": "A1", "state": "done"}]}"#;
    std::fs::write(store.path("old"), old).unwrap();
    let mut s = store.find("old").unwrap();
    assert_eq!(s.turns[0].model, Some(local("Tiny", "/m/tiny.gguf")));
    let t = &s.turns[0];
    assert!(t.calls.is_empty() && t.exchange.is_empty() && t.steps.is_empty());
    // Going on with another model leaves the earlier turn with the model that answered it.
    s.answered_by(local("Other", "/m/other.gguf"));
    s.push(SavedTurn::from_turn(&answered("Q2", "A2")).unwrap());
    assert_eq!(s.turns[0].model, Some(local("Tiny", "/m/tiny.gguf")));
    assert_eq!(s.turns[1].model, Some(local("Other", "/m/other.gguf")));
    // A file that names no model at all leaves its turns without one.
    let bare = r#"{"version": 1, "id": "x", "created": "", "updated": "", "model": "",
        "profile": "reflection", "turns": [{"prompt": "Q1", "state": "done"}]}"#;
    std::fs::write(store.path("bare"), bare).unwrap();
    assert_eq!(store.find("bare").unwrap().turns[0].model, None);
}

#[test]
fn same_model_compares_files_or_servers_and_model_ids() {
    let on = |name: &str, endpoint: &str| AnsweredBy {
        name: name.into(),
        path: None,
        endpoint: Some(endpoint.into()),
    };
    let planned = |path: &str| local("", path);
    assert!(same_model(
        &local("Tiny", "/m/a.gguf"),
        &planned("/m/a.gguf")
    ));
    assert!(!same_model(
        &local("Tiny", "/m/a.gguf"),
        &planned("/m/b.gguf")
    ));
    assert!(!same_model(&on("llama", "box"), &planned("/m/a.gguf")));
    assert!(same_model(&on("llama", "box"), &on("", "box")));
    assert!(same_model(&on("llama", "box"), &on("llama", "box")));
    assert!(!same_model(&on("llama", "box"), &on("qwen", "box")));
    assert!(!same_model(&on("llama", "box"), &on("llama", "other")));
}

#[test]
fn the_markdown_export_names_each_turns_model_and_keeps_line_breaks() {
    let mut t = answered("line one\nline two", "Four.");
    t.thinking = vec![crate::conversation::ThinkingPart::Text(
        "first thought\nsecond thought\n\n\nthird".into(),
    )];
    t.reflections[0].text = "wait\nno".into();
    let mut s = Session::new("", None, "reflection");
    s.answered_by(local("Tiny", "/m/tiny.gguf"));
    s.set_turns([&t]);
    s.answered_by(AnsweredBy {
        name: "qwen".into(),
        path: None,
        endpoint: Some("gpu-box".into()),
    });
    s.push(SavedTurn::from_turn(&answered("Q2", "A2")).unwrap());
    let md = markdown(&s);
    for want in [
        "- Model: qwen on `gpu-box`\n",
        "> line one  \n> line two\n",
        "### Thinking\n\nfirst thought  \nsecond thought\n\nthird\n",
        "### Reflection 1\n\nwait  \nno\n",
        "*answered by Tiny (`/m/tiny.gguf`) · 40 prompt tokens",
        "*answered by qwen on `gpu-box` · 40 prompt tokens",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
}

/// A step's end as the engine reports it: this text and these calls.
fn step(
    text: &str,
    calls: Vec<crate::tools::ToolCall>,
    completion_tokens: u32,
) -> crate::llm::Completion {
    crate::llm::Completion {
        id: 1,
        stop_reason: StopReason::EndOfTurn,
        summary: Default::default(),
        usage: Usage {
            prompt_tokens: 50,
            completion_tokens,
            ..Usage::default()
        },
        timings: Default::default(),
        text: text.into(),
        cost: None,
        seed: None,
        budget: None,
        calls,
        malformed: Vec::new(),
    }
}

/// A turn that read a file (done) and was denied a write, then answered.
fn tool_turn() -> Turn {
    use crate::tools::{CallStatus, ToolCall};
    let mut t = Turn::queued("What does notes.txt say?");
    t.sent = t.prompt.clone();
    t.state = TurnState::Running;
    let args = |v: serde_json::Value| v.as_object().unwrap().clone();
    let mut read = ToolCall::new("read_file", args(serde_json::json!({"path": "notes.txt"})));
    read.id = "a00000001".into();
    let mut write = ToolCall::new(
        "write_file",
        args(serde_json::json!({"path": "x", "content": "```\nhi"})),
    );
    write.id = "a00000002".into();
    let calls = t.step_done(&step("<thinking>look</thinking>", vec![read, write], 9));
    assert_eq!(calls.len(), 2);
    t.call_result("a00000001", CallStatus::Done, "hello\n```fence```", 3);
    t.call_result(
        "a00000002",
        CallStatus::Denied,
        "denied: write_file needs the user's approval, and no one could be asked",
        0,
    );
    t.push_text(Channel::Output, "It says hello.");
    assert!(t
        .step_done(&step("<output>It says hello.</output>", Vec::new(), 5))
        .is_empty());
    t
}

#[test]
fn a_tool_turn_saves_every_step_and_a_follow_up_sends_its_exchange_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let turn = tool_turn();
    let s = session_with(std::slice::from_ref(&turn));
    store.save(&s).unwrap();
    let back = store.find(&s.id).unwrap();
    assert_eq!(back, s);
    let saved = &back.turns[0];
    assert_eq!(saved.calls.len(), 2);
    assert_eq!(saved.steps.len(), 2);
    assert_eq!(
        saved.exchange.len(),
        3,
        "the calls' message and two results"
    );
    let live = back.live_turns();
    assert_eq!(live[0].exchange, turn.exchange);
    assert_eq!(live[0].calls, turn.calls);
    assert_eq!(live[0].steps, turn.steps);
    assert_eq!(
        live[0].usage.unwrap().completion_tokens,
        14,
        "summed over steps"
    );
    // The next question carries the earlier exchange, between its question and its answer.
    let m = crate::conversation::messages(
        None,
        crate::profile::History::Answer,
        &crate::stream::TagSet::default(),
        &live,
        "And then?",
    );
    let roles: Vec<crate::llm::Role> = m.iter().map(|m| m.role).collect();
    use crate::llm::Role::{Assistant, Tool, User};
    assert_eq!(roles, [User, Assistant, Tool, Tool, Assistant, User]);
    assert_eq!(m[1].tool_calls.len(), 2);
    assert_eq!(m[2].content, "hello\n```fence```");
    assert_eq!(m[2].tool_call_id.as_deref(), Some("a00000001"));
    // The file keeps the calls in their documented shape.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(store.path(&s.id)).unwrap()).unwrap();
    assert_eq!(
        json["turns"][0]["calls"][1],
        serde_json::json!({"id": "a00000002", "name": "write_file",
            "arguments": {"path": "x", "content": "```\nhi"}, "status": "denied",
            "result": "denied: write_file needs the user's approval, and no one could be asked",
            "elapsed_ms": 0, "step": 1})
    );
}

#[test]
fn the_markdown_export_shows_each_call_its_arguments_and_result() {
    let md = markdown(&session_with(&[tool_turn()]));
    let calls = md
        .find("### Tool call 1: read_file (done, 3 ms, step 1)")
        .expect(&md);
    let output = md.find("### Output").expect(&md);
    assert!(calls < output, "the calls come before the answer: {md}");
    assert!(
        md.contains("```json\n{\"path\":\"notes.txt\"}\n```"),
        "{md}"
    );
    // A fence longer than any backticks in the result, so that it cannot close early.
    assert!(md.contains("````text\nhello\n```fence```\n````"), "{md}");
    assert!(
        md.contains("### Tool call 2: write_file (denied, 0 ms, step 1)"),
        "{md}"
    );
    assert!(
        md.contains("````json\n{\"content\":\"```\\nhi\",\"path\":\"x\"}\n````"),
        "{md}"
    );
    assert!(
        md.contains("denied: write_file needs the user's approval"),
        "{md}"
    );
    // A turn without calls shows none.
    assert!(!markdown(&session_with(&[answered("Q", "A")])).contains("Tool call"));
}

#[test]
fn a_turn_saved_while_a_call_runs_is_saved_with_the_call_cancelled_and_answered() {
    use crate::llm::{ChatMessage, Role, Usage};
    use crate::tools::{CallRecord, CallStatus, ToolCall};
    let mut t = Turn::queued("write it");
    t.sent = "write it".into();
    t.state = TurnState::Running;
    let mut call = ToolCall::new("run_command", Default::default());
    call.id = "abc123def".into();
    t.exchange.push(ChatMessage::calls("", vec![call.clone()]));
    t.calls.push(CallRecord::new(call, 1));
    t.steps.push(Usage {
        prompt_tokens: 10,
        completion_tokens: 5,
        ..Usage::default()
    });
    let saved = SavedTurn::from_turn(&t).expect("saved");
    assert_eq!(saved.calls[0].status, CallStatus::Cancelled);
    assert_eq!(saved.exchange.len(), 2, "the call has its result");
    assert_eq!(saved.exchange[1].role, Role::Tool);
    assert_eq!(saved.usage.map(|u| u.completion_tokens), Some(5));
    // The live turn is not changed by saving it.
    assert_eq!(t.calls[0].status, CallStatus::Running);
    // A file from before this fix is repaired as it is read.
    let mut old = saved.clone();
    old.calls[0].status = CallStatus::Running;
    old.exchange.truncate(1);
    let back = old.to_turn();
    assert_eq!(back.calls[0].status, CallStatus::Cancelled);
    assert_eq!(back.exchange.len(), 2);
}
