//! The Hugging Face cache on disk, laid out as `huggingface_hub` lays it out, so that files
//! are shared with `huggingface-cli`, transformers and llama.cpp's tools:
//! `models--ORG--REPO/{blobs/ETAG, snapshots/COMMIT/PATH -> ../../blobs/ETAG, refs/REV}`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A cache root (`…/huggingface/hub`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cache {
    pub root: PathBuf,
}

/// A GGUF file found in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedFile {
    /// `ORG/REPO`.
    pub repo: String,
    /// The path in the repository.
    pub name: String,
    /// The snapshot path (a link into `blobs/`).
    pub path: PathBuf,
    pub commit: String,
    pub size: u64,
    /// When it was last read (the blob's access time), else written.
    pub used: Option<SystemTime>,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// `models--ORG--REPO`.
    pub fn repo_dir(&self, repo: &str) -> PathBuf {
        self.root
            .join(format!("models--{}", repo.replace('/', "--")))
    }

    pub fn blob(&self, repo: &str, etag: &str) -> PathBuf {
        self.repo_dir(repo).join("blobs").join(etag)
    }

    /// Where a download in progress is kept: beside its blob, as `huggingface_hub` keeps it, so
    /// either tool resumes the other's.
    pub fn incomplete(&self, repo: &str, etag: &str) -> PathBuf {
        self.repo_dir(repo)
            .join("blobs")
            .join(format!("{etag}.incomplete"))
    }

    pub fn snapshot(&self, repo: &str, commit: &str, name: &str) -> PathBuf {
        self.repo_dir(repo)
            .join("snapshots")
            .join(commit)
            .join(name)
    }

    /// The commit a ref (`main`) points at, as last seen online.
    pub fn commit_of(&self, repo: &str, rev: &str) -> Option<String> {
        let s = std::fs::read_to_string(self.repo_dir(repo).join("refs").join(rev)).ok()?;
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    }

    /// Records that `rev` is at `commit`.
    pub fn set_ref(&self, repo: &str, rev: &str, commit: &str) -> std::io::Result<()> {
        if rev == commit {
            return Ok(());
        }
        let path = self.repo_dir(repo).join("refs").join(rev);
        std::fs::create_dir_all(path.parent().unwrap_or(&self.root))?;
        crate::config::write::write_atomic(&path, commit)
    }

    /// Points `snapshots/COMMIT/NAME` at the blob, with a relative link as `huggingface_hub`
    /// makes (`../../blobs/ETAG`, one more `../` per folder in NAME).
    pub fn link(
        &self,
        repo: &str,
        commit: &str,
        name: &str,
        etag: &str,
    ) -> std::io::Result<PathBuf> {
        let pointer = self.snapshot(repo, commit, name);
        let parent = pointer.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent)?;
        let depth = name.matches('/').count() + 2;
        let target: PathBuf = std::iter::repeat_n("..", depth)
            .collect::<PathBuf>()
            .join("blobs")
            .join(etag);
        // Made beside the pointer and renamed over it: two downloads linking the same file at
        // once both succeed (the last rename wins, pointing at the same blob).
        let mut tmp = pointer.clone().into_os_string();
        tmp.push(format!(".link{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, &tmp)?;
        #[cfg(not(unix))]
        std::fs::copy(self.blob(repo, etag), &tmp).map(|_| ())?;
        std::fs::rename(&tmp, &pointer)?;
        Ok(pointer)
    }

    /// The GGUF files of `repo` in its snapshots: the one `refs/main` names first, then the
    /// others, newest first. Dangling links (a blob deleted by hand) are left out.
    pub fn files(&self, repo: &str) -> Vec<CachedFile> {
        let dir = self.repo_dir(repo).join("snapshots");
        let main = self.commit_of(repo, "main");
        let mut commits: Vec<(bool, Option<SystemTime>, String)> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let modified = e.metadata().and_then(|m| m.modified()).ok();
                Some((main.as_deref() == Some(name.as_str()), modified, name))
            })
            .collect();
        commits.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        let mut out = Vec::new();
        for (_, _, commit) in commits {
            let base = dir.join(&commit);
            for name in gguf_names(&base, &base) {
                let path = base.join(&name);
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                out.push(CachedFile {
                    repo: repo.to_string(),
                    name,
                    path,
                    commit: commit.clone(),
                    size: meta.len(),
                    used: meta.accessed().ok().max(meta.modified().ok()),
                });
            }
        }
        out
    }

    /// The repositories with a GGUF file in the cache (`ORG/REPO`), sorted.
    pub fn repos(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let rest = name.strip_prefix("models--")?;
                let (org, repo) = rest.split_once("--")?;
                Some(format!("{org}/{repo}"))
            })
            .filter(|r| !self.files(r).is_empty())
            .collect();
        out.sort();
        out
    }

    /// Every cached GGUF file.
    pub fn all_files(&self) -> Vec<CachedFile> {
        self.repos().iter().flat_map(|r| self.files(r)).collect()
    }

    /// Removes `files` (snapshot links, and each blob no other link uses), and the repository
    /// folder once it holds no snapshot. Returns the bytes freed.
    pub fn remove(&self, repo: &str, files: &[CachedFile]) -> std::io::Result<u64> {
        let dir = self.repo_dir(repo);
        let blob_of = |p: &Path| std::fs::canonicalize(p).ok();
        let mut freed = 0;
        let doomed: Vec<(PathBuf, Option<PathBuf>)> = files
            .iter()
            .map(|f| (f.path.clone(), blob_of(&f.path)))
            .collect();
        for (pointer, _) in &doomed {
            std::fs::remove_file(pointer)?;
            prune_empty(pointer.parent(), &dir.join("snapshots"));
        }
        let still_used: Vec<PathBuf> = self
            .files(repo)
            .iter()
            .filter_map(|f| blob_of(&f.path))
            .collect();
        for blob in doomed.into_iter().filter_map(|(_, b)| b) {
            if !still_used.contains(&blob) && blob.starts_with(std::fs::canonicalize(&dir)?) {
                freed += std::fs::metadata(&blob).map(|m| m.len()).unwrap_or(0);
                std::fs::remove_file(&blob)?;
            }
        }
        let snapshots_left = std::fs::read_dir(dir.join("snapshots"))
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if !snapshots_left {
            // The folder goes once nothing is left in it; a download in progress (a
            // `.incomplete` blob, perhaps another process's) is never touched.
            let _ = std::fs::remove_dir(dir.join("snapshots"));
            for r in std::fs::read_dir(dir.join("refs"))
                .into_iter()
                .flatten()
                .flatten()
            {
                let _ = std::fs::remove_file(r.path());
            }
            let _ = std::fs::remove_dir(dir.join("refs"));
            let _ = std::fs::remove_dir(dir.join("blobs"));
            let _ = std::fs::remove_dir(&dir);
        }
        Ok(freed)
    }
}

/// The `.gguf` files below `dir`, as paths relative to `base` with `/` between folders.
fn gguf_names(base: &Path, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(gguf_names(base, &path));
        } else if path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
        {
            if let Ok(rel) = path.strip_prefix(base) {
                let parts: Vec<String> = rel
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    out
}

/// Removes `dir` and its parents up to (not including) `stop` while they are empty.
fn prune_empty(dir: Option<&Path>, stop: &Path) {
    let mut dir = dir.map(Path::to_path_buf);
    while let Some(d) = dir {
        if d == stop || !d.starts_with(stop) || std::fs::remove_dir(&d).is_err() {
            break;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_huggingface_hubs() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::new(dir.path());
        let etag = "a".repeat(64);
        std::fs::create_dir_all(c.blob("org/repo", &etag).parent().unwrap()).unwrap();
        std::fs::write(c.blob("org/repo", &etag), b"GGUFdata").unwrap();
        let p = c
            .link("org/repo", "c0ffee", "sub/m-Q4_K_M.gguf", &etag)
            .unwrap();
        assert_eq!(
            p,
            dir.path()
                .join("models--org--repo/snapshots/c0ffee/sub/m-Q4_K_M.gguf")
        );
        assert_eq!(
            std::fs::read_link(&p).unwrap(),
            PathBuf::from(format!("../../../blobs/{etag}"))
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"GGUFdata");
        c.set_ref("org/repo", "main", "c0ffee").unwrap();
        assert_eq!(c.commit_of("org/repo", "main").as_deref(), Some("c0ffee"));
        let files = c.files("org/repo");
        assert_eq!(files.len(), 1);
        assert_eq!(
            (files[0].name.as_str(), files[0].size),
            ("sub/m-Q4_K_M.gguf", 8)
        );
        assert_eq!(c.repos(), ["org/repo"]);
        assert_eq!(c.remove("org/repo", &files).unwrap(), 8);
        assert!(!c.repo_dir("org/repo").exists());
        assert!(c.repos().is_empty());
    }

    #[test]
    fn a_blob_two_snapshots_share_survives_removing_one() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::new(dir.path());
        std::fs::create_dir_all(c.repo_dir("o/r").join("blobs")).unwrap();
        std::fs::write(c.blob("o/r", "e1"), b"x").unwrap();
        c.link("o/r", "c1", "m.gguf", "e1").unwrap();
        c.link("o/r", "c2", "m.gguf", "e1").unwrap();
        let old: Vec<CachedFile> = c
            .files("o/r")
            .into_iter()
            .filter(|f| f.commit == "c1")
            .collect();
        // Another download in progress in the same repository.
        std::fs::write(c.incomplete("o/r", "e2"), b"part").unwrap();
        assert_eq!(c.remove("o/r", &old).unwrap(), 0);
        assert!(c.blob("o/r", "e1").exists());
        assert_eq!(c.files("o/r").len(), 1);
        let rest = c.files("o/r");
        c.remove("o/r", &rest).unwrap();
        assert!(!c.blob("o/r", "e1").exists());
        assert_eq!(
            std::fs::read(c.incomplete("o/r", "e2")).unwrap(),
            b"part",
            "left alone"
        );
    }
}
