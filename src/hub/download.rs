//! One file into the cache, with the care a multi-gigabyte download needs: written to
//! `blobs/ETAG.incomplete` and renamed only once whole and verified (sha256 against the LFS
//! etag), resumed with HTTP Range after a dropped connection or an earlier run, free disk
//! space checked first, and Ctrl+C leaving the partial file for the next run.

use super::cache::Cache;
use super::client::{Client, FileMeta};
use super::error::HubError;
use super::interrupt::Interrupt;
use super::progress::{bytes, Step};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Attempts after a dropped connection, as long as each one makes progress.
const RETRIES: usize = 5;

/// `huggingface_hub`'s lock on a blob (`.locks/models--ORG--REPO/ETAG.lock`, an flock), held
/// while it downloads: two downloads of one file, reflect's or `huggingface_hub`'s, never
/// write it at once.
struct BlobLock {
    _file: std::fs::File,
}

impl BlobLock {
    fn take(
        cache: &Cache,
        repo: &str,
        etag: &str,
        name: &str,
        progress: &mut dyn FnMut(Step),
        interrupt: &Interrupt,
    ) -> Result<BlobLock, HubError> {
        let dir = cache
            .root
            .join(".locks")
            .join(format!("models--{}", repo.replace('/', "--")));
        let path = dir.join(format!("{etag}.lock"));
        let fail =
            |e: std::io::Error| HubError::Disk(format!("cannot lock {}: {e}", path.display()));
        std::fs::create_dir_all(&dir).map_err(fail)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            let mut said = false;
            // SAFETY: flock on a descriptor this function owns.
            while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                    // A file system without locks: go on unlocked, as huggingface_hub does.
                    break;
                }
                if !said {
                    progress(Step::Waiting {
                        name: name.to_string(),
                    });
                    said = true;
                }
                if let Some(signal) = interrupt.fired() {
                    return Err(HubError::Interrupted {
                        signal,
                        partial: None,
                    });
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(BlobLock { _file: file })
    }
}

/// Bytes free for an unprivileged user on the file system holding `dir`.
pub fn free_space(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is a valid NUL-terminated path and `s` a valid out-pointer.
        if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
            return None;
        }
        Some(s.f_bavail as u64 * s.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// One file to download: which, and its place among a split model's parts.
pub struct Target<'a> {
    pub repo: &'a str,
    pub name: &'a str,
    pub meta: &'a FileMeta,
    /// (this part, of how many), from 1.
    pub part: (usize, usize),
}

/// Downloads `name` (described by `meta`) into `cache`'s blob for it, unless it is there.
/// Returns whether the sha256 was verified.
pub fn fetch_blob(
    client: &Client,
    cache: &Cache,
    target: &Target<'_>,
    progress: &mut dyn FnMut(Step),
    interrupt: &Interrupt,
) -> Result<bool, HubError> {
    let Target {
        repo,
        name,
        meta,
        part: (part, parts),
    } = *target;
    let blob = cache.blob(repo, &meta.etag);
    let whole = || std::fs::metadata(&blob).is_ok_and(|m| m.len() == meta.size);
    if whole() {
        return Ok(false);
    }
    let dir = blob.parent().unwrap_or(&cache.root).to_path_buf();
    std::fs::create_dir_all(&dir)
        .map_err(|e| HubError::Disk(format!("cannot create {}: {e}", dir.display())))?;
    let _lock = BlobLock::take(cache, repo, &meta.etag, name, progress, interrupt)?;
    // Another download may have finished it while this one waited.
    if whole() {
        return Ok(false);
    }
    let mut incomplete = Incomplete::resume(cache.incomplete(repo, &meta.etag), dir, name, meta)?;
    progress(Step::Start {
        name: name.to_string(),
        part,
        parts,
        from: incomplete.have,
        total: meta.size,
    });
    let started = Instant::now();
    incomplete.receive(client, meta, progress, interrupt)?;
    let verified = incomplete.verify(name, meta)?;
    std::fs::rename(&incomplete.path, &blob).map_err(|e| incomplete.disk(e))?;
    progress(Step::Done {
        name: name.to_string(),
        bytes: meta.size,
        took: started.elapsed(),
        verified,
    });
    Ok(verified)
}

/// A blob being written: its `.incomplete` file beside it, how much of it is there, and the
/// hash of that much.
struct Incomplete {
    path: PathBuf,
    /// The folder holding it (and the blob).
    dir: PathBuf,
    have: u64,
    hasher: Sha256,
}

impl Incomplete {
    /// The part already at `path` (one longer than the file is removed) with its hash, once
    /// the disk has room for the rest.
    fn resume(
        path: PathBuf,
        dir: PathBuf,
        name: &str,
        meta: &FileMeta,
    ) -> Result<Incomplete, HubError> {
        let mut this = Incomplete {
            have: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
            path,
            dir,
            hasher: Sha256::new(),
        };
        if this.have > meta.size {
            std::fs::remove_file(&this.path).map_err(|e| this.disk(e))?;
            this.have = 0;
        }
        if let Some(free) = free_space(&this.dir) {
            let need = meta.size - this.have;
            if free < need {
                return Err(HubError::Disk(format!(
                    "{name} needs {} more and {} has {} free: free some space (or point HF_HOME elsewhere) and run again",
                    bytes(need),
                    this.dir.display(),
                    bytes(free)
                )));
            }
        }
        if this.have > 0 {
            this.have = this.hash_existing().map_err(|e| this.disk(e))?;
        }
        Ok(this)
    }

    /// Hashes the bytes already there (they are part of the hash); returns how many it read.
    fn hash_existing(&mut self) -> std::io::Result<u64> {
        let mut f = std::fs::File::open(&self.path)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut read = 0u64;
        while read < self.have {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            self.hasher.update(&buf[..n]);
            read += n as u64;
        }
        Ok(read)
    }

    /// GETs the rest until the file is whole: resumes after a dropped connection as long as
    /// the attempts make progress, starts over when the server ignores the range, and stops on
    /// a signal keeping what is there. The file is synced when whole.
    fn receive(
        &mut self,
        client: &Client,
        meta: &FileMeta,
        progress: &mut dyn FnMut(Step),
        interrupt: &Interrupt,
    ) -> Result<(), HubError> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.disk(e))?;
        let mut attempts = 0;
        while self.have < meta.size {
            let before = self.have;
            let got = stream(
                client,
                meta,
                &mut file,
                &mut self.hasher,
                &mut self.have,
                progress,
                interrupt,
            );
            match got {
                Ok(()) => {}
                Err(Ended::Stopped(signal)) => {
                    let _ = file.flush();
                    return Err(HubError::Interrupted {
                        signal,
                        partial: Some((self.path.clone(), self.have, meta.size)),
                    });
                }
                Err(Ended::Fatal(e)) => return Err(e),
                Err(Ended::Disk(e)) => return Err(self.disk(e)),
                Err(Ended::Restart) => {
                    // The server ignored the range: start again from the first byte.
                    file.set_len(0).map_err(|e| self.disk(e))?;
                    self.hasher = Sha256::new();
                    self.have = 0;
                }
                Err(Ended::Broken(why)) => {
                    attempts = if self.have > before { 1 } else { attempts + 1 };
                    if attempts > RETRIES {
                        return Err(self.gave_up(meta, why));
                    }
                    progress(Step::Retry {
                        done: self.have,
                        error: why,
                    });
                    std::thread::sleep(Duration::from_millis(200 * attempts as u64));
                }
            }
        }
        file.sync_all().map_err(|e| self.disk(e))
    }

    /// The sha256 of the whole file against the one the Hub gave (a file that does not match
    /// is removed); whether there was one to check.
    fn verify(&mut self, name: &str, meta: &FileMeta) -> Result<bool, HubError> {
        let Some(expected) = meta.sha256() else {
            return Ok(false);
        };
        let got = format!("{:x}", std::mem::take(&mut self.hasher).finalize());
        if !got.eq_ignore_ascii_case(expected) {
            let _ = std::fs::remove_file(&self.path);
            return Err(HubError::Hash {
                file: name.to_string(),
                expected: expected.to_string(),
                got,
            });
        }
        Ok(true)
    }

    /// The connection kept breaking without progress.
    fn gave_up(&self, meta: &FileMeta, why: String) -> HubError {
        HubError::Network {
            url: meta.location.clone(),
            message: format!(
                "{why}; {} of {} kept in {}, run again to resume",
                bytes(self.have),
                bytes(meta.size),
                self.path.display()
            ),
        }
    }

    /// A write that failed, said for people: a full disk keeps the part for a resume.
    fn disk(&self, e: std::io::Error) -> HubError {
        let full = e.raw_os_error() == Some(libc::ENOSPC);
        HubError::Disk(if full {
            format!(
                "the disk holding {} is full; the part downloaded is kept in {}: free some space and run the command again to resume",
                self.dir.display(),
                self.path.display()
            )
        } else {
            format!("cannot write {}: {e}", self.path.display())
        })
    }
}

/// Why one GET ended before the file did.
enum Ended {
    /// A signal: stop, keeping the file.
    Stopped(i32),
    /// The connection broke (or never came): resume.
    Broken(String),
    /// The server ignored the range.
    Restart,
    Disk(std::io::Error),
    Fatal(HubError),
}

/// One GET from `have` on, appending to `file` until the body ends.
fn stream(
    client: &Client,
    meta: &FileMeta,
    file: &mut std::fs::File,
    hasher: &mut Sha256,
    have: &mut u64,
    progress: &mut dyn FnMut(Step),
    interrupt: &Interrupt,
) -> Result<(), Ended> {
    if let Some(s) = interrupt.fired() {
        return Err(Ended::Stopped(s));
    }
    let mut resp = match client.get(&meta.location, *have, interrupt) {
        Ok(r) => r,
        Err(HubError::Interrupted { signal, .. }) => return Err(Ended::Stopped(signal)),
        Err(HubError::Network { message, .. }) => return Err(Ended::Broken(message)),
        Err(e) => return Err(Ended::Fatal(e)),
    };
    let status = resp.status().as_u16();
    match status {
        206 => {
            let start = resp
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if start != Some(*have) {
                return Err(Ended::Restart);
            }
        }
        200 if *have > 0 => return Err(Ended::Restart),
        200 => {}
        416 => return Err(Ended::Restart),
        500..=599 => return Err(Ended::Broken(format!("HTTP {status}"))),
        _ => {
            return Err(Ended::Fatal(HubError::Server {
                url: meta.location.clone(),
                message: format!("HTTP {status} while downloading"),
            }))
        }
    }
    loop {
        if let Some(s) = interrupt.fired() {
            return Err(Ended::Stopped(s));
        }
        let next = client.rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(100), resp.chunk()).await
        });
        let chunk = match next {
            Err(_) => continue,
            Ok(Ok(Some(c))) => c,
            Ok(Ok(None)) => {
                return if *have < meta.size {
                    Err(Ended::Broken(format!(
                        "the server closed the connection at {}",
                        bytes(*have)
                    )))
                } else {
                    Ok(())
                };
            }
            Ok(Err(e)) => return Err(Ended::Broken(e.to_string())),
        };
        let room = (meta.size - *have) as usize;
        let chunk = &chunk[..chunk.len().min(room)];
        file.write_all(chunk).map_err(Ended::Disk)?;
        hasher.update(chunk);
        *have += chunk.len() as u64;
        progress(Step::Bytes {
            done: *have,
            total: meta.size,
        });
        if *have >= meta.size {
            return Ok(());
        }
    }
}
