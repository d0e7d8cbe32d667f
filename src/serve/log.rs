//! One line per request on stderr (and in the --log-file): when, the method and path, the
//! status, the prompt and completion tokens, tokens per second and the time it took. A client
//! that left mid-stream is logged as `200 client left`, with the tokens generated until then.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::time::{Duration, Instant, SystemTime};

/// What a request generated, for its log line (a response extension).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    pub prompt: u32,
    pub completion: u32,
    pub tokens_per_second: f64,
}

/// Marks a streamed response: its stream writes the line when it ends.
#[derive(Clone, Copy, Debug)]
pub struct Streamed;

/// The line of one request.
pub fn line(method: &str, path: &str, status: &str, c: &Counts, took: Duration) -> String {
    let at = humantime::format_rfc3339_seconds(SystemTime::now());
    format!(
        "reflect serve: {at} {method} {path} {status} prompt {} completion {} {:.1} tok/s {} ms",
        c.prompt,
        c.completion,
        c.tokens_per_second,
        took.as_millis()
    )
}

/// Writes a request's line.
pub fn write(method: &str, path: &str, status: &str, c: &Counts, took: Duration) {
    let l = line(method, path, status, c, took);
    tracing::info!("{l}");
    eprintln!("{l}");
}

/// The middleware that logs every response not streamed.
pub async fn requests(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    if response.extensions().get::<Streamed>().is_none() {
        let counts = response
            .extensions()
            .get::<Counts>()
            .copied()
            .unwrap_or_default();
        write(
            &method,
            &path,
            &response.status().as_u16().to_string(),
            &counts,
            start.elapsed(),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_what_was_asked_what_came_and_how_fast() {
        let c = Counts {
            prompt: 12,
            completion: 40,
            tokens_per_second: 38.24,
        };
        let l = line(
            "POST",
            "/v1/chat/completions",
            "200",
            &c,
            Duration::from_millis(1234),
        );
        assert!(l.starts_with("reflect serve: 20"), "{l}");
        assert!(
            l.ends_with(
                " POST /v1/chat/completions 200 prompt 12 completion 40 38.2 tok/s 1234 ms"
            ),
            "{l}"
        );
    }
}
