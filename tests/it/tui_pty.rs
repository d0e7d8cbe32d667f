//! End-to-end tests of the full-screen chat: the real binary in a pseudo-terminal, the real
//! llama.cpp engine on scripted models, and a vt100 parser standing in for the user's screen.

use crate::common::*;

/// A control token (`common::s`, which a local variable of these tests shadows).
fn s_(text: &str) -> reflect::gguf::ScriptItem {
    reflect::gguf::ScriptItem::special(text)
}
use portable_pty::{Child, MasterPty, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Screen {
    pub(crate) parser: vt100::Parser,
    pub(crate) raw: Vec<u8>,
}

pub(crate) struct Session {
    pub(crate) screen: Arc<Mutex<Screen>>,
    pub(crate) writer: Box<dyn Write + Send>,
    master: Box<dyn MasterPty + Send>,
    pub(crate) child: Box<dyn Child + Send + Sync>,
    /// Says when the reader has read the terminal's last byte (the child and its terminal
    /// are gone).
    reader_done: std::sync::mpsc::Receiver<()>,
}

const COLS: u16 = 110;
const ROWS: u16 = 34;

pub(crate) fn start(m: &Model, extra: &[&str]) -> Session {
    let mut args = vec!["-m", m.path.to_str().unwrap()];
    args.extend_from_slice(extra);
    start_args(m, &args)
}

/// `reflect ARGS` (no `-m` added) in a pseudo-terminal, sealed into the model's sandbox.
fn start_args(m: &Model, args: &[&str]) -> Session {
    start_env(m, args, &[])
}

/// [`start_args`] with environment variables set.
fn start_env(m: &Model, args: &[&str], env: &[(&str, &str)]) -> Session {
    start_at(m, args, env, None)
}

/// `reflect ARGS` (no `-m` added) in a pseudo-terminal, sealed into the model's sandbox, with
/// `env` set and working in `cwd` when given (the tools' workspace).
pub(crate) fn start_at(
    m: &Model,
    args: &[&str],
    env: &[(&str, &str)],
    cwd: Option<&std::path::Path>,
) -> Session {
    let (master, child) = spawn_in_pty_at(m, args, env, (ROWS, COLS), cwd);
    let mut reader = master.try_clone_reader().expect("reader");
    let writer = master.take_writer().expect("writer");
    let screen = Arc::new(Mutex::new(Screen {
        parser: vt100::Parser::new(ROWS, COLS, 0),
        raw: Vec::new(),
    }));
    let feed = screen.clone();
    let (done, reader_done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        // Ends when the terminal's other side is closed: the child has exited.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut s = feed.lock().unwrap();
            s.parser.process(&buf[..n]);
            s.raw.extend_from_slice(&buf[..n]);
        }
        let _ = done.send(());
    });
    Session {
        screen,
        writer,
        master,
        child,
        reader_done,
    }
}

impl Session {
    pub(crate) fn contents(&self) -> String {
        self.screen.lock().unwrap().parser.screen().contents()
    }

    pub(crate) fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.contents();
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub(crate) fn wait_text(&self, needle: &str) -> String {
        self.wait_for(needle, |s| s.contains(needle))
    }

    /// Ctrl+D once the status bar says idle: while an answer is still finishing, Ctrl+D
    /// cancels it rather than quitting.
    pub(crate) fn quit(&mut self) {
        self.wait_for("the idle phase", |t| {
            t.lines().any(|l| l.trim_start().starts_with("idle"))
        });
        self.send(b"\x04");
    }

    /// Resizes the terminal (the child gets SIGWINCH) and the screen that reads it.
    pub(crate) fn resize(&self, rows: u16, cols: u16) {
        self.screen.lock().unwrap().parser.set_size(rows, cols);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize the pseudo-terminal");
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// Whether the terminal is in canonical (cooked) mode with echo, as a shell leaves it.
    fn cooked(&self) -> bool {
        let fd = self.master.as_raw_fd().expect("unix pty");
        // SAFETY: tcgetattr fills a plain struct for a valid terminal descriptor.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
        t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
    }

    pub(crate) fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Everything written last is on the screen once the reader has ended.
                self.reader_done
                    .recv_timeout(Duration::from_secs(30))
                    .unwrap_or_else(|_| {
                        panic!(
                            "the terminal stayed open after reflect exited; screen:\n{}",
                            self.contents()
                        )
                    });
                return status.exit_code();
            }
            assert!(
                Instant::now() < deadline,
                "reflect did not exit; screen:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The terminal is back as it was: main screen, modes off, cooked mode.
    pub(crate) fn assert_restored(&self) {
        let s = self.screen.lock().unwrap();
        assert!(
            !s.parser.screen().alternate_screen(),
            "left the alternate screen"
        );
        let raw = String::from_utf8_lossy(&s.raw);
        let last_enter = raw
            .rfind("\x1b[?1049h")
            .expect("entered the alternate screen");
        let tail = &raw[last_enter..];
        for (seq, what) in [
            ("\x1b[?1049l", "alternate screen"),
            ("\x1b[?2004l", "bracketed paste"),
            ("\x1b[?1000l", "mouse capture"),
        ] {
            assert!(tail.contains(seq), "{what} not turned off");
        }
        drop(s);
        assert!(self.cooked(), "raw mode was turned off");
    }
}

#[test]
fn chat_shows_thinking_reflection_and_answer_then_quits_cleanly() {
    let m = model(reflection_script());
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    assert!(!s.cooked(), "raw mode while the chat runs");
    s.send(b"what is 2+2?\r");
    let screen = s.wait_text("The answer is 4.");
    let screen = if screen.contains("Check: 2+2 is 4, not 5.") {
        screen
    } else {
        s.wait_text("Check: 2+2 is 4, not 5.")
    };
    assert!(
        screen.contains("what is 2+2?"),
        "the user's message is shown:\n{screen}"
    );
    assert!(
        screen.contains("I add 2 and 2."),
        "thinking pane:\n{screen}"
    );
    assert!(
        !screen.contains("<thinking>") && !screen.contains("<output>"),
        "no tags shown:\n{screen}"
    );
    s.quit(); // Ctrl+D on an empty input quits
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
    // Where the conversation went, on the terminal's stderr.
    let saved = saved_sessions(&m);
    let id = saved[0]["id"].as_str().unwrap().to_string();
    let screen = s.contents();
    assert!(
        screen.contains(&format!("reopen it with: reflect --resume {id}")),
        "{screen}"
    );
}

#[test]
fn cancel_keeps_the_partial_answer_and_ctrl_c_quits() {
    let m = slow_words(600);
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    s.send(b"go\r");
    s.wait_text("w5 ");
    s.send(b"\x1b"); // Esc cancels
    let screen = s.wait_for("the interrupted marker", |t| {
        t.to_lowercase().contains("interrupted")
    });
    assert!(
        !screen.contains("w599"),
        "stopped before the end:\n{screen}"
    );
    // The app is still usable: the input takes text again; Ctrl+C clears it, then quits.
    s.send(b"more");
    s.wait_text("more");
    s.send(b"\x03");
    s.wait_for("the input to clear", |t| !t.contains("more"));
    s.send(b"\x03");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn hostile_escape_sequences_in_the_answer_are_neutralised() {
    let m = model(vec![
        s("<output>"),
        t("Safe \u{1b}]0;pwned\u{7} title \u{1b}[2J done."),
        s("</output>"),
    ]);
    let mut sess = start(&m, &[]);
    sess.wait_text("reflect-scripted");
    let before = sess.screen.lock().unwrap().raw.len();
    sess.send(b"hi\r");
    let screen = sess.wait_text("done.");
    assert!(screen.contains("Safe"), "{screen}");
    // The stand-ins are shown where the escapes were.
    assert!(
        screen.contains("\u{241b}]0;pwned\u{2407}") && screen.contains("\u{241b}[2J"),
        "{screen}"
    );
    assert_ne!(
        sess.screen.lock().unwrap().parser.screen().title(),
        "pwned",
        "no OSC title change"
    );
    sess.quit();
    assert_eq!(sess.wait_exit(), 0);
    sess.assert_restored();
    // Nothing of the model's reached the terminal as an escape: reflect itself writes no OSC
    // sequence (without Ctrl+Y) and clears the screen only before the first frame.
    let raw = sess.screen.lock().unwrap().raw.clone();
    assert!(
        !contains(&raw, b"\x1b]"),
        "an OSC sequence reached the terminal"
    );
    assert!(
        !contains(&raw[before..], b"\x1b[2J"),
        "a clear-screen reached the terminal"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn sigterm_restores_the_terminal() {
    let m = model(reflection_script());
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    let pid = s.child.process_id().expect("pid") as i32;
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert_eq!(s.wait_exit(), 143, "128 + SIGTERM");
    s.assert_restored();
    assert!(
        !s.contents().contains("reopen it with"),
        "nothing was saved"
    );
}

#[test]
fn a_message_sent_while_the_model_loads_is_queued_then_answered() {
    // A 200,000-token vocabulary takes llama.cpp a while to load: long enough to type into.
    let dir = Sandbox::new();
    let path = dir.path().join("big-vocab.gguf");
    let spec = reflect::gguf::RandomModelSpec {
        n_embd: 64,
        n_layer: 1,
        n_ff: 64,
        n_head: 1,
        n_vocab: 200_000,
        ..reflect::gguf::RandomModelSpec::semantic()
    };
    reflect::gguf::write_random_model(&path, &spec).unwrap();
    let m = Model { dir, path };
    let mut s = start(&m, &["--profile", "plain", "--max-tokens", "6"]);
    s.wait_text("Message");
    s.send(b"early bird\r");
    let screen = s.wait_text("early bird");
    let raw = String::from_utf8_lossy(&s.screen.lock().unwrap().raw).into_owned();
    assert!(
        raw.contains("sent when the model is ready"),
        "the message was queued while loading:\n{screen}"
    );
    s.wait_text("reflect-random");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let saved = saved_sessions(&m);
        if let Some(turn) = saved.first().map(|v| v["turns"][0].clone()) {
            assert_eq!(turn["prompt"], "early bird");
            assert_eq!(turn["stop_reason"], "max_tokens", "{turn}");
            assert!(!turn["answer"].as_str().unwrap().is_empty(), "{turn}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never answered:\n{}",
            s.contents()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

/// Asks `question` in pipe mode, saved; returns the session's id.
fn saved_question(m: &Model, question: &str) -> String {
    let out = reflect(m.dir.path())
        .arg("-m")
        .arg(&m.path)
        .args(["--format", "json", question])
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["session"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The sessions the chat saved under the model's directory: (file, parsed).
pub(crate) fn saved_sessions(m: &Model) -> Vec<serde_json::Value> {
    let dir = sessions_dir(m.dir.path());
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            out.push(serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap());
        }
    }
    out
}

#[test]
fn sigterm_and_sighup_mid_answer_save_the_turn_before_exiting() {
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let m = slow_words(600);
        let mut s = start(&m, &[]);
        s.wait_text("reflect-scripted");
        s.send(b"go\r");
        s.wait_text("w8 ");
        let pid = s.child.process_id().expect("pid") as i32;
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        assert_eq!(s.wait_exit(), 128 + signal as u32, "signal {signal}");
        s.assert_restored();
        let saved = saved_sessions(&m);
        assert_eq!(saved.len(), 1, "signal {signal}: one session saved");
        let turn = &saved[0]["turns"][0];
        assert_eq!(turn["prompt"], "go");
        assert_eq!(turn["state"], "interrupted", "signal {signal}: {turn}");
        assert!(turn["answer"].as_str().unwrap().contains("w8"), "{turn}");
    }
}

#[test]
fn resume_shows_a_saved_session_and_adds_to_it() {
    let m = model(reflection_script());
    let id = saved_question(&m, "first question");
    let mut s = start(&m, &["--resume"]);
    let screen = s.wait_text("Resumed session");
    assert!(screen.contains(&id), "{screen}");
    let screen = s.wait_text("first question");
    assert!(
        screen.contains("The answer is 4."),
        "the old answer:\n{screen}"
    );
    s.wait_text("reflect-scripted");
    s.send(b"second question\r");
    s.wait_text("second question");
    let deadline = Instant::now() + Duration::from_secs(30);
    while saved_sessions(&m)[0]["turns"].as_array().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "turn 2 was not saved");
        std::thread::sleep(Duration::from_millis(25));
    }
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    let saved = saved_sessions(&m);
    assert_eq!(saved.len(), 1, "the resumed session grew; no new one");
    let prompts: Vec<&str> = saved[0]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(prompts, ["first question", "second question"]);
}

#[test]
fn resume_uses_the_sessions_model_and_leaves_an_untouched_session_as_it_was() {
    let m = model(reflection_script());
    let id = saved_question(&m, "first question");
    let file = sessions_dir(m.dir.path()).join(format!("{id}.json"));
    // Its `updated` time put in the past: any rewrite of the file would change it.
    let text = std::fs::read_to_string(&file).unwrap();
    let updated = serde_json::from_str::<serde_json::Value>(&text).unwrap()["updated"]
        .as_str()
        .unwrap()
        .to_string();
    let past = format!("2001{}", &updated[4..]);
    std::fs::write(&file, text.replace(&updated, &past)).unwrap();
    let before = std::fs::read(&file).unwrap();
    assert_ne!(before, text.as_bytes());
    // No -m: the session's own model.
    let mut s = start_args(&m, &["--resume"]);
    s.wait_text("Resumed session");
    s.wait_text("reflect-scripted");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "opened and left: unchanged"
    );

    // -m naming another file: said so.
    let other = model(vec![s_("<output>"), t("Other."), s_("</output>")]);
    let mut s = start_args(&m, &["--resume", "-m", other.path.to_str().unwrap()]);
    let screen = s.wait_text("this session was answered by");
    assert!(screen.contains("Resumed session"), "{screen}");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
}

#[test]
fn slash_profile_alone_lists_the_profiles_and_a_bad_one_names_the_command() {
    let m = model(reflection_script());
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    s.send(b"/profile\r");
    let screen = s.wait_text("Profiles:");
    assert!(
        screen.contains("reflection") && screen.contains("plain"),
        "{screen}"
    );
    s.send(b"/profile nosuch\r");
    let screen = s.wait_text("/profile nosuch");
    assert!(!screen.contains("--show-profile"), "{screen}");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
}

#[test]
fn prompts_typed_in_one_chat_come_back_with_up_in_the_next() {
    let m = model(reflection_script());
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    s.send(b"alpha question\r");
    s.wait_text("The answer is 4.");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    let file = m.dir.path().join("data/reflect/history.jsonl");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "\"alpha question\"\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    s.send(b"\x1b[A"); // Up
    s.wait_text("alpha question");
    s.send(b"\x03\x04");
    assert_eq!(s.wait_exit(), 0);
    // --no-save keeps no history either.
    let mut s = start(&m, &["--no-save"]);
    s.wait_text("reflect-scripted");
    s.send(b"beta\r");
    s.wait_text("The answer is 4.");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    assert!(!std::fs::read_to_string(&file).unwrap().contains("beta"));
}

#[test]
fn a_config_mistake_is_shown_not_hidden_behind_no_model_given() {
    let m = model(reflection_script());
    let config = m.dir.path().join("config").join("reflect");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!("model = \"{}\"\nprofle = \"plain\"\n", m.path.display()),
    )
    .unwrap();
    let mut s = start_args(&m, &[]);
    let code = s.wait_exit();
    let screen = s.contents();
    assert_eq!(code, 2, "{screen}");
    assert!(
        screen.contains("unknown key 'profle'") && screen.contains("did you mean 'profile'"),
        "{screen}"
    );
}

#[test]
fn continue_without_a_question_opens_the_latest_session_like_session_id() {
    let m = model(reflection_script());
    saved_question(&m, "earlier question");
    let mut s = start(&m, &["--continue"]);
    s.wait_text("Resumed session");
    s.wait_text("earlier question");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn an_abort_inside_the_process_still_restores_the_terminal() {
    let m = model(reflection_script());
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    assert!(!s.cooked());
    let pid = s.child.process_id().expect("pid") as i32;
    // SAFETY: signalling our own child, as llama.cpp's abort() would.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGABRT) }, 0);
    let code = s.wait_exit();
    s.assert_restored();
    assert!(
        s.contents().contains("llama.cpp aborted"),
        "{}",
        s.contents()
    );
    assert_eq!(code, 1, "the documented runtime-failure exit code");
}

#[test]
fn ctrl_y_copies_the_answer_over_osc_52_and_save_profile_writes_a_file() {
    let m = model(reflection_script());
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    s.send(b"what is 2+2?\r");
    s.wait_text("The answer is 4.");
    s.send(b"\x19"); // Ctrl+Y
    let deadline = Instant::now() + Duration::from_secs(30);
    // base64("The answer is 4.")
    while !String::from_utf8_lossy(&s.screen.lock().unwrap().raw)
        .contains("\x1b]52;c;VGhlIGFuc3dlciBpcyA0Lg==\x07")
    {
        assert!(
            Instant::now() < deadline,
            "no OSC 52 clipboard write; screen:\n{}",
            s.contents()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    s.send(b"/save-profile mine\r");
    let saved = m
        .dir
        .path()
        .join("config")
        .join("reflect")
        .join("prompts")
        .join("mine.toml");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !saved.is_file() {
        assert!(
            Instant::now() < deadline,
            "profile not saved; screen:\n{}",
            s.contents()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(
        text.contains("name = \"mine\"") && text.contains("temperature = 0.7"),
        "{text}"
    );
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

/// Waits until the status bar says idle.
pub(crate) fn wait_idle(s: &Session) {
    s.wait_for("the idle phase", |t| {
        t.lines().any(|l| l.trim_start().starts_with("idle"))
    });
}

#[test]
fn retry_and_edit_replace_the_last_turn_in_the_saved_session() {
    // Slow enough (150 thinking tokens, a few ms each) that the retry lasts for frames: a
    // scripted answer of ten tokens can end before the banner is ever drawn.
    let m = slow_thinker("t", 150);
    let mut s = start(&m, &["--seed", "7"]);
    s.wait_text("reflect-scripted");
    s.send(b"what is 2+2?\r");
    s.wait_text("The answer is 4.");
    wait_idle(&s);
    s.send(b"/retry\r");
    // The banner lasts while the answer is regenerated, and goes with it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&s.screen.lock().unwrap().raw)
        .contains("Regenerating the last answer with seed 8")
    {
        assert!(
            Instant::now() < deadline,
            "no retry banner:\n{}",
            s.contents()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    wait_idle(&s);
    assert!(!s.contents().contains("Regenerating"), "{}", s.contents());
    // Up on the empty box: the message is back; sending the edit replaces the turn.
    s.send(b"\x1b[A");
    s.wait_text("editing the last message");
    s.send(b" please\r");
    // In the conversation (the box showed the text before Enter), and answered.
    s.wait_for("the edited turn answered", |t| {
        t.contains("› what is 2+2? please") && t.lines().any(|l| l.trim_start().starts_with("idle"))
    });
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    let saved = saved_sessions(&m);
    assert_eq!(saved.len(), 1, "one session");
    let turns = saved[0]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 1, "replaced, not appended: {turns:#?}");
    assert_eq!(turns[0]["prompt"], "what is 2+2? please", "{turns:#?}");
    assert_eq!(turns[0]["answer"], "The answer is 4.", "{turns:#?}");
}

#[test]
fn answer_now_ends_the_thinking_while_the_model_thinks() {
    let m = slow_thinker("a", 1500);
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    s.send(b"q\r");
    s.wait_text(" a30");
    s.send(b"\x07"); // Ctrl+G
    s.wait_text("The answer is 4.");
    s.wait_text("thinking ended: you asked for the answer");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    let saved = saved_sessions(&m);
    let turn = &saved[0]["turns"][0];
    assert_eq!(turn["budget"]["forced_by"], "user", "{turn:#?}");
    assert_eq!(turn["answer"].as_str().unwrap().trim(), "The answer is 4.");
    let used = turn["budget"]["used"].as_u64().unwrap();
    assert!((30..1500).contains(&used), "{used}");
}

#[test]
fn a_hugging_face_model_downloads_in_the_loading_phase_then_answers() {
    use crate::common::hub_server::{Fault, HubFile, HubRepo, HubServer};
    let m = model(reflection_script());
    let bytes = std::fs::read(&m.path).unwrap();
    let server = HubServer::start(vec![HubRepo::new(
        "test-org/Chat-GGUF",
        vec![HubFile::lfs("Chat-Q4_K_M.gguf", bytes)],
    )]);
    server.set_fault(Fault::Drip(4096, Duration::from_millis(40)));
    let url = server.url();
    let mut s = start_env(
        &m,
        &["--hf", "test-org/Chat-GGUF"],
        &[("HF_ENDPOINT", &url)],
    );
    let screen = s.wait_text("Downloading Chat-Q4_K_M.gguf");
    assert!(screen.contains("%") && screen.contains(" KiB"), "{screen}");
    server.set_fault(Fault::None);
    s.wait_text("reflect-scripted");
    s.send(b"what is 2+2?\r");
    s.wait_text("The answer is 4.");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn models_pull_draws_a_progress_bar_on_a_terminal() {
    use crate::common::hub_server::{Fault, HubFile, HubRepo, HubServer};
    let m = model(reflection_script());
    let bytes = std::fs::read(&m.path).unwrap();
    let server = HubServer::start(vec![HubRepo::new(
        "test-org/Bar-GGUF",
        vec![HubFile::lfs("Bar-Q4_K_M.gguf", bytes)],
    )]);
    server.set_fault(Fault::Drip(8192, Duration::from_millis(50)));
    let url = server.url();
    let mut s = start_env(
        &m,
        &["models", "pull", "test-org/Bar-GGUF"],
        &[("HF_ENDPOINT", &url)],
    );
    let screen = s.wait_for("the bar with a rate and an ETA", |t| {
        t.contains("ETA") && t.contains("█")
    });
    assert!(screen.contains("Bar-Q4_K_M.gguf ["), "{screen}");
    let screen = s.wait_text("sha256 verified");
    assert!(
        !screen.contains("ETA"),
        "the bar is cleared at the end: {screen}"
    );
    assert_eq!(s.wait_exit(), 0);
}

#[test]
fn quitting_the_chat_mid_download_stops_it_and_keeps_the_part() {
    use crate::common::hub_server::{Fault, HubFile, HubRepo, HubServer};
    // Ctrl+D quits; SIGTERM asks the chat to quit and names the exit.
    let ways: [(&str, Option<i32>, u32); 2] =
        [("Ctrl+D", None, 0), ("SIGTERM", Some(libc::SIGTERM), 143)];
    for (way, signal, code) in ways {
        let m = model(reflection_script());
        let bytes = std::fs::read(&m.path).unwrap();
        let sha = HubFile::lfs("x", bytes.clone()).sha256();
        let server = HubServer::start(vec![HubRepo::new(
            "test-org/Slow-GGUF",
            vec![HubFile::lfs("Slow-Q4_K_M.gguf", bytes)],
        )]);
        // Minutes for the whole file.
        server.set_fault(Fault::Drip(1024, Duration::from_millis(300)));
        let url = server.url();
        let mut s = start_env(
            &m,
            &["--hf", "test-org/Slow-GGUF"],
            &[("HF_ENDPOINT", &url)],
        );
        s.wait_text("Downloading Slow-Q4_K_M.gguf");
        match signal {
            None => s.send(b"\x04"),
            Some(signal) => {
                let pid = s.child.process_id().expect("pid") as i32;
                // SAFETY: signalling our own child.
                assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
            }
        }
        assert_eq!(
            s.wait_exit(),
            code,
            "{way}: the chat quits without waiting for the download"
        );
        s.assert_restored();
        let partial = m
            .dir
            .path()
            .join("huggingface/hub/models--test-org--Slow-GGUF/blobs")
            .join(format!("{sha}.incomplete"));
        assert!(
            partial.exists(),
            "{way}: the part downloaded is kept for the next run"
        );
    }
}

#[test]
fn a_downloaded_models_own_sampling_applies_from_the_first_turn() {
    use crate::common::hub_server::{Fault, HubFile, HubRepo, HubServer};
    let dir = Sandbox::new();
    let path = dir.path().join("temp.gguf");
    let spec = reflect::gguf::RandomModelSpec {
        metadata: vec![(
            "general.sampling.temp".into(),
            reflect::gguf::Value::F32(0.25),
        )],
        ..reflect::gguf::RandomModelSpec::semantic()
    };
    reflect::gguf::write_random_model(&path, &spec).unwrap();
    let m = Model { dir, path };
    let server = HubServer::start(vec![HubRepo::new(
        "test-org/Temp-GGUF",
        vec![HubFile::lfs(
            "Temp-Q4_K_M.gguf",
            std::fs::read(&m.path).unwrap(),
        )],
    )]);
    server.set_fault(Fault::Drip(4096, Duration::from_millis(40)));
    let url = server.url();
    // The plain profile leaves sampling to the model.
    let mut s = start_env(
        &m,
        &[
            "--hf",
            "test-org/Temp-GGUF",
            "--profile",
            "plain",
            "--max-tokens",
            "4",
        ],
        &[("HF_ENDPOINT", &url)],
    );
    s.wait_text("Downloading Temp-Q4_K_M.gguf");
    // Typed during the download: waits for the model, then is its first turn.
    s.send(b"early bird\r");
    s.wait_text("early bird");
    server.set_fault(Fault::None);
    s.wait_text("reflect-random");
    s.send(b"/set\r");
    s.wait_text("temperature 0.25");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
    let saved = saved_sessions(&m);
    assert_eq!(saved[0]["turns"][0]["prompt"], "early bird", "{saved:#?}");
}
