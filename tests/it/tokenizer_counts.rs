//! The `tokenizer.json` the GGUF writer makes counts tokens exactly as llama.cpp does with the
//! same model: property-tested on text built from the script's pieces, the tags, the Llama 3
//! control tokens and arbitrary characters (multi-byte ones included), so that an endpoint's
//! per-channel counts from the `tokenizers` crate are llama.cpp's.

use crate::common::*;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reflect::gguf::{push_prose, ScriptItem, ScriptedModel};

fn fragments(items: &[ScriptItem]) -> Vec<String> {
    let mut out: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            ScriptItem::Text(s) | ScriptItem::Special(s) => Some(s.clone()),
            ScriptItem::Byte(_) => None,
        })
        .collect();
    out.extend(
        [
            "<|eot_id|>",
            "<|start_header_id|>",
            "user",
            "<think>",
            " ",
            "  ",
            "\n",
            "\t",
            "é",
            "✓",
            "日本",
            "🙂",
            "<",
            ">",
            "a",
            "The",
            " a",
            "ab",
        ]
        .map(String::from),
    );
    out
}

#[test]
fn tokenizer_json_counts_equal_llama_cpps() {
    let mut items = reflection_script();
    push_prose(
        "Then the model thinks for some time about numbers, and answers plainly.",
        &mut Default::default(),
        &mut items,
    );
    let m = ScriptedModel::new(items.clone());
    let dir = Sandbox::new();
    let gguf = dir.path().join("m.gguf");
    let json = dir.path().join("tokenizer.json");
    m.write(&gguf).unwrap();
    m.write_tokenizer(&json).unwrap();

    let hf = tokenizers::Tokenizer::from_file(&json).expect("tokenizer.json loads");
    let backend = reflect::engine::llama_backend().unwrap();
    let model =
        LlamaModel::load_from_file(backend, &gguf, &LlamaModelParams::default()).expect("load");
    let vocab = model.vocab();
    let count_llama = |text: &str| vocab.tokenize(text.as_bytes(), false, true).len();
    let count_hf = |text: &str| hf.encode(text, false).expect("encode").len();

    // The pieces themselves: each is one token in both.
    for f in fragments(&items) {
        assert_eq!(count_hf(&f), count_llama(&f), "{f:?}");
    }
    let frags = fragments(&items);
    let text = prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(frags),
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat());
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    runner
        .run(&text, |t| {
            prop_assert_eq!(count_hf(&t), count_llama(&t), "{:?}", t);
            Ok(())
        })
        .unwrap();
}
