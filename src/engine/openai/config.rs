//! The endpoint as configured: its URL, model, key (never shown), price, context and timeouts,
//! and the label and redacted URL that messages show instead of the credentials.

use crate::stream::TagSet;
use std::time::Duration;

/// An API key: never printed, logged or saved.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

/// USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

impl Price {
    pub fn cost(&self, prompt_tokens: u32, completion_tokens: u32) -> f64 {
        (f64::from(prompt_tokens) * self.input + f64::from(completion_tokens) * self.output)
            / 1_000_000.0
    }
}

/// Everything needed to use a server.
#[derive(Clone, Debug)]
pub struct RemoteConfig {
    /// The endpoint's name in config.toml (`[endpoints.NAME]`), if it has one.
    pub name: Option<String>,
    /// The OpenAI-compatible base, e.g. `http://gpu-box:8000/v1`.
    pub url: String,
    /// The model id; `None`: the only one the server lists.
    pub model: Option<String>,
    pub api_key: Option<ApiKey>,
    /// The variable that holds (or should hold) the key, for error messages.
    pub api_key_env: String,
    pub price: Option<Price>,
    /// The context size, when config gives it; else the server is asked.
    pub context: Option<u32>,
    /// Send `skip_special_tokens: false` so that tags that are special tokens reach reflect;
    /// `None`: only to vLLM, which takes the field.
    pub keep_special_tokens: Option<bool>,
    /// The model's `tokenizer.json`: exact per-channel token counts with the `tokenizers` crate.
    pub tokenizer: Option<std::path::PathBuf>,
    /// The profile's tags (for the warning when none arrive).
    pub tags: TagSet,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
}

impl RemoteConfig {
    pub fn new(url: impl Into<String>) -> Self {
        RemoteConfig {
            name: None,
            url: url.into(),
            model: None,
            api_key: None,
            api_key_env: "REFLECT_API_KEY".into(),
            price: None,
            context: None,
            keep_special_tokens: None,
            tokenizer: None,
            tags: TagSet::default(),
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(300),
        }
    }

    /// The URL without a `user:password@` part.
    pub fn public_url(&self) -> String {
        redact(&self.url)
    }

    /// The endpoint's name, else its host and port: for the status bar and messages.
    pub fn label(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let host = rest.split('/').next().unwrap_or(rest);
        // user:password@ never shows.
        host.rsplit('@').next().unwrap_or(host).to_string()
    }
}

/// Text with any `scheme://user:password@` credentials removed.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| c == '/' || c.is_whitespace() || c == ')' || c == '"')
            .unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_never_show_credentials() {
        let mut c = RemoteConfig::new("https://user:secret@api.example.com:8443/v1");
        assert_eq!(c.label(), "api.example.com:8443");
        c.name = Some("deepinfra".into());
        assert_eq!(c.label(), "deepinfra");
        assert_eq!(format!("{:?}", ApiKey::new("sk-123")), "ApiKey(…)");
        assert_eq!(
            redact("error sending request for url (https://u:p@h:1/v1/models): x"),
            "error sending request for url (https://h:1/v1/models): x"
        );
        assert_eq!(
            redact("http://h/v1 and ftp://a@b/c"),
            "http://h/v1 and ftp://b/c"
        );
    }

    #[test]
    fn price_per_million_tokens() {
        let p = Price {
            input: 0.35,
            output: 0.40,
        };
        assert!((p.cost(1_000_000, 0) - 0.35).abs() < 1e-12);
        assert!((p.cost(2000, 1000) - (0.0007 + 0.0004)).abs() < 1e-12);
    }
}
