//! One theme file as written: `name`, `description`, `extends` and a `[styles]` table whose
//! keys are purposes and whose values are a colour (the foreground) or a style table.

use super::{Color, Purpose, Style};
use crate::config::{ConfigError, Entry, Extends, Field, Inherits, Origin, Schema, Source};

/// The keys of a style table.
pub const STYLE_KEYS: &[&str] = &["fg", "bg", "bold", "italic", "dim", "underline", "reversed"];

const TOP_KEYS: &[&str] = &["name", "description", "extends", "styles"];

/// The keys of a theme file, per table.
pub fn schema() -> Vec<(&'static str, &'static [&'static str])> {
    vec![("", TOP_KEYS), ("styles", Purpose::KEYS)]
}

/// A theme file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThemeFile {
    pub name: String,
    pub description: Option<String>,
    pub extends: Option<Extends>,
    /// The styles this file sets.
    pub styles: Vec<(Purpose, Style)>,
}

impl Inherits for ThemeFile {
    fn extends(&self) -> Option<&Extends> {
        self.extends.as_ref()
    }
}

impl ThemeFile {
    pub fn parse(entry: &Entry, src: &Source) -> Result<ThemeFile, ConfigError> {
        let doc = src.parse()?;
        let root = doc.root();
        let schema = schema();
        let schema: Schema<'_> = &schema;
        root.check_keys(TOP_KEYS, schema)?;
        let mut out = ThemeFile {
            name: entry.name.clone(),
            ..ThemeFile::default()
        };
        if let Some(f) = root.get("name") {
            let name = f.str()?;
            match entry.origin {
                Origin::File(_) => out.name = name.to_string(),
                _ if name != entry.name => {
                    return Err(
                        f.invalid(format!("a theme's name is its file name, '{}'", entry.name))
                    )
                }
                _ => {}
            }
        }
        out.description = root.str("description")?;
        if let Some(f) = root.get("extends") {
            out.extends = Some(Extends {
                name: f.str()?.to_string(),
                line: f.line,
            });
        }
        if let Some(f) = root.get("styles") {
            let styles = f.table()?;
            styles.check_keys(Purpose::KEYS, schema)?;
            for purpose in Purpose::ALL {
                if let Some(f) = styles.get(purpose.key()) {
                    out.styles.push((purpose, style(&f)?));
                }
            }
        }
        Ok(out)
    }
}

fn color(f: &Field<'_>) -> Result<Color, ConfigError> {
    if f.is_int() {
        let i = f.int()?;
        return u8::try_from(i)
            .map(Color::Indexed)
            .map_err(|_| f.out_of_range("a 256-colour index is 0 to 255"));
    }
    let s = f.str().map_err(|_| {
        f.error(format!(
            "{} must be a colour (a name, \"#rrggbb\" or 0-255), not {}",
            f.path,
            f.written()
        ))
    })?;
    Color::parse(s).map_err(|why| f.invalid(why))
}

/// A colour (the foreground) or a table `{ fg, bg, bold, italic, dim, underline, reversed }`.
fn style(f: &Field<'_>) -> Result<Style, ConfigError> {
    if !f.is_table() {
        return Ok(Style {
            fg: Some(color(f)?),
            ..Style::default()
        });
    }
    let t = f.table()?;
    t.check_keys(STYLE_KEYS, &[])?;
    let flag = |k: &str| t.bool(k).map(|v| v.unwrap_or(false));
    Ok(Style {
        fg: t.get("fg").map(|f| color(&f)).transpose()?,
        bg: t.get("bg").map(|f| color(&f)).transpose()?,
        bold: flag("bold")?,
        italic: flag("italic")?,
        dim: flag("dim")?,
        underline: flag("underline")?,
        reversed: flag("reversed")?,
    })
}
