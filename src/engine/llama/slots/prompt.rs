//! A job's prompt for one slot: rendered (with its tools), fitted to the slot's share of the
//! context as a generation alone fits the whole context (its oldest turns left out, with a
//! warning), and refused with the slot's numbers when even then it cannot fit.

use super::super::fit::{fit_context, room_to_answer};
use super::super::fit::{left_out, room_for};
use super::super::model::Loaded;
use crate::llm::{EngineError, EngineEvent, EventSender, GenerateRequest};
use llama_cpp_2::token::LlamaToken;

/// A rendered prompt and its tokens.
#[derive(Clone)]
pub(super) struct Prompt {
    pub text: String,
    pub tokens: Vec<LlamaToken>,
}

/// The prompt of `req` for a slot of `n_ctx` tokens. Each request stands alone: no cut is
/// remembered from one to the next (a slot serves many conversations).
pub(super) fn prepare(
    loaded: &mut Loaded<'_>,
    req: &GenerateRequest,
    n_ctx: u32,
    events: &EventSender,
) -> Result<Prompt, EngineError> {
    loaded.refuse_too_long(req, n_ctx)?;
    if !req.tools.is_empty() {
        if let Some(note) = loaded.take_tools_note() {
            let _ = events.send(EngineEvent::Warning(note));
        }
    }
    let vocab = loaded.model().vocab();
    let failed = std::cell::RefCell::new(None);
    let (prompt, dropped, _) = fit_context(
        &req.messages,
        n_ctx as usize,
        room_to_answer(req.max_tokens, n_ctx),
        None,
        |m| {
            let text = loaded.render_with_tools(m, &req.tools).unwrap_or_else(|e| {
                failed.borrow_mut().get_or_insert(e);
                String::new()
            });
            let tokens = vocab.tokenize(text.as_bytes(), true, true);
            Prompt { text, tokens }
        },
        |p| p.tokens.len(),
    );
    if let Some(e) = failed.into_inner() {
        return Err(EngineError::Unsupported(format!(
            "the prompt with tools could not be rendered: {e}"
        )));
    }
    if dropped > 0 {
        let _ = events.send(left_out(n_ctx, dropped));
    }
    room_for(prompt.tokens.len(), n_ctx)?;
    Ok(prompt)
}

/// How many tokens `a` and `b` share from their start.
pub(super) fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
