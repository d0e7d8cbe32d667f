//! What `--hf` and `reflect models pull` are given: `ORG/REPO[:QUANT]`, parsed once, with the
//! mistakes a person makes (a URL pasted from the browser, a file name) answered kindly.

use std::fmt;

/// A Hugging Face model repository and, optionally, the quantisation wanted from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoSpec {
    /// `ORG/REPO`, as the Hub spells it.
    pub repo: String,
    /// `Q4_K_M`, `q8_0`, …: matched against file names case-insensitively.
    pub quant: Option<String>,
}

impl RepoSpec {
    /// Parses `ORG/REPO[:QUANT]`. A leading `https://huggingface.co/`, `hf.co/` or `hf://` is
    /// accepted, as pasted from a browser.
    pub fn parse(spec: &str) -> Result<RepoSpec, String> {
        let s = spec.trim();
        let s = [
            "https://huggingface.co/",
            "http://huggingface.co/",
            "huggingface.co/",
            "https://hf.co/",
            "hf.co/",
            "hf://",
        ]
        .iter()
        .find_map(|p| s.strip_prefix(p))
        .unwrap_or(s)
        .trim_end_matches('/');
        let (repo, quant) = match s.split_once(':') {
            Some((r, q)) => (r, Some(q.trim())),
            None => (s, None),
        };
        let parts: Vec<&str> = repo.split('/').collect();
        let valid = |p: &str| {
            !p.is_empty()
                && p.len() <= 96
                && !p.starts_with(['.', '-'])
                && !p.ends_with(['.', '-'])
                // The cache folder joins the two parts with "--" (huggingface_hub's rule).
                && !p.contains("--")
                && !p.contains("..")
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        };
        if parts.len() != 2 || !parts.iter().all(|p| valid(p)) {
            return Err(format!(
                "'{spec}' is not a Hugging Face model: give ORG/REPO or ORG/REPO:QUANT (e.g. bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M)"
            ));
        }
        let quant = match quant {
            Some("") => {
                return Err(format!(
                    "'{spec}': nothing after ':'; name a quantisation (e.g. :Q4_K_M) or leave the ':' out"
                ))
            }
            Some(q) if q.contains(['/', '\\']) => {
                return Err(format!("'{spec}': the part after ':' is a quantisation such as Q4_K_M, not a path"))
            }
            q => q.map(str::to_string),
        };
        Ok(RepoSpec {
            repo: repo.to_string(),
            quant,
        })
    }

    /// The repository's page, where a gated model's licence is accepted.
    pub fn page(&self, endpoint: &str) -> String {
        format!("{}/{}", endpoint.trim_end_matches('/'), self.repo)
    }
}

impl fmt::Display for RepoSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.quant {
            Some(q) => write!(f, "{}:{q}", self.repo),
            None => f.write_str(&self.repo),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_or_say_what_is_wrong() {
        let ok = |s: &str, repo: &str, quant: Option<&str>| {
            assert_eq!(
                RepoSpec::parse(s),
                Ok(RepoSpec {
                    repo: repo.into(),
                    quant: quant.map(Into::into)
                }),
                "{s}"
            )
        };
        ok("org/repo", "org/repo", None);
        ok("org/repo:Q4_K_M", "org/repo", Some("Q4_K_M"));
        ok(" org/Repo-GGUF:q8_0 ", "org/Repo-GGUF", Some("q8_0"));
        ok("https://huggingface.co/org/repo", "org/repo", None);
        ok("hf.co/org/repo:Q2_K", "org/repo", Some("Q2_K"));
        ok("org/re.po_1-x/", "org/re.po_1-x", None);
        for bad in [
            "repo",
            "org/repo/file.gguf",
            "org/",
            "/repo",
            "org/repo:",
            "org/re po",
            "org/repo:a/b",
            "../x",
            "org/.x",
            "a--b/c",
            "org/x..y",
            "org/x-",
        ] {
            let e = RepoSpec::parse(bad).unwrap_err();
            assert!(e.contains(bad.trim()), "{bad}: {e}");
        }
    }
}
