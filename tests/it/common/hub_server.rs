//! A Hugging Face Hub on 127.0.0.1, for the download tests: the API's repository listing and
//! the `resolve` URLs with the Hub's real headers (`x-repo-commit`, `etag`, `x-linked-etag`,
//! `x-linked-size`, the 302 to storage), storage answering Range with 206, and the faults a
//! real Hub cannot be made to produce on demand: a connection dropped mid-file, bytes that do
//! not match their hash, a gated repository, a missing one, a slow drip.
#![allow(dead_code)]

use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A file of a repository.
#[derive(Clone)]
pub struct HubFile {
    pub name: String,
    pub bytes: Vec<u8>,
    /// Stored with Git LFS (GGUFs are): served through a redirect to storage.
    pub lfs: bool,
}

impl HubFile {
    pub fn lfs(name: &str, bytes: Vec<u8>) -> HubFile {
        HubFile {
            name: name.into(),
            bytes,
            lfs: true,
        }
    }

    pub fn sha256(&self) -> String {
        format!("{:x}", Sha256::digest(&self.bytes))
    }

    /// A git blob id, as the Hub gives small files as their etag.
    pub fn git_id(&self) -> String {
        format!(
            "{:x}",
            Sha256::digest([b"blob ".as_slice(), &self.bytes].concat())
        )[..40]
            .to_string()
    }
}

#[derive(Clone)]
pub struct HubRepo {
    pub id: String,
    pub commit: String,
    pub files: Vec<HubFile>,
    /// Needs the token `hf_good`.
    pub gated: bool,
}

impl HubRepo {
    pub fn new(id: &str, files: Vec<HubFile>) -> HubRepo {
        HubRepo {
            id: id.into(),
            commit: format!("{:x}", Sha256::digest(id.as_bytes()))[..40].to_string(),
            files,
            gated: false,
        }
    }
}

/// What storage does wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    None,
    /// The first GET of each blob stops after this many bytes and hangs up.
    DropOnceAt(usize),
    /// Every byte served is off by one in the middle: the hash cannot match.
    WrongBytes,
    /// Bytes come in chunks of this size, with this pause after each.
    Drip(usize, Duration),
    /// The `resolve` headers claim this size (more than any disk has).
    ClaimSize(u64),
}

/// One request, as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub authorization: Option<String>,
}

struct State {
    repos: Vec<HubRepo>,
    fault: Fault,
    seen: Vec<Seen>,
    dropped: Vec<String>,
}

pub struct HubServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl HubServer {
    pub fn start(repos: Vec<HubRepo>) -> HubServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            repos,
            fault: Fault::None,
            seen: Vec::new(),
            dropped: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || loop {
            if sp.load(Ordering::SeqCst) {
                break;
            }
            match listener.accept() {
                Ok((stream, _)) => {
                    let st = st.clone();
                    std::thread::spawn(move || serve(stream, &st, addr));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        });
        HubServer { addr, state, stop }
    }

    /// The endpoint, for `HF_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_fault(&self, f: Fault) {
        self.state.lock().unwrap().fault = f;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Requests for the bytes of a blob (storage GETs).
    pub fn data_gets(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.path.starts_with("/cdn/") && s.method == "GET")
            .collect()
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
    head_only: bool,
) {
    let mut h = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        h.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    h.push_str("\r\n");
    let _ = stream.write_all(h.as_bytes());
    if !head_only {
        let _ = stream.write_all(body);
    }
    let _ = stream.flush();
}

fn error(
    stream: &mut TcpStream,
    status: u16,
    code: &str,
    message: &str,
    head: bool,
    commit: Option<&str>,
) {
    let mut h = vec![
        ("X-Error-Code", code.to_string()),
        ("X-Error-Message", message.to_string()),
        ("Content-Type", "application/json".into()),
    ];
    if let Some(c) = commit {
        h.push(("X-Repo-Commit", c.to_string()));
    }
    respond(
        stream,
        status,
        &h,
        serde_json::json!({ "error": message })
            .to_string()
            .as_bytes(),
        head,
    );
}

fn serve(mut stream: TcpStream, state: &Mutex<State>, addr: SocketAddr) {
    let _ = stream.set_nonblocking(false);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return;
    };
    let (method, target) = (method.to_string(), target.to_string());
    let mut range = None;
    let mut authorization = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "range" => range = Some(v.trim().to_string()),
                "authorization" => authorization = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    let path = target.split('?').next().unwrap_or("").to_string();
    let head = method == "HEAD";
    let (repos, fault) = {
        let mut st = state.lock().unwrap();
        st.seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            range: range.clone(),
            authorization: authorization.clone(),
        });
        (st.repos.clone(), st.fault.clone())
    };
    let allowed = |r: &HubRepo| !r.gated || authorization.as_deref() == Some("Bearer hf_good");
    let find = |id: &str| repos.iter().find(|r| r.id == id);

    if let Some(rest) = path.strip_prefix("/api/models/") {
        let Some((id, _rev)) = rest.split_once("/revision/") else {
            return error(&mut stream, 404, "", "not found", head, None);
        };
        let Some(repo) = find(id) else {
            return error(
                &mut stream,
                404,
                "RepoNotFound",
                "Repository not found",
                head,
                None,
            );
        };
        if !allowed(repo) {
            return error(&mut stream, 401, "GatedRepo", &format!("Access to model {id} is restricted. You must have access to it and be authenticated to access it. Please log in."), head, None);
        }
        let siblings: Vec<serde_json::Value> = repo
            .files
            .iter()
            .map(|f| {
                let mut v = serde_json::json!({ "rfilename": f.name, "size": f.bytes.len(), "blobId": f.git_id() });
                if f.lfs {
                    v["lfs"] = serde_json::json!({ "sha256": f.sha256(), "size": f.bytes.len(), "pointerSize": 134 });
                    v["size"] = serde_json::json!(f.bytes.len());
                }
                v
            })
            .collect();
        let body = serde_json::json!({ "id": id, "modelId": id, "sha": repo.commit, "siblings": siblings, "gated": repo.gated, "private": false });
        return respond(
            &mut stream,
            200,
            &[("Content-Type", "application/json".into())],
            body.to_string().as_bytes(),
            head,
        );
    }
    if let Some(sha) = path.strip_prefix("/cdn/") {
        let Some(file) = repos
            .iter()
            .flat_map(|r| r.files.iter())
            .find(|f| f.sha256() == sha)
        else {
            return error(&mut stream, 404, "", "no such blob", head, None);
        };
        let mut bytes = file.bytes.clone();
        if fault == Fault::WrongBytes {
            let mid = bytes.len() / 2;
            bytes[mid] = bytes[mid].wrapping_add(1);
        }
        let total = bytes.len();
        let start = range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|r| r.parse::<usize>().ok());
        let mut headers = vec![
            ("Accept-Ranges", "bytes".to_string()),
            ("ETag", format!("\"{sha}\"")),
        ];
        let (status, body) = match start {
            Some(s) if s >= total => {
                return respond(
                    &mut stream,
                    416,
                    &[("Content-Range", format!("bytes */{total}"))],
                    b"",
                    head,
                );
            }
            Some(s) => {
                headers.push(("Content-Range", format!("bytes {s}-{}/{total}", total - 1)));
                (206, bytes[s..].to_vec())
            }
            None => (200, bytes),
        };
        headers.push(("Content-Length", body.len().to_string()));
        let mut h = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
        for (k, v) in &headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        h.push_str("\r\n");
        if stream.write_all(h.as_bytes()).is_err() || head {
            return;
        }
        let first_time = {
            let mut st = state.lock().unwrap();
            let first = !st.dropped.contains(&sha.to_string());
            if first {
                st.dropped.push(sha.to_string());
            }
            first
        };
        match fault {
            Fault::DropOnceAt(at) if first_time => {
                let _ = stream.write_all(&body[..at.min(body.len())]);
                let _ = stream.flush();
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
            Fault::Drip(chunk, pause) => {
                for c in body.chunks(chunk.max(1)) {
                    if stream.write_all(c).and_then(|()| stream.flush()).is_err() {
                        return;
                    }
                    std::thread::sleep(pause);
                }
            }
            _ => {
                let _ = stream.write_all(&body);
            }
        }
        return;
    }
    // /{org}/{repo}/resolve/{rev}/{path}
    let trimmed = path.trim_start_matches('/');
    let Some((id, rest)) = trimmed.split_once("/resolve/") else {
        return error(&mut stream, 404, "", "not found", head, None);
    };
    let Some((rev, name)) = rest.split_once('/') else {
        return error(&mut stream, 404, "", "not found", head, None);
    };
    let name = percent_decode(name);
    let Some(repo) = find(id) else {
        return error(
            &mut stream,
            404,
            "RepoNotFound",
            "Repository not found",
            head,
            None,
        );
    };
    if !allowed(repo) {
        return error(
            &mut stream,
            401,
            "GatedRepo",
            &format!("Access to model {id} is restricted."),
            head,
            None,
        );
    }
    if rev != "main" && rev != repo.commit {
        return error(
            &mut stream,
            404,
            "RevisionNotFound",
            "Invalid rev id",
            head,
            None,
        );
    }
    let Some(file) = repo.files.iter().find(|f| f.name == name) else {
        return error(
            &mut stream,
            404,
            "EntryNotFound",
            &format!("{name} does not exist on \"{rev}\""),
            head,
            Some(&repo.commit),
        );
    };
    let common = vec![
        ("X-Repo-Commit", repo.commit.clone()),
        ("Accept-Ranges", "bytes".to_string()),
    ];
    if file.lfs {
        let mut h = common;
        h.push(("ETag", format!("\"{}\"", file.git_id())));
        h.push(("X-Linked-Etag", format!("\"{}\"", file.sha256())));
        let size = match fault {
            Fault::ClaimSize(n) => n.to_string(),
            _ => file.bytes.len().to_string(),
        };
        h.push(("X-Linked-Size", size));
        // Storage is another host, as the Hub's is: `localhost` rather than `127.0.0.1`.
        h.push((
            "Location",
            format!("http://localhost:{}/cdn/{}", addr.port(), file.sha256()),
        ));
        respond(&mut stream, 302, &h, b"", head);
    } else {
        let mut h = common;
        h.push(("ETag", format!("\"{}\"", file.git_id())));
        respond(&mut stream, 200, &h, &file.bytes, head);
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
