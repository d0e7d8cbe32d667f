//! The question file of `reflect eval`: JSON Lines, one question a line, read and checked in
//! full before anything runs, so that every bad line is reported at once with its file, line
//! and field.

use super::judge::{Expected, MatchRule};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One question, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    pub id: String,
    pub question: String,
    /// The answer as the file gives it.
    pub answer: String,
    pub expected: Expected,
    /// The line it is on, from 1.
    pub line: usize,
}

impl Question {
    pub fn rule(&self) -> MatchRule {
        self.expected.rule()
    }
}

/// One mistake in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct LineError {
    pub line: usize,
    /// The field at fault, if one is.
    pub field: Option<String>,
    pub message: String,
}

/// Every mistake in a question file.
#[derive(Clone, Debug, PartialEq)]
pub enum FileError {
    Unreadable {
        path: PathBuf,
        message: String,
    },
    Empty {
        path: PathBuf,
    },
    Lines {
        path: PathBuf,
        errors: Vec<LineError>,
    },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Unreadable { path, message } => {
                write!(f, "cannot read the question file {}: {message}", path.display())
            }
            FileError::Empty { path } => write!(
                f,
                "{}: no questions; write one JSON object a line, e.g. {{\"id\": \"q1\", \"question\": \"What is 2+2?\", \"answer\": \"4\", \"match\": \"number\"}}",
                path.display()
            ),
            FileError::Lines { path, errors } => {
                let n = errors.len();
                // Lines are counted once however many problems each has; every problem is listed.
                let mut lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
                lines.dedup();
                let bad = lines.len();
                let problems = if n == bad {
                    String::new()
                } else {
                    format!(" ({n} problems)")
                };
                writeln!(
                    f,
                    "{}: {bad} bad line{}{problems}; nothing was run. Fix {} and run again:",
                    path.display(),
                    if bad == 1 { "" } else { "s" },
                    if bad == 1 { "it" } else { "them" }
                )?;
                for (i, e) in errors.iter().enumerate() {
                    let field = e
                        .field
                        .as_deref()
                        .map(|x| format!(", field \"{x}\""))
                        .unwrap_or_default();
                    write!(f, "  {}:{}{field}: {}", path.display(), e.line, e.message)?;
                    if i + 1 < n {
                        writeln!(f)?;
                    }
                }
                Ok(())
            }
        }
    }
}

const FIELDS: [&str; 5] = ["id", "question", "answer", "match", "tolerance"];

/// Reads and checks a question file.
pub fn load(path: &Path) -> Result<Vec<Question>, FileError> {
    let text = std::fs::read(path).map_err(|e| FileError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8(text).map_err(|e| FileError::Unreadable {
        path: path.to_path_buf(),
        message: format!(
            "not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    let questions = parse(&text).map_err(|errors| FileError::Lines {
        path: path.to_path_buf(),
        errors,
    })?;
    if questions.is_empty() {
        return Err(FileError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(questions)
}

/// Parses the text of a question file: every question, or every mistake. Blank lines are
/// skipped; a question without an id is named by its line number.
pub fn parse(text: &str) -> Result<Vec<Question>, Vec<LineError>> {
    let mut questions = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw, line) {
            Ok(q) => {
                if let Some(first) = seen.get(&q.id) {
                    errors.push(LineError {
                        line,
                        field: Some("id".into()),
                        message: format!(
                            "\"{}\" is already the id of line {first}; ids must be unique",
                            q.id
                        ),
                    });
                } else {
                    seen.insert(q.id.clone(), line);
                    questions.push(q);
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(questions)
    } else {
        Err(errors)
    }
}

fn parse_line(raw: &str, line: usize) -> Result<Question, Vec<LineError>> {
    let whole = |message: String| {
        vec![LineError {
            line,
            field: None,
            message,
        }]
    };
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| {
        whole(format!(
            "not valid JSON ({e}); each line must be one JSON object"
        ))
    })?;
    let serde_json::Value::Object(obj) = value else {
        return Err(whole(
            "not a JSON object; each line must be {\"question\": …, \"answer\": …}".into(),
        ));
    };
    let mut f = Fields {
        obj: &obj,
        line,
        errors: Vec::new(),
    };
    f.unknown_keys();
    let id = f.text("id", false);
    let question = f.text("question", true);
    let answer = f.text("answer", true);
    let rule = f.rule();
    let tolerance = f.tolerance();
    if tolerance.is_some() && rule.is_some_and(|r| r != MatchRule::Number) {
        f.fail(
            "tolerance",
            "only a \"number\" match has a tolerance".into(),
        );
    }
    let expected = match (&answer, rule) {
        (Some(a), Some(r)) => Expected::new(r, a, tolerance)
            .map_err(|message| f.fail("answer", message))
            .ok(),
        _ => None,
    };
    match (question, answer, expected) {
        (Some(question), Some(answer), Some(expected)) if f.errors.is_empty() => Ok(Question {
            id: id.unwrap_or_else(|| format!("line {line}")),
            question,
            answer,
            expected,
            line,
        }),
        _ => Err(f.errors),
    }
}

/// The fields of one line's object, read one by one; each mistake is kept.
struct Fields<'a> {
    obj: &'a serde_json::Map<String, serde_json::Value>,
    line: usize,
    errors: Vec<LineError>,
}

impl Fields<'_> {
    fn fail(&mut self, field: &str, message: String) {
        self.errors.push(LineError {
            line: self.line,
            field: Some(field.to_string()),
            message,
        });
    }

    /// A field that is not one of [`FIELDS`], with the one it is closest to.
    fn unknown_keys(&mut self) {
        for key in self.obj.keys() {
            if !FIELDS.contains(&key.as_str()) {
                let hint = crate::config::closest(key, FIELDS)
                    .map(|f| format!("; did you mean \"{f}\"?"))
                    .unwrap_or_else(|| format!("; the fields are {}", FIELDS.join(", ")));
                self.fail(key, format!("unknown field{hint}"));
            }
        }
    }

    /// A text field; numbers are taken as their text (`"answer": 4`).
    fn text(&mut self, name: &str, required: bool) -> Option<String> {
        match self.obj.get(name) {
            None | Some(serde_json::Value::Null) if required => {
                self.fail(name, "missing".into());
                None
            }
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => {
                self.fail(name, "empty".into());
                None
            }
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) if name != "question" => Some(n.to_string()),
            Some(other) => {
                let message = format!("must be a string, not {}", kind_of(other));
                self.fail(name, message);
                None
            }
        }
    }

    /// `match`: exact when not given.
    fn rule(&mut self) -> Option<MatchRule> {
        match self.obj.get("match") {
            None | Some(serde_json::Value::Null) => Some(MatchRule::Exact),
            Some(serde_json::Value::String(s)) => {
                let rule = MatchRule::parse(s);
                if rule.is_none() {
                    let names = MatchRule::NAMES.join(", ");
                    self.fail(
                        "match",
                        format!("\"{s}\" is not a rule; use one of {names}"),
                    );
                }
                rule
            }
            Some(other) => {
                let message = format!("must be a string, not {}", kind_of(other));
                self.fail("match", message);
                None
            }
        }
    }

    /// `tolerance`: a number 0 or more, or not given.
    fn tolerance(&mut self) -> Option<f64> {
        match self.obj.get("tolerance") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => match n.as_f64() {
                Some(t) if t >= 0.0 && t.is_finite() => Some(t),
                _ => {
                    let message = format!("{n} cannot be a tolerance: use a number 0 or more");
                    self.fail("tolerance", message);
                    None
                }
            },
            Some(other) => {
                let message = format!("must be a number, not {}", kind_of(other));
                self.fail("tolerance", message);
                None
            }
        }
    }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "true or false",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lines_parse_with_defaults() {
        let text = "{\"id\": \"a\", \"question\": \"2+2?\", \"answer\": 4, \"match\": \"number\", \"tolerance\": 0.5}\n\n{\"question\": \"Say hi\", \"answer\": \"hi\"}\n";
        let qs = parse(text).unwrap();
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].id, "a");
        assert_eq!(qs[0].answer, "4");
        assert_eq!(qs[0].rule(), MatchRule::Number);
        assert_eq!(qs[1].id, "line 3");
        assert_eq!(qs[1].line, 3);
        assert_eq!(qs[1].rule(), MatchRule::Exact);
    }

    #[test]
    fn every_bad_line_is_listed_with_its_field() {
        let text = [
            r#"{"id": "ok", "question": "q", "answer": "a"}"#,
            r#"{"id": "x", "question": "q"}"#,
            r#"not json"#,
            r#"{"id": "ok", "question": "q", "answer": "a"}"#,
            r#"{"question": "q", "answer": "a", "mach": "exact"}"#,
            r#"{"question": "q", "answer": "four", "match": "number"}"#,
            r#"{"question": "q", "answer": "AB", "match": "choice"}"#,
            r#"{"question": "q", "answer": "(", "match": "regex"}"#,
            r#"{"question": "q", "answer": "a", "match": "fuzzy"}"#,
            r#"{"question": 3, "answer": "a"}"#,
            r#"{"question": "q", "answer": "a", "tolerance": 1}"#,
            r#"[1, 2]"#,
        ]
        .join("\n");
        let errors = parse(&text).unwrap_err();
        let got: Vec<(usize, Option<&str>)> = errors
            .iter()
            .map(|e| (e.line, e.field.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, Some("answer")),
                (3, None),
                (4, Some("id")),
                (5, Some("mach")),
                (6, Some("answer")),
                (7, Some("answer")),
                (8, Some("answer")),
                (9, Some("match")),
                (10, Some("question")),
                (11, Some("tolerance")),
                (12, None),
            ]
        );
        assert!(
            errors[3].message.contains("did you mean \"match\""),
            "{:?}",
            errors[3]
        );
        assert!(errors[2].message.contains("line 1"), "{:?}", errors[2]);
        let shown = FileError::Lines {
            path: "q.jsonl".into(),
            errors,
        }
        .to_string();
        assert!(
            shown.starts_with("q.jsonl: 11 bad lines; nothing was run."),
            "{shown}"
        );
        assert!(
            shown.contains("\n  q.jsonl:5, field \"mach\": unknown field"),
            "{shown}"
        );
    }

    /// Lines are counted, problems listed: one line with two problems is one bad line.
    #[test]
    fn the_count_is_of_lines_and_every_problem_is_listed() {
        let cases: [(&[&str], &str); 3] = [
            (
                &[r#"{"question": 3, "answer": "a", "tolerance": 1}"#],
                "q.jsonl: 1 bad line (2 problems); nothing was run. Fix it and run again:",
            ),
            (
                &[
                    r#"{"question": "q"}"#,
                    r#"{"question": 3, "answer": "a", "mach": 1}"#,
                ],
                "q.jsonl: 2 bad lines (3 problems); nothing was run. Fix them and run again:",
            ),
            (
                &[r#"{"question": "q"}"#],
                "q.jsonl: 1 bad line; nothing was run. Fix it and run again:",
            ),
        ];
        for (lines, want) in cases {
            let errors = parse(&lines.join("\n")).unwrap_err();
            let n = errors.len();
            let shown = FileError::Lines {
                path: "q.jsonl".into(),
                errors,
            }
            .to_string();
            let mut rows = shown.lines();
            assert_eq!(rows.next(), Some(want), "{shown}");
            assert_eq!(rows.count(), n, "every problem listed: {shown}");
        }
    }
}
