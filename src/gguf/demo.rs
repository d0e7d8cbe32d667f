//! The built-in demo model: a scripted model that shows a reflection-style answer through the
//! real engine, so a new user sees reflect work in seconds without downloading anything.

use super::scripted::{push_prose, ScriptItem, ScriptedModel};
use std::io;
use std::path::{Path, PathBuf};

/// Bump when the script changes so cached copies are rewritten.
const DEMO_VERSION: u32 = 2;

const THINKING: &str = "\nThe user asked me a question, but I am the demo model built into reflect: a tiny scripted network, not a real language model. I could try to answer anyway.\n";
const REFLECTION: &str = "\nWait, that would be wrong. I cannot really answer anything, so the honest reply is to say what I am and how to load a real model.\n";
const AFTER: &str = "\nSo I will explain the demo and point to a real model.\n";
const OUTPUT: &str = "\nThis is reflect's demo model: a tiny scripted network that always gives this answer, run through the real llama.cpp engine. You just watched its thinking, one reflection and this output being routed live.\n\nTo use a real reasoning model from Hugging Face (for example a GGUF of Reflection-Llama-3.1-70B), one command downloads it once and asks it:\n\n    reflect --hf ORG/REPO-GGUF:Q4_K_M \"your question\"\n";

/// The demo script: `<thinking>`, `<reflection>` and `<output>` as special tokens, as in
/// Reflection-Llama-3.1-70B.
pub fn demo_script() -> Vec<ScriptItem> {
    let mut used = Default::default();
    let mut items = Vec::new();
    let special = |items: &mut Vec<ScriptItem>, s: &str| items.push(ScriptItem::special(s));
    special(&mut items, "<thinking>");
    push_prose(THINKING, &mut used, &mut items);
    special(&mut items, "<reflection>");
    push_prose(REFLECTION, &mut used, &mut items);
    special(&mut items, "</reflection>");
    push_prose(AFTER, &mut used, &mut items);
    special(&mut items, "</thinking>");
    special(&mut items, "<output>");
    push_prose(OUTPUT, &mut used, &mut items);
    special(&mut items, "</output>");
    items
}

/// The demo model's answer text (what `reflect --demo` prints), for tests.
pub fn demo_answer() -> &'static str {
    OUTPUT.trim()
}

/// Where the demo model lives: `<cache dir>/reflect/demo-v<N>.gguf`.
pub fn demo_path(cache_dir: &Path) -> PathBuf {
    cache_dir
        .join("reflect")
        .join(format!("demo-v{DEMO_VERSION}.gguf"))
}

/// Writes the demo model under `cache_dir` unless it is already there; returns its path.
pub fn ensure_demo_model(cache_dir: &Path) -> io::Result<PathBuf> {
    let path = demo_path(cache_dir);
    if !path.is_file() {
        let mut model = ScriptedModel::new(demo_script());
        model.name = "reflect demo".into();
        model.write(&path)?;
    }
    Ok(path)
}
