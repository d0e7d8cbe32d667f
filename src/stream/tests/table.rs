//! Table tests: each row is pieces in, expected thinking, reflections, output and anomalies
//! out; every row is also re-run split at every character position and one character at a
//! time, and must pass every invariant of `check`.

use super::super::check::{self, Piece};
use super::super::*;
use super::*;

struct Case {
    name: &'static str,
    cfg: Cfg,
    pieces: &'static [P],
    thinking: &'static str,
    reflections: &'static [&'static str],
    output: &'static str,
    /// `"stray </x>"`, `"repeated <x>"` or `"unclosed <channel>"`.
    anomalies: &'static [&'static str],
}

const fn row(
    name: &'static str,
    pieces: &'static [P],
    thinking: &'static str,
    reflections: &'static [&'static str],
    output: &'static str,
    anomalies: &'static [&'static str],
) -> Case {
    Case {
        name,
        cfg: Cfg::Default,
        pieces,
        thinking,
        reflections,
        output,
        anomalies,
    }
}

const fn with(cfg: Cfg, case: Case) -> Case {
    Case { cfg, ..case }
}

const CASES: &[Case] = &[
    // Tags in the normal Reflection-70B layout.
    row(
        "full transcript as text",
        &[T(REFLECTION_TRANSCRIPT)],
        "Let me add 2 and 2.\nThat is 5.\n\nSo it is 4.",
        &["Wait, 2 + 2 = 4."],
        "2 + 2 = 4",
        &[],
    ),
    row(
        "tags as tokens",
        &[
            K(THINK),
            T("a"),
            K(REFL),
            T("r"),
            K(END_REFL),
            T("b"),
            K(END_THINK),
            K(OUT),
            T("ans"),
            K(END_OUT),
        ],
        "ab",
        &["r"],
        "ans",
        &[],
    ),
    row(
        "tokens and text tags mixed",
        &[K(THINK), T("a</thinking><output>"), T("x"), K(END_OUT)],
        "a",
        &[],
        "x",
        &[],
    ),
    row(
        "token interrupts a partial text tag",
        &[K(THINK), T("a <thi"), K(END_THINK), T("x")],
        "a <thi",
        &[],
        "x",
        &[],
    ),
    row(
        "tag token inside a code fence is structural",
        &[K(OUT), T("```\ncode "), K(END_OUT), T("after")],
        "",
        &[],
        "```\ncode\n\nafter",
        &[],
    ),
    // `<` that never becomes a tag.
    row(
        "less-than comparisons in the answer",
        &[T("if a < b and b <c then a<b; x <= y; <div> <"), T("/p>")],
        "",
        &[],
        "if a < b and b <c then a<b; x <= y; <div> </p>",
        &[],
    ),
    row(
        "less-than comparisons in thinking",
        &[T("<thinking>x < y, y <"), T("z, <<thinking</thinking>ok")],
        "x < y, y <z, <<thinking",
        &[],
        "ok",
        &[],
    ),
    row(
        "double angle before a tag",
        &[T("<<thinking>>")],
        ">",
        &[],
        "<",
        &["unclosed thinking"],
    ),
    row(
        "near-miss tags are text",
        &[T("<Thinking> <thinking > <thinkingx> </ output> <output/>")],
        "",
        &[],
        "<Thinking> <thinking > <thinkingx> </ output> <output/>",
        &[],
    ),
    // Reflections.
    row(
        "nested reflection keeps thinking's inner whitespace",
        &[T(
            "<thinking>A.\n<reflection>R</reflection>\nB</thinking><output>O</output>",
        )],
        "A.\n\nB",
        &["R"],
        "O",
        &[],
    ),
    row(
        "several reflections",
        &[T(
            "<thinking>a<reflection> one </reflection>b<reflection>two</reflection>\
             <reflection>\nthree\n</reflection>c</thinking>done",
        )],
        "abc",
        &["one", "two", "three"],
        "done",
        &[],
    ),
    row(
        "reflection outside thinking",
        &[T("Answer.<reflection>hmm</reflection> More.")],
        "",
        &["hmm"],
        "Answer.\n\nMore.",
        &[],
    ),
    row(
        "reflection inside the output block returns to it",
        &[T("<output>a<reflection>r</reflection>b</output>")],
        "",
        &["r"],
        "a\n\nb",
        &[],
    ),
    row(
        "closing thinking closes a nested reflection (first closing tag wins)",
        &[T("<thinking>t<reflection>r</thinking>x</reflection>y")],
        "t",
        &["r"],
        "xy",
        &["stray </reflection>"],
    ),
    row(
        "output closes thinking and nested reflection",
        &[T("<thinking>t<reflection>r<output>o</output>")],
        "t",
        &["r"],
        "o",
        &[],
    ),
    // Untagged text.
    row(
        "no tags",
        &[T("Just an answer,"), T(" with no tags.")],
        "",
        &[],
        "Just an answer, with no tags.",
        &[],
    ),
    row(
        "text before the first tag is the answer",
        &[T("Preamble. <thinking>t</thinking> <output>o</output>")],
        "t",
        &[],
        "Preamble.\n\no",
        &[],
    ),
    row(
        "text after the output block is still the answer",
        &[T("<output>o</output>\nPS")],
        "",
        &[],
        "o\n\nPS",
        &[],
    ),
    // Unclosed and held at the end.
    row(
        "unclosed thinking at end",
        &[T("<thinking>never done")],
        "never done",
        &[],
        "",
        &["unclosed thinking"],
    ),
    row(
        "partial closing tag held at end is flushed to thinking",
        &[T("<thinking>abc</thin")],
        "abc</thin",
        &[],
        "",
        &["unclosed thinking"],
    ),
    row("lone < at end is flushed", &[T("a <")], "", &[], "a <", &[]),
    row(
        "unclosed reflection and thinking",
        &[T("<thinking>a<reflection>r")],
        "a",
        &["r"],
        "",
        &["unclosed thinking", "unclosed reflection"],
    ),
    row(
        "unclosed output block",
        &[T("<output>almost")],
        "",
        &[],
        "almost",
        &["unclosed output"],
    ),
    // Anomalies.
    row(
        "stray closing tags are dropped",
        &[T("</reflection>Hi</thinking> there</output>")],
        "",
        &[],
        "Hi there",
        &[
            "stray </reflection>",
            "stray </thinking>",
            "stray </output>",
        ],
    ),
    row(
        "repeated opening tag of the current block is dropped",
        &[T(
            "<thinking>a<thinking>b</thinking><output>x<output>y</output>",
        )],
        "ab",
        &[],
        "xy",
        &["repeated <thinking>", "repeated <output>"],
    ),
    row(
        "thinking inside a nested reflection is repeated",
        &[T(
            "<thinking>a<reflection>r<thinking>s<reflection>t</reflection>b</thinking>",
        )],
        "ab",
        &["rst"],
        "",
        &["repeated <thinking>", "repeated <reflection>"],
    ),
    row(
        "repeated thinking blocks are paragraphs of one thinking text",
        &[T(
            "<thinking>a</thinking><thinking>b</thinking> <thinking>c</thinking><output>x</output>",
        )],
        "a\n\nb\n\nc",
        &[],
        "x",
        &[],
    ),
    row(
        "output without closing thinking",
        &[T("<thinking>t\n<output>\no")],
        "t",
        &[],
        "o",
        &["unclosed output"],
    ),
    row(
        "thinking inside the output block ends it implicitly",
        &[T("<output>a<thinking>t</thinking>b</output>")],
        "t",
        &[],
        "a\n\nb",
        &["stray </output>"],
    ),
    // Code fences in the answer.
    row(
        "code fence with tags in the answer",
        &[T(
            "<output>Example:\n```xml\n<thinking>x</thinking>\n```\nDone</output>",
        )],
        "",
        &[],
        "Example:\n```xml\n<thinking>x</thinking>\n```\nDone",
        &[],
    ),
    row(
        "fence marker split across pieces",
        &[
            T("<output>Example:\n`"),
            T("`"),
            T("`xml\n<think"),
            T("ing>x</thinking>\n``"),
            T("`\nDone</output>"),
        ],
        "",
        &[],
        "Example:\n```xml\n<thinking>x</thinking>\n```\nDone",
        &[],
    ),
    row(
        "tilde fence in top-level answer, closing tag inside it is content",
        &[T(
            "Use:\n  ~~~~\n</output><reflection>\n~~~\n~~~~~\n<thinking>t",
        )],
        "t",
        &[],
        "Use:\n  ~~~~\n</output><reflection>\n~~~\n~~~~~",
        &["unclosed thinking"],
    ),
    row(
        "fence marker opens at the byte ending the run",
        &[T("<output>```<thinking>\n```</output>")],
        "",
        &[],
        "```<thinking>\n```",
        &[],
    ),
    row(
        "indented four spaces or mid-line is not a fence",
        &[T("a ```\n    ```\n<thinking>t</thinking>")],
        "t",
        &[],
        "a ```\n    ```",
        &[],
    ),
    row(
        "fences are not tracked in thinking",
        &[T("<thinking>```\n</thinking>after")],
        "```",
        &[],
        "after",
        &[],
    ),
    row(
        "an unclosed fence keeps the rest of the answer literal",
        &[T("<output>```\n</output>code</output>")],
        "",
        &[],
        "```\n</output>code</output>",
        &["unclosed output"],
    ),
    row(
        "opening the output block puts the fence tracker at a line start",
        &[T("Intro <output>```\n<thinking>\n```</output>")],
        "",
        &[],
        "Intro\n\n```\n<thinking>\n```",
        &[],
    ),
    // Empty blocks and whitespace.
    row(
        "empty blocks",
        &[T(
            "<thinking></thinking><reflection></reflection><output>  </output>",
        )],
        "",
        &[""],
        "",
        &[],
    ),
    row(
        "whitespace around blocks is not content",
        &[T(
            "\n <thinking>\n  A \n\n</thinking>\n\n<output>\n B \n</output>\n",
        )],
        "A",
        &[],
        "B",
        &[],
    ),
    row(
        "CJK and emoji",
        &[T(
            "<thinking>思考中🤔…</thinking>\u{3000}答えは「42」です。🎉",
        )],
        "思考中🤔…",
        &[],
        "答えは「42」です。🎉",
        &[],
    ),
    // Vocabulary and configuration.
    with(
        Cfg::Think,
        row(
            "think vocabulary",
            &[T(
                "<think>\nhmm <thinking> is text here\n</think>\n\nThe answer",
            )],
            "hmm <thinking> is text here",
            &[],
            "The answer",
            &[],
        ),
    ),
    with(
        Cfg::TwoNames,
        row(
            "two names for thinking",
            &[T("<think>a</thinking><thinking>b</think>c")],
            "a\n\nb",
            &[],
            "c",
            &[],
        ),
    ),
    with(
        Cfg::StartInThinking,
        row(
            "start inside thinking",
            &[T("reasoning</thinking><output>x</output>")],
            "reasoning",
            &[],
            "x",
            &[],
        ),
    ),
    with(
        Cfg::StartInThinking,
        row(
            "start inside thinking, never closed",
            &[T("still reasoning")],
            "still reasoning",
            &[],
            "",
            &["unclosed thinking"],
        ),
    ),
    with(
        Cfg::Raw,
        row(
            "raw mode keeps every byte of whitespace",
            &[T(
                " a <thinking>\n t \n</thinking>\n <output> o </output>\n",
            )],
            "\n t \n",
            &[],
            " a \n  o \n",
            &[],
        ),
    ),
    with(
        Cfg::StopAfterOutput,
        row(
            "stop after output ignores the rest",
            &[T("<output>a</output> junk <thinking>"), T("more"), K(THINK)],
            "",
            &[],
            "a",
            &[],
        ),
    ),
];

fn collect(config: &RouterConfig, ps: &[Piece]) -> (Collected, Summary) {
    let outcome = check::feed(config, ps);
    (outcome.collected, outcome.summary)
}

/// The pieces with their text merged and cut once at byte offset `at` of the whole text.
fn split_once_at(ps: &[Piece], at: usize) -> Vec<Piece> {
    let mut offset = 0;
    let mut out = Vec::new();
    for p in check::one_shot(ps) {
        match p {
            Piece::Text(t) if offset < at && at < offset + t.len() => {
                let (a, b) = t.split_at(at - offset);
                offset += t.len();
                out.push(Piece::Text(a.to_owned()));
                out.push(Piece::Text(b.to_owned()));
            }
            Piece::Text(t) => {
                offset += t.len();
                out.push(Piece::Text(t));
            }
            tag => out.push(tag),
        }
    }
    out
}

#[test]
fn table() {
    for case in CASES {
        let config = config(case.cfg);
        let input = pieces(case.pieces);
        let (got, summary) = collect(&config, &input);
        let expected = Collected {
            thinking: case.thinking.to_owned(),
            reflections: case.reflections.iter().map(|s| s.to_string()).collect(),
            output: case.output.to_owned(),
            anomalies: case.anomalies.iter().map(|s| anomaly(s)).collect(),
        };
        assert_eq!(got, expected, "case {:?}", case.name);
        assert_eq!(summary.anomalies, expected.anomalies.len(), "{}", case.name);

        // The same input split at every position, and one character at a time.
        let text = check::input_text(&config, &check::one_shot(&input));
        for at in (1..text.len()).filter(|&i| text.is_char_boundary(i)) {
            let split = split_once_at(&input, at);
            assert_eq!(
                collect(&config, &split),
                (got.clone(), summary.clone()),
                "case {:?} split at {at}",
                case.name
            );
        }
        let chars = check::single_chars(&input);
        assert_eq!(
            collect(&config, &chars),
            (got.clone(), summary.clone()),
            "case {:?} one char at a time",
            case.name
        );
        if let Err(e) = check::check_all(&config, &input, &[3, 7, 11]) {
            panic!("case {:?}: {e}", case.name);
        }
    }
}

#[test]
fn every_tag_split_at_every_pair_of_positions() {
    for config in [config(Cfg::Default), config(Cfg::Think)] {
        for (tag, token) in config.tags.tags() {
            let text = format!("x{tag}y");
            for i in 1..text.len() {
                for j in i..text.len() {
                    let mut router = Router::new(config.clone());
                    let mut sink = check::Recorder::default();
                    for part in [&text[..i], &text[i..j], &text[j..]] {
                        router.push_text(part, &mut sink);
                    }
                    let summary = router.finish(&mut sink);
                    let tags: Vec<_> = sink
                        .events
                        .iter()
                        .filter_map(|e| match e {
                            check::Event::Tag(t, s) => Some((*t, s.clone())),
                            _ => None,
                        })
                        .collect();
                    assert_eq!(tags, [(token, tag.clone())], "{text:?} split {i} {j}");
                    let whole = route_all(&config, &text);
                    assert_eq!((sink.collected, summary), whole, "{text:?} split {i} {j}");
                }
            }
        }
    }
}
