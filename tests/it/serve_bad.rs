//! `reflect serve` refusing bad requests: each in the OpenAI error shape with the right
//! status, naming the field at fault, and none of them stopping the server (a good request
//! answers after each).

use crate::common::*;
use crate::serve::{chat, http, Served};
use serde_json::{json, Value};

fn good() -> Value {
    json!({"messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 3})
}

fn still_answers(s: &Served, after: &str) {
    let a = chat(s.port, &good());
    assert_eq!(
        a.status,
        200,
        "after {after}: {}",
        String::from_utf8_lossy(&a.body)
    );
}

#[test]
fn every_known_field_of_the_wrong_type_is_a_400_naming_it_and_the_server_answers_on() {
    let m = model(reflection_script());
    let s = Served::ready(&m, &[]);
    let table: &[(&str, Value)] = &[
        ("model", json!(1)),
        ("messages", json!("hi")),
        ("stream", json!("yes")),
        ("stream_options", json!(true)),
        ("temperature", json!("warm")),
        ("top_p", json!([0.9])),
        ("top_k", json!("5")),
        ("min_p", json!({})),
        ("seed", json!(1.5)),
        ("max_tokens", json!("ten")),
        ("max_completion_tokens", json!(false)),
        ("stop", json!(7)),
        ("thinking_budget_tokens", json!("some")),
        ("tools", json!("all")),
        ("reasoning_format", json!(["raw"])),
        ("n", json!("one")),
    ];
    for (field, value) in table {
        let mut body = good();
        body[*field] = value.clone();
        let a = chat(s.port, &body);
        assert_eq!(a.status, 400, "{field}");
        let e = &a.json()["error"];
        assert_eq!(e["type"], "invalid_request_error", "{field}");
        assert_eq!(e["param"], *field, "{field}: {e}");
        assert!(
            e["message"].as_str().unwrap().contains(field),
            "{field}: {e}"
        );
        still_answers(&s, field);
    }
}

/// A bad request: what it is, (method, path, body), its headers, the status and error type.
struct Case<'a> {
    what: &'a str,
    request: (&'a str, &'a str, Vec<u8>),
    headers: &'a [&'a str],
    status: u16,
    kind: &'a str,
}

impl<'a> Case<'a> {
    fn new(
        what: &'a str,
        request: (&'a str, &'a str, Vec<u8>),
        headers: &'a [&'a str],
        status: u16,
        kind: &'a str,
    ) -> Self {
        Case {
            what,
            request,
            headers,
            status,
            kind,
        }
    }
}

#[test]
fn broken_huge_unknown_and_misdirected_requests_get_their_status_and_the_server_answers_on() {
    let m = model(reflection_script());
    let s = Served::ready(&m, &["--api-key", "sesame"]);
    let key = "Authorization: Bearer sesame";
    let huge = format!(
        "{{\"messages\": [{{\"role\": \"user\", \"content\": \"{}\"}}]}}",
        "x".repeat(5 << 20)
    );
    let wrong_model = json!({"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]});
    let post = |body: Vec<u8>| ("POST", "/v1/chat/completions", body);
    let get = |path| ("GET", path, Vec::new());
    let with_key = vec![key];
    let cases = [
        Case::new(
            "truncated JSON",
            post(b"{\"messages\": [".to_vec()),
            &with_key,
            400,
            "invalid_request_error",
        ),
        Case::new(
            "huge body",
            post(huge.into_bytes()),
            &with_key,
            413,
            "invalid_request_error",
        ),
        Case::new(
            "unknown route",
            get("/v1/nothing"),
            &with_key,
            404,
            "not_found_error",
        ),
        Case::new(
            "wrong method",
            get("/v1/chat/completions"),
            &with_key,
            405,
            "invalid_request_error",
        ),
        Case::new(
            "unknown model",
            post(wrong_model.to_string().into_bytes()),
            &with_key,
            404,
            "invalid_request_error",
        ),
        Case::new(
            "no key",
            post(good().to_string().into_bytes()),
            &[],
            401,
            "authentication_error",
        ),
        Case::new(
            "wrong key",
            get("/v1/models"),
            &["Authorization: Bearer open"],
            401,
            "authentication_error",
        ),
    ];
    for Case {
        what,
        request: (method, path, body),
        headers,
        status,
        kind,
    } in cases
    {
        let a = http(s.port, method, path, headers, &body);
        assert_eq!(
            a.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(a.json()["error"]["type"], kind, "{what}");
        assert!(
            a.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        let ok = http(
            s.port,
            "POST",
            "/v1/chat/completions",
            &[key],
            good().to_string().as_bytes(),
        );
        assert_eq!(ok.status, 200, "after {what}");
    }
    assert_eq!(
        http(s.port, "GET", "/health", &[], b"").status,
        200,
        "/health needs no key"
    );
}

#[test]
fn a_prompt_the_context_cannot_hold_is_a_400_with_the_numbers() {
    let m = model(reflection_script());
    let s = Served::ready(&m, &["--ctx-size", "1024"]);
    let long = "word ".repeat(3000);
    let a = chat(
        s.port,
        &json!({"messages": [{"role": "user", "content": long}]}),
    );
    assert_eq!(a.status, 400, "{}", String::from_utf8_lossy(&a.body));
    let e = &a.json()["error"];
    assert_eq!(e["type"], "exceed_context_size_error");
    assert_eq!(e["n_ctx"], 1024);
    assert!(e["n_prompt_tokens"].as_u64() > Some(1024), "{e}");
    assert!(e["message"].as_str().unwrap().contains("1024"), "{e}");
    still_answers(&s, "a prompt too long");
}
