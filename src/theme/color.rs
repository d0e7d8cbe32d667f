//! Colours as themes write them: a name (`light_blue`), `#rrggbb`, or a 256-colour index.

use std::fmt;

/// The 16 ANSI colours (the terminal's palette decides their exact look) and `default`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamedColor {
    /// The terminal's own foreground or background.
    Default,
    Black,
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    Gray,
    DarkGray,
    LightRed,
    LightGreen,
    LightYellow,
    LightBlue,
    LightMagenta,
    LightCyan,
    White,
}

impl NamedColor {
    pub const ALL: [NamedColor; 17] = [
        NamedColor::Default,
        NamedColor::Black,
        NamedColor::Red,
        NamedColor::Green,
        NamedColor::Yellow,
        NamedColor::Blue,
        NamedColor::Magenta,
        NamedColor::Cyan,
        NamedColor::Gray,
        NamedColor::DarkGray,
        NamedColor::LightRed,
        NamedColor::LightGreen,
        NamedColor::LightYellow,
        NamedColor::LightBlue,
        NamedColor::LightMagenta,
        NamedColor::LightCyan,
        NamedColor::White,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NamedColor::Default => "default",
            NamedColor::Black => "black",
            NamedColor::Red => "red",
            NamedColor::Green => "green",
            NamedColor::Yellow => "yellow",
            NamedColor::Blue => "blue",
            NamedColor::Magenta => "magenta",
            NamedColor::Cyan => "cyan",
            NamedColor::Gray => "gray",
            NamedColor::DarkGray => "dark_gray",
            NamedColor::LightRed => "light_red",
            NamedColor::LightGreen => "light_green",
            NamedColor::LightYellow => "light_yellow",
            NamedColor::LightBlue => "light_blue",
            NamedColor::LightMagenta => "light_magenta",
            NamedColor::LightCyan => "light_cyan",
            NamedColor::White => "white",
        }
    }
}

/// A colour. Maps one to one onto `ratatui::style::Color`: `Named(Default)` → `Reset`, other
/// names → the variant of the same name (`DarkGray`, `LightRed`, …), `Rgb` → `Rgb`,
/// `Indexed` → `Indexed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Named(NamedColor),
    Rgb(u8, u8, u8),
    /// An entry of the 256-colour palette.
    Indexed(u8),
}

impl Color {
    /// Parses a colour written as a string: a name or `#rrggbb`. The error says why.
    pub fn parse(s: &str) -> Result<Color, String> {
        if let Some(hex) = s.strip_prefix('#') {
            let ok = hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit());
            if !ok {
                return Err("write RGB colours as #rrggbb (six hex digits)".into());
            }
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
            return Ok(Color::Rgb(byte(0), byte(2), byte(4)));
        }
        if let Some(named) = NamedColor::ALL.iter().find(|n| n.as_str() == s) {
            return Ok(Color::Named(*named));
        }
        if let Ok(i) = s.parse::<u8>() {
            return Ok(Color::Indexed(i));
        }
        let names = NamedColor::ALL.iter().map(|n| n.as_str());
        let hint = crate::config::did_you_mean(s, names);
        Err(if hint.is_empty() {
            "unknown colour: use a name (red, light_blue, dark_gray, …), #rrggbb or 0-255".into()
        } else {
            format!("unknown colour{hint}")
        })
    }
}

/// As a theme file writes it: `"light_blue"`, `"#1e90ff"`, or `42`.
impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Color::Named(n) => write!(f, "\"{}\"", n.as_str()),
            Color::Rgb(r, g, b) => write!(f, "\"#{r:02x}{g:02x}{b:02x}\""),
            Color::Indexed(i) => write!(f, "{i}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_print_back() {
        let table = [
            (
                "light_blue",
                Color::Named(NamedColor::LightBlue),
                "\"light_blue\"",
            ),
            ("default", Color::Named(NamedColor::Default), "\"default\""),
            ("#1E90ff", Color::Rgb(0x1e, 0x90, 0xff), "\"#1e90ff\""),
            ("42", Color::Indexed(42), "42"),
        ];
        for (text, want, shown) in table {
            assert_eq!(Color::parse(text), Ok(want), "{text}");
            assert_eq!(want.to_string(), shown);
        }
    }

    #[test]
    fn bad_colours_say_why() {
        assert_eq!(
            Color::parse("grean").unwrap_err(),
            "unknown colour — did you mean 'green'?"
        );
        assert!(Color::parse("#12345").unwrap_err().contains("#rrggbb"));
        assert!(Color::parse("#12345g").unwrap_err().contains("#rrggbb"));
        assert!(Color::parse("256").unwrap_err().contains("0-255"));
        assert!(Color::parse("chartreuse")
            .unwrap_err()
            .contains("unknown colour"));
    }
}
