//! Strict TOML reading for every configuration file: typed getters that know the dotted path
//! and line of each key, so that every complaint names file, line and key; unknown keys are
//! errors with a "did you mean".

use super::error::ConfigError;
use super::suggest;
use std::fmt::Display;
use std::ops::Range;
use toml_edit::{ImDocument, Item, TableLike, Value};

/// A file's text and the name it is shown under.
#[derive(Clone, Debug)]
pub struct Source {
    pub label: String,
    pub text: String,
}

impl Source {
    pub fn new(label: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            label: label.into(),
            text: text.into(),
        }
    }

    /// An error at a line of this file.
    pub fn error(&self, line: usize, message: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.label, line, message)
    }

    /// Parses the text; a syntax error names its line.
    pub fn parse(&self) -> Result<Doc<'_>, ConfigError> {
        match ImDocument::parse(self.text.as_str()) {
            Ok(doc) => Ok(Doc { src: self, doc }),
            Err(e) => {
                // Parse error spans count characters, not bytes.
                let line = e.span().map_or(1, |s| {
                    1 + self
                        .text
                        .chars()
                        .take(s.start)
                        .filter(|c| *c == '\n')
                        .count()
                });
                let what = e.message().lines().next().unwrap_or("").trim();
                Err(self.error(line, format!("invalid TOML: {what}")))
            }
        }
    }

    fn line_at(&self, byte: usize) -> usize {
        let end = byte.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }

    fn snippet(&self, span: Option<Range<usize>>) -> Option<&str> {
        span.and_then(|s| self.text.get(s)).map(str::trim)
    }
}

/// A parsed file.
pub struct Doc<'a> {
    src: &'a Source,
    doc: ImDocument<&'a str>,
}

impl Doc<'_> {
    /// The top-level table.
    pub fn root(&self) -> Table<'_> {
        Table {
            src: self.src,
            path: String::new(),
            inner: self.doc.as_table(),
            line: 1,
        }
    }
}

/// Where a table's keys are allowed, for suggestions across tables: (table path, its keys).
pub type Schema<'s> = &'s [(&'s str, &'s [&'s str])];

/// A table of a file, with its dotted path.
pub struct Table<'a> {
    src: &'a Source,
    path: String,
    inner: &'a dyn TableLike,
    line: usize,
}

impl<'a> Table<'a> {
    pub fn source(&self) -> &'a Source {
        self.src
    }

    /// The line where the table starts (its header, or its key when inline).
    pub fn line(&self) -> usize {
        self.line
    }

    fn full(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn key_line(&self, key: &str) -> usize {
        self.inner
            .get_key_value(key)
            .and_then(|(k, item)| k.span().or_else(|| item.span()))
            .map_or(self.line, |s| self.src.line_at(s.start))
    }

    /// Every key must be one of `known`. An unknown key is an error naming it, with the
    /// closest known key as a suggestion, or the table it belongs in when `schema` has it.
    pub fn check_keys(&self, known: &[&str], schema: Schema<'_>) -> Result<(), ConfigError> {
        for (key, _) in self.inner.iter() {
            if known.contains(&key) {
                continue;
            }
            let mut hint = suggest::did_you_mean(key, known.iter().copied());
            if hint.is_empty() {
                if let Some((table, _)) = schema
                    .iter()
                    .find(|(t, keys)| *t != self.path && keys.contains(&key))
                {
                    let there = if table.is_empty() {
                        key.to_string()
                    } else {
                        format!("{table}.{key}")
                    };
                    hint = format!(" — did you mean '{there}'?");
                }
            }
            if hint.is_empty() {
                hint = format!(" (known keys: {})", known.join(", "));
            }
            return Err(self.src.error(
                self.key_line(key),
                format!("unknown key '{}'{hint}", self.full(key)),
            ));
        }
        Ok(())
    }

    /// The key's value, if the key is present.
    pub fn get(&self, key: &str) -> Option<Field<'a>> {
        let item = self.inner.get(key)?;
        if item.is_none() {
            return None;
        }
        Some(Field {
            src: self.src,
            path: self.full(key),
            line: self.key_line(key),
            item,
        })
    }

    /// The keys present, in file order.
    pub fn keys(&self) -> Vec<&'a str> {
        self.inner.iter().map(|(k, _)| k).collect()
    }

    pub fn str(&self, key: &str) -> Result<Option<String>, ConfigError> {
        self.get(key)
            .map(|f| f.str().map(str::to_string))
            .transpose()
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        self.get(key).map(|f| f.bool()).transpose()
    }
}

/// One key's value, with its dotted path and line.
pub struct Field<'a> {
    src: &'a Source,
    pub path: String,
    pub line: usize,
    item: &'a Item,
}

impl<'a> Field<'a> {
    /// An error about this key (the message should name `self.path`).
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        self.src.error(self.line, message)
    }

    /// The value as written in the file, e.g. `-1` or `"grean"`.
    pub fn written(&self) -> &'a str {
        self.src.snippet(self.item.span()).unwrap_or("this")
    }

    /// `PATH = VALUE is out of range: RULE`.
    pub fn out_of_range(&self, rule: impl Display) -> ConfigError {
        self.error(format!(
            "{} = {} is out of range: {rule}",
            self.path,
            self.written()
        ))
    }

    /// `PATH = VALUE is not valid: WHY`.
    pub fn invalid(&self, why: impl Display) -> ConfigError {
        self.error(format!(
            "{} = {} is not valid: {why}",
            self.path,
            self.written()
        ))
    }

    fn wrong_type(&self, want: &str) -> ConfigError {
        self.error(format!(
            "{} must be {want}, not {}",
            self.path,
            kind(self.item)
        ))
    }

    fn value(&self) -> Option<&'a Value> {
        self.item.as_value()
    }

    pub fn str(&self) -> Result<&'a str, ConfigError> {
        self.value()
            .and_then(Value::as_str)
            .ok_or_else(|| self.wrong_type("a string"))
    }

    pub fn bool(&self) -> Result<bool, ConfigError> {
        self.value()
            .and_then(Value::as_bool)
            .ok_or_else(|| self.wrong_type("true or false"))
    }

    pub fn int(&self) -> Result<i64, ConfigError> {
        self.value()
            .and_then(Value::as_integer)
            .ok_or_else(|| self.wrong_type("an integer"))
    }

    /// A number; integers are accepted too (`temperature = 1`).
    pub fn float(&self) -> Result<f64, ConfigError> {
        match self.value() {
            Some(Value::Float(f)) => Ok(*f.value()),
            Some(Value::Integer(i)) => Ok(*i.value() as f64),
            _ => Err(self.wrong_type("a number")),
        }
    }

    /// Whether the value is an integer (for keys that take a number or a word).
    pub fn is_int(&self) -> bool {
        matches!(self.value(), Some(Value::Integer(_)))
    }

    pub fn str_array(&self) -> Result<Vec<String>, ConfigError> {
        let array = self
            .value()
            .and_then(Value::as_array)
            .ok_or_else(|| self.wrong_type("an array of strings"))?;
        array
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    self.error(format!(
                        "{} must be an array of strings, but it holds {}",
                        self.path,
                        kind(&Item::Value(v.clone()))
                    ))
                })
            })
            .collect()
    }

    /// A table: a `[header]` one or an inline `{ … }` one.
    pub fn table(&self) -> Result<Table<'a>, ConfigError> {
        let inner = self
            .item
            .as_table_like()
            .ok_or_else(|| self.wrong_type("a table"))?;
        let line = match self.item {
            Item::Table(t) => t.span().map_or(self.line, |s| self.src.line_at(s.start)),
            _ => self.line,
        };
        Ok(Table {
            src: self.src,
            path: self.path.clone(),
            inner,
            line,
        })
    }

    pub fn is_table(&self) -> bool {
        self.item.is_table_like()
    }
}

fn kind(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => match v {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date",
            Value::Array(_) => "an array",
            Value::InlineTable(_) => "a table",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: Schema<'static> = &[("", &["name", "sampling"]), ("sampling", &["temperature"])];

    fn src(text: &str) -> Source {
        Source::new("f.toml", text)
    }

    #[test]
    fn fields_know_their_path_and_line() {
        let s = src("name = \"x\"\n\n[sampling]\n# c\ntemperature = -1\n");
        let doc = s.parse().unwrap();
        let root = doc.root();
        root.check_keys(&["name", "sampling"], SCHEMA).unwrap();
        let sampling = root.get("sampling").unwrap().table().unwrap();
        assert_eq!(sampling.line(), 3);
        let t = sampling.get("temperature").unwrap();
        assert_eq!((t.path.as_str(), t.line), ("sampling.temperature", 5));
        assert_eq!(t.float().unwrap(), -1.0);
        assert_eq!(
            t.out_of_range("must be 0 or more").to_string(),
            "f.toml:5: sampling.temperature = -1 is out of range: must be 0 or more"
        );
    }

    #[test]
    fn dotted_and_inline_tables_have_lines_too() {
        let s = src("name = \"x\"\nsampling.temperature = true\n");
        let doc = s.parse().unwrap();
        let t = doc.root().get("sampling").unwrap().table().unwrap();
        let f = t.get("temperature").unwrap();
        assert_eq!(f.line, 2);
        assert_eq!(
            f.float().unwrap_err().to_string(),
            "f.toml:2: sampling.temperature must be a number, not a boolean"
        );
        let s = src("\nsampling = { temperature = \"hot\" }\n");
        let doc = s.parse().unwrap();
        let t = doc.root().get("sampling").unwrap().table().unwrap();
        assert_eq!(t.get("temperature").unwrap().line, 2);
    }

    #[test]
    fn unknown_keys_get_suggestions() {
        let table = [
            (
                "[sampling]\ntemprature = 1\n",
                "sampling",
                "f.toml:2: unknown key 'sampling.temprature' — did you mean 'temperature'?",
            ),
            (
                "\ntemperature = 1\n",
                "",
                "f.toml:2: unknown key 'temperature' — did you mean 'sampling.temperature'?",
            ),
            (
                "colour = 1\n",
                "",
                "f.toml:1: unknown key 'colour' (known keys: name, sampling)",
            ),
        ];
        for (text, path, want) in table {
            let s = src(text);
            let doc = s.parse().unwrap();
            let root = doc.root();
            let (table, known) = if path.is_empty() {
                (root, SCHEMA[0].1)
            } else {
                (root.get(path).unwrap().table().unwrap(), SCHEMA[1].1)
            };
            let err = table.check_keys(known, SCHEMA).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = src("a = 1\nb = \n").parse().err().unwrap();
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.starts_with("invalid TOML"), "{err}");
    }

    #[test]
    fn arrays_of_strings() {
        let s = src("a = [\"x\", \"y\"]\nb = [\"x\", 1]\n");
        let doc = s.parse().unwrap();
        assert_eq!(
            doc.root().get("a").unwrap().str_array().unwrap(),
            ["x", "y"]
        );
        let err = doc.root().get("b").unwrap().str_array().unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.toml:2: b must be an array of strings, but it holds an integer"
        );
    }
}
