//! Context fitting: which of the oldest turns to leave out so that the prompt and room for the
//! answer fit the context, keeping the prompt's start stable so that the KV cache is reused.
//! Independent of llama.cpp: tested with a word-counting tokenizer.

use crate::llm::{drop_oldest_turn, ChatMessage, Role};

/// Tokens kept free for the answer when deciding whether earlier turns still fit.
pub(super) fn room_to_answer(max_tokens: Option<u32>, n_ctx: u32) -> usize {
    max_tokens.unwrap_or(u32::MAX).min(n_ctx / 4) as usize
}

/// Where the last prompt was cut: how many of the oldest turns were left out, and the first
/// user message kept (to recognise the same conversation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Cut {
    dropped: usize,
    first_kept: String,
}

fn first_user(messages: &[ChatMessage]) -> Option<&str> {
    messages
        .iter()
        .find(|m| m.role == Role::User)
        .map(|m| m.content.as_str())
}

/// Renders and tokenizes the conversation (`tokenize`, whose result is `len` tokens long),
/// leaving out the oldest turns (never the system prompt nor the current message) when the
/// prompt plus `room` would not fit a context of `n_ctx` tokens.
///
/// A cut is made with a quarter of the context to spare and then kept while the conversation
/// still fits with it: the prompt's start stays the same from turn to turn, so the KV cache
/// keeps being reused (cutting one turn more every turn would change the prompt right after
/// the system prompt each time). Returns the tokens, how many turns are left out, and whether
/// the cut is new (worth telling the user); `last_cut` is the cut made before.
pub(super) fn fit_context<P: Clone>(
    messages: &[ChatMessage],
    n_ctx: usize,
    room: usize,
    last_cut: Option<&Cut>,
    tokenize: impl Fn(&[ChatMessage]) -> P,
    len: impl Fn(&P) -> usize,
) -> (P, usize, Option<Cut>) {
    let fits = |p: &P, slack: usize| len(p) + room + slack <= n_ctx;
    let all = tokenize(messages);
    if fits(&all, 0) {
        return (all, 0, None);
    }
    if let Some(cut) = last_cut {
        let mut m = messages.to_vec();
        let same = (0..cut.dropped).all(|_| drop_oldest_turn(&mut m))
            && first_user(&m) == Some(cut.first_kept.as_str());
        if same {
            let t = tokenize(&m);
            if fits(&t, 0) {
                return (t, cut.dropped, None);
            }
        }
    }
    // Dropping k oldest turns keeps what comes before the first user message and everything
    // from the (k+1)-th on. The fewest turns to drop are found by a binary search (a shorter
    // conversation never takes more tokens), so a request of 100,000 turns costs a few renders,
    // not 100,000.
    let users: Vec<usize> = (0..messages.len())
        .filter(|&i| messages[i].role == Role::User)
        .collect();
    let most = users.len().saturating_sub(1);
    let after = |k: usize| {
        let mut m = messages[..users[0]].to_vec();
        m.extend_from_slice(&messages[users[k]..]);
        m
    };
    let cut = |m: &[ChatMessage], dropped| Cut {
        dropped,
        first_kept: first_user(m).unwrap_or_default().to_string(),
    };
    // The fewest turns (1..=most) to drop for the rest to fit with `slack` to spare.
    let fewest = |slack: usize| {
        let (mut lo, mut hi, mut found) = (1, most, None);
        while lo <= hi {
            let mid = lo + (hi - lo) / 2;
            let m = after(mid);
            let t = tokenize(&m);
            if fits(&t, slack) {
                found = Some((t, mid, cut(&m, mid)));
                hi = mid - 1;
            } else {
                lo = mid + 1;
            }
        }
        found
    };
    if most == 0 {
        return (all, 0, None);
    }
    if let Some((t, d, c)) = fewest(n_ctx / 4).or_else(|| fewest(0)) {
        return (t, d, Some(c));
    }
    (tokenize(&after(most)), most, None)
}

/// What the user is told when the oldest turns were left out to fit the context.
pub(super) fn left_out(n_ctx: u32, dropped: usize) -> crate::llm::EngineEvent {
    let turns = if dropped == 1 { "turn" } else { "turns" };
    crate::llm::EngineEvent::Warning(format!(
        "the conversation no longer fits the context ({n_ctx} tokens): left out the {dropped} oldest {turns}"
    ))
}

/// A prompt of `len` tokens leaves room to answer in a context of `n_ctx` (and is not empty).
pub(super) fn room_for(len: usize, n_ctx: u32) -> Result<(), crate::llm::EngineError> {
    if len == 0 || len as u64 >= u64::from(n_ctx) {
        return Err(crate::llm::EngineError::PromptTooLong {
            prompt_tokens: len as u32,
            n_ctx,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A conversation: system, then `turns` (user, assistant) pairs of `words` words each,
    /// then the current question.
    fn conversation(turns: usize, words: usize) -> Vec<ChatMessage> {
        let text = |who: &str, i: usize| {
            std::iter::repeat_n(format!("{who}{i}"), words)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut m = vec![ChatMessage::new(Role::System, "sys")];
        for i in 0..turns {
            m.push(ChatMessage::new(Role::User, text("u", i)));
            m.push(ChatMessage::new(Role::Assistant, text("a", i)));
        }
        m.push(ChatMessage::new(Role::User, "now"));
        m
    }

    /// One token a word.
    fn words(m: &[ChatMessage]) -> Vec<ChatMessage> {
        m.to_vec()
    }

    #[allow(clippy::ptr_arg)] // the prompt type `fit_context` is given here is a Vec
    fn len(m: &Vec<ChatMessage>) -> usize {
        m.iter().map(|x| x.content.split_whitespace().count()).sum()
    }

    #[test]
    fn a_conversation_of_many_turns_is_fit_with_few_renders_and_the_same_cut() {
        // 20,000 turns of 10 words in a context of 200: one render a turn dropped would be
        // 20,000 renders of up to 400,000 words.
        let m = conversation(20_000, 10);
        let renders = std::cell::Cell::new(0);
        let counted = |m: &[ChatMessage]| {
            renders.set(renders.get() + 1);
            m.to_vec()
        };
        let (p, dropped, cut) = fit_context(&m, 200, 20, None, counted, len);
        assert!(renders.get() <= 40, "{} renders", renders.get());
        // The fewest turns dropped for 50 words of slack, as one at a time finds them.
        assert_eq!(len(&p), 122);
        assert_eq!(dropped, 19_994);
        assert_eq!(cut.unwrap().first_kept, m[2 * 19_994 + 1].content);
    }

    #[test]
    fn a_conversation_that_fits_is_left_whole() {
        let m = conversation(3, 10);
        let (p, dropped, cut) = fit_context(&m, 100, 10, None, words, len);
        assert_eq!((p.len(), dropped, cut), (m.len(), 0, None));
    }

    #[test]
    fn the_oldest_turns_go_first_with_a_quarter_of_the_context_to_spare() {
        // 2 + 10 turns × 20 words = 202 tokens; 200 context, 20 room: 178 fit, 128 with slack.
        let m = conversation(10, 10);
        assert_eq!(len(&m), 202);
        let (p, dropped, cut) = fit_context(&m, 200, 20, None, words, len);
        assert_eq!(dropped, 4, "down to 6 turns: 122 + 20 + 50 ≤ 200");
        assert_eq!(len(&p), 122);
        assert_eq!(p[0].content, "sys", "the system prompt stays");
        assert_eq!(p.last().unwrap().content, "now", "the question stays");
        let cut = cut.expect("a new cut");
        assert_eq!(cut.first_kept, conversation(10, 10)[9].content);
    }

    #[test]
    fn a_kept_cut_stays_while_the_conversation_fits_with_it() {
        let m = conversation(10, 10);
        let (_, _, cut) = fit_context(&m, 200, 20, None, words, len);
        let cut = cut.unwrap();
        // One more turn: the same 4 dropped still fit (no slack needed), no new cut.
        let mut grown = conversation(11, 10);
        grown.last_mut().unwrap().content = "now".into();
        let (p, dropped, again) = fit_context(&grown, 200, 20, Some(&cut), words, len);
        assert_eq!((dropped, again), (4, None));
        assert_eq!(len(&p), 142);
        // A different conversation does not take another's cut.
        let other = conversation(10, 11);
        let (_, _, fresh) = fit_context(&other, 200, 20, Some(&cut), words, len);
        assert!(fresh.is_some());
    }

    #[test]
    fn when_nothing_fits_the_shortest_is_returned_without_a_cut() {
        let mut m = conversation(2, 10);
        m.last_mut().unwrap().content = "x ".repeat(500);
        let (p, dropped, cut) = fit_context(&m, 200, 20, None, words, len);
        assert_eq!((p.len(), dropped, cut), (2, 2, None));
    }

    #[test]
    fn room_for_the_answer_is_a_quarter_of_the_context_at_most() {
        assert_eq!(room_to_answer(None, 8192), 2048);
        assert_eq!(room_to_answer(Some(100), 8192), 100);
        assert_eq!(room_to_answer(Some(9000), 8192), 2048);
    }
}
