//! One profile file as written: every field optional, each value checked (type, range, tag
//! names) with errors naming file, line and key (the thinking-budget keys in `budget`).

use super::budget::BudgetFile;
use super::History;
use crate::config::{ConfigError, Entry, Extends, Field, Inherits, Origin, Schema, Source, Table};
use crate::llm::SamplingOverrides;
use crate::stream::TagSet;

/// The sampling keys of a profile (also what the chat's `/set` accepts).
pub const SAMPLING_KEYS: &[&str] = &[
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repeat_penalty",
    "seed",
    "max_tokens",
];

/// The keys of a profile file, per table.
pub const SCHEMA: Schema<'static> = &[
    (
        "",
        &[
            "name",
            "description",
            "extends",
            "system",
            "instructions",
            "think_carefully",
            "history",
            "thinking_budget",
            "budget_grace",
            "budget_message",
            "min_thinking",
            "extend_message",
            "max_extensions",
            "chat_template",
            "tools",
            "lookup",
            "sampling",
            "tags",
        ],
    ),
    ("sampling", SAMPLING_KEYS),
    (
        "tags",
        &[
            "thinking",
            "reflection",
            "output",
            "start_in_thinking",
            "stop_after_output",
        ],
    ),
];

/// The `[tags]` table as written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TagsFile {
    pub thinking: Option<Vec<String>>,
    pub reflection: Option<Vec<String>>,
    pub output: Option<Vec<String>>,
    pub start_in_thinking: Option<bool>,
    pub stop_after_output: Option<bool>,
    /// Where the tag names are set (for errors about the resulting vocabulary).
    pub line: usize,
}

impl TagsFile {
    pub fn sets_names(&self) -> bool {
        self.thinking.is_some() || self.reflection.is_some() || self.output.is_some()
    }
}

/// A profile file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileFile {
    /// The file it came from, as shown in errors.
    pub label: String,
    /// The profile's name: its file name, or the `name` key of a file given by path.
    pub name: String,
    pub description: Option<String>,
    pub extends: Option<Extends>,
    pub system: Option<String>,
    pub instructions: Option<String>,
    pub think_carefully: Option<bool>,
    pub history: Option<History>,
    pub chat_template: Option<String>,
    /// The tools the profile offers (and turns on); `[]` offers none.
    pub tools: Option<Vec<String>>,
    /// Prompt lookup's drafts, 0–64.
    pub lookup: Option<u32>,
    /// The thinking budget's keys (top level, beside `think_carefully`).
    pub budget: BudgetFile,
    pub sampling: SamplingOverrides,
    pub tags: TagsFile,
}

impl Inherits for ProfileFile {
    fn extends(&self) -> Option<&Extends> {
        self.extends.as_ref()
    }
}

impl ProfileFile {
    pub fn parse(entry: &Entry, src: &Source) -> Result<ProfileFile, ConfigError> {
        let doc = src.parse()?;
        let root = doc.root();
        root.check_keys(SCHEMA[0].1, SCHEMA)?;
        let mut out = ProfileFile {
            label: src.label.clone(),
            name: entry.name.clone(),
            ..ProfileFile::default()
        };
        if let Some(f) = root.get("name") {
            let name = f.str()?;
            match entry.origin {
                Origin::File(_) if crate::config::valid_name(name) => out.name = name.to_string(),
                Origin::File(_) => {
                    return Err(
                        f.invalid("a name cannot be empty, start with '.' or hold '/' or '\\'")
                    )
                }
                _ if name != entry.name => {
                    return Err(f.invalid(format!(
                        "a profile's name is its file name, '{}'",
                        entry.name
                    )))
                }
                _ => {}
            }
        }
        out.description = root.str("description")?;
        if let Some(f) = root.get("extends") {
            let name = f.str()?;
            if name.trim().is_empty() {
                return Err(f.invalid("name the profile to inherit"));
            }
            out.extends = Some(Extends {
                name: name.to_string(),
                line: f.line,
            });
        }
        out.system = root.str("system")?;
        out.instructions = root.str("instructions")?;
        out.think_carefully = root.bool("think_carefully")?;
        if let Some(f) = root.get("history") {
            out.history = Some(match f.str()? {
                "answer" => History::Answer,
                "full" => History::Full,
                _ => return Err(f.invalid("use \"answer\" or \"full\"")),
            });
        }
        if let Some(f) = root.get("chat_template") {
            let v = f.str()?.trim();
            if v.is_empty() {
                return Err(f.invalid(
                    "name a chat format (llama3, chatml, gemma, plain, …) or a template file; leave the key out for the model's own",
                ));
            }
            out.chat_template = Some(v.to_string());
        }
        if let Some(f) = root.get("tools") {
            out.tools = Some(crate::config::tools::tool_list(&f)?);
        }
        if let Some(f) = root.get("lookup") {
            let max = crate::config::MAX_LOOKUP;
            out.lookup = Some(
                u32::try_from(f.int()?)
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| f.out_of_range(format!("must be between 0 and {max}")))?,
            );
        }
        out.budget = BudgetFile::parse(&root)?;
        if let Some(f) = root.get("sampling") {
            out.sampling = sampling(&f.table()?)?;
        }
        if let Some(f) = root.get("tags") {
            out.tags = tags(&f.table()?)?;
        }
        Ok(out)
    }
}

fn sampling(t: &Table<'_>) -> Result<SamplingOverrides, ConfigError> {
    t.check_keys(SCHEMA[1].1, SCHEMA)?;
    let float = |key: &str, ok: fn(f64) -> bool, rule: &str| -> Result<Option<f32>, ConfigError> {
        let Some(f) = t.get(key) else {
            return Ok(None);
        };
        // Checked as written and as stored: as an f32, a tiny value may become 0 and a huge
        // one infinite.
        let v = f.float()?;
        let stored = v as f32;
        if v.is_finite() && stored.is_infinite() {
            return Err(f.out_of_range("too large"));
        }
        if !stored.is_finite() || !ok(v) || !ok(f64::from(stored)) {
            return Err(f.out_of_range(rule));
        }
        Ok(Some(stored))
    };
    let whole = |key: &str, min: i64, max: i64, rule: &str| -> Result<Option<i64>, ConfigError> {
        let Some(f) = t.get(key) else {
            return Ok(None);
        };
        let v = f.int()?;
        if !(min..=max).contains(&v) {
            return Err(f.out_of_range(rule));
        }
        Ok(Some(v))
    };
    Ok(SamplingOverrides {
        temperature: float("temperature", |v| v >= 0.0, "must be 0 or more")?,
        top_p: float(
            "top_p",
            |v| v > 0.0 && v <= 1.0,
            "must be in (0, 1]: more than 0, at most 1",
        )?,
        top_k: whole("top_k", 0, i64::from(i32::MAX), "must be 0 (off) or more")?.map(|v| v as i32),
        min_p: float("min_p", |v| (0.0..=1.0).contains(&v), "must be in [0, 1]")?,
        repeat_penalty: float("repeat_penalty", |v| v > 0.0, "must be more than 0")?,
        seed: whole(
            "seed",
            0,
            i64::from(u32::MAX),
            "must be between 0 and 4294967295",
        )?
        .map(|v| v as u32),
        max_tokens: whole(
            "max_tokens",
            1,
            i64::from(u32::MAX),
            "must be 1 or more (leave it out for no limit; 0 would never answer)",
        )?
        .map(|v| v as u32),
    })
}

fn tags(t: &Table<'_>) -> Result<TagsFile, ConfigError> {
    t.check_keys(SCHEMA[2].1, SCHEMA)?;
    let names = |key: &str| -> Result<Option<(Vec<String>, usize)>, ConfigError> {
        let Some(f) = t.get(key) else {
            return Ok(None);
        };
        let names = f.str_array()?;
        check_names(&f, key, &names)?;
        Ok(Some((names, f.line)))
    };
    let thinking = names("thinking")?;
    let reflection = names("reflection")?;
    let output = names("output")?;
    let line = [&thinking, &reflection, &output]
        .iter()
        .filter_map(|n| n.as_ref().map(|(_, line)| *line))
        .min()
        .unwrap_or(t.line());
    Ok(TagsFile {
        thinking: thinking.map(|n| n.0),
        reflection: reflection.map(|n| n.0),
        output: output.map(|n| n.0),
        start_in_thinking: t.bool("start_in_thinking")?,
        stop_after_output: t.bool("stop_after_output")?,
        line,
    })
}

/// Each name on its own must be a valid tag name (clashes between channels are checked once
/// the whole vocabulary is known).
fn check_names(f: &Field<'_>, key: &str, names: &[String]) -> Result<(), ConfigError> {
    let mut set = TagSet {
        thinking: vec![],
        reflection: vec![],
        output: vec![],
    };
    match key {
        "thinking" => set.thinking = names.to_vec(),
        "reflection" => set.reflection = names.to_vec(),
        _ => set.output = names.to_vec(),
    }
    set.validate().map_err(|why| f.invalid(why))
}
