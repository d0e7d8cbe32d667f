//! `reflect models info FILE|ORG/REPO[:QUANT]`: what a GGUF model is, read from the file (its
//! metadata and vocabulary, not its weights) by `engine::llama::model_facts`, as the lines
//! the terminal shows. The other `models` commands (pull, list, rm) are `hub::commands`.

use crate::engine::llama::{model_facts, ModelFacts, TemplateKind};
use crate::exit::{code, Failure};
use crate::gguf;
use crate::hub::progress::bytes;
use crate::settings::Environment;
use crate::term_safe;
use std::path::Path;

/// `models info`: the exit code and the text for stdout. A Hugging Face model (`ORG/REPO`,
/// not a file here) is downloaded first, with progress on stderr.
pub fn info(env: &Environment, model: &str) -> Result<(i32, String), Failure> {
    let path = Path::new(model);
    let looks_like_repo = !path.exists()
        && !model.to_ascii_lowercase().ends_with(".gguf")
        && crate::hub::RepoSpec::parse(model).is_ok();
    let fetched;
    let file = if looks_like_repo {
        fetched = crate::hub::commands::fetch(env, model)?.1;
        fetched.as_path()
    } else {
        path
    };
    let facts = model_facts(file).map_err(Failure::usage)?;
    Ok((code::OK, describe(file, &facts)))
}

/// The facts as rows of a name (15 columns wide) and a value.
pub fn describe(file: &Path, f: &ModelFacts) -> String {
    let i = &f.info;
    let name = i.name.as_deref().unwrap_or("(no name)");
    let context = match i.context_length {
        Some(c) => format!("{c} tokens trained; {} by default", f.default_context),
        None => format!("not stated; {} by default", f.default_context),
    };
    let tags = if f.tag_tokens.is_empty() {
        "none".to_string()
    } else {
        f.tag_tokens.join(" ")
    };
    let rows = [
        (
            "file",
            format!("{} ({})", file.display(), bytes(i.file_size)),
        ),
        (
            "model",
            format!("{} ({})", term_safe::neutralise(name), i.architecture),
        ),
        ("parameters", count(i.parameters)),
        ("weights", weights(i)),
        ("context", context),
        ("chat template", template(f)),
        ("tags as tokens", tags),
        ("memory", memory(f)),
        (
            "profile",
            format!("{} (--profile {})", f.profile(), f.profile()),
        ),
    ];
    rows.iter().map(|(k, v)| format!("{k:<15}{v}\n")).collect()
}

/// A count as people say it: 1.2 B, 350.0 M, 12.5 K.
fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.1} B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1} M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1} K", n as f64 / 1e3),
        n => format!("{n}"),
    }
}

/// The chat template, and what reflect does without a usable one.
fn template(f: &ModelFacts) -> String {
    match &f.template {
        TemplateKind::Builtin(name) => format!("{name} (llama.cpp's built-in)"),
        TemplateKind::Custom => "custom (llama.cpp applies it)".into(),
        TemplateKind::Unrecognised => format!(
            "custom, not one llama.cpp recognises (reflect uses {})",
            f.fallback.describe()
        ),
        TemplateKind::Missing => format!("none (reflect uses {})", f.fallback.describe()),
    }
}

/// The weights' type: the file's, else the most common tensor type.
fn weights(i: &gguf::GgufInfo) -> String {
    match (i.file_type, i.main_tensor_type) {
        (Some(t), _) => gguf::file_type_name(t).map_or(format!("file type {t}"), str::to_string),
        (None, Some(t)) => format!(
            "{} (the most common tensor type; the file does not name one)",
            gguf::tensor_type_name(t).map_or(format!("type {t}"), str::to_string)
        ),
        (None, None) => "no tensors".into(),
    }
}

/// The memory a run takes at the default context: the weights and the KV cache.
fn memory(f: &ModelFacts) -> String {
    let size = f.info.file_size;
    match f.kv_bytes {
        Some(kv) => format!(
            "about {} at {} tokens: weights {} + KV cache {}",
            bytes(size + kv),
            f.default_context,
            bytes(size),
            bytes(kv)
        ),
        None => format!(
            "at least {} (the file does not give its shape)",
            bytes(size)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::{ScriptItem, ScriptedModel, TemplateStyle};

    /// `models info` on a model written here: its rows, by name.
    fn rows(m: ScriptedModel) -> Vec<(String, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        m.write(&path).unwrap();
        let env = Environment::new(None, []);
        let (code, text) = info(&env, path.to_str().unwrap()).unwrap();
        assert_eq!(code, code::OK);
        let size = bytes(std::fs::metadata(&path).unwrap().len());
        text.lines()
            .map(|l| {
                let (k, v) = l.split_at(15);
                let v = v.replace(&path.display().to_string(), "FILE");
                (k.trim().to_string(), v.replace(&size, "SIZE"))
            })
            .collect()
    }

    #[test]
    fn info_describes_a_reflection_model_row_by_row() {
        let tags = ["<thinking>", "</thinking>", "<reflection>", "</reflection>"];
        let mut items: Vec<ScriptItem> = tags.iter().map(|t| ScriptItem::special(t)).collect();
        items.extend([ScriptItem::special("<output>"), ScriptItem::text("4")]);
        items.push(ScriptItem::special("</output>"));
        let got = rows(ScriptedModel::new(items));
        let names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "file",
                "model",
                "parameters",
                "weights",
                "context",
                "chat template",
                "tags as tokens",
                "memory",
                "profile"
            ]
        );
        let row = |k: &str| got.iter().find(|(n, _)| n == k).unwrap().1.as_str();
        assert_eq!(row("file"), "FILE (SIZE)");
        assert_eq!(row("model"), "reflect-scripted (llama)");
        assert_eq!(row("context"), "4096 tokens trained; 4096 by default");
        assert_eq!(row("chat template"), "llama3 (llama.cpp's built-in)");
        assert_eq!(
            row("tags as tokens"),
            "<thinking> </thinking> <reflection> </reflection> <output> </output>"
        );
        assert_eq!(row("profile"), "reflection (--profile reflection)");
        assert!(row("memory").starts_with("about "), "{got:?}");
        assert!(row("memory").contains(" at 4096 tokens: weights SIZE + KV cache "));
    }

    #[test]
    fn info_says_what_reflect_does_without_a_template() {
        let mut m = ScriptedModel::from_texts(&["hm", "4"]);
        m.template = TemplateStyle::Missing;
        let got = rows(m);
        let row = |k: &str| got.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(row("tags as tokens"), "none");
        assert_eq!(row("profile"), "plain (--profile plain)");
        assert!(
            row("chat template").starts_with("none (reflect uses "),
            "{got:?}"
        );
    }

    #[test]
    fn counts_read_as_people_say_them() {
        let table = [
            (999, "999"),
            (12_500, "12.5 K"),
            (350_000_000, "350.0 M"),
            (1_230_000_000, "1.2 B"),
        ];
        for (n, want) in table {
            assert_eq!(count(n), want);
        }
    }

    #[test]
    fn a_file_that_is_no_model_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.gguf");
        std::fs::write(&path, "hello").unwrap();
        let env = Environment::new(None, []);
        let err = info(&env, path.to_str().unwrap()).unwrap_err();
        assert_eq!(err.code, code::USAGE);
        assert!(
            err.message.contains("not a GGUF model file"),
            "{}",
            err.message
        );
    }
}
