//! `reflect serve` asked with the official `openai` Python package, as users' programs ask:
//! whole and streamed answers with the reasoning fields and the `reflection` extension (read
//! through `model_extra`), usage, errors as the package's exceptions, the API key, and
//! concurrent requests.

use crate::common::*;
use crate::serve::Served;
use serde_json::Value;

/// The version the tests are written against (scripts/bootstrap.sh installs it).
const OPENAI_VERSION: &str = "3.63.0";

const CLIENT: &str = r#"
import json, os, sys, concurrent.futures
import openai
base = f"http://127.0.0.1:{os.environ['PORT']}/v1"
client = openai.OpenAI(base_url=base, api_key=os.environ["KEY"], max_retries=0)
ask = [{"role": "user", "content": "What is 2+2?"}]
out = {}

r = client.chat.completions.create(model="model", messages=ask)
m = r.choices[0].message
out["whole"] = {"content": m.content, "reasoning_content": m.model_extra.get("reasoning_content"),
    "reasoning": m.model_extra.get("reasoning"), "reflection": m.model_extra.get("reflection"),
    "finish": r.choices[0].finish_reason, "usage": r.usage.model_dump()}

parts = {"content": "", "reasoning_content": "", "reasoning": "", "reflection": ""}
order, finish, usage = [], None, None
for c in client.chat.completions.create(model="model", messages=ask, stream=True,
                                        stream_options={"include_usage": True}):
    if c.usage is not None:
        usage = c.usage.model_dump()
    for ch in c.choices:
        d = ch.delta
        extra = d.model_extra or {}
        for k in ("reasoning_content", "reasoning", "reflection"):
            if extra.get(k):
                parts[k] += extra[k]
        if extra.get("reflection"):
            order.append("reflection")
        elif extra.get("reasoning"):
            order.append("thinking")
        if d.content:
            parts["content"] += d.content
            order.append("answer")
        if ch.finish_reason:
            finish = ch.finish_reason
squeezed = [k for i, k in enumerate(order) if i == 0 or order[i - 1] != k]
out["streamed"] = dict(parts, finish=finish, usage=usage, order=squeezed)

def status_of(call):
    try:
        call()
        return None
    except openai.APIStatusError as e:
        return {"status": e.status_code, "type": e.body.get("type") if isinstance(e.body, dict) else None,
                "class": type(e).__name__}

keyless = openai.OpenAI(base_url=base, api_key="wrong", max_retries=0)
out["errors"] = {
    "key": status_of(lambda: keyless.chat.completions.create(model="model", messages=ask)),
    "model": status_of(lambda: client.chat.completions.create(model="gpt-9", messages=ask)),
    "field": status_of(lambda: client.chat.completions.create(model="model", messages=ask,
                                                              temperature="hot")),
}

def one(i):
    q = [{"role": "user", "content": f"What is 2+2? ({i})"}]
    if i % 2:
        return "".join(c.choices[0].delta.content or "" for c in
                       client.chat.completions.create(model="model", messages=q, stream=True)
                       if c.choices)
    return client.chat.completions.create(model="model", messages=q).choices[0].message.content
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    out["concurrent"] = list(pool.map(one, range(8)))
out["models"] = [m.id for m in client.models.list().data]
print(json.dumps(out))
"#;

#[test]
fn the_openai_package_reads_the_split_usage_errors_and_concurrent_answers() {
    if !python_package(
        "openai",
        OPENAI_VERSION,
        "to ask reflect serve as users' programs do",
    ) {
        return;
    }
    let m = model(reflection_script());
    let s = Served::ready(&m, &["--parallel", "2", "--api-key", "k3y"]);
    let out = std::process::Command::new("python3")
        .args(["-c", CLIENT])
        .env("PORT", s.port.to_string())
        .env("KEY", "k3y")
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let whole = &v["whole"];
    assert_eq!(whole["content"], "The answer is 4.");
    assert_eq!(whole["reflection"], "Check: 2+2 is 4, not 5.");
    assert_eq!(whole["reasoning"], whole["reasoning_content"]);
    assert!(whole["reasoning"]
        .as_str()
        .unwrap()
        .contains("I add 2 and 2."));
    assert_eq!(whole["finish"], "stop");
    let u = &whole["usage"];
    assert!(
        u["completion_tokens_details"]["reasoning_tokens"]
            .as_u64()
            .unwrap()
            > 0,
        "{u}"
    );
    assert!(
        u["thinking_tokens"].as_u64().unwrap() > 0,
        "model_extra keeps reflect's: {u}"
    );
    let streamed = &v["streamed"];
    for k in ["content", "reasoning_content", "reasoning", "reflection"] {
        assert_eq!(streamed[k], whole[k], "{k}");
    }
    assert_eq!(streamed["finish"], "stop");
    for k in [
        "prompt_tokens",
        "completion_tokens",
        "thinking_tokens",
        "reflection_tokens",
    ] {
        assert_eq!(streamed["usage"][k], whole["usage"][k], "{k}");
    }
    assert_eq!(
        streamed["order"],
        serde_json::json!(["thinking", "reflection", "thinking", "answer"])
    );
    let e = &v["errors"];
    assert_eq!(e["key"]["status"], 401, "{e}");
    assert_eq!(e["key"]["class"], "AuthenticationError");
    assert_eq!(e["model"]["status"], 404, "{e}");
    assert_eq!(e["model"]["class"], "NotFoundError");
    assert_eq!(e["field"]["status"], 400, "{e}");
    assert_eq!(e["field"]["class"], "BadRequestError");
    let answers = v["concurrent"].as_array().unwrap();
    assert_eq!(answers.len(), 8);
    assert!(
        answers.iter().all(|a| a == "The answer is 4."),
        "{answers:?}"
    );
    assert_eq!(v["models"], serde_json::json!(["model"]));
}
