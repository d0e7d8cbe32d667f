//! Python's `json.dumps` for template values: what chat templates' `tojson` means to the
//! models trained on their output.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

/// `json.dumps`'s keywords.
#[derive(Debug, Clone)]
pub(super) struct Style {
    pub indent: Option<usize>,
    /// Between items: `", "` (`","` with an indent).
    pub item: String,
    /// Between a key and its value.
    pub key: String,
    pub ensure_ascii: bool,
    pub sort_keys: bool,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            indent: None,
            item: ", ".into(),
            key: ": ".into(),
            ensure_ascii: false,
            sort_keys: false,
        }
    }
}

/// `json.dumps(value, …)` with these keywords.
pub(super) fn dumps(value: &Value, style: &Style) -> Result<String, Error> {
    let mut out = String::new();
    write(&mut out, value, style, 0)?;
    Ok(out)
}

/// A JSON string, `\uXXXX` for every non-ASCII character when `ascii` (as Python writes it,
/// surrogate pairs beyond the first plane).
fn string(out: &mut String, s: &str, ascii: bool) -> Result<(), Error> {
    let quoted = serde_json::to_string(s).map_err(bad)?;
    if !ascii {
        out.push_str(&quoted);
        return Ok(());
    }
    for c in quoted.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    Ok(())
}

fn write(out: &mut String, v: &Value, style: &Style, depth: usize) -> Result<(), Error> {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => out.push_str(&serde_json::to_string(v).map_err(bad)?),
        ValueKind::String | ValueKind::Bytes => {
            string(out, v.as_str().unwrap_or_default(), style.ensure_ascii)?
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            block(out, ('[', ']'), items.len(), style, depth, |out, i| {
                write(out, &items[i], style, depth + 1)
            })?;
        }
        ValueKind::Map => {
            let mut keys: Vec<(String, Value)> = v
                .try_iter()?
                .map(|k| (k.as_str().map_or_else(|| k.to_string(), str::to_string), k))
                .collect();
            if style.sort_keys {
                keys.sort_by(|a, b| a.0.cmp(&b.0));
            }
            block(out, ('{', '}'), keys.len(), style, depth, |out, i| {
                let (name, key) = &keys[i];
                string(out, name, style.ensure_ascii)?;
                out.push_str(&style.key);
                write(out, &v.get_item(key)?, style, depth + 1)
            })?;
        }
        _ => string(out, &v.to_string(), style.ensure_ascii)?,
    }
    Ok(())
}

/// An array or object: the item separator between items; with an indent, one item per line.
fn block(
    out: &mut String,
    (open, close): (char, char),
    n: usize,
    style: &Style,
    depth: usize,
    mut item: impl FnMut(&mut String, usize) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(open);
    if n > 0 {
        for i in 0..n {
            if i > 0 {
                out.push_str(&style.item);
            }
            if let Some(w) = style.indent {
                out.push('\n');
                out.push_str(&" ".repeat(w * (depth + 1)));
            }
            item(out, i)?;
        }
        if let Some(w) = style.indent {
            out.push('\n');
            out.push_str(&" ".repeat(w * depth));
        }
    }
    out.push(close);
    Ok(())
}

fn bad(e: serde_json::Error) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("tojson: {e}"))
}
