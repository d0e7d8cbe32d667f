//! A fault-injection stand-in for an OpenAI-compatible server, on 127.0.0.1 only: for what no
//! real server does on demand (SSE edge cases, HTTP errors, an error object mid-stream, a cut
//! stream, a slow drip, the field variants of vLLM, Ollama and OpenRouter). Each request is
//! answered by the test's handler; what was asked is recorded, and so is a client that hung up
//! while the stream was still being written.
//!
//! The wire is a real server's: status lines with their reason phrases, connections kept
//! alive between requests, streams in chunked transfer encoding, chunks that carry `id`,
//! `object`, `created` and `model` with the first delta holding `role: "assistant"`, and error
//! bodies of the form `{"error": {"message", "type", "code"}}`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What to answer.
pub enum Reply {
    /// A whole response: status, extra headers, body.
    Body(u16, Vec<(&'static str, String)>, String),
    /// A 200 event stream: each piece of bytes is written (and flushed) after its pause, as
    /// one chunk of a chunked body, which then ends as it should.
    Stream(Vec<(Duration, Vec<u8>)>),
    /// Like `Stream`, then the connection is closed mid-body: a server that died.
    Cut(Vec<(Duration, Vec<u8>)>),
    /// Accept, read the request, and close without a word.
    Hangup,
    /// Accept, read the request, and say nothing for this long.
    Stall(Duration),
}

impl Reply {
    pub fn json(status: u16, v: serde_json::Value) -> Reply {
        Reply::Body(status, Vec::new(), v.to_string())
    }

    /// An error as OpenAI words it: `{"error": {"message", "type", "code"}}`.
    pub fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Reply {
        Reply::json(
            status,
            serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
        )
    }

    /// An event stream as a real server sends it: a first chunk with the role, these
    /// `data:` payloads (each a whole event, LF endings), then `[DONE]`.
    pub fn events(payloads: &[serde_json::Value]) -> Reply {
        let mut pieces: Vec<(Duration, Vec<u8>)> = std::iter::once(role())
            .chain(payloads.iter().cloned())
            .map(|p| (Duration::ZERO, format!("data: {p}\n\n").into_bytes()))
            .collect();
        pieces.push((Duration::ZERO, b"data: [DONE]\n\n".to_vec()));
        Reply::Stream(pieces)
    }
}

/// A `chat.completion.chunk` with these `choices` (and other fields), carrying what every
/// chunk of a real server does: `id`, `object`, `created`, `model`.
pub fn chunk(fields: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": "chatcmpl-fake0123456789",
        "object": "chat.completion.chunk",
        "created": 1_725_000_000,
        "model": "fake-model",
        "system_fingerprint": "fp_fake",
    });
    if let (Some(v), serde_json::Value::Object(extra)) = (v.as_object_mut(), fields) {
        v.extend(extra);
    }
    v
}

/// The first chunk of a stream: the role, and empty content.
pub fn role() -> serde_json::Value {
    chunk(
        serde_json::json!({"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}),
    )
}

/// A chat chunk carrying `content`.
pub fn content(text: &str) -> serde_json::Value {
    chunk(
        serde_json::json!({"choices":[{"index":0,"delta":{"content":text},"logprobs":null,"finish_reason":null}]}),
    )
}

/// A chat chunk carrying reasoning in `field` (`reasoning` or `reasoning_content`).
pub fn reasoning(field: &str, text: &str) -> serde_json::Value {
    chunk(
        serde_json::json!({"choices":[{"index":0,"delta":{field:text},"logprobs":null,"finish_reason":null}]}),
    )
}

pub fn finish(reason: &str) -> serde_json::Value {
    chunk(
        serde_json::json!({"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":reason}]}),
    )
}

pub fn usage(prompt: u32, completion: u32) -> serde_json::Value {
    chunk(
        serde_json::json!({"choices":[],"usage":{"prompt_tokens":prompt,"completion_tokens":completion,"total_tokens":prompt+completion}}),
    )
}

/// The reason phrase of a status line.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// The model list of a server with these ids.
pub fn models(ids: &[&str]) -> Reply {
    Reply::json(
        200,
        serde_json::json!({"object":"list","data": ids.iter().map(|i| serde_json::json!({"id":i,"object":"model","owned_by":"test"})).collect::<Vec<_>>()}),
    )
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

pub struct FakeServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    hung_up: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeServer {
    /// Starts answering chat requests with `handler(request, n)`, `n` counting them from 0;
    /// `/v1/models` lists one model, `fake-model`.
    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::with_models(&["fake-model"], handler)
    }

    /// Like [`FakeServer::start`], listing these models.
    pub fn with_models(
        ids: &[&str],
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let hung_up = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let chats = Arc::new(AtomicUsize::new(0));
        {
            let (requests, hung_up, stop) = (requests.clone(), hung_up.clone(), stop.clone());
            listener.set_nonblocking(true).unwrap();
            std::thread::spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (requests, hung_up, handler, chats, ids) = (
                            requests.clone(),
                            hung_up.clone(),
                            handler.clone(),
                            chats.clone(),
                            ids.clone(),
                        );
                        std::thread::spawn(move || {
                            serve(stream, &requests, &hung_up, &*handler, &chats, &ids)
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            });
        }
        FakeServer {
            addr,
            requests,
            hung_up,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The chat requests received.
    pub fn chats(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .collect()
    }

    /// How many streams the client closed before the server had written all of them.
    pub fn hung_up(&self) -> usize {
        self.hung_up.load(Ordering::SeqCst)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The next request on a kept-alive connection; `None` when the client closed it.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Answers requests on one connection until the client closes it (or a reply closes it).
fn serve(
    mut stream: TcpStream,
    requests: &Mutex<Vec<Request>>,
    hung_up: &AtomicUsize,
    handler: &Handler,
    chats: &AtomicUsize,
    ids: &[String],
) {
    let _ = stream.set_nonblocking(false);
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader);
    while let Some(req) = read_request(&mut reader) {
        requests.lock().unwrap().push(req.clone());
        let reply = if req.path.ends_with("/chat/completions") {
            let n = chats.fetch_add(1, Ordering::SeqCst);
            handler(&req, n)
        } else if req.path == "/v1/models" {
            models(&ids.iter().map(String::as_str).collect::<Vec<_>>())
        } else {
            Reply::error(
                404,
                &format!("Unknown request URL: {} {}", req.method, req.path),
                "invalid_request_error",
                Some("unknown_url"),
            )
        };
        if !answer(&mut stream, reply, hung_up) {
            break;
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// Writes `reply`; whether the connection can take another request.
fn answer(stream: &mut TcpStream, reply: Reply, hung_up: &AtomicUsize) -> bool {
    match reply {
        Reply::Hangup => false,
        Reply::Stall(d) => {
            std::thread::sleep(d);
            false
        }
        Reply::Body(status, headers, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                reason(status),
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(body.as_bytes()))
                .and_then(|()| stream.flush())
                .is_ok()
        }
        Reply::Stream(pieces) => chunked(stream, pieces, hung_up, true),
        Reply::Cut(pieces) => chunked(stream, pieces, hung_up, false),
    }
}

/// A 200 event stream in chunked transfer encoding, one chunk per piece; with `end`, the
/// last chunk that ends the body. Whether the connection can take another request.
fn chunked(
    stream: &mut TcpStream,
    pieces: Vec<(Duration, Vec<u8>)>,
    hung_up: &AtomicUsize,
    end: bool,
) -> bool {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
    if stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.flush())
        .is_err()
    {
        return false;
    }
    for (pause, bytes) in pieces {
        std::thread::sleep(pause);
        if bytes.is_empty() {
            // A chunk of size 0 would end the body.
            continue;
        }
        let mut piece = format!("{:x}\r\n", bytes.len()).into_bytes();
        piece.extend_from_slice(&bytes);
        piece.extend_from_slice(b"\r\n");
        if stream
            .write_all(&piece)
            .and_then(|()| stream.flush())
            .is_err()
        {
            hung_up.fetch_add(1, Ordering::SeqCst);
            return false;
        }
    }
    end && stream
        .write_all(b"0\r\n\r\n")
        .and_then(|()| stream.flush())
        .is_ok()
}
