//! Fuzz target for the stream router: the same invariants as `tests/router_props.rs`
//! (re-splitting, streaming vs one-shot, no structural tag in channel text, bounded and minimal
//! holdback, nothing lost, trimming and summary consistency), on arbitrary input.
//!
//! Input layout: byte 0 selects the configuration; the rest is the stream, where byte 0xFF
//! cuts a piece and bytes 0xF8..=0xFD are tag tokens (bytes never valid in UTF-8, so the text
//! between them is decoded lossily without colliding with them). Bytes 1..9 also seed extra
//! re-splitting cuts.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../src/stream/mod.rs"]
mod stream;

use stream::check::{self, Piece};
use stream::{Channel, RouterConfig, TagSet, TagToken};

fn token(byte: u8) -> Option<TagToken> {
    let channel = match byte {
        0xF8 | 0xF9 => Channel::Thinking,
        0xFA | 0xFB => Channel::Reflection,
        0xFC | 0xFD => Channel::Output,
        _ => return None,
    };
    Some(TagToken {
        channel,
        closing: byte % 2 == 1,
    })
}

fn decode(data: &[u8]) -> Option<(RouterConfig, Vec<Piece>, Vec<usize>)> {
    let (&flags, stream) = data.split_first()?;
    let config = RouterConfig {
        tags: if flags & 1 == 0 {
            TagSet::default()
        } else {
            TagSet::think()
        },
        start_in_thinking: flags & 2 != 0,
        trim_whitespace: flags & 4 != 0,
        stop_after_output: flags & 8 != 0,
    };
    let mut pieces = Vec::new();
    let mut text: Vec<u8> = Vec::new();
    let flush = |text: &mut Vec<u8>, pieces: &mut Vec<Piece>| {
        if !text.is_empty() {
            pieces.push(Piece::Text(String::from_utf8_lossy(text).into_owned()));
            text.clear();
        }
    };
    for &b in stream {
        if b == 0xFF {
            flush(&mut text, &mut pieces);
        } else if let Some(tag) = token(b) {
            flush(&mut text, &mut pieces);
            pieces.push(Piece::Tag(tag));
        } else {
            text.push(b);
        }
    }
    flush(&mut text, &mut pieces);
    let cuts = stream.iter().take(8).map(|&b| usize::from(b) * 7).collect();
    Some((config, pieces, cuts))
}

fuzz_target!(|data: &[u8]| {
    if let Some((config, pieces, cuts)) = decode(data) {
        if let Err(e) = check::check_all(&config, &pieces, &cuts) {
            panic!("invariant broken: {e}\nconfig: {config:?}\npieces: {pieces:?}");
        }
    }
});
