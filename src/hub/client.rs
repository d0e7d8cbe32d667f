//! The Hub's HTTP API, as `huggingface_hub` speaks it: the repository listing
//! (`/api/models/ORG/REPO/revision/REV?blobs=true`), a file's metadata from a HEAD of its
//! `resolve` URL (`x-repo-commit`, `x-linked-etag`, `x-linked-size`, the redirect to its
//! storage), and ranged GETs. Errors become [`HubError`]s from the Hub's `X-Error-Code`.

use super::error::HubError;
use super::interrupt::Interrupt;
use super::quant::RepoFile;
use reqwest::header::{
    HeaderMap, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_LENGTH, ETAG, LOCATION, RANGE,
};
use reqwest::StatusCode;
use std::time::Duration;

/// A file's metadata, from the HEAD of its `resolve` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMeta {
    pub commit: String,
    /// The blob's name in the cache: the LFS file's sha256, else the git blob's id.
    pub etag: String,
    pub size: u64,
    /// Where the bytes are (the storage the Hub redirects to, else the `resolve` URL).
    pub location: String,
}

impl FileMeta {
    /// The sha256 the bytes must hash to, when the etag is one (LFS files).
    pub fn sha256(&self) -> Option<&str> {
        (self.etag.len() == 64 && self.etag.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(&self.etag)
    }
}

/// A repository's listing.
pub struct Listing {
    pub commit: String,
    pub files: Vec<RepoFile>,
    pub gate: Gate,
}

/// The listing's `gated`: `false`, `"auto"` (access on accepting the licence) or `"manual"`
/// (the authors grant access).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gate {
    #[default]
    Open,
    Auto,
    Manual,
}

impl Gate {
    pub fn of(v: &serde_json::Value) -> Gate {
        match v.as_str() {
            Some("manual") => Gate::Manual,
            Some(_) => Gate::Auto,
            None => Gate::Open,
        }
    }
}

pub struct Client {
    pub endpoint: String,
    token: Option<String>,
    /// For the API and HEADs: redirects are read, not followed.
    api: reqwest::Client,
    /// For the bytes: follows the storage's redirects.
    data: reqwest::Client,
    pub rt: tokio::runtime::Runtime,
}

impl Client {
    pub fn new(endpoint: &str, token: Option<String>) -> Result<Client, HubError> {
        let build = |redirects: reqwest::redirect::Policy| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(15))
                .read_timeout(Duration::from_secs(60))
                .redirect(redirects)
                .user_agent(concat!(
                    "reflect/",
                    env!("CARGO_PKG_VERSION"),
                    "; hf_hub/compatible"
                ))
                .build()
        };
        let fail = |e: reqwest::Error| HubError::Network {
            url: endpoint.to_string(),
            message: format!("cannot start an HTTP client: {e}"),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| HubError::Disk(format!("cannot start the download runtime: {e}")))?;
        // reqwest's clients need the runtime they will run on.
        let (api, data) = {
            let _inside = rt.enter();
            (
                build(reqwest::redirect::Policy::none()).map_err(fail)?,
                build(reqwest::redirect::Policy::limited(10)).map_err(fail)?,
            )
        };
        Ok(Client {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token,
            api,
            data,
            rt,
        })
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The token goes to the Hub itself only, never to the storage it redirects to.
    fn auth(&self, url: &str, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) if same_host(url, &self.endpoint) => {
                req.header(AUTHORIZATION, format!("Bearer {t}"))
            }
            _ => req,
        }
    }

    fn network(&self, url: &str, e: &reqwest::Error) -> HubError {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message = s.to_string();
            source = s.source();
        }
        HubError::Network {
            url: url.to_string(),
            message,
        }
    }

    /// The commit `rev` is at, the repository's files with their sizes, and how it is gated.
    /// A gated repository lists its files as any other; only their downloads are refused.
    pub fn repo_files(&self, repo: &str, rev: &str) -> Result<Listing, HubError> {
        let url = format!(
            "{}/api/models/{repo}/revision/{rev}?blobs=true",
            self.endpoint
        );
        let resp = self
            .rt
            .block_on(async { self.auth(&url, self.api.get(&url)).send().await })
            .map_err(|e| self.network(&url, &e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(refusal(
                status,
                resp.headers(),
                repo,
                None,
                &self.endpoint,
                self.has_token(),
                &url,
            ));
        }
        let body: serde_json::Value = self
            .rt
            .block_on(resp.bytes())
            .map_err(|e| self.network(&url, &e))
            .and_then(|b| {
                serde_json::from_slice(&b).map_err(|e| HubError::Server {
                    url: url.clone(),
                    message: format!("the repository listing is not JSON ({e})"),
                })
            })?;
        let bad = |what: &str| HubError::Server {
            url: url.clone(),
            message: format!("the repository listing has no {what}"),
        };
        let commit = body["sha"]
            .as_str()
            .filter(|c| safe_commit(c))
            .ok_or_else(|| bad("commit (sha)"))?
            .to_string();
        // Names become paths in the cache: one that could leave it is not a file to fetch.
        let files = body["siblings"]
            .as_array()
            .ok_or_else(|| bad("file list (siblings)"))?
            .iter()
            .filter_map(|s| {
                Some(RepoFile {
                    name: s["rfilename"]
                        .as_str()
                        .filter(|n| safe_name(n))?
                        .to_string(),
                    size: s["lfs"]["size"].as_u64().or_else(|| s["size"].as_u64()),
                })
            })
            .collect();
        Ok(Listing {
            commit,
            files,
            gate: Gate::of(&body["gated"]),
        })
    }

    /// The metadata of `name` at `rev`: a HEAD of its `resolve` URL, following only the
    /// Hub's own relative redirects (a renamed repository), as `huggingface_hub` does.
    pub fn head(
        &self,
        repo: &str,
        rev: &str,
        name: &str,
        stop: &Interrupt,
    ) -> Result<FileMeta, HubError> {
        let mut url = format!(
            "{}/{repo}/resolve/{rev}/{}",
            self.endpoint,
            encode_path(name)
        );
        for _ in 0..5 {
            let resp = self
                .rt
                .block_on(or_stop(
                    async {
                        self.auth(&url, self.api.head(&url))
                            .header(ACCEPT_ENCODING, "identity")
                            .send()
                            .await
                    },
                    stop,
                ))?
                .map_err(|e| self.network(&url, &e))?;
            let status = resp.status();
            let h = resp.headers();
            let text = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
            if status.is_redirection() {
                let location = text(LOCATION.as_str()).unwrap_or_default();
                if location.starts_with('/') && text("x-repo-commit").is_none() {
                    url = format!("{}{location}", self.endpoint);
                    continue;
                }
            } else if !status.is_success() {
                return Err(refusal(
                    status,
                    h,
                    repo,
                    Some(name),
                    &self.endpoint,
                    self.has_token(),
                    &url,
                ));
            }
            let bad = |what: &str| HubError::Server {
                url: url.clone(),
                message: format!("the answer has no {what}: is HF_ENDPOINT a Hugging Face Hub?"),
            };
            let commit = text("x-repo-commit")
                .filter(|c| safe_commit(c))
                .ok_or_else(|| bad("x-repo-commit header"))?;
            let etag = text("x-linked-etag")
                .or_else(|| text(ETAG.as_str()))
                .map(|e| e.trim_start_matches("W/").trim_matches('"').to_string())
                .filter(|e| !e.is_empty() && !e.contains(['/', '\\']) && e != "." && e != "..")
                .ok_or_else(|| bad("etag"))?;
            let size = text("x-linked-size")
                .or_else(|| {
                    (!status.is_redirection())
                        .then(|| text(CONTENT_LENGTH.as_str()))
                        .flatten()
                })
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("size (x-linked-size)"))?;
            let location = match text(LOCATION.as_str()) {
                Some(l) if l.starts_with('/') => format!("{}{l}", self.endpoint),
                Some(l) => l,
                None => url.clone(),
            };
            return Ok(FileMeta {
                commit,
                etag,
                size,
                location,
            });
        }
        Err(HubError::Server {
            url,
            message: "too many redirects".into(),
        })
    }

    /// Starts a GET of `url` from byte `from`.
    pub fn get(
        &self,
        url: &str,
        from: u64,
        stop: &Interrupt,
    ) -> Result<reqwest::Response, HubError> {
        self.rt
            .block_on(or_stop(
                async {
                    let mut req = self
                        .auth(url, self.data.get(url))
                        .header(ACCEPT_ENCODING, "identity");
                    if from > 0 {
                        req = req.header(RANGE, format!("bytes={from}-"));
                    }
                    req.send().await
                },
                stop,
            ))?
            .map_err(|e| self.network(url, &e))
    }
}

/// `fut`, unless `stop` fires first (checked every 50 ms): a request waiting on a slow
/// server never holds up Ctrl+C or a chat that is quitting.
async fn or_stop<F: std::future::Future>(fut: F, stop: &Interrupt) -> Result<F::Output, HubError> {
    tokio::pin!(fut);
    loop {
        tokio::select! {
            out = &mut fut => return Ok(out),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {
                if let Some(signal) = stop.fired() {
                    return Err(HubError::Interrupted { signal, partial: None });
                }
            }
        }
    }
}

/// The error for a refused request, from its status and the Hub's `X-Error-Code`.
pub fn refusal(
    status: StatusCode,
    headers: &HeaderMap,
    repo: &str,
    file: Option<&str>,
    endpoint: &str,
    token: bool,
    url: &str,
) -> HubError {
    let code = headers
        .get("x-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let message = headers
        .get("x-error-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let page = format!("{}/{repo}", endpoint.trim_end_matches('/'));
    match (status.as_u16(), code) {
        (_, "GatedRepo") | (403, _) => HubError::Access {
            repo: repo.into(),
            status: status.as_u16(),
            page,
            gated: code == "GatedRepo",
            manual: false,
            token,
        },
        (401, "RepoNotFound") if !token => HubError::Access {
            repo: repo.into(),
            status: 401,
            page,
            gated: false,
            manual: false,
            token,
        },
        (_, "EntryNotFound") => HubError::NotFound {
            what: format!("{repo} has no file {} (HTTP 404)", file.unwrap_or("?")),
        },
        (_, "RevisionNotFound") => HubError::NotFound {
            what: format!("{repo} has no such revision (HTTP {})", status.as_u16()),
        },
        (401, _) => HubError::Access {
            repo: repo.into(),
            status: 401,
            page,
            gated: false,
            manual: false,
            token,
        },
        (404, _) | (_, "RepoNotFound") => HubError::NotFound {
            what: match file {
                Some(f) if code != "RepoNotFound" => format!("{repo} has no file {f} (HTTP 404)"),
                _ => format!(
                    "no model repository {repo} on {endpoint} (HTTP {}): check the name at {page}",
                    status.as_u16()
                ),
            },
        },
        (s, _) => HubError::Server {
            url: url.to_string(),
            message: if message.is_empty() {
                format!("HTTP {s}")
            } else {
                format!("HTTP {s}: {message}")
            },
        },
    }
}

/// A commit id that is safe as a folder name: letters and digits only.
pub fn safe_commit(c: &str) -> bool {
    !c.is_empty() && c.len() <= 128 && c.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A repository path that stays inside the folder it is joined to: relative, `/`-separated,
/// with no empty, `.` or `..` part and no backslash or NUL.
pub fn safe_name(n: &str) -> bool {
    // Names are also printed: no control characters (escape sequences) or bidirectional
    // overrides.
    let printable = |c: char| {
        !c.is_control()
            && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    !n.is_empty()
        && n.len() <= 1024
        && !n.contains('\\')
        && n.chars().all(printable)
        && n.split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Whether two URLs name the same scheme, host and port.
pub fn same_host(a: &str, b: &str) -> bool {
    let origin = |u: &str| -> String {
        let (scheme, rest) = u.split_once("://").unwrap_or(("", u));
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit('@').next().unwrap_or(host);
        format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        )
    };
    origin(a) == origin(b)
}

/// A repository path in a URL: each segment percent-encoded, the slashes kept.
fn encode_path(name: &str) -> String {
    name.split('/')
        .map(|seg| {
            seg.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_stays_with_the_hub() {
        assert!(same_host(
            "https://huggingface.co/a/b",
            "https://huggingface.co"
        ));
        assert!(same_host(
            "http://127.0.0.1:8080/x",
            "http://127.0.0.1:8080"
        ));
        assert!(!same_host(
            "http://127.0.0.1:8081/x",
            "http://127.0.0.1:8080"
        ));
        assert!(!same_host(
            "https://cdn-lfs.hf.co/x",
            "https://huggingface.co"
        ));
        assert!(!same_host(
            "https://huggingface.co.evil.com/x",
            "https://huggingface.co"
        ));
    }

    #[test]
    fn names_from_the_network_cannot_leave_the_cache() {
        for ok in ["m.gguf", "Q4_K_M/m-00001-of-00002.gguf", "a.b/c..d.gguf"] {
            assert!(safe_name(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x.gguf",
            "a/../../x",
            "a//b",
            "./a",
            "a\\b",
            "a/..",
            "m\u{1b}]52;x.gguf",
            "m\u{202e}fuggg.gguf",
            "a\0b",
        ] {
            assert!(!safe_name(bad), "{bad}");
        }
        assert!(safe_commit("0123abcdef"));
        for bad in ["", "../x", "a/b", "main;rm"] {
            assert!(!safe_commit(bad), "{bad}");
        }
    }

    #[test]
    fn paths_are_encoded_by_segment() {
        assert_eq!(encode_path("sub dir/m+1.gguf"), "sub%20dir/m%2B1.gguf");
    }

    #[test]
    fn refusals_say_what_happened() {
        let with = |code: &str| {
            let mut h = HeaderMap::new();
            if !code.is_empty() {
                h.insert("x-error-code", code.parse().unwrap());
            }
            h
        };
        let r = |status: u16, code: &str, token: bool| {
            refusal(
                StatusCode::from_u16(status).unwrap(),
                &with(code),
                "o/r",
                Some("m.gguf"),
                "http://hub",
                token,
                "u",
            )
            .to_string()
        };
        assert!(r(401, "GatedRepo", false).contains(
            "o/r is gated (HTTP 401): accept its licence at http://hub/o/r, then set HF_TOKEN"
        ));
        assert!(r(403, "GatedRepo", true).contains("your token has no access"));
        let manual = |token: bool| {
            let e = refusal(
                StatusCode::UNAUTHORIZED,
                &with("GatedRepo"),
                "o/r",
                Some("m.gguf"),
                "http://hub",
                token,
                "u",
            );
            (e.code(), e.manual_gate().to_string())
        };
        assert_eq!(manual(false), (2, "o/r is gated (HTTP 401): its authors grant access: ask for it at http://hub/o/r, then once granted set HF_TOKEN (or run `huggingface-cli login`)".to_string()));
        assert_eq!(manual(true), (2, "o/r is gated (HTTP 401): its authors grant access and your token has none yet: ask for it at http://hub/o/r (logged in as the token's owner) and wait for it, or use a token that has access".to_string()));
        assert_eq!(Gate::of(&serde_json::json!(false)), Gate::Open);
        assert_eq!(Gate::of(&serde_json::json!("auto")), Gate::Auto);
        assert_eq!(Gate::of(&serde_json::json!("manual")), Gate::Manual);
        assert!(r(401, "RepoNotFound", false).contains("private or gated"));
        assert!(r(404, "RepoNotFound", true).contains("no model repository o/r on http://hub"));
        assert!(r(404, "EntryNotFound", false).contains("o/r has no file m.gguf"));
        assert!(r(503, "", false).contains("HTTP 503"));
        let code = |status: u16| {
            let s = StatusCode::from_u16(status).unwrap();
            refusal(s, &with(""), "o/r", None, "http://hub", false, "u").code()
        };
        assert_eq!((code(404), code(500)), (2, 1));
    }
}
