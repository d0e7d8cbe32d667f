//! Everything that can go wrong getting a model from the Hub, each case with its message for
//! people (what failed, what to do) and its documented exit code.

use crate::exit::{code, Failure};
use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum HubError {
    /// Not `ORG/REPO[:QUANT]`.
    BadSpec(String),
    /// `HF_HUB_OFFLINE` is set and the cache does not have it.
    Offline { spec: String, cache: PathBuf },
    /// The Hub (or the mirror) cannot be reached.
    Network { url: String, message: String },
    /// 401/403: a gated or private repository.
    Access {
        repo: String,
        status: u16,
        page: String,
        gated: bool,
        /// The listing says its authors grant access (`"gated": "manual"`).
        manual: bool,
        token: bool,
    },
    /// 404: no such repository, revision or file.
    NotFound { what: String },
    /// The repository has no file that `:QUANT` names (or no GGUF at all).
    Pick(String),
    /// The server failed (5xx, a malformed answer).
    Server { url: String, message: String },
    /// The bytes do not hash to what the Hub says: the file was deleted.
    Hash {
        file: String,
        expected: String,
        got: String,
    },
    /// Not enough disk space, or writing failed.
    Disk(String),
    /// Ctrl+C (or SIGTERM, SIGHUP) during the download: the partial file (its path, the
    /// bytes in it, the file's size) is kept; `None` when nothing had been written yet.
    Interrupted {
        signal: i32,
        partial: Option<(PathBuf, u64, u64)>,
    },
}

impl HubError {
    /// The exit code documented for the case: 2 for what the user must change (the name, the
    /// quant, access), 1 for what may work later (network, server, disk, a bad transfer),
    /// 128 + the signal when stopped.
    pub fn code(&self) -> i32 {
        match self {
            HubError::BadSpec(_)
            | HubError::Offline { .. }
            | HubError::Access { .. }
            | HubError::NotFound { .. }
            | HubError::Pick(_) => code::USAGE,
            HubError::Network { .. }
            | HubError::Server { .. }
            | HubError::Hash { .. }
            | HubError::Disk(_) => code::RUNTIME,
            HubError::Interrupted { signal, .. } => code::for_signal(*signal),
        }
    }
}

impl HubError {
    /// The same error, for a repository whose listing says its authors grant access.
    pub fn manual_gate(self) -> HubError {
        match self {
            HubError::Access {
                repo,
                status,
                page,
                gated: true,
                token,
                ..
            } => HubError::Access {
                repo,
                status,
                page,
                gated: true,
                manual: true,
                token,
            },
            other => other,
        }
    }
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubError::BadSpec(m) | HubError::Pick(m) | HubError::Disk(m) => f.write_str(m),
            HubError::Offline { spec, cache } => write!(
                f,
                "{spec} is not in the Hugging Face cache ({}) and HF_HUB_OFFLINE is set: unset it to download",
                cache.display()
            ),
            HubError::Network { url, message } => write!(
                f,
                "cannot reach {url} ({message}): check the network (HF_ENDPOINT names a mirror); files already downloaded are used offline"
            ),
            HubError::Access {
                repo,
                status,
                page,
                gated,
                manual,
                token,
            } => {
                let what = if *gated { "is gated" } else { "is private or gated" };
                let fix = if *manual && *token {
                    format!("its authors grant access and your token has none yet: ask for it at {page} (logged in as the token's owner) and wait for it, or use a token that has access")
                } else if *manual {
                    format!("its authors grant access: ask for it at {page}, then once granted set HF_TOKEN (or run `huggingface-cli login`)")
                } else if *token {
                    format!("your token has no access to it: accept its licence at {page} (logged in as the token's owner), or use a token that has access")
                } else {
                    format!("accept its licence at {page}, then set HF_TOKEN (or run `huggingface-cli login`)")
                };
                write!(f, "{repo} {what} (HTTP {status}): {fix}")
            }
            HubError::NotFound { what } => f.write_str(what),
            HubError::Server { url, message } => write!(f, "{url}: {message}; try again later"),
            HubError::Hash {
                file,
                expected,
                got,
            } => write!(
                f,
                "{file}: the download is corrupt (sha256 {got}, the Hub says {expected}); it was deleted: run the command again to download it afresh"
            ),
            HubError::Interrupted { partial: None, .. } => {
                f.write_str("stopped before anything was downloaded")
            }
            HubError::Interrupted {
                partial: Some((kept, done, total)),
                ..
            } => write!(
                f,
                "download stopped at {} of {}; the part downloaded is kept in {} and the next run resumes it",
                super::progress::bytes(*done),
                super::progress::bytes(*total),
                kept.display()
            ),
        }
    }
}

impl From<HubError> for Failure {
    fn from(e: HubError) -> Failure {
        Failure {
            code: e.code(),
            message: e.to_string(),
        }
    }
}
