//! The chat format for files without a usable template: chosen from the architecture and the
//! vocabulary (llama.cpp's built-ins by name, else the plain format), said to the user,
//! overridden by `--chat-template`; and generation that stops at the format's end-of-turn text
//! when it spans several tokens.

use crate::common::*;
use reflect::gguf::{ChatTokens, ScriptedModel, TemplateStyle};

fn shaped(chat: ChatTokens, arch: &str, start: u8, items: Vec<reflect::gguf::ScriptItem>) -> Model {
    let mut sm = ScriptedModel::new(items);
    sm.chat_tokens = chat;
    sm.architecture = arch.into();
    sm.start = start;
    sm.template = TemplateStyle::Missing;
    write(sm)
}

#[test]
fn the_fallback_is_chosen_from_the_file_and_said() {
    // (vocabulary, architecture) → the prompt's shape, the warning's words
    let cases = [
        (ChatTokens::Llama3, "llama", "<|start_header_id|>user<|end_header_id|>\n\nq Think carefully.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", "the Llama 3 format"),
        (ChatTokens::ChatMl, "llama", "<|im_start|>user\nq Think carefully.<|im_end|>\n<|im_start|>assistant\n", "ChatML"),
        (ChatTokens::Gemma, "gemma", "<start_of_turn>user\n", "Gemma's format"),
        (ChatTokens::Bare, "llama", "User: q Think carefully.\n\nAssistant:", "reflect's plain format"),
    ];
    for (chat, arch, prompt_part, said) in cases {
        let m = shaped(chat, arch, b'\n', reflection_script());
        let (code, prompt, err) = run(&m, &["q", "--print-prompt"]);
        assert_eq!(code, 0, "{chat:?}: {err}");
        assert!(prompt.contains(prompt_part), "{chat:?}: {prompt:?}");
        assert!(
            err.contains("no chat template") && err.contains(said),
            "{chat:?}: {err}"
        );

        let mut cmd = reflect(m.dir.path());
        cmd.args(["models", "info"]).arg(&m.path);
        let (code, info, _) = outcome(cmd);
        assert_eq!(code, 0);
        assert!(
            info.contains(&format!("none (reflect uses {said}")),
            "{chat:?}: {info}"
        );
    }
    // Gemma's system prompt goes into the first user turn, as Gemma's own template puts it.
    let m = shaped(ChatTokens::Gemma, "gemma", b'\n', reflection_script());
    let (_, prompt, _) = run(&m, &["q", "--print-prompt", "--system", "Be brief."]);
    assert!(prompt.contains("<start_of_turn>user\nBe brief.\n\nq Think carefully.<end_of_turn>\n<start_of_turn>model\n"), "{prompt:?}");
}

#[test]
fn chat_template_overrides_and_bad_values_are_refused() {
    let m = shaped(ChatTokens::Bare, "llama", b'\n', reflection_script());
    let (code, prompt, err) = run(&m, &["q", "--print-prompt", "--chat-template", "chatml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        prompt.contains("<|im_start|>user\nq Think carefully.<|im_end|>"),
        "{prompt:?}"
    );
    assert!(
        !err.contains("no chat template"),
        "an explicit choice needs no warning: {err}"
    );

    // A file holding a template llama.cpp recognises.
    let file = m.dir.path().join("llama3.jinja");
    std::fs::write(
        &file,
        reflect::gguf::LlamaVocabSpec::base().chat_template.unwrap(),
    )
    .unwrap();
    let (code, prompt, _) = run(
        &m,
        &[
            "q",
            "--print-prompt",
            "--chat-template",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    assert!(
        prompt.contains("<|start_header_id|>user<|end_header_id|>"),
        "{prompt:?}"
    );

    let (code, _, err) = run(&m, &["q", "--chat-template", "nonsense"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--chat-template nonsense: neither a chat format name nor a file")
            && err.contains("chatml"),
        "{err}"
    );

    // The profile key.
    let dir = m.dir.path().join("config/reflect/prompts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("mine.toml"),
        "extends = \"reflection\"\nchat_template = \"chatml\"\n",
    )
    .unwrap();
    let (code, prompt, err) = run(&m, &["q", "--print-prompt", "--profile", "mine"]);
    assert_eq!(code, 0, "{err}");
    assert!(prompt.contains("<|im_start|>user"), "{prompt:?}");
}

#[test]
fn generation_stops_at_an_end_of_turn_spelled_across_tokens() {
    // ChatML whose <|im_end|> is not a token: the model writes it in pieces, then goes on.
    let m = shaped(
        ChatTokens::ChatMlStartOnly,
        "llama",
        b'\n',
        vec![
            t("The answer"),
            t(" is 4."),
            t("<|im"),
            t("_end"),
            t("|>"),
            t("\n<|im_start|>user\nmore"),
        ],
    );
    let (code, v, err) = run_json(&m, &["q", "--profile", "plain"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["output"], "The answer is 4.", "{v}");
    assert_eq!(v["stop_reason"], "end_of_turn", "{v}");

    // The plain format: the model starts the next "User:" line itself.
    let m = shaped(
        ChatTokens::Bare,
        "llama",
        b':',
        vec![
            t(" Four"),
            t("."),
            t("\nUs"),
            t("er"),
            t(": and"),
            t(" more"),
        ],
    );
    let (code, v, err) = run_json(&m, &["q", "--profile", "plain"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["output"], "Four.", "{v}");
    // "User:" inside a line is not the end of the turn.
    let m = shaped(
        ChatTokens::Bare,
        "llama",
        b':',
        vec![
            t(" The field"),
            t(" User:"),
            t(" name."),
            t("\nUser:"),
            t(" more"),
        ],
    );
    let (code, v, err) = run_json(&m, &["q", "--profile", "plain"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["output"], "The field User: name.", "{v}");
    // Text that only begins like the end is let through once it is not.
    let m = shaped(
        ChatTokens::Bare,
        "llama",
        b':',
        vec![t(" A"), t("\nUs"), t("ually"), t(" yes.")],
    );
    let (code, v, err) = run_json(&m, &["q", "--profile", "plain"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["output"], "A\nUsually yes.", "{v}");
}
