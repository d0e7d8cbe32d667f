//! A Hugging Face `tokenizer.json` for a generated vocabulary, so that a server's tokens can be
//! counted with the `tokenizers` crate exactly as llama.cpp counts them: a BPE model over the
//! same pieces with byte fallback (llama.cpp's SentencePiece tokenizer falls back to the 256
//! byte tokens the same way), spaces written as "▁" (no space prefix, as the GGUF says), and
//! the control tokens as special added tokens, matched before anything else.
//!
//! SentencePiece also merges neighbouring characters whenever their concatenation is a piece,
//! even when the characters themselves are not; BPE cannot express that. So only vocabularies
//! in which no normal piece can be built that way get a tokenizer.json (the scripted models',
//! whose pieces are words with their separators); others are refused with the piece named.

use super::llama::{LlamaVocabSpec, TokenKind};
use serde_json::{json, Map};
use std::collections::HashMap;

/// A normal piece SentencePiece could build by merging: two characters, or a longer piece
/// with a buildable piece at its start or end.
fn buildable(piece: &str, pieces: &HashMap<&str, u32>) -> bool {
    let n = piece.chars().count();
    if n == 2 {
        return true;
    }
    if n < 2 {
        return false;
    }
    let first = piece.char_indices().nth(1).map_or(0, |(i, _)| i);
    let last = piece.char_indices().last().map_or(0, |(i, _)| i);
    [&piece[..last], &piece[first..]]
        .iter()
        .any(|part| pieces.contains_key(part) && buildable(part, pieces))
}

/// The `tokenizer.json` text for `vocab`, or why it cannot count as llama.cpp does.
pub fn tokenizer_json(vocab: &LlamaVocabSpec) -> Result<String, String> {
    let mut ids = Map::new();
    let mut normal: HashMap<&str, u32> = HashMap::new();
    let mut added = Vec::new();
    for (i, t) in vocab.tokens.iter().enumerate() {
        ids.insert(t.text.clone(), json!(i));
        match t.kind {
            TokenKind::Normal => {
                normal.insert(t.text.as_str(), i as u32);
            }
            TokenKind::Control => added.push(json!({
                "id": i, "content": t.text, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true
            })),
            TokenKind::Unknown | TokenKind::Byte => {}
        }
    }
    if let Some(piece) = normal.keys().find(|p| buildable(p, &normal)) {
        return Err(format!(
            "the piece {piece:?} can be built from its characters, which SentencePiece does and BPE cannot"
        ));
    }
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u{2581}"},
        "pre_tokenizer": null,
        "post_processor": null,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u{2581}"}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"}
        ]},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": "<unk>",
            "continuing_subword_prefix": null, "end_of_word_suffix": null,
            "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
            "vocab": ids, "merges": []
        }
    })
    .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn pieces_sentencepiece_could_build_are_refused() {
        let mut v = LlamaVocabSpec::base();
        v.push("The answer", TokenKind::Normal);
        v.push("<thinking>", TokenKind::Control);
        let json: Value = serde_json::from_str(&tokenizer_json(&v).unwrap()).unwrap();
        assert_eq!(json["model"]["vocab"]["The\u{2581}answer"], 262);
        assert_eq!(json["added_tokens"].as_array().unwrap().len(), 6);
        v.push(" a", TokenKind::Normal);
        assert!(tokenizer_json(&v).unwrap_err().contains("\u{2581}a"));
        let mut w = LlamaVocabSpec::base();
        w.push("abc", TokenKind::Normal);
        assert!(tokenizer_json(&w).is_ok(), "abc alone cannot be built");
        w.push("bc", TokenKind::Normal);
        assert!(tokenizer_json(&w).is_err(), "b+c, then a+bc");
    }
}
