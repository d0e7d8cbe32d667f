//! The judging rules of `reflect eval`: whether an answer (the `<output>` section alone)
//! matches the expected one, and why. Pure: no model, no files.
//!
//! - `exact` (the default): equal after normalising both: trimmed, lower case, every run of
//!   whitespace one space, trailing periods dropped.
//! - `number`: the last number in the answer (`4`, `4.0`, `-3`, `1,000`, `$4`, `4 apples`)
//!   equals the expected one, within the tolerance.
//! - `choice`: the letter of a multiple-choice answer (`B`, `(B)`, `B) …`, `B. …`, `The answer
//!   is B`) is the expected letter.
//! - `regex`: the pattern is found in the answer (anchor it with `^…$` for a whole match).
//! - `contains`: the normalised expected text is in the normalised answer.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// How an answer is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    Exact,
    Number,
    Choice,
    Regex,
    Contains,
}

impl MatchRule {
    pub const NAMES: [&'static str; 5] = ["exact", "number", "choice", "regex", "contains"];

    pub fn parse(s: &str) -> Option<MatchRule> {
        Some(match s {
            "exact" => MatchRule::Exact,
            "number" => MatchRule::Number,
            "choice" => MatchRule::Choice,
            "regex" => MatchRule::Regex,
            "contains" => MatchRule::Contains,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// The expected answer, ready to compare.
#[derive(Clone, Debug)]
pub enum Expected {
    Exact(String),
    Number { value: f64, tolerance: Option<f64> },
    Choice(char),
    Regex(Regex),
    Contains(String),
}

impl PartialEq for Expected {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Expected::Regex(a), Expected::Regex(b)) => a.as_str() == b.as_str(),
            (Expected::Exact(a), Expected::Exact(b)) => a == b,
            (Expected::Contains(a), Expected::Contains(b)) => a == b,
            (Expected::Choice(a), Expected::Choice(b)) => a == b,
            (
                Expected::Number {
                    value: a,
                    tolerance: ta,
                },
                Expected::Number {
                    value: b,
                    tolerance: tb,
                },
            ) => a == b && ta == tb,
            _ => false,
        }
    }
}

/// A verdict and its reason, for people.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub correct: bool,
    pub why: String,
}

impl Expected {
    /// The expected answer `answer` under `rule`; an error says why it cannot be one.
    pub fn new(rule: MatchRule, answer: &str, tolerance: Option<f64>) -> Result<Expected, String> {
        Ok(match rule {
            MatchRule::Exact => Expected::Exact(normalise(answer)),
            MatchRule::Contains => Expected::Contains(normalise(answer)),
            MatchRule::Number => {
                let value = plain_number(answer).ok_or_else(|| {
                    format!("\"{answer}\" is not a number, which a \"number\" match needs (e.g. 4, -2.5, 1,000)")
                })?;
                Expected::Number { value, tolerance }
            }
            MatchRule::Choice => {
                let t = answer.trim();
                let mut chars = t.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii_alphabetic() => {
                        Expected::Choice(c.to_ascii_uppercase())
                    }
                    _ => {
                        return Err(format!(
                        "\"{answer}\" is not a letter, which a \"choice\" match needs (e.g. \"B\")"
                    ))
                    }
                }
            }
            MatchRule::Regex => Expected::Regex(
                Regex::new(answer).map_err(|e| format!("not a valid regular expression: {e}"))?,
            ),
        })
    }

    pub fn rule(&self) -> MatchRule {
        match self {
            Expected::Exact(_) => MatchRule::Exact,
            Expected::Number { .. } => MatchRule::Number,
            Expected::Choice(_) => MatchRule::Choice,
            Expected::Regex(_) => MatchRule::Regex,
            Expected::Contains(_) => MatchRule::Contains,
        }
    }

    /// Judges `answer`; `default_tolerance` applies to a number without its own.
    pub fn judge(&self, answer: &str, default_tolerance: f64) -> Verdict {
        let verdict = |correct: bool, why: String| Verdict { correct, why };
        match self {
            Expected::Exact(want) => {
                let got = normalise(answer);
                if &got == want {
                    verdict(true, format!("exact: \"{got}\""))
                } else {
                    verdict(
                        false,
                        format!("exact: \"{}\" is not \"{want}\"", clip(&got)),
                    )
                }
            }
            Expected::Contains(want) => {
                let got = normalise(answer);
                if got.contains(want.as_str()) {
                    verdict(true, format!("contains \"{want}\""))
                } else {
                    verdict(false, format!("does not contain \"{want}\""))
                }
            }
            Expected::Number { value, tolerance } => match last_number(answer) {
                None => verdict(false, "number: no number in the answer".into()),
                Some(got) => {
                    let tol = tolerance.unwrap_or(default_tolerance);
                    let slack = 1e-9 * value.abs().max(1.0);
                    if (got - value).abs() <= tol + slack {
                        verdict(true, format!("number: {got}"))
                    } else if tol > 0.0 {
                        verdict(false, format!("number: {got} is not {value} ± {tol}"))
                    } else {
                        verdict(false, format!("number: {got} is not {value}"))
                    }
                }
            },
            Expected::Choice(want) => match choice_letter(answer) {
                None => verdict(false, "choice: no letter found in the answer".into()),
                Some(got) if got == *want => verdict(true, format!("choice: {got}")),
                Some(got) => verdict(false, format!("choice: {got} is not {want}")),
            },
            Expected::Regex(re) => match re.find(answer) {
                Some(m) => verdict(true, format!("regex: matched \"{}\"", clip(m.as_str()))),
                None => verdict(false, format!("regex: /{}/ not found", re.as_str())),
            },
        }
    }
}

/// Trimmed, lower case, one space for each run of whitespace, trailing periods dropped.
pub fn normalise(s: &str) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    let joined = words.join(" ").to_lowercase();
    // Periods and spaces at the end, in any order ("x. ." as "x."), so that normalising twice
    // changes nothing.
    joined
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace())
        .to_string()
}

fn clip(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// A number as the question file writes it: `4`, `-2.5`, `$4`, `1,000`.
fn plain_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let t = t.strip_suffix('.').unwrap_or(t);
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let t = t.strip_prefix('$').unwrap_or(t);
    if !NUMBER_WHOLE.is_match(t) {
        return None;
    }
    let v: f64 = t.replace(',', "").parse().ok()?;
    Some(if neg { -v } else { v })
}

static NUMBER_WHOLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)$").expect("valid")
});

/// A number in running text: a sign only at the start of a word, then an optional `$`, digits
/// with optional thousands commas and decimals.
static NUMBER_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    // ASCII digits only (`\d` is any script's, which `parse` would not read).
    Regex::new(
        r"(?:^|[^\w.,])([-+−]?)\$?((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)",
    )
    .expect("valid")
});

/// The last number in `s`.
pub fn last_number(s: &str) -> Option<f64> {
    let caps = NUMBER_IN_TEXT.captures_iter(s).last()?;
    let v: f64 = caps[2].replace(',', "").parse().ok()?;
    Some(if matches!(&caps[1], "-" | "−") {
        -v
    } else {
        v
    })
}

static CHOICE_LEAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\(([A-Za-z])\)|([A-Za-z])(?:[.):]|$))").expect("valid"));
/// "answer is B", "Answer: (C)": the words in any case, the letter a capital (so that "the
/// answer is a tricky one" names no letter).
static CHOICE_SAID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i:answer|option|choice)\s*(?i:is|:)?\s*\(?([A-Z])\b").expect("valid")
});
static CHOICE_PAREN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\(([A-Z])\)").expect("valid"));

/// The letter a multiple-choice answer gives: a leading letter (`B`, `(B)`, `B) …`, `B. …`,
/// `B: …`), else the letter after "answer (is)", "option" or
/// "choice", else the only letter in parentheses.
pub fn choice_letter(s: &str) -> Option<char> {
    // Markdown emphasis and code marks around the letter do not count ("**B**", "`C`").
    let plain: String = s
        .chars()
        .filter(|c| !matches!(c, '*' | '_' | '`'))
        .collect();
    let t = plain.trim();
    if let Some(c) = CHOICE_LEAD.captures(t) {
        let letter = c.get(1).or_else(|| c.get(2))?.as_str().chars().next()?;
        return Some(letter.to_ascii_uppercase());
    }
    // The last one said: "option A is wrong; the answer is C" answers C.
    if let Some(c) = CHOICE_SAID.captures_iter(t).last() {
        return c[1].chars().next();
    }
    let mut parens = CHOICE_PAREN.captures_iter(t).map(|c| c[1].to_string());
    match (parens.next(), parens.next()) {
        (Some(one), None) => one.chars().next(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(rule: &str, expected: &str, answer: &str) -> bool {
        let e = Expected::new(MatchRule::parse(rule).unwrap(), expected, None).unwrap();
        e.judge(answer, 0.0).correct
    }

    #[test]
    fn judging_rules() {
        let table = [
            // exact, after normalisation
            ("exact", "Paris", "Paris", true),
            ("exact", "Paris", "  paris. ", true),
            ("exact", "New York", "new   york...", true),
            ("exact", "A.", "a. .", true),
            ("exact", "new york", "New\nYork", true),
            ("exact", "Paris", "Paris, France", false),
            ("exact", "4", "The answer is 4.", false),
            ("exact", "", "", true),
            // number
            ("number", "4", "4", true),
            ("number", "4", "4.0", true),
            ("number", "4", "4 apples", true),
            ("number", "4", "4, not ٤٥", true),
            ("number", "4", "$4", true),
            ("number", "4", "The answer is 4.", true),
            ("number", "4", "2 + 2 = 4", true),
            ("number", "4", "4 or maybe 5", false),
            ("number", "4", "four", false),
            ("number", "4", "44", false),
            ("number", "1000", "1,000 people", true),
            ("number", "1,000", "1000", true),
            ("number", "-3", "It is -3.", true),
            ("number", "3", "It is -3.", false),
            ("number", "3", "from 2-3", true),
            ("number", "0.5", "0.50", true),
            ("number", "0.5", ".5", true),
            ("number", "$4", "4 dollars", true),
            ("number", "2.5", "2.5.", true),
            // choice
            ("choice", "B", "B", true),
            ("choice", "b", "(B)", true),
            ("choice", "B", "b", true),
            ("choice", "B", "B) forty", true),
            ("choice", "B", "B. forty", true),
            ("choice", "B", "The answer is B.", true),
            ("choice", "B", "Answer: (B)", true),
            ("choice", "B", "I pick (B) because", true),
            ("choice", "B", "C", false),
            ("choice", "A", "a cat", false),
            ("choice", "B", "(A) or (B)", false),
            ("choice", "C", "no idea", false),
            ("choice", "C", "The answer is a tricky one, but (C)", true),
            ("choice", "C", "Option A is wrong; the answer is C.", true),
            ("choice", "B", "The answer is **B**.", true),
            ("choice", "B", "**B**", true),
            // regex
            ("regex", "^4$", "4", true),
            ("regex", "^4$", "14", false),
            ("regex", "(?i)paris", "It is PARIS", true),
            ("regex", "\\d+ r's", "There are 3 r's", true),
            // contains
            ("contains", "Paris", "The capital is paris.", true),
            ("contains", "new york", "In New\tYork city", true),
            ("contains", "Rome", "Paris", false),
        ];
        for (rule, expected, answer, want) in table {
            assert_eq!(
                judge(rule, expected, answer),
                want,
                "{rule} {expected:?} against {answer:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn normalising_is_idempotent_and_an_answer_matches_itself(s in "\\PC{0,40}") {
            let once = normalise(&s);
            proptest::prop_assert_eq!(normalise(&once), once.clone());
            let e = Expected::new(MatchRule::Exact, &s, None).unwrap();
            proptest::prop_assert!(e.judge(&s, 0.0).correct);
        }

        #[test]
        fn a_text_is_found_inside_a_longer_answer(s in "[ -~]{0,40}") {
            let c = Expected::new(MatchRule::Contains, &s, None).unwrap();
            let padded = format!("so: {s} !");
            proptest::prop_assert!(c.judge(&padded, 0.0).correct, "{:?}", padded);
        }

        #[test]
        fn a_number_is_found_in_any_sentence_that_ends_with_it(
            x in -1.0e6f64..1.0e6,
            unit in proptest::sample::select(vec!["", " apples", "%", " dollars."]),
        ) {
            let x = (x * 100.0).round() / 100.0;
            let e = Expected::new(MatchRule::Number, &x.to_string(), None).unwrap();
            let answer = format!("After 3 steps, the total is {x}{unit}");
            proptest::prop_assert!(e.judge(&answer, 0.0).correct, "{}", answer);
            let off = format!("After 3 steps, the total is {}{unit}", x + 1.0);
            proptest::prop_assert!(!e.judge(&off, 0.0).correct, "{}", off);
        }
    }

    #[test]
    fn tolerance_from_the_question_or_the_default() {
        let own = Expected::new(MatchRule::Number, "3.14", Some(0.01)).unwrap();
        assert!(own.judge("about 3.141", 0.0).correct);
        assert!(!own.judge("3.2", 0.0).correct);
        let plain = Expected::new(MatchRule::Number, "100", None).unwrap();
        assert!(!plain.judge("101", 0.0).correct);
        assert!(plain.judge("101", 1.0).correct);
        assert!(!plain.judge("102", 1.0).correct);
        assert_eq!(plain.judge("102", 1.0).why, "number: 102 is not 100 ± 1");
    }

    #[test]
    fn bad_expected_answers_say_why() {
        assert!(Expected::new(MatchRule::Number, "four", None)
            .unwrap_err()
            .contains("not a number"));
        assert!(Expected::new(MatchRule::Choice, "AB", None)
            .unwrap_err()
            .contains("not a letter"));
        assert!(Expected::new(MatchRule::Regex, "(", None)
            .unwrap_err()
            .contains("regular expression"));
    }

    #[test]
    fn reasons_name_what_was_found() {
        let e = Expected::new(MatchRule::Number, "4", None).unwrap();
        assert_eq!(e.judge("it is 5", 0.0).why, "number: 5 is not 4");
        assert_eq!(e.judge("none", 0.0).why, "number: no number in the answer");
        let e = Expected::new(MatchRule::Choice, "B", None).unwrap();
        assert_eq!(e.judge("(C)", 0.0).why, "choice: C is not B");
    }
}
