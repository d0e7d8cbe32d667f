//! The HTTP side: the routes, the API key check, the body limit, and the answers to what is
//! not a route (404) or not a method of one (405), all in the OpenAI error shape.

use super::errors::{json_response, ApiError};
use super::request::BODY_LIMIT;
use super::state::{Health, Shared};
use super::{chat, log};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use std::sync::Arc;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat::completions))
        .route("/chat/completions", post(chat::completions))
        .route("/v1/models", get(models))
        .route("/models", get(models))
        .route("/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(from_fn_with_state(shared.clone(), authorize))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn(log::requests))
        .with_state(shared)
}

/// `GET /health`: 503 while the model loads (or after it failed to), then 200.
async fn health(State(shared): State<Arc<Shared>>) -> Response {
    match shared.health() {
        Health::Ready => json_response(StatusCode::OK, &json!({"status": "ok"})),
        Health::Loading => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "loading"}),
        ),
        Health::Failed(why) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "error", "message": why}),
        ),
    }
}

/// `GET /v1/models`: the one model served.
async fn models(State(shared): State<Arc<Shared>>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "object": "list",
            "data": [{
                "id": shared.model,
                "object": "model",
                "created": 0,
                "owned_by": "reflect",
            }],
        }),
    )
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(method.as_str(), uri.path())
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::method_not_allowed(method.as_str(), uri.path())
}

/// With --api-key, everything but /health wants `Authorization: Bearer KEY`.
async fn authorize(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let Some(key) = shared.api_key.as_deref() else {
        return next.run(req).await;
    };
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            // The scheme is case-insensitive (RFC 7235).
            let (scheme, key) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(key)
        });
    match given {
        Some(g) if same(g.trim().as_bytes(), key.trim().as_bytes()) => next.run(req).await,
        Some(_) => ApiError::unauthorized("the API key is wrong").into_response(),
        None => ApiError::unauthorized(
            "an API key is required: send the header `Authorization: Bearer KEY`",
        )
        .into_response(),
    }
}

/// Compares keys in a time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_only_exactly() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret2"));
        assert!(!same(b"", b"x"));
    }
}
