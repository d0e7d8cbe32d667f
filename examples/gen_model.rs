//! Writes the models reflect's benchmarks and manual checks run on, with reflect's own GGUF
//! writer (nothing is downloaded):
//!
//!   cargo run --release --example gen_model -- random OUT.gguf [LAYERS EMBD VOCAB [f16|q8_0]]
//!   cargo run --release --example gen_model -- words OUT.gguf N [PAD_EMBD PAD_LAYERS CONTEXT]
//!   cargo run --release --example gen_model -- loop OUT.gguf N [PAD_EMBD PAD_LAYERS CONTEXT]
//!   cargo run --release --example gen_model -- demo OUT.gguf
//!   cargo run --release --example gen_model -- agent OUT.gguf [PATH]
//!
//! `random`: random f16 weights of a realistic shape (default 8 layers, 768 wide, 32k vocab).
//! `words`: a scripted model that answers "w0 w1 … w{N-1}" to any prompt.
//! `loop`: the same, repeated forever (stop it with --max-tokens).
//! `agent`: a Llama 3.1 model that thinks, calls `read_file` of PATH (default `notes.txt`),
//! and answers after the result: to try the tools (`--tools`) by hand.

use reflect::gguf::{
    demo, push_prose, write_random_model, Padding, RandomModelSpec, ScriptedModel,
};
use std::path::PathBuf;
use std::process::ExitCode;

fn arg(args: &[String], i: usize, default: u64) -> Result<u64, String> {
    args.get(i).map_or(Ok(default), |s| {
        s.parse().map_err(|_| format!("'{s}' is not a number"))
    })
}

fn run(args: &[String]) -> Result<(), String> {
    let (kind, out) = match args {
        [kind, out, ..] => (kind.as_str(), PathBuf::from(out)),
        _ => return Err("usage: gen_model random|words|demo OUT.gguf [...]".into()),
    };
    let io = |e: std::io::Error| format!("{}: {e}", out.display());
    match kind {
        "random" => {
            let spec = RandomModelSpec {
                n_layer: arg(args, 2, 8)?,
                n_embd: arg(args, 3, 768)?,
                n_vocab: arg(args, 4, 32_000)? as usize,
                weight_type: match args.get(5).map(String::as_str) {
                    None | Some("f16") => reflect::gguf::GgufType::F16,
                    Some("q8_0") => reflect::gguf::GgufType::Q8_0,
                    Some(other) => {
                        return Err(format!("unknown weight type '{other}': use f16 or q8_0"))
                    }
                },
                ..RandomModelSpec::default()
            };
            let spec = RandomModelSpec {
                n_head: spec.n_embd / 64,
                n_ff: spec.n_embd * 8 / 3,
                ..spec
            };
            write_random_model(&out, &spec).map_err(io)
        }
        "words" | "loop" => {
            let n = arg(args, 2, 256)?;
            let words: String = (0..n).map(|i| format!("w{i} ")).collect();
            let mut items = Vec::new();
            // A loop keeps the trailing space so that "w{N-1} " runs on into "w0".
            let text = if kind == "loop" {
                words.as_str()
            } else {
                words.trim_end()
            };
            push_prose(text, &mut Default::default(), &mut items);
            let mut m = ScriptedModel::new(items);
            m.padding = Padding {
                min_embd: arg(args, 3, 64)?,
                layers: arg(args, 4, 1)?,
            };
            m.cycle = kind == "loop";
            m.context_length = arg(args, 5, 4096)? as u32;
            m.write(&out).map_err(io)
        }
        "demo" => {
            let mut m = ScriptedModel::new(demo::demo_script());
            m.name = "reflect demo".into();
            m.write(&out).map_err(io)
        }
        "agent" => {
            use reflect::gguf::agent::{model, Call, Format, Script};
            let path = args.get(2).map_or("notes.txt", String::as_str);
            let mut m = model(Format::Llama3Json, Script::Answer(Call::read_file(path)));
            m.context_length = 16384;
            m.write(&out).map_err(io)
        }
        other => Err(format!(
            "unknown model kind '{other}': use random, words, loop, demo or agent"
        )),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_model: {e}");
            ExitCode::from(2)
        }
    }
}
