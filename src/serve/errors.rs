//! Errors as OpenAI clients read them: an HTTP status and `{"error": {"message", "type",
//! "param", "code"}}`, made in one place for every route.

use crate::llm::EngineError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A request the server refuses or could not answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The error's `type` (`invalid_request_error`, `authentication_error`, …).
    pub kind: &'static str,
    /// The error's `code`, when more precise than the type (`model_not_found`).
    pub code: Option<&'static str>,
    /// The request field at fault.
    pub param: Option<String>,
    /// Extra members of the error object (`n_prompt_tokens`, `n_ctx`).
    pub extra: Vec<(&'static str, Value)>,
    /// Seconds before trying again (503 queue full).
    pub retry_after: Option<u32>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            kind,
            code: None,
            param: None,
            extra: Vec::new(),
            retry_after: None,
        }
    }

    /// 400: the request is not what the API takes.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 400 naming the field at fault.
    pub fn field(param: &str, message: impl Into<String>) -> Self {
        ApiError {
            param: Some(param.to_string()),
            ..Self::invalid(message)
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError {
            code: Some("invalid_api_key"),
            ..Self::new(StatusCode::UNAUTHORIZED, "authentication_error", message)
        }
    }

    pub fn model_not_found(asked: &str, served: &str) -> Self {
        ApiError {
            code: Some("model_not_found"),
            param: Some("model".into()),
            ..Self::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                format!(
                    "the model '{asked}' does not exist here: this server serves '{served}' \
                     (GET /v1/models lists it; an empty or absent model means it too)"
                ),
            )
        }
    }

    pub fn not_found(method: &str, path: &str) -> Self {
        ApiError {
            code: Some("not_found"),
            ..Self::new(
                StatusCode::NOT_FOUND,
                "not_found_error",
                format!(
                    "no route {method} {path}: this server answers POST /v1/chat/completions, \
                     GET /v1/models and GET /health"
                ),
            )
        }
    }

    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        ApiError {
            code: Some("method_not_allowed"),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                format!("{path} does not take {method}"),
            )
        }
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("the request body is over {} MiB", limit >> 20),
        )
    }

    /// 503 while the model loads (or after it failed to).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable_error",
            message,
        )
    }

    /// 503: every slot busy and the wait queue full.
    pub fn busy(slots: u32, queue: u32) -> Self {
        ApiError {
            retry_after: Some(1),
            code: Some("queue_full"),
            ..Self::unavailable(format!(
                "all {slots} slots are busy and {queue} requests already wait; try again shortly"
            ))
        }
    }

    /// What an engine error means for the client: a prompt too long is the request's fault
    /// (400, with the numbers); anything else is the server's (500).
    pub fn engine(e: &EngineError) -> Self {
        match e {
            EngineError::PromptTooLong {
                prompt_tokens,
                n_ctx,
            } => ApiError {
                extra: vec![
                    ("n_prompt_tokens", json!(prompt_tokens)),
                    ("n_ctx", json!(n_ctx)),
                ],
                ..Self::context(format!(
                    "the prompt is {prompt_tokens} tokens but the context holds {n_ctx}; \
                     shorten the messages (or start the server with a larger --ctx-size)"
                ))
            },
            EngineError::MessageTooLong {
                bytes,
                at_least,
                n_ctx,
            } => ApiError {
                extra: vec![
                    ("n_prompt_tokens", json!(at_least)),
                    ("n_ctx", json!(n_ctx)),
                ],
                ..Self::context(format!(
                    "the messages are {bytes} bytes, at least {at_least} tokens, but the \
                     context holds {n_ctx}; shorten them (or start the server with a larger \
                     --ctx-size)"
                ))
            },
            // What the request asked cannot be done (its tools cannot be rendered): the
            // client's to change.
            EngineError::Unsupported(why) => ApiError {
                param: Some("tools".into()),
                ..Self::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    why.clone(),
                )
            },
            e => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.to_string(),
            ),
        }
    }

    fn context(message: String) -> Self {
        ApiError {
            code: Some("context_length_exceeded"),
            param: Some("messages".into()),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "exceed_context_size_error",
                message,
            )
        }
    }

    /// The body: `{"error": {...}}`.
    pub fn body(&self) -> Value {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        });
        for (k, v) in &self.extra {
            error[*k] = v.clone();
        }
        json!({ "error": error })
    }
}

/// A JSON body with its status.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, &self.body());
        if let Some(s) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
            .extensions_mut()
            .insert(super::log::Counts::default());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_the_model_cannot_render_is_the_clients_400_naming_tools() {
        let e = ApiError::engine(&EngineError::Unsupported(
            "the prompt with tools could not be rendered: bad".into(),
        ));
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(e.param.as_deref(), Some("tools"));
    }

    #[test]
    fn errors_have_the_openai_shape_with_their_status() {
        let e = ApiError::field("temperature", "temperature must be a number");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            e.body(),
            json!({"error": {"message": "temperature must be a number",
                "type": "invalid_request_error", "param": "temperature", "code": null}})
        );
        let ctx = ApiError::engine(&EngineError::PromptTooLong {
            prompt_tokens: 900,
            n_ctx: 512,
        });
        assert_eq!(ctx.status, StatusCode::BAD_REQUEST);
        let body = ctx.body();
        assert_eq!(body["error"]["type"], "exceed_context_size_error");
        assert_eq!(body["error"]["n_ctx"], 512);
        assert_eq!(body["error"]["n_prompt_tokens"], 900);
        assert!(body["error"]["message"].as_str().unwrap().contains("512"));
        let busy = ApiError::busy(1, 4).into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
        let gone = ApiError::engine(&EngineError::Decode("x".into()));
        assert_eq!(gone.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
