//! What a model file is, without loading its weights (`reflect models info`): the GGUF
//! pre-check gives the architecture, size and shapes; llama.cpp, reading the vocabulary only,
//! says which chat template it would use and which reasoning tags are single tokens.

use super::template::{probe, to_llama};
use super::worker::backend;
use crate::gguf::{self, GgufInfo};
use crate::stream::{Channel, TagSet};
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token_type::LlamaTokenAttr;
use std::path::{Path, PathBuf};

/// llama.cpp's built-in templates that a model's own template is compared with, by name.
const BUILTIN_TEMPLATES: &[&str] = &[
    "llama3",
    "chatml",
    "gemma",
    "llama2",
    "mistral-v7",
    "mistral-v3",
    "phi3",
    "phi4",
    "deepseek3",
    "deepseek2",
    "command-r",
    "zephyr",
    "vicuna",
    "granite",
    "exaone3",
];

/// The reasoning tags looked for as single tokens: Reflection's six, then `<think>`'s pair.
fn reasoning_tags() -> Vec<String> {
    let think = TagSet::think();
    TagSet::default()
        .tags()
        .into_iter()
        .chain(
            think
                .tags()
                .into_iter()
                .filter(|(_, t)| t.channel == Channel::Thinking),
        )
        .map(|(text, _)| text)
        .collect()
}

/// The chat template the file carries, as llama.cpp sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateKind {
    /// It renders as this built-in template does.
    Builtin(&'static str),
    /// llama.cpp recognises it, and it is none of the built-ins compared.
    Custom,
    /// There is one, but llama.cpp cannot apply it (reflect falls back to Llama 3).
    Unrecognised,
    /// None at all.
    Missing,
}

/// What `reflect models info` says of a file.
#[derive(Clone, Debug)]
pub struct ModelFacts {
    pub path: PathBuf,
    pub info: GgufInfo,
    pub template: TemplateKind,
    /// The reasoning tags that are single special tokens.
    pub tag_tokens: Vec<String>,
    /// The format reflect uses when the file has no usable template.
    pub fallback: super::Fallback,
    /// The context reflect uses by default: the training context, at most 8192.
    pub default_context: u64,
    /// Bytes of the KV cache (f16 keys and values) at that context, when the file says its
    /// shape.
    pub kv_bytes: Option<u64>,
}

impl ModelFacts {
    /// The bundled profile whose tags the model has: what `models info` recommends.
    pub fn profile(&self) -> &'static str {
        let has = |t: &str| self.tag_tokens.iter().any(|x| x == t);
        if has("<thinking>") || has("<output>") {
            "reflection"
        } else if has("<think>") {
            "think"
        } else {
            "plain"
        }
    }

    /// What to say when a run uses `profile` (with `profile_tags`) though nobody chose it, on
    /// a model with none of those tags as tokens and no chat template: the profile
    /// [`ModelFacts::profile`] recommends, if it is another.
    pub fn profile_advice(&self, profile: &str, profile_tags: &[String]) -> Option<String> {
        let has_tags = profile_tags.iter().any(|t| self.tag_tokens.contains(t));
        let recommended = self.profile();
        if has_tags || self.template != TemplateKind::Missing || recommended == profile {
            return None;
        }
        Some(format!(
            "this model has no reasoning tags in its vocabulary and no chat template; `reflect models info` recommends --profile {recommended} (pass it, or set REFLECT_PROFILE or profile in config.toml)"
        ))
    }
}

/// [`ModelFacts::profile_advice`] for the file at `path`: the cheap pre-check first (a file
/// with a chat template needs no advice), then the vocabulary.
pub fn profile_advice(path: &Path, profile: &str, profile_tags: &[String]) -> Option<String> {
    if gguf::inspect(path).ok()?.has_chat_template {
        return None;
    }
    model_facts(path)
        .ok()?
        .profile_advice(profile, profile_tags)
}

/// Reads `path`'s facts: the pre-check, then llama.cpp on the vocabulary alone.
pub fn model_facts(path: &Path) -> Result<ModelFacts, String> {
    let info = gguf::inspect(path).map_err(|e| e.to_string())?;
    let backend = backend()?;
    let params = LlamaModelParams::default().with_vocab_only(true);
    let model = LlamaModel::load_from_file(backend, path, &params).map_err(|e| {
        format!(
            "{}: llama.cpp could not read this model (architecture '{}'): {e}",
            path.display(),
            info.architecture
        )
    })?;
    let template = template_kind(&model);
    let fallback = super::fallback_for(&info.architecture, |t| {
        super::template::special_token(&model, t).is_some()
    });
    let vocab = model.vocab();
    let tag_tokens = reasoning_tags()
        .into_iter()
        .filter(
            |tag| match vocab.tokenize(tag.as_bytes(), false, true)[..] {
                [t] => {
                    let attrs = vocab.attr(t).0;
                    attrs.contains(LlamaTokenAttr::Control)
                        || attrs.contains(LlamaTokenAttr::UserDefined)
                }
                _ => false,
            },
        )
        .collect();
    let default_context = info.context_length.unwrap_or(8192).clamp(1, 8192);
    let kv_bytes = match (info.layers, info.heads, info.heads_kv, info.embedding) {
        (Some(layers), Some(heads), Some(heads_kv), Some(embedding)) if heads > 0 => Some(
            crate::memory::kv_cache_bytes(default_context, layers, heads, heads_kv, embedding),
        ),
        _ => None,
    };
    Ok(ModelFacts {
        path: path.to_path_buf(),
        info,
        template,
        fallback,
        tag_tokens,
        default_context,
        kv_bytes,
    })
}

fn template_kind(model: &LlamaModel) -> TemplateKind {
    let Ok(own) = model.chat_template(None) else {
        return TemplateKind::Missing;
    };
    let probe = to_llama(&probe());
    let Ok(rendered) = model.apply_chat_template(&own, &probe, true) else {
        return TemplateKind::Unrecognised;
    };
    BUILTIN_TEMPLATES
        .iter()
        .find(|name| {
            LlamaChatTemplate::new(name)
                .ok()
                .and_then(|t| model.apply_chat_template(&t, &probe, true).ok())
                .is_some_and(|r| r == rendered)
        })
        .map_or(TemplateKind::Custom, |name| TemplateKind::Builtin(name))
}

#[cfg(test)]
mod advice_tests {
    use super::*;

    fn facts(tags: &[&str], template: TemplateKind) -> ModelFacts {
        ModelFacts {
            path: PathBuf::new(),
            info: GgufInfo::default(),
            template,
            tag_tokens: tags.iter().map(|t| t.to_string()).collect(),
            fallback: super::super::Fallback::Plain,
            default_context: 4096,
            kv_bytes: None,
        }
    }

    #[test]
    fn advice_only_for_an_untemplated_model_without_the_profiles_tags() {
        let reflection: Vec<String> = ["<thinking>", "</thinking>", "<output>", "</output>"]
            .map(String::from)
            .to_vec();
        let cases = [
            (
                facts(&[], TemplateKind::Missing),
                "reflection",
                Some("plain"),
            ),
            (
                facts(&["<think>", "</think>"], TemplateKind::Missing),
                "reflection",
                Some("think"),
            ),
            (facts(&[], TemplateKind::Custom), "reflection", None),
            (
                facts(&["<thinking>"], TemplateKind::Missing),
                "reflection",
                None,
            ),
            (facts(&[], TemplateKind::Missing), "plain", None),
        ];
        for (f, profile, want) in cases {
            let got = f.profile_advice(profile, &reflection);
            match want {
                None => assert_eq!(got, None, "{profile} {:?}", f.tag_tokens),
                Some(p) => {
                    let got = got.unwrap();
                    assert!(got.contains(&format!("recommends --profile {p} ")), "{got}");
                    assert_eq!(p, f.profile(), "the rule models info uses");
                }
            }
        }
    }
}
