//! A Hugging Face Hub on 127.0.0.1, for the download tests: the API's repository listing and
//! the `resolve` URLs with the Hub's real headers (`x-repo-commit`, `etag`, `x-linked-etag`,
//! `x-linked-size`, the 302 to storage), storage answering Range with 206, and the faults a
//! real Hub cannot be made to produce on demand: a connection dropped mid-file, bytes that do
//! not match their hash, a missing repository, a slow drip. A gated repository behaves as
//! the Hub's does: its listing answers (with `"gated": "auto"` or `"manual"`) and only its
//! files are refused, 401 without a token and 403 with one that has no access, each with
//! `X-Error-Code: GatedRepo`.
#![allow(dead_code)]

use sha1::Sha1;
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

    /// What git stores for the file: the bytes, or for an LFS file its pointer.
    pub fn git_bytes(&self) -> Vec<u8> {
        if self.lfs {
            format!(
                "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n",
                self.sha256(),
                self.bytes.len()
            )
            .into_bytes()
        } else {
            self.bytes.clone()
        }
    }

    /// The git blob id (`sha1("blob <len>\0" + bytes)`), the Hub's `blobId` and the etag of
    /// a file that is not in LFS (for an LFS file, its pointer's).
    pub fn git_id(&self) -> String {
        git_blob_id(&self.git_bytes())
    }
}

/// The id git gives a blob of these bytes: the SHA-1 of `blob <len>\0` and the bytes.
pub fn git_blob_id(bytes: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    format!("{:x}", h.finalize())
}

/// Whether a repository is gated, and how access is granted: the Hub's `gated` field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gate {
    /// `"gated": false`.
    Open,
    /// `"gated": "auto"`: access is granted on accepting the licence.
    Auto,
    /// `"gated": "manual"`: the authors grant access.
    Manual,
}

impl Gate {
    fn json(self) -> serde_json::Value {
        match self {
            Gate::Open => serde_json::Value::Bool(false),
            Gate::Auto => "auto".into(),
            Gate::Manual => "manual".into(),
        }
    }
}

#[derive(Clone)]
pub struct HubRepo {
    pub id: String,
    pub commit: String,
    pub files: Vec<HubFile>,
    /// Its files need the token `hf_good`; the listing does not.
    pub gated: Gate,
}

impl HubRepo {
    pub fn new(id: &str, files: Vec<HubFile>) -> HubRepo {
        HubRepo {
            id: id.into(),
            commit: format!("{:x}", Sha256::digest(id.as_bytes()))[..40].to_string(),
            files,
            gated: Gate::Open,
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
    /// The status answered (0 while the answer is being written).
    pub status: u16,
    /// The `X-Error-Code` answered, if any.
    pub error_code: Option<String>,
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

/// What a request was answered, for the record.
struct Answer {
    status: u16,
    error_code: Option<String>,
}

/// The reason phrase the Hub's status lines carry.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Internal Server Error",
    }
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
    head_only: bool,
) -> Answer {
    let mut h = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
        reason(status)
    );
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
    Answer {
        status,
        error_code: None,
    }
}

fn error(
    stream: &mut TcpStream,
    status: u16,
    code: &str,
    message: &str,
    head: bool,
    commit: Option<&str>,
) -> Answer {
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
    Answer {
        status,
        error_code: (!code.is_empty()).then(|| code.to_string()),
    }
}

/// A request, parsed.
struct Asked {
    method: String,
    path: String,
    query: String,
    range: Option<String>,
    authorization: Option<String>,
}

fn read_request(stream: &TcpStream) -> Option<Asked> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let (mut range, mut authorization) = (None, None);
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
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
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Asked {
        method,
        path: path.to_string(),
        query: query.to_string(),
        range,
        authorization,
    })
}

fn serve(mut stream: TcpStream, state: &Mutex<State>, addr: SocketAddr) {
    let _ = stream.set_nonblocking(false);
    let Some(asked) = read_request(&stream) else {
        return;
    };
    let (repos, fault, at) = {
        let mut st = state.lock().unwrap();
        st.seen.push(Seen {
            method: asked.method.clone(),
            path: asked.path.clone(),
            range: asked.range.clone(),
            authorization: asked.authorization.clone(),
            status: 0,
            error_code: None,
        });
        (st.repos.clone(), st.fault.clone(), st.seen.len() - 1)
    };
    let answer = if let Some(rest) = asked.path.strip_prefix("/api/models/") {
        listing(&mut stream, &asked, &repos, rest)
    } else if let Some(sha) = asked.path.strip_prefix("/cdn/") {
        storage(&mut stream, &asked, state, &repos, &fault, sha)
    } else {
        resolve(&mut stream, &asked, &repos, &fault, addr)
    };
    let mut st = state.lock().unwrap();
    st.seen[at].status = answer.status;
    st.seen[at].error_code = answer.error_code;
}

fn not_found(stream: &mut TcpStream, head: bool) -> Answer {
    error(
        stream,
        404,
        "RepoNotFound",
        "Repository not found",
        head,
        None,
    )
}

/// The refusal of a gated repository's files, as the Hub words it: 401 without a token,
/// 403 with a token that has no access.
fn gate(repo: &HubRepo, authorization: Option<&str>) -> Option<(u16, String)> {
    if repo.gated == Gate::Open || authorization == Some("Bearer hf_good") {
        return None;
    }
    let id = &repo.id;
    Some(match authorization {
        None => (401, format!("Access to model {id} is restricted. You must have access to it and be authenticated to access it. Please log in.")),
        Some(_) => (403, format!("Access to model {id} is restricted and you are not in the authorized list. Visit https://huggingface.co/{id} to ask for access.")),
    })
}

/// `/api/models/{id}` and `/api/models/{id}/revision/{rev}`: answered for a gated
/// repository too (its `gated` field says so); sizes, blob ids and LFS details only with
/// `blobs=true`.
fn listing(stream: &mut TcpStream, asked: &Asked, repos: &[HubRepo], rest: &str) -> Answer {
    let head = asked.method == "HEAD";
    let (id, rev) = match rest.split_once("/revision/") {
        Some((id, rev)) => (id, Some(rev)),
        None => (rest, None),
    };
    let Some(repo) = repos.iter().find(|r| r.id == id) else {
        return not_found(stream, head);
    };
    if rev.is_some_and(|r| r != "main" && r != repo.commit) {
        let message = format!("Invalid rev id: {}", rev.unwrap_or_default());
        return error(stream, 404, "RevisionNotFound", &message, head, None);
    }
    let blobs = asked.query.split('&').any(|kv| kv == "blobs=true");
    let siblings: Vec<serde_json::Value> = repo
        .files
        .iter()
        .map(|f| {
            if !blobs {
                return serde_json::json!({ "rfilename": f.name });
            }
            let mut v = serde_json::json!({ "rfilename": f.name, "size": f.bytes.len(), "blobId": f.git_id() });
            if f.lfs {
                v["lfs"] = serde_json::json!({ "sha256": f.sha256(), "size": f.bytes.len(), "pointerSize": f.git_bytes().len() });
            }
            v
        })
        .collect();
    let body = serde_json::json!({ "_id": "0123456789abcdef01234567", "id": id, "modelId": id, "sha": repo.commit, "siblings": siblings, "gated": repo.gated.json(), "private": false, "disabled": false, "tags": ["gguf"] });
    respond(
        stream,
        200,
        &[("Content-Type", "application/json".into())],
        body.to_string().as_bytes(),
        head,
    )
}

/// Storage: a blob by its sha256, honouring Range, with the faults set.
fn storage(
    stream: &mut TcpStream,
    asked: &Asked,
    state: &Mutex<State>,
    repos: &[HubRepo],
    fault: &Fault,
    sha: &str,
) -> Answer {
    let head = asked.method == "HEAD";
    let Some(file) = repos
        .iter()
        .flat_map(|r| r.files.iter())
        .find(|f| f.sha256() == sha)
    else {
        return error(stream, 404, "", "no such blob", head, None);
    };
    let mut bytes = file.bytes.clone();
    if *fault == Fault::WrongBytes {
        let mid = bytes.len() / 2;
        bytes[mid] = bytes[mid].wrapping_add(1);
    }
    let total = bytes.len();
    let start = asked
        .range
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
                stream,
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
    let done = Answer {
        status,
        error_code: None,
    };
    headers.push(("Content-Length", body.len().to_string()));
    let mut h = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
        reason(status)
    );
    for (k, v) in &headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    if stream.write_all(h.as_bytes()).is_err() || head {
        return done;
    }
    let first_time = {
        let mut st = state.lock().unwrap();
        let first = !st.dropped.contains(&sha.to_string());
        if first {
            st.dropped.push(sha.to_string());
        }
        first
    };
    match *fault {
        Fault::DropOnceAt(at) if first_time => {
            let _ = stream.write_all(&body[..at.min(body.len())]);
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        Fault::Drip(chunk, pause) => {
            for c in body.chunks(chunk.max(1)) {
                if stream.write_all(c).and_then(|()| stream.flush()).is_err() {
                    return done;
                }
                std::thread::sleep(pause);
            }
        }
        _ => {
            let _ = stream.write_all(&body);
        }
    }
    done
}

/// `/{org}/{repo}/resolve/{rev}/{path}`: the file's headers, and a 302 to storage for an LFS
/// file or the bytes for another.
fn resolve(
    stream: &mut TcpStream,
    asked: &Asked,
    repos: &[HubRepo],
    fault: &Fault,
    addr: SocketAddr,
) -> Answer {
    let head = asked.method == "HEAD";
    let trimmed = asked.path.trim_start_matches('/');
    let Some((id, rest)) = trimmed.split_once("/resolve/") else {
        return error(stream, 404, "", "not found", head, None);
    };
    let Some((rev, name)) = rest.split_once('/') else {
        return error(stream, 404, "", "not found", head, None);
    };
    let name = percent_decode(name);
    let Some(repo) = repos.iter().find(|r| r.id == id) else {
        return not_found(stream, head);
    };
    if let Some((status, message)) = gate(repo, asked.authorization.as_deref()) {
        return error(stream, status, "GatedRepo", &message, head, None);
    }
    if rev != "main" && rev != repo.commit {
        return error(
            stream,
            404,
            "RevisionNotFound",
            "Invalid rev id",
            head,
            None,
        );
    }
    let Some(file) = repo.files.iter().find(|f| f.name == name) else {
        let message = format!("{name} does not exist on \"{rev}\"");
        return error(
            stream,
            404,
            "EntryNotFound",
            &message,
            head,
            Some(&repo.commit),
        );
    };
    let mut h = vec![
        ("X-Repo-Commit", repo.commit.clone()),
        ("Accept-Ranges", "bytes".to_string()),
        ("ETag", format!("\"{}\"", file.git_id())),
    ];
    if !file.lfs {
        return respond(stream, 200, &h, &file.bytes, head);
    }
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
    respond(stream, 302, &h, b"", head)
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
