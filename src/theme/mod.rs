//! Themes: the TUI's styles by purpose (text, thinking, borders, errors, …), never by widget.
//! Bundled ones (`themes/` in the source tree) are embedded in the binary; the user's, in
//! `…/reflect/themes/NAME.toml`, override them by name; `extends` inherits another theme,
//! replacing whole styles key by key. Keys and values are documented in `themes/README.md`.
//!
//! The types are terminal-library agnostic; [`Color`] and [`Style`] document their one-to-one
//! mapping onto ratatui's `Color` and `Style`/`Modifier`.

mod color;
mod emit;
mod schema;

pub use color::{Color, NamedColor};
pub use schema::{schema, ThemeFile, STYLE_KEYS};

use crate::config::{Bundled, Catalog, ConfigError, Entry};
use std::path::PathBuf;

/// The theme used when none is chosen.
pub const DEFAULT_THEME: &str = "dark";
/// The theme used when `NO_COLOR` is set and no theme was chosen.
pub const MONOCHROME_THEME: &str = "monochrome";

/// The bundled themes, embedded from `themes/`.
pub const BUNDLED: &[Bundled] = &[
    Bundled {
        name: "dark",
        text: include_str!("../../themes/dark.toml"),
    },
    Bundled {
        name: "high-contrast",
        text: include_str!("../../themes/high-contrast.toml"),
    },
    Bundled {
        name: "light",
        text: include_str!("../../themes/light.toml"),
    },
    Bundled {
        name: "monochrome",
        text: include_str!("../../themes/monochrome.toml"),
    },
];

/// What a style is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Ordinary text.
    Text,
    /// Secondary text: hints, timestamps, token counts.
    Muted,
    /// The model's thinking.
    Thinking,
    /// The model's reflections (self-corrections).
    Reflection,
    /// The answer.
    Output,
    /// The user's messages.
    UserMessage,
    BorderFocused,
    BorderUnfocused,
    StatusBar,
    Error,
    Warning,
    /// Code blocks and inline code.
    Code,
    /// Selected text or the selected item of a list.
    Selection,
}

impl Purpose {
    pub const ALL: [Purpose; 13] = [
        Purpose::Text,
        Purpose::Muted,
        Purpose::Thinking,
        Purpose::Reflection,
        Purpose::Output,
        Purpose::UserMessage,
        Purpose::BorderFocused,
        Purpose::BorderUnfocused,
        Purpose::StatusBar,
        Purpose::Error,
        Purpose::Warning,
        Purpose::Code,
        Purpose::Selection,
    ];

    /// The keys of `[styles]`, in the order of [`Purpose::ALL`].
    pub const KEYS: &'static [&'static str] = &[
        "text",
        "muted",
        "thinking",
        "reflection",
        "output",
        "user_message",
        "border_focused",
        "border_unfocused",
        "status_bar",
        "error",
        "warning",
        "code",
        "selection",
    ];

    pub fn key(self) -> &'static str {
        Self::KEYS[self as usize]
    }
}

/// A style. Maps onto ratatui's `Style { fg, bg, add_modifier }` with `Modifier::BOLD`,
/// `ITALIC`, `DIM`, `UNDERLINED` and `REVERSED`; an unset colour leaves the colour underneath.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub fg: Option<Color>,
    pub bg: Option<Color>,
    pub bold: bool,
    pub italic: bool,
    pub dim: bool,
    pub underline: bool,
    /// Swap foreground and background (how the monochrome theme shows a selection).
    pub reversed: bool,
}

impl Style {
    /// Whether the style uses any colour.
    pub fn has_color(&self) -> bool {
        self.fg.is_some() || self.bg.is_some()
    }
}

/// A resolved theme: a style for every purpose.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub description: String,
    styles: [Style; 13],
}

impl Theme {
    /// A theme with the terminal's own look for everything.
    pub fn plain(name: &str) -> Theme {
        Theme {
            name: name.to_string(),
            description: String::new(),
            styles: [Style::default(); 13],
        }
    }

    pub fn style(&self, purpose: Purpose) -> Style {
        self.styles[purpose as usize]
    }

    pub fn set(&mut self, purpose: Purpose, style: Style) {
        self.styles[purpose as usize] = style;
    }
}

/// The themes: bundled ones plus those in `user_dir`.
pub fn catalog(user_dir: Option<PathBuf>) -> Catalog {
    Catalog::new("theme", crate::config::THEMES_DIR, BUNDLED, user_dir)
}

/// Loads and resolves one theme with its `extends` chain: each file replaces the styles it
/// names; styles no file names are the terminal's own.
pub fn load(catalog: &Catalog, entry: &Entry) -> Result<Theme, ConfigError> {
    let chain = catalog.chain(entry, ThemeFile::parse)?;
    let mut theme = Theme::plain(&entry.name);
    for file in chain.iter().rev() {
        for (purpose, style) in &file.styles {
            theme.set(*purpose, *style);
        }
    }
    if let Some(child) = chain.first() {
        theme.name = child.name.clone();
        theme.description = child.description.clone().unwrap_or_default();
    }
    Ok(theme)
}

/// Loads the theme `spec` names: a theme name, or a file path.
pub fn load_spec(
    catalog: &Catalog,
    spec: &str,
    base: Option<&std::path::Path>,
) -> Result<Theme, ConfigError> {
    load(catalog, &catalog.select(spec, base)?)
}

#[cfg(test)]
mod tests;
