//! Connecting: which model the server serves (the configured one, else the only one it
//! lists), its context size (from config, llama-server's `/props`, or the model list), and
//! what kind of server it is, which decides how tokens are counted and tags kept.

use super::http::{Client, Stop};
use super::RemoteConfig;
use crate::llm::RemoteErrorKind;

/// What connecting found.
pub(super) struct Server {
    pub model: String,
    pub context: Option<u32>,
    /// llama-server: `/tokenize` counts tokens exactly.
    pub llama_server: bool,
    pub keep_special_tokens: bool,
    pub tokenizer: Option<tokenizers::Tokenizer>,
}

impl Server {
    /// Tokens in `text` by the configured tokenizer.json.
    pub fn tokens(&self, text: &str) -> Option<u32> {
        let t = self.tokenizer.as_ref()?;
        t.encode(text, false).ok().map(|e| e.len() as u32)
    }
}

/// Why a reply that should have had tags had none, and how to fix it.
pub(super) fn no_tags_hint(config: &RemoteConfig, server: &Server) -> String {
    let tags: Vec<String> = config
        .tags
        .tags()
        .into_iter()
        .filter(|(_, t)| !t.closing)
        .map(|(text, _)| text)
        .collect();
    let fix = if server.llama_server {
        "start llama-server with --special (-sp), which renders the control tokens the tags are"
    } else if server.keep_special_tokens {
        "the server sent no tags although reflect asked it to keep special tokens; check the model and its chat template"
    } else {
        "if the server is vLLM, set special_tokens = true for this endpoint so that reflect sends skip_special_tokens: false"
    };
    format!(
        "the answer had none of the profile's tags ({}), so all of it was taken as the answer; servers drop tags that are special tokens unless told not to: {fix}",
        tags.join(", ")
    )
}

/// Lists the models, picks one, finds the context size.
pub(super) async fn connect(
    client: &Client,
    config: &RemoteConfig,
    cancelled: &impl Fn() -> bool,
) -> Result<Server, Stop> {
    let models = client.models(cancelled).await?;
    let listed = || {
        models
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let model = match &config.model {
        Some(m) if models.is_empty() || models.iter().any(|x| &x.id == m) => m.clone(),
        Some(m) => {
            return Err(client
                .error(
                    RemoteErrorKind::Model,
                    format!("the server has no model '{m}'; it has: {}", listed()),
                )
                .into())
        }
        None => match &models[..] {
            [one] => one.id.clone(),
            [] => {
                return Err(client
                    .error(
                        RemoteErrorKind::Model,
                        "the server lists no model; name one with -m MODEL",
                    )
                    .into())
            }
            _ => {
                return Err(client
                    .error(
                        RemoteErrorKind::Model,
                        format!(
                            "the server has several models; choose one with -m: {}",
                            listed()
                        ),
                    )
                    .into())
            }
        },
    };
    let tokenizer = match &config.tokenizer {
        None => None,
        Some(path) => Some(tokenizers::Tokenizer::from_file(path).map_err(|e| {
            Stop::Failed(client.error(
                RemoteErrorKind::Request,
                format!("{}: not a usable tokenizer.json: {e}", path.display()),
            ))
        })?),
    };
    let listed_model = models.iter().find(|m| m.id == model);
    let owner = listed_model.map_or("", |m| m.owned_by.as_str());
    let llama_server = owner == "llamacpp";
    let context = match config.context {
        Some(c) => Some(c),
        None if llama_server => client
            .server_context(cancelled)
            .await
            .or(listed_model.and_then(|m| m.context)),
        None => listed_model.and_then(|m| m.context),
    };
    Ok(Server {
        model,
        context,
        llama_server,
        keep_special_tokens: config.keep_special_tokens.unwrap_or(owner == "vllm"),
        tokenizer,
    })
}
