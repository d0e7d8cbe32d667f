//! The thinking budget, for every backend: the settings (a cap, the grace before forcing, the
//! message said when forced, a minimum that extends thinking), what a generation spent, and a
//! pure state machine that a backend feeds each generated token's facts and that answers when
//! to force the end of thinking or to extend it. The backend does the forcing (its tokens, its
//! cache); this file only decides, and spells the forced text in the profile's tag vocabulary.

use crate::stream::{Channel, RouterConfig, TagToken};
use serde::{Deserialize, Serialize};

/// Tokens to wait, once the budget is spent, for a line to end before forcing.
pub const DEFAULT_GRACE: u32 = 32;
/// What an extension appends when the model ends its thinking too soon (s1's "Wait").
pub const DEFAULT_EXTEND_MESSAGE: &str = "Wait,";
/// Extensions at most per answer (s1's gains level off after about six).
pub const DEFAULT_MAX_EXTENSIONS: u32 = 3;

/// How much thinking a generation may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetSettings {
    /// Thinking tokens allowed (reflections included); `None`: unlimited; `Some(0)`: answer
    /// without thinking.
    pub limit: Option<u32>,
    /// Once the limit is reached, up to this many more tokens for the line to end.
    pub grace: u32,
    /// Said before the end of thinking when it is forced (e.g. Qwen3's "Considering the limited
    /// time by the user, …").
    pub message: Option<String>,
    /// Thinking that ends before this many tokens is extended.
    pub min_thinking: Option<u32>,
    /// What an extension appends in place of the end of thinking.
    pub extend_message: String,
    /// Extensions at most.
    pub max_extensions: u32,
}

impl Default for BudgetSettings {
    fn default() -> Self {
        BudgetSettings {
            limit: None,
            grace: DEFAULT_GRACE,
            message: None,
            min_thinking: None,
            extend_message: DEFAULT_EXTEND_MESSAGE.into(),
            max_extensions: DEFAULT_MAX_EXTENSIONS,
        }
    }
}

impl BudgetSettings {
    /// Whether there is anything to watch (no budget, no minimum: the backend does nothing).
    pub fn active(&self) -> bool {
        self.limit.is_some() || self.min_thinking.is_some_and(|m| m > 0)
    }
}

/// Why thinking was ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForcedBy {
    /// The budget ran out.
    Budget,
    /// The user asked for the answer now.
    User,
    /// A budget of 0: no thinking at all.
    NoThinking,
}

/// What was just done about the thinking, for the front ends to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetStep {
    /// The end of thinking was forced.
    Forced(ForcedBy),
    /// Thinking that ended too soon was extended (the count so far).
    Extended(u32),
}

/// What a generation spent: `budget` in JSON output and session files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetReport {
    /// The limit it ran under (`null`: unlimited).
    pub limit: Option<u32>,
    /// Thinking tokens charged (reflections included; forced tokens are not charged).
    pub used: u32,
    /// The part of `used` spent in reflections.
    pub reflection: u32,
    /// Tokens forced into the stream (the end of thinking, extensions).
    pub forced: u32,
    /// Why thinking was ended, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced_by: Option<ForcedBy>,
    /// Times thinking was extended.
    pub extensions: u32,
}

/// What the state machine asks the backend to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    Nothing,
    /// Force this text now (tokenized with special tokens), then let the model answer.
    Force(String),
}

/// Facts about one generated token, after the router has taken it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// The channel the stream is in now (the token's block).
    pub channel: Channel,
    /// A reflection is open.
    pub in_reflection: bool,
    /// No character is left unfinished (the UTF-8 decoder holds nothing).
    pub char_complete: bool,
    /// The token's text ends a line, or it is a tag.
    pub line_end: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Counting thinking tokens.
    Counting,
    /// The budget is spent: waiting for the character, then for a line end, `left` tokens more.
    Grace { left: u32 },
    /// Thinking was ended (forced or by the model), or there is no budget: nothing more to do.
    Done,
}

/// One generation's budget.
#[derive(Clone, Debug)]
pub struct Budget {
    settings: BudgetSettings,
    router: RouterConfig,
    phase: Phase,
    report: BudgetReport,
    /// The user asked for the answer: force at the next token boundary.
    answer_now: bool,
    /// The stream has been in a thinking block (so that an end of thinking can be recognised).
    thought: bool,
}

impl Budget {
    pub fn new(settings: BudgetSettings, router: &RouterConfig) -> Budget {
        let phase = if settings.active() {
            Phase::Counting
        } else {
            Phase::Done
        };
        Budget {
            report: BudgetReport {
                limit: settings.limit,
                ..BudgetReport::default()
            },
            settings,
            router: router.clone(),
            phase,
            answer_now: false,
            thought: router.start_in_thinking,
        }
    }

    pub fn report(&self) -> &BudgetReport {
        &self.report
    }

    pub fn settings(&self) -> &BudgetSettings {
        &self.settings
    }

    /// Whether anything is watched (the backend reports the budget only then).
    pub fn active(&self) -> bool {
        self.settings.active() || self.report.forced_by.is_some() || self.answer_now
    }

    /// Before the first token: a budget of 0 forces the answer at once. The text opens the
    /// output block where the profile's format has one, else it ends (or opens and ends) the
    /// thinking block.
    pub fn at_start(&mut self) -> Act {
        if self.settings.limit != Some(0) {
            return Act::Nothing;
        }
        self.phase = Phase::Done;
        self.report.forced_by = Some(ForcedBy::NoThinking);
        let tags = &self.router.tags;
        let text = if self.has_output_block() {
            tags.canonical(TagToken::open(Channel::Output))
        } else if self.router.start_in_thinking {
            tags.canonical(TagToken::close(Channel::Thinking))
        } else {
            format!(
                "{}\n\n{}",
                tags.canonical(TagToken::open(Channel::Thinking)),
                tags.canonical(TagToken::close(Channel::Thinking))
            )
        };
        Act::Force(text)
    }

    /// The user asked for the answer now: forced at the next token while thinking, or as soon
    /// as thinking opens when it has not yet. Returns whether it applies (not once the answer
    /// has begun).
    pub fn answer_now(&mut self, channel: Channel) -> bool {
        let answering = channel == Channel::Output && self.thought;
        if answering || self.report.forced_by.is_some() {
            return false;
        }
        self.answer_now = true;
        true
    }

    /// A generated token, routed: charges it (every thinking token until thinking is forced to
    /// end, budget or not) and says whether to force the end of thinking.
    pub fn after(&mut self, t: Token) -> Act {
        let thinking = t.channel != Channel::Output;
        if thinking {
            self.thought = true;
            if self.report.forced_by.is_none() {
                self.report.used += 1;
                if t.channel == Channel::Reflection {
                    self.report.reflection += 1;
                }
            }
        }
        if self.phase == Phase::Done && !self.answer_now {
            return Act::Nothing;
        }
        if !thinking {
            if self.thought {
                // The model ended its thinking itself.
                self.phase = Phase::Done;
                self.answer_now = false;
            }
            // Else thinking has not opened yet (a line break before `<thinking>`, or its
            // tag arriving in pieces): nothing to charge or end.
            return Act::Nothing;
        }
        if self.answer_now && t.char_complete {
            self.answer_now = false;
            return self.force(ForcedBy::User, t.in_reflection);
        }
        let limit = self.settings.limit.unwrap_or(u32::MAX);
        if self.phase == Phase::Counting && self.report.used >= limit {
            self.phase = Phase::Grace {
                left: self.settings.grace,
            };
        }
        if let Phase::Grace { left } = self.phase {
            if !t.char_complete {
                // Finish the character first, whatever the grace.
                return Act::Nothing;
            }
            if t.line_end || left == 0 {
                return self.force(ForcedBy::Budget, t.in_reflection);
            }
            self.phase = Phase::Grace { left: left - 1 };
        }
        Act::Nothing
    }

    /// Whether an end of thinking now would be extended (what [`Budget::extend`] would do,
    /// without doing it).
    pub fn may_extend(&self) -> bool {
        self.settings.min_thinking.is_some_and(|min| {
            self.report.forced_by.is_none()
                && !self.answer_now
                && self.report.used < min
                && self.report.extensions < self.settings.max_extensions
        })
    }

    /// The model is about to end its thinking (it generated the end-of-thinking tag): whether
    /// to extend instead, and with what. Charged thinking below the minimum, extensions left.
    pub fn extend(&mut self) -> Option<String> {
        if !self.may_extend() {
            return None;
        }
        self.report.extensions += 1;
        Some(format!("\n{}", self.settings.extend_message))
    }

    /// `n` tokens were forced into the stream.
    pub fn forced(&mut self, n: u32) {
        self.report.forced += n;
    }

    fn has_output_block(&self) -> bool {
        // Formats whose answer is a closed output block (the Reflection one) open it; formats
        // whose answer is what follows the thinking (`<think>`) do not.
        self.router.stop_after_output && !self.router.tags.output.is_empty()
    }

    /// The end of thinking, in order: close an open reflection, the message, close the thinking
    /// block, open the output block (where the format has one). It ends on the last tag, so
    /// that the model's next token is the one that follows that tag, as when it writes it.
    fn force(&mut self, by: ForcedBy, in_reflection: bool) -> Act {
        self.phase = Phase::Done;
        self.report.forced_by = Some(by);
        let tags = &self.router.tags;
        let mut text = String::from("\n");
        if in_reflection {
            text.push_str(&tags.canonical(TagToken::close(Channel::Reflection)));
            text.push('\n');
        }
        if let Some(m) = self.settings.message.as_deref().filter(|m| !m.is_empty()) {
            text.push_str(m);
            text.push('\n');
        }
        text.push_str(&tags.canonical(TagToken::close(Channel::Thinking)));
        if self.has_output_block() {
            text.push('\n');
            text.push_str(&tags.canonical(TagToken::open(Channel::Output)));
        }
        Act::Force(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::TagSet;

    fn reflection_format() -> RouterConfig {
        RouterConfig {
            stop_after_output: true,
            ..RouterConfig::default()
        }
    }

    fn think_format() -> RouterConfig {
        RouterConfig {
            tags: TagSet::think(),
            start_in_thinking: true,
            stop_after_output: false,
            ..RouterConfig::default()
        }
    }

    fn token(channel: Channel) -> Token {
        Token {
            channel,
            in_reflection: channel == Channel::Reflection,
            char_complete: true,
            line_end: false,
        }
    }

    fn limit(n: u32, grace: u32) -> BudgetSettings {
        BudgetSettings {
            limit: Some(n),
            grace,
            ..BudgetSettings::default()
        }
    }

    #[test]
    fn no_budget_watches_nothing() {
        let mut b = Budget::new(BudgetSettings::default(), &reflection_format());
        assert!(!b.active());
        for _ in 0..10_000 {
            assert_eq!(b.after(token(Channel::Thinking)), Act::Nothing);
        }
        assert_eq!(b.at_start(), Act::Nothing);
    }

    #[test]
    fn the_limit_forces_the_end_of_thinking_then_the_output() {
        let mut b = Budget::new(limit(100, 0), &reflection_format());
        for _ in 0..99 {
            assert_eq!(b.after(token(Channel::Thinking)), Act::Nothing);
        }
        assert_eq!(
            b.after(token(Channel::Thinking)),
            Act::Force("\n</thinking>\n<output>".into())
        );
        let r = b.report();
        assert_eq!(
            (r.used, r.reflection, r.forced_by),
            (100, 0, Some(ForcedBy::Budget))
        );
        // Forced: nothing more is charged, and the answer runs free.
        assert_eq!(b.after(token(Channel::Output)), Act::Nothing);
        assert_eq!(b.report().used, 100);
    }

    #[test]
    fn inside_a_reflection_it_is_closed_first_and_counted_as_reflection() {
        let settings = BudgetSettings {
            message: Some("Time is up.".into()),
            ..limit(5, 0)
        };
        let mut b = Budget::new(settings, &reflection_format());
        b.after(token(Channel::Thinking));
        b.after(token(Channel::Thinking));
        b.after(token(Channel::Reflection));
        b.after(token(Channel::Reflection));
        assert_eq!(
            b.after(token(Channel::Reflection)),
            Act::Force("\n</reflection>\nTime is up.\n</thinking>\n<output>".into())
        );
        assert_eq!((b.report().used, b.report().reflection), (5, 3));
    }

    #[test]
    fn the_grace_waits_for_a_whole_character_and_a_line_end() {
        let mut b = Budget::new(limit(3, 4), &reflection_format());
        b.after(token(Channel::Thinking));
        b.after(token(Channel::Thinking));
        let half = Token {
            char_complete: false,
            line_end: true,
            ..token(Channel::Thinking)
        };
        assert_eq!(b.after(half), Act::Nothing, "mid-character: never");
        assert_eq!(
            b.after(token(Channel::Thinking)),
            Act::Nothing,
            "grace 4 → 3"
        );
        let eol = Token {
            line_end: true,
            ..token(Channel::Thinking)
        };
        assert!(
            matches!(b.after(eol), Act::Force(_)),
            "a line end ends the grace"
        );
        assert_eq!(b.report().used, 5);

        // No line end: the grace runs out.
        let mut b = Budget::new(limit(1, 2), &reflection_format());
        let acts: Vec<bool> = (0..4)
            .map(|_| matches!(b.after(token(Channel::Thinking)), Act::Force(_)))
            .collect();
        assert_eq!(acts, [false, false, true, false]);
        assert_eq!(b.report().used, 3);
    }

    #[test]
    fn tokens_before_thinking_opens_neither_count_nor_end_the_budget() {
        // Reflection's tags arriving as text: "<", "thinking", ">" sit at the top level (the
        // router reports Output) until the tag is whole.
        let mut b = Budget::new(limit(3, 0), &reflection_format());
        for _ in 0..3 {
            assert_eq!(b.after(token(Channel::Output)), Act::Nothing);
        }
        assert_eq!(b.report().used, 0);
        b.after(token(Channel::Thinking));
        b.after(token(Channel::Thinking));
        assert!(
            matches!(b.after(token(Channel::Thinking)), Act::Force(_)),
            "still watched"
        );
        // Answer-now asked before thinking opens waits for it.
        let mut b = Budget::new(BudgetSettings::default(), &reflection_format());
        assert!(b.answer_now(Channel::Output));
        assert_eq!(b.after(token(Channel::Output)), Act::Nothing);
        assert!(matches!(b.after(token(Channel::Thinking)), Act::Force(_)));
        assert_eq!(b.report().forced_by, Some(ForcedBy::User));
    }

    #[test]
    fn answer_now_is_not_undone_by_an_extension() {
        let settings = BudgetSettings {
            min_thinking: Some(100),
            ..BudgetSettings::default()
        };
        let mut b = Budget::new(settings, &reflection_format());
        b.after(token(Channel::Thinking));
        assert!(b.answer_now(Channel::Thinking));
        assert_eq!(b.extend(), None, "the user asked for the answer");
    }

    #[test]
    fn a_model_that_answers_within_the_budget_is_left_alone() {
        let mut b = Budget::new(limit(10, 0), &reflection_format());
        b.after(token(Channel::Thinking));
        b.after(token(Channel::Output));
        for _ in 0..50 {
            assert_eq!(b.after(token(Channel::Output)), Act::Nothing);
        }
        assert_eq!(b.report().forced_by, None);
    }

    #[test]
    fn budget_zero_opens_the_answer_at_once_in_each_format() {
        let mut b = Budget::new(limit(0, 0), &reflection_format());
        assert_eq!(b.at_start(), Act::Force("<output>".into()));
        assert_eq!(b.report().forced_by, Some(ForcedBy::NoThinking));
        let mut b = Budget::new(limit(0, 0), &think_format());
        assert_eq!(b.at_start(), Act::Force("</think>".into()));
        let open = RouterConfig {
            start_in_thinking: false,
            ..think_format()
        };
        let mut b = Budget::new(limit(0, 0), &open);
        assert_eq!(b.at_start(), Act::Force("<think>\n\n</think>".into()));
    }

    #[test]
    fn think_formats_end_thinking_without_an_output_tag() {
        let mut b = Budget::new(limit(2, 0), &think_format());
        b.after(token(Channel::Thinking));
        assert_eq!(
            b.after(token(Channel::Thinking)),
            Act::Force("\n</think>".into())
        );
    }

    #[test]
    fn answer_now_forces_at_the_next_whole_character_while_thinking_only() {
        let mut b = Budget::new(BudgetSettings::default(), &reflection_format());
        assert!(b.answer_now(Channel::Thinking));
        let half = Token {
            char_complete: false,
            ..token(Channel::Reflection)
        };
        assert_eq!(b.after(half), Act::Nothing);
        assert_eq!(
            b.after(token(Channel::Reflection)),
            Act::Force("\n</reflection>\n</thinking>\n<output>".into())
        );
        assert_eq!(b.report().forced_by, Some(ForcedBy::User));
        assert!(b.active(), "reported once forced, even without a budget");
        assert!(!b.answer_now(Channel::Output), "answering: nothing to do");
    }

    #[test]
    fn extensions_stop_at_the_minimum_and_the_maximum() {
        let settings = BudgetSettings {
            min_thinking: Some(5),
            max_extensions: 2,
            ..BudgetSettings::default()
        };
        let mut b = Budget::new(settings, &reflection_format());
        b.after(token(Channel::Thinking));
        assert_eq!(b.extend().as_deref(), Some("\nWait,"));
        b.after(token(Channel::Thinking));
        assert_eq!(b.extend().as_deref(), Some("\nWait,"));
        assert_eq!(b.extend(), None, "at most max_extensions");
        assert_eq!(b.report().extensions, 2);
        let mut b = Budget::new(
            BudgetSettings {
                min_thinking: Some(2),
                ..BudgetSettings::default()
            },
            &reflection_format(),
        );
        b.after(token(Channel::Thinking));
        b.after(token(Channel::Thinking));
        assert_eq!(b.extend(), None, "the minimum is reached");
    }

    #[test]
    fn the_report_is_json_as_documented() {
        let r = BudgetReport {
            limit: Some(100),
            used: 100,
            reflection: 12,
            forced: 5,
            forced_by: Some(ForcedBy::Budget),
            extensions: 0,
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"limit": 100, "used": 100, "reflection": 12, "forced": 5,
                               "forced_by": "budget", "extensions": 0})
        );
    }
}
