//! Models from the Hugging Face Hub: `--hf ORG/REPO[:QUANT]` and `reflect models
//! pull|list|rm`. Files live in the standard Hugging Face cache (shared with `huggingface-cli`
//! and other tools); a cached file is used without any network call. `HF_ENDPOINT`,
//! `HF_TOKEN` (or the token file `huggingface-cli login` writes), `HF_HOME`, `HF_HUB_CACHE`
//! and `HF_HUB_OFFLINE` mean what they mean to `huggingface_hub`.

pub mod cache;
pub mod client;
pub mod commands;
pub mod download;
pub mod error;
pub mod interrupt;
pub mod job;
pub mod progress;
pub mod quant;
pub mod spec;

pub use cache::{Cache, CachedFile};
pub use error::HubError;
pub use interrupt::Interrupt;
pub use job::{Job, Progress};
pub use progress::{StderrProgress, Step};
pub use quant::{Quant, Reason, RepoFile};
pub use spec::RepoSpec;

use crate::env::Environment;
use std::path::{Path, PathBuf};

/// Where models come from and go: the endpoint, the token and the cache.
#[derive(Clone)]
pub struct Hub {
    pub endpoint: String,
    token: Option<String>,
    pub cache: Cache,
    /// `HF_HUB_OFFLINE`: the cache only.
    pub offline: bool,
}

impl std::fmt::Debug for Hub {
    /// Never the token itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "(set)"))
            .field("cache", &self.cache)
            .field("offline", &self.offline)
            .finish()
    }
}

/// `HF_HUB_CACHE`, else `HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
/// `~/.cache/huggingface/hub`.
pub fn cache_root(env: &Environment) -> Option<PathBuf> {
    env.any_var("HF_HUB_CACHE")
        .map(PathBuf::from)
        .or_else(|| hf_home(env).map(|h| h.join("hub")))
}

/// `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
fn hf_home(env: &Environment) -> Option<PathBuf> {
    env.any_var("HF_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            env.any_var("XDG_CACHE_HOME")
                .map(|c| PathBuf::from(c).join("huggingface"))
        })
        .or_else(|| dirs::home_dir().map(|h| h.join(".cache/huggingface")))
}

/// What to fetch for a spec: the quantisation picked, where its first part will be, and
/// whether it is all in the cache already.
#[derive(Clone, Debug)]
pub struct Plan {
    pub spec: RepoSpec,
    /// The commit the files come from (from the cache's `refs/main`, or the Hub).
    pub commit: String,
    pub quant: Quant,
    pub reason: Reason,
    /// Every part is in the cache: nothing to download.
    pub cached: bool,
    /// How the Hub's listing says the repository is gated (`Open` when planned from the
    /// cache).
    pub gate: client::Gate,
}

impl Plan {
    /// The file llama.cpp is pointed at (the first part of a split model).
    pub fn path(&self, hub: &Hub) -> PathBuf {
        hub.cache
            .snapshot(&self.spec.repo, &self.commit, &self.quant.first().name)
    }

    /// One line for the user: which file, and why that one.
    pub fn describe(&self) -> String {
        let q = &self.quant;
        let what = match q.files.len() {
            1 => q.first().name.clone(),
            n => format!("{} (and {} more parts)", q.first().name, n - 1),
        };
        let size = q
            .size()
            .map(|s| format!(", {}", progress::bytes(s)))
            .unwrap_or_default();
        let why = match &self.reason {
            Reason::Named => "the quantisation asked for".to_string(),
            Reason::Only => "the repository's only GGUF".to_string(),
            Reason::Preferred => format!(
                "{} is picked when no quantisation is named",
                quant::PREFERRED
            ),
            Reason::Fits(m) => format!(
                "no {}; the largest that fits in {} of memory",
                quant::PREFERRED,
                progress::bytes(*m)
            ),
            Reason::Smallest(m) => format!(
                "no {}, and none fits in {} of memory: the smallest",
                quant::PREFERRED,
                progress::bytes(*m)
            ),
            Reason::Guess => format!("no {}: the largest under 8 GiB", quant::PREFERRED),
        };
        let cached = if self.cached { ", in the cache" } else { "" };
        format!(
            "{}: {what} ({}{size}{cached}; {why}; name another with {}:QUANT)",
            self.spec.repo, q.label, self.spec.repo
        )
    }
}

impl Hub {
    /// From the environment: `HF_ENDPOINT`, `HF_TOKEN` (else `HF_TOKEN_PATH`, else
    /// `HF_HOME/token`), the cache, `HF_HUB_OFFLINE`.
    pub fn from_env(env: &Environment) -> Result<Hub, HubError> {
        let endpoint = env
            .any_var("HF_ENDPOINT")
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| "https://huggingface.co".into())
            .trim_end_matches('/')
            .to_string();
        let token = env
            .any_var("HF_TOKEN")
            .or_else(|| {
                let path = env
                    .any_var("HF_TOKEN_PATH")
                    .map(PathBuf::from)
                    .or_else(|| hf_home(env).map(|h| h.join("token")))?;
                std::fs::read_to_string(path).ok()
            })
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let root = cache_root(env).ok_or_else(|| {
            HubError::Disk("no Hugging Face cache directory: set HF_HOME (or HF_HUB_CACHE)".into())
        })?;
        let offline = env.any_var("HF_HUB_OFFLINE").is_some_and(|v| {
            ["1", "ON", "YES", "TRUE"].contains(&v.trim().to_ascii_uppercase().as_str())
        });
        Ok(Hub {
            endpoint,
            token,
            cache: Cache::new(root),
            offline,
        })
    }

    /// The plan from the cache alone: `Some` when the cache holds a quantisation that
    /// matches (without `:QUANT`, the rule picks among the cached ones).
    pub fn cached(&self, spec: &RepoSpec) -> Option<Plan> {
        let files = self.cache.files(&spec.repo);
        let commits: Vec<&str> = {
            let mut c: Vec<&str> = files.iter().map(|f| f.commit.as_str()).collect();
            c.dedup();
            c
        };
        for commit in commits {
            let listed: Vec<RepoFile> = files
                .iter()
                .filter(|f| f.commit == commit)
                .map(|f| RepoFile {
                    name: f.name.clone(),
                    size: Some(f.size),
                })
                .collect();
            let quants = quant::quants(&listed);
            if let Ok((q, reason)) = quant::pick(&quants, spec.quant.as_deref(), total_memory()) {
                return Some(Plan {
                    spec: spec.clone(),
                    commit: commit.to_string(),
                    quant: q.clone(),
                    reason,
                    cached: true,
                    gate: client::Gate::Open,
                });
            }
        }
        None
    }

    /// The plan: from the cache when it has the file (no network), else from the Hub's
    /// listing.
    pub fn plan(&self, spec: &RepoSpec) -> Result<Plan, HubError> {
        if let Some(p) = self.cached(spec) {
            return Ok(p);
        }
        if self.offline {
            return Err(HubError::Offline {
                spec: spec.to_string(),
                cache: self.cache.repo_dir(&spec.repo),
            });
        }
        let client = self.client()?;
        let client::Listing {
            commit,
            files,
            gate,
        } = client.repo_files(&spec.repo, "main")?;
        let quants = quant::quants(&files);
        let (q, reason) = quant::pick(&quants, spec.quant.as_deref(), total_memory()).map_err(|m| {
            HubError::Pick(match m {
                quant::Miss::NoGguf => format!(
                    "{} has no GGUF file: reflect runs GGUF models (look for a repository whose name ends in -GGUF)",
                    spec.repo
                ),
                quant::Miss::NoMatch { available } => format!(
                    "{} has no {} file; its quantisations: {}",
                    spec.repo,
                    spec.quant.as_deref().unwrap_or(""),
                    available.join(", ")
                ),
                quant::Miss::Ambiguous { matches } => format!(
                    "{}: {} matches several files ({}); name one exactly",
                    spec.repo,
                    spec.quant.as_deref().unwrap_or(""),
                    matches.join(", ")
                ),
            })
        })?;
        let cached = q
            .files
            .iter()
            .all(|f| self.cache.snapshot(&spec.repo, &commit, &f.name).is_file());
        Ok(Plan {
            spec: spec.clone(),
            commit,
            quant: q.clone(),
            reason,
            cached,
            gate,
        })
    }

    pub fn client(&self) -> Result<client::Client, HubError> {
        client::Client::new(&self.endpoint, self.token.clone())
    }

    /// Downloads what the plan needs (every part of a split model) and returns the path of
    /// the first part.
    pub fn fetch(
        &self,
        plan: &Plan,
        progress: &mut dyn FnMut(Step),
        interrupt: &Interrupt,
    ) -> Result<PathBuf, HubError> {
        let repo = &plan.spec.repo;
        if !plan.cached {
            let client = self.client()?;
            let parts = plan.quant.files.len();
            for (i, f) in plan.quant.files.iter().enumerate() {
                if self.cache.snapshot(repo, &plan.commit, &f.name).is_file() {
                    continue;
                }
                let meta = client
                    .head(repo, &plan.commit, &f.name, interrupt)
                    .map_err(|e| match plan.gate {
                        client::Gate::Manual => e.manual_gate(),
                        _ => e,
                    })?;
                let target = download::Target {
                    repo,
                    name: &f.name,
                    meta: &meta,
                    part: (i + 1, parts),
                };
                download::fetch_blob(&client, &self.cache, &target, progress, interrupt)?;
                self.cache
                    .link(repo, &plan.commit, &f.name, &meta.etag)
                    .map_err(|e| {
                        HubError::Disk(format!(
                            "cannot link {} in {}: {e}",
                            f.name,
                            self.cache.root.display()
                        ))
                    })?;
            }
            self.cache
                .set_ref(repo, "main", &plan.commit)
                .map_err(|e| {
                    HubError::Disk(format!(
                        "cannot write refs/main in {}: {e}",
                        self.cache.repo_dir(repo).display()
                    ))
                })?;
        }
        Ok(plan.path(self))
    }
}

/// The machine's memory, for the rule that picks a quantisation.
pub fn total_memory() -> Option<u64> {
    crate::memory::meminfo_bytes("MemTotal")
}

/// For `models list`: the repository and quant a cached path belongs to, if it is in `cache`.
pub fn describe_path(cache: &Cache, path: &Path) -> Option<(String, String)> {
    let rel = path.strip_prefix(&cache.root).ok()?;
    let mut parts = rel.iter();
    let dir = parts.next()?.to_str()?;
    let repo = dir.strip_prefix("models--")?.replacen("--", "/", 1);
    Some((repo, quant::label_of(&path.file_name()?.to_string_lossy())))
}
