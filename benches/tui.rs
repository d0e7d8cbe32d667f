//! Frame time of the full-screen chat with a ~10,000-line conversation (target ≤ 4 ms), and
//! while one long answer (16–32 KB) streams: the real app state and view, drawn into ratatui's
//! TestBackend at 120×40; and the long answer's Markdown alone, rendered whole each time against
//! through `md_memo`.
//!
//!   cargo bench --bench tui

use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Style};
use ratatui::Terminal;
use reflect::engine::{GpuLayers, LlamaConfig};
use reflect::llm::{
    Completion, EngineEvent, ModelInfo, SamplingSettings, StopReason, Timings, Usage,
};
use reflect::profile::{History, Profile};
use reflect::settings::RunSettings;
use reflect::stream::{Channel, Summary};
use reflect::tui::app::{App, AppInit};
use reflect::tui::msg::Msg;
use reflect::tui::view::view;

const PARAGRAPH: &str =
    "A paragraph of *answer* text, long enough to wrap once or twice in a pane of ordinary width.";

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn text(id: u64, channel: Channel, s: &str) -> Msg {
    Msg::Engine(EngineEvent::Text {
        id,
        channel,
        text: s.into(),
    })
}

fn done(id: u64) -> Msg {
    Msg::Engine(EngineEvent::Done(Box::new(Completion {
        id,
        stop_reason: StopReason::EndOfTurn,
        summary: Summary::default(),
        usage: Usage {
            prompt_tokens: 100,
            completion_tokens: 50,
            ..Usage::default()
        },
        timings: Timings {
            tokens_per_second: 20.0,
            ..Timings::default()
        },
        text: String::new(),
        cost: None,
        seed: None,
        budget: None,
        calls: Vec::new(),
        malformed: Vec::new(),
    })))
}

/// An app with `turns` finished turns of ~20 wrapped lines each, and one more streaming.
fn conversation(turns: u64) -> App {
    let p = Profile::builtin();
    let settings = RunSettings {
        engine: LlamaConfig {
            model_path: "model.gguf".into(),
            gpu_layers: GpuLayers::Count(0),
            ctx_size: None,
            threads: None,
            batch_size: None,
            tags: p.tags.clone(),
            vocab_only: false,
            checked: None,
            chat_template: None,
            speculation: Default::default(),
        }
        .into(),
        sampling: SamplingSettings::default(),
        router: p.router(),
        max_tokens: None,
        system: p.system.clone(),
        think_carefully: true,
        profile: p.name.clone(),
        history: History::Answer,
        overrides: p.sampling.clone(),
        budget: Default::default(),
        tools: Default::default(),
    };
    let theme = reflect::theme::load_spec(&reflect::theme::catalog(None), "dark", None)
        .expect("bundled theme");
    let mut app = App::new(AppInit {
        settings,
        theme,
        theme_name: "dark".into(),
        startup_error: None,
        size: (120, 40),
        prompt_history: Vec::new(),
    });
    app.update(Msg::Engine(EngineEvent::Loaded(Box::new(ModelInfo {
        name: "bench".into(),
        backend: "CPU".into(),
        context_size: 8192,
        tag_tokens: vec![],
        load_ms: 1,
        local: None,
    }))));
    let answer = [PARAGRAPH; 8].join("\n\n");
    for id in 1..=turns + 1 {
        app.update(Msg::Paste(format!(
            "question number {id}: tell me about it"
        )));
        app.update(key(KeyCode::Enter));
        app.update(text(id, Channel::Thinking, "Some thinking."));
        if id <= turns {
            app.update(text(id, Channel::Output, &answer));
            app.update(done(id));
        }
    }
    app
}

/// Streams one token into the live turn; every 200 tokens the turn ends and a new one starts,
/// as in a real conversation (an answer does not grow for ever).
struct Stream {
    id: u64,
    tokens: u64,
}

impl Stream {
    fn token(&mut self, app: &mut App) {
        self.tokens += 1;
        if self.tokens.is_multiple_of(200) {
            app.update(done(self.id));
            self.id += 1;
            app.update(Msg::Paste(format!("question number {}", self.id)));
            app.update(key(KeyCode::Enter));
        }
        app.update(text(
            self.id,
            Channel::Output,
            &format!("token{} ", self.tokens),
        ));
    }
}

/// Streams `source` into one answer a few bytes a frame, starting with its first half already
/// there; at its end the turn finishes and the next one starts the same way. Unlike [`Stream`],
/// the answer is long (16–32 KB) and grows for thousands of frames, like the looping model's in
/// `benches/e2e.py`.
struct Growing {
    id: u64,
    source: String,
    at: usize,
}

impl Growing {
    fn start(app: &mut App, id: u64, source: String) -> Growing {
        let at = half(&source);
        app.update(text(id, Channel::Output, &source[..at]));
        Growing { id, source, at }
    }

    fn token(&mut self, app: &mut App) {
        if self.at == self.source.len() {
            app.update(done(self.id));
            self.id += 1;
            app.update(Msg::Paste(format!("question number {}", self.id)));
            app.update(key(KeyCode::Enter));
            self.at = half(&self.source);
            app.update(text(self.id, Channel::Output, &self.source[..self.at]));
        }
        let mut end = (self.at + 6).min(self.source.len());
        while !self.source.is_char_boundary(end) {
            end += 1;
        }
        app.update(text(self.id, Channel::Output, &self.source[self.at..end]));
        self.at = end;
    }
}

fn half(s: &str) -> usize {
    let mut at = s.len() / 2;
    while !s.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// One paragraph of words without a break, as the looping model writes (~32 KB).
fn one_paragraph() -> String {
    let mut s = String::new();
    for i in 0.. {
        if s.len() >= 32_000 {
            break;
        }
        s.push_str(&format!("w{} ", i % 200));
    }
    s
}

/// Sections of headings, paragraphs, lists and code, as a long answer has (~32 KB).
fn sections() -> String {
    let mut s = String::new();
    for i in 0.. {
        if s.len() >= 32_000 {
            break;
        }
        s.push_str(&format!(
            "## Section {i}\n\n{PARAGRAPH} It goes on with `inline code` for a while.\n\n\
             - first point, with **bold** words\n- second point\n  - nested point\n\n\
             ```rust\nfn section_{i}(x: u32) -> u32 {{\n    x * {i} + 1\n}}\n```\n\n"
        ));
    }
    s
}

fn long_answers(c: &mut Criterion) {
    for (name, source) in [("paragraph", one_paragraph()), ("sections", sections())] {
        let mut app = conversation(20);
        let mut term = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
        let mut stream = Growing::start(&mut app, 21, source);
        term.draw(|f| view(&app, f)).expect("draw");
        c.bench_function(&format!("frame/long_answer/{name}/streaming_token"), |b| {
            b.iter(|| {
                stream.token(&mut app);
                term.draw(|f| view(&app, f)).expect("draw");
            })
        });
        for _ in 0..20 {
            app.update(key(KeyCode::PageUp));
        }
        c.bench_function(
            &format!("frame/long_answer/{name}/scrolled_up_streaming"),
            |b| {
                b.iter(|| {
                    stream.token(&mut app);
                    term.draw(|f| view(&app, f)).expect("draw");
                })
            },
        );
    }
}

/// The answer's Markdown alone, without drawing, as a token at a time is appended (70 columns):
/// rendered whole and wrapped from scratch each time (as every frame did before `md_memo` and
/// `wrap_memo`), and through the memos.
fn answer_render(c: &mut Criterion) {
    use reflect::term_safe::neutralise;
    use reflect::tui::text::markdown::{self, MdStyles, Memos};
    use reflect::tui::text::md_memo;
    use reflect::tui::text::Caches;
    let caches = Caches::default();
    let st = MdStyles {
        base: Style::default(),
        code: Style::default().fg(Color::Green),
        muted: Style::default().fg(Color::DarkGray),
        color: true,
    };
    for (name, source) in [("paragraph", one_paragraph()), ("sections", sections())] {
        for memo in [false, true] {
            let mut at = half(&source);
            let way = if memo { "memo" } else { "whole" };
            c.bench_function(&format!("answer_render/{name}/{way}"), |b| {
                b.iter(|| {
                    at = if at == source.len() {
                        half(&source)
                    } else {
                        at
                    };
                    at = (at + 6).min(source.len());
                    while !source.is_char_boundary(at) {
                        at += 1;
                    }
                    let text = source[..at].trim();
                    if memo {
                        let memos = Memos {
                            wrap: Some(&caches.wrap),
                            code: Some(&caches.code),
                        };
                        md_memo::render(&caches.markdown, text, st, 70, memos)
                            .iter()
                            .map(|r| r.len())
                            .sum()
                    } else {
                        markdown::render(&neutralise(text), st, 70, Memos::NONE).len()
                    }
                })
            });
        }
    }
}

fn frames(c: &mut Criterion) {
    let mut app = conversation(500);
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    term.draw(|f| view(&app, f)).expect("draw");
    let mut stream = Stream { id: 501, tokens: 0 };
    c.bench_function("frame/10k_lines/streaming_token", |b| {
        b.iter(|| {
            stream.token(&mut app);
            term.draw(|f| view(&app, f)).expect("draw");
        })
    });
    for _ in 0..200 {
        app.update(key(KeyCode::PageUp));
    }
    c.bench_function("frame/10k_lines/scrolled_up_streaming", |b| {
        b.iter(|| {
            stream.token(&mut app);
            term.draw(|f| view(&app, f)).expect("draw");
        })
    });
    c.bench_function("frame/10k_lines/redraw_unchanged", |b| {
        b.iter(|| {
            term.draw(|f| view(&app, f)).expect("draw");
        })
    });
}

criterion_group!(benches, frames, long_answers, answer_render);
criterion_main!(benches);
