//! The status bar: the phase on the left (loading with a percentage bar, reading the prompt,
//! thinking, reflecting, answering, idle); on the right the model, its back end and offloaded
//! layers, the profile, "Think carefully.", the thinking budget's gauge, the MCP servers (while
//! tools are on), tokens per second and context use; first, while the window is too small for the side panes, why they are hidden.
//! Segments that do not fit are dropped, least important first.

use crate::hub::progress::{bytes, short_duration};
use crate::term_safe::neutralise;
use crate::theme::Purpose;
use crate::tui::app::{App, Phase};
use crate::tui::layout::{SidePanes, WIDE};
use crate::tui::text::style;
use crate::tui::text::wrap::width;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

/// Cells of the loading bar.
const BAR: usize = 20;
const SEP: &str = " │ ";
const MAX_MODEL_NAME: usize = 32;

/// `▕██████░░░░▏ 42%`
pub fn loading_bar(progress: f32) -> String {
    let p = if progress.is_finite() {
        progress.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let full = ((p * BAR as f32).round() as usize).min(BAR);
    format!(
        "▕{}{}▏ {:>3.0}%",
        "█".repeat(full),
        "░".repeat(BAR - full),
        p * 100.0
    )
}

/// The phase segment.
pub fn phase_text(app: &App) -> String {
    let phase = app.phase();
    let queued = app.turns().iter().filter(|t| t.is_queued()).count();
    let mut s = match phase {
        Phase::Loading(p) => match &app.download {
            Some(d) => {
                let share = if d.total > 0 {
                    d.done as f32 / d.total as f32
                } else {
                    0.0
                };
                let rate = d
                    .rate
                    .filter(|r| *r > 0.0)
                    .map(|r| {
                        let eta = std::time::Duration::try_from_secs_f64(
                            d.total.saturating_sub(d.done) as f64 / r,
                        )
                        .unwrap_or(std::time::Duration::MAX);
                        format!(" · {}/s · ETA {}", bytes(r as u64), short_duration(eta))
                    })
                    .unwrap_or_default();
                format!(
                    "Downloading {} {} {} / {}{rate}",
                    d.file,
                    loading_bar(share),
                    bytes(d.done),
                    bytes(d.total)
                )
            }
            None => format!("Loading {}", loading_bar(p)),
        },
        Phase::Prompt(Some(pct)) => format!("{} {pct}%", phase.label()),
        Phase::Prompt(None) | Phase::Thinking | Phase::Reflecting | Phase::Answering => {
            let pieces = app
                .generating()
                .and_then(|id| app.turns().iter().find(|t| t.id == id))
                .map_or(0, |t| t.pieces);
            if pieces > 0 {
                format!("{} · {pieces} tok", phase.label())
            } else {
                phase.label().to_string()
            }
        }
        Phase::Tool | Phase::Asking => tool_phase(app, phase),
        other => other.label().to_string(),
    };
    if queued > 0 && phase != Phase::Queued {
        s.push_str(&format!(" · {queued} queued"));
    }
    s
}

/// The call between two steps: `running run_command · 12s`, or which call waits for `y a n`.
fn tool_phase(app: &App, phase: Phase) -> String {
    let call = app
        .turns()
        .iter()
        .rev()
        .find_map(crate::tui::phase::current_call);
    let Some(call) = call else {
        return phase.label().to_string();
    };
    let name = neutralise(&call.call.name).into_owned();
    match phase {
        Phase::Asking if app.tools.typing_reason() => {
            format!("deny {name}: type a reason, Enter sends (none: Enter) · Esc stop")
        }
        Phase::Asking => format!("allow {name}? y once · a always · n deny · Esc stop"),
        _ => format!(
            "running {name} · {}",
            crate::tui::text::call_block::elapsed(call.elapsed_ms)
        ),
    }
}

/// The thinking budget's gauge: the running (else the latest) turn's thinking against its
/// limit, the reflections' share, and how it ended; the colour changes at 80% and 100%.
pub fn budget_gauge(app: &App) -> Option<(String, Option<Purpose>)> {
    let latest = app
        .turns()
        .iter()
        .rev()
        .find(|t| !t.is_queued())
        .and_then(|t| t.budget.as_ref());
    let Some(b) = latest else {
        return app
            .settings()
            .budget
            .limit
            .map(|l| (format!("budget {l}"), None));
    };
    let mut text = match b.limit {
        Some(limit) => format!("think {}/{limit}", b.used),
        None => format!("think {}", b.used),
    };
    if b.reflection > 0 {
        text.push_str(&format!(" (↺ {})", b.reflection));
    }
    if b.extensions > 0 {
        text.push_str(&format!(" ⟳{}", b.extensions));
    }
    if b.forced_by.is_some() {
        text.push_str(" ⏹");
    }
    let colour = b.limit.filter(|l| *l > 0).and_then(|l| {
        let pct = u64::from(b.used) * 100 / u64::from(l);
        if pct >= 100 {
            Some(Purpose::Error)
        } else if pct >= 80 {
            Some(Purpose::Warning)
        } else {
            None
        }
    });
    Some((text, colour))
}

/// Why the side panes are not shown and what brings them back, in at most `room` columns:
/// `None` when they are shown or hidden by the user.
pub fn side_panes_hint(app: &App, room: usize) -> Option<String> {
    let SidePanes::TooSmall { rows } = app.side_panes() else {
        return None;
    };
    let forms = match rows {
        Some(rows) => vec![
            format!("side panes hidden: need {rows} rows or {WIDE} cols"),
            format!("panes hidden: need {rows} rows"),
            format!("panes: {rows}+ rows"),
        ],
        None => vec![
            format!("side panes hidden: need {WIDE} cols"),
            format!("panes: {WIDE}+ cols"),
        ],
    };
    forms.into_iter().find(|f| width(f) <= room)
}

/// The right-hand segments in display order, each with its priority (lower: kept longer) and
/// its colour when it has one of its own; `room` is the width left of the status bar.
fn segments(app: &App, room: usize) -> Vec<(u8, String, Option<Purpose>)> {
    let settings = app.settings();
    let mut out = Vec::new();
    if let Some(hint) = side_panes_hint(app, room.saturating_sub(width(SEP))) {
        out.push((0, hint, Some(Purpose::Warning)));
    }
    let name = match app.model() {
        Some(m) => m.name.clone(),
        None => settings.engine.display_name(),
    };
    out.push((
        2,
        crate::session::shorten(&neutralise(&name), MAX_MODEL_NAME),
        None,
    ));
    if let Some(m) = app.model() {
        let backend = neutralise(&m.backend).into_owned();
        let where_ = match &m.local {
            Some(l) if l.layers_offloaded > 0 => {
                // llama.cpp counts the output layer too: at most `layers + 1` go to the GPU.
                let of = l.layers.saturating_add(1).max(l.layers_offloaded);
                format!("{backend} {}/{of} layers", l.layers_offloaded)
            }
            _ => backend,
        };
        out.push((5, where_, None));
    }
    out.push((
        4,
        format!("profile {}", neutralise(&settings.profile)),
        None,
    ));
    out.push((
        1,
        if settings.think_carefully {
            "think ✓".to_string()
        } else {
            "think ✗".to_string()
        },
        None,
    ));
    if let Some((gauge, colour)) = budget_gauge(app) {
        out.push((1, gauge, colour));
    }
    if let Some(mcp) = app.tools.mcp.label().filter(|_| settings.tools.on) {
        out.push((5, mcp, None));
    }
    if let Some(tps) = app.last_speed {
        out.push((6, format!("{tps:.1} tok/s"), None));
    }
    if let Some(share) = app.last_acceptance {
        out.push((6, format!("spec {:.0}%", share * 100.0), None));
    }
    if let Some(m) = app.model() {
        out.push((
            3,
            if m.context_size > 0 {
                format!("ctx {}/{}", app.context_used(), m.context_size)
            } else {
                format!("ctx {}", app.context_used())
            },
            None,
        ));
    }
    let cost = app
        .turns()
        .iter()
        .filter_map(|t| t.cost)
        .fold(None, |sum: Option<f64>, c| Some(sum.unwrap_or(0.0) + c));
    if let Some(c) = cost {
        out.push((4, crate::llm::format_usd(c), None));
    }
    out
}

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let bar = style::of(&app.theme, Purpose::StatusBar);
    buf.set_style(area, bar);
    let total = usize::from(area.width);
    let phase = format!(" {} ", phase_text(app));
    let phase_w = width(&phase).min(total);
    buf.set_line(
        area.x,
        area.y,
        &Line::from(Span::styled(phase, bar.add_modifier(Modifier::BOLD))),
        area.width,
    );
    // The right-hand segments that fit, most important first, shown in display order.
    let segs = segments(app, total.saturating_sub(phase_w + 1));
    let mut order: Vec<usize> = (0..segs.len()).collect();
    order.sort_by_key(|i| segs[*i].0);
    let mut keep = vec![false; segs.len()];
    let mut used = phase_w + 1;
    for i in order {
        let w = width(&segs[i].1) + width(SEP);
        if used + w <= total {
            keep[i] = true;
            used += w;
        }
    }
    let right: Vec<&(u8, String, Option<Purpose>)> = segs
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(s, _)| s)
        .collect();
    if right.is_empty() {
        return;
    }
    let mut spans = Vec::new();
    for (i, (_, text, colour)) in right.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(SEP, bar));
        }
        let st = match colour {
            Some(p) => bar
                .patch(style::of(&app.theme, *p))
                .add_modifier(Modifier::BOLD),
            None => bar,
        };
        spans.push(Span::styled(text.clone(), st));
    }
    spans.push(Span::styled(" ", bar));
    let line = Line::from(spans);
    let w = line.width();
    let x = area.x + (total.saturating_sub(w)) as u16;
    buf.set_line(x, area.y, &line, area.width);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loading_bar_shows_the_percentage() {
        assert_eq!(loading_bar(0.0), "▕░░░░░░░░░░░░░░░░░░░░▏   0%");
        assert_eq!(loading_bar(0.42), "▕████████░░░░░░░░░░░░▏  42%");
        assert_eq!(loading_bar(1.0), "▕████████████████████▏ 100%");
        assert_eq!(loading_bar(f32::NAN), loading_bar(0.0));
        assert_eq!(loading_bar(7.0), loading_bar(1.0));
    }
}
