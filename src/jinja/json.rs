//! Python's `json.dumps` for template values: what chat templates' `tojson` means to the
//! models trained on their output.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

/// `json.dumps(value, ensure_ascii=False, indent=indent)`.
pub(super) fn dumps(value: &Value, indent: Option<usize>) -> Result<String, Error> {
    let mut out = String::new();
    write(&mut out, value, indent, 0)?;
    Ok(out)
}

fn write(out: &mut String, v: &Value, indent: Option<usize>, depth: usize) -> Result<(), Error> {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => out.push_str(&serde_json::to_string(v).map_err(bad)?),
        ValueKind::String | ValueKind::Bytes => {
            out.push_str(&serde_json::to_string(v.as_str().unwrap_or_default()).map_err(bad)?)
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            block(out, '[', ']', items.len(), indent, depth, |out, i| {
                write(out, &items[i], indent, depth + 1)
            })?;
        }
        ValueKind::Map => {
            let keys: Vec<Value> = v.try_iter()?.collect();
            block(out, '{', '}', keys.len(), indent, depth, |out, i| {
                let key = &keys[i];
                let name = key.as_str().map_or_else(|| key.to_string(), str::to_string);
                out.push_str(&serde_json::to_string(&name).map_err(bad)?);
                out.push_str(": ");
                write(out, &v.get_item(key)?, indent, depth + 1)
            })?;
        }
        _ => out.push_str(&serde_json::to_string(&v.to_string()).map_err(bad)?),
    }
    Ok(())
}

/// An array or object: `, ` between items inline; with an indent, one item per line.
fn block(
    out: &mut String,
    open: char,
    close: char,
    n: usize,
    indent: Option<usize>,
    depth: usize,
    mut item: impl FnMut(&mut String, usize) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(open);
    if n > 0 {
        for i in 0..n {
            match indent {
                Some(w) => {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&" ".repeat(w * (depth + 1)));
                }
                None if i > 0 => out.push_str(", "),
                None => {}
            }
            item(out, i)?;
        }
        if let Some(w) = indent {
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
