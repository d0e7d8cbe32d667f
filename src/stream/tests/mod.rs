//! Router tests: `table.rs` holds the table tests (pieces in, channel texts and anomalies
//! out, each row re-run split at every position), `behaviour.rs` the API-level tests. This file
//! holds what both use: piece shorthand, tag constants and configurations.

mod behaviour;
mod table;

use super::check::Piece;
use super::*;

/// An input piece in a table row.
#[derive(Clone, Copy, Debug)]
enum P {
    /// Text.
    T(&'static str),
    /// A tag token.
    K(TagToken),
}
use P::{K, T};

const THINK: TagToken = TagToken::open(Channel::Thinking);
const END_THINK: TagToken = TagToken::close(Channel::Thinking);
const REFL: TagToken = TagToken::open(Channel::Reflection);
const END_REFL: TagToken = TagToken::close(Channel::Reflection);
const OUT: TagToken = TagToken::open(Channel::Output);
const END_OUT: TagToken = TagToken::close(Channel::Output);

#[derive(Clone, Copy, Debug)]
enum Cfg {
    Default,
    Think,
    StartInThinking,
    Raw,
    StopAfterOutput,
    /// Thinking may be spelled `<think>` or `<thinking>`.
    TwoNames,
}

fn config(cfg: Cfg) -> RouterConfig {
    let base = RouterConfig::default();
    match cfg {
        Cfg::Default => base,
        Cfg::Think => RouterConfig {
            tags: TagSet::think(),
            ..base
        },
        Cfg::StartInThinking => RouterConfig {
            start_in_thinking: true,
            ..base
        },
        Cfg::Raw => RouterConfig {
            trim_whitespace: false,
            ..base
        },
        Cfg::StopAfterOutput => RouterConfig {
            stop_after_output: true,
            ..base
        },
        Cfg::TwoNames => RouterConfig {
            tags: TagSet {
                thinking: vec!["think".into(), "thinking".into()],
                ..TagSet::default()
            },
            ..base
        },
    }
}

const REFLECTION_TRANSCRIPT: &str = "<thinking>\nLet me add 2 and 2.\nThat is 5.\n\
<reflection>\nWait, 2 + 2 = 4.\n</reflection>\nSo it is 4.\n</thinking>\n\
<output>\n2 + 2 = 4\n</output>";

fn pieces(ps: &[P]) -> Vec<Piece> {
    ps.iter()
        .map(|p| match *p {
            T(t) => Piece::Text(t.to_owned()),
            K(k) => Piece::Tag(k),
        })
        .collect()
}

fn anomaly(spec: &str) -> Anomaly {
    let (kind, what) = spec.split_once(' ').unwrap_or((spec, ""));
    match kind {
        "stray" => Anomaly::StrayClosingTag(what.to_owned()),
        "repeated" => Anomaly::RepeatedOpeningTag(what.to_owned()),
        "unclosed" => Anomaly::UnclosedBlock(match what {
            "thinking" => Channel::Thinking,
            "reflection" => Channel::Reflection,
            "output" => Channel::Output,
            _ => panic!("unknown channel in {spec:?}"),
        }),
        _ => panic!("unknown anomaly {spec:?}"),
    }
}
