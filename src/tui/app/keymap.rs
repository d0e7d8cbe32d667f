//! The keymap: a pure function from a key and the context it is pressed in to an [`Action`].
//!
//! | key                              | action                                                    |
//! |----------------------------------|-----------------------------------------------------------|
//! | Enter                            | send the message (or run the /command)                    |
//! | Alt+Enter, Shift+Enter, Ctrl+J   | new line in the input                                     |
//! | Up / Down (input empty)          | recall earlier / later prompts                            |
//! | Tab / Shift+Tab                  | focus the next / previous pane (input, conversation, …)   |
//! | PgUp / PgDn                      | scroll the focused pane (the conversation from the input) |
//! | Up / Down, Home / End (on a pane)| scroll a line, to the top, to the end (End follows again) |
//! | Home / End (empty message box)   | the conversation's top / its end, following again         |
//! | mouse wheel / click              | scroll the pane under the pointer / focus it, select turn |
//! | Esc, Ctrl+C, Ctrl+D (generating) | cancel; the partial answer is kept, marked interrupted    |
//! | Ctrl+C (idle)                    | clear the input; quit when it is empty                    |
//! | Ctrl+D (idle, input empty)       | quit                                                      |
//! | Alt+Up / Alt+Down                | select an earlier / later turn                            |
//! | Esc (idle)                       | back to the live turn, dismiss the banner, focus the input|
//! | Ctrl+T                           | toggle "Think carefully."                                 |
//! | Ctrl+Y                           | copy the last (or selected) answer (OSC 52)               |
//! | Ctrl+N                           | new conversation                                          |
//! | F2 / F3                          | show or hide the thinking / reflection pane               |
//! | F4, Ctrl+Z                       | maximise or restore the focused pane                      |
//! | F1, ? (input empty)              | this help; any key closes it (↑↓ PgUp PgDn scroll it)     |
//! | Enter (on the conversation)      | expand / fold the tool calls of the selected (last) turn   |
//! | y / a / n (a tool call asks)     | run it once / always allow the tool / deny (then a reason)|
//! | Esc (a tool call asks or runs)   | deny or stop the call, and end the turn                   |
//!
//! [`HELP`] lists the same for the help overlay; a test checks that they agree.

use crate::tui::layout::Pane;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Where keyboard focus is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Focus {
    #[default]
    Input,
    Output,
    Thinking,
    Reflection,
}

impl Focus {
    /// The pane focused, if a pane is.
    pub fn pane(self) -> Option<Pane> {
        match self {
            Focus::Input => None,
            Focus::Output => Some(Pane::Output),
            Focus::Thinking => Some(Pane::Thinking),
            Focus::Reflection => Some(Pane::Reflection),
        }
    }

    pub fn of(pane: Pane) -> Focus {
        match pane {
            Pane::Output => Focus::Output,
            Pane::Thinking => Focus::Thinking,
            Pane::Reflection => Focus::Reflection,
        }
    }
}

/// What the keymap needs to know about the state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyContext {
    pub focus: Focus,
    pub input_empty: bool,
    /// A generation is running or a message is queued.
    pub busy: bool,
    pub help: bool,
    /// The input shows a recalled prompt, unedited.
    pub recalling: bool,
    /// An earlier turn is selected.
    pub selected: bool,
    pub banner: bool,
    /// The last turn is answered and nothing runs or waits: Up on an empty box edits it.
    pub can_edit: bool,
    /// A tool call waits for the user's approval.
    pub asking: Option<Ask>,
}

/// What the approval prompt waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// `y`, `a`, `n` or Esc.
    Choose,
    /// After `n`: the reason, typed in the message box and sent with Enter.
    Reason,
}

/// What a key asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Send,
    Newline,
    /// An editing key for the input box.
    Edit(KeyEvent),
    /// A key typed on a pane: focus the input, then edit.
    TypeInInput(KeyEvent),
    HistoryPrev,
    HistoryNext,
    /// Put the last message back in the box to edit and resend it.
    EditLast,
    /// End the thinking of the running answer and let the model answer now.
    AnswerNow,
    FocusNext,
    FocusPrev,
    FocusInput,
    /// Scroll the focused pane (the conversation when the input is focused) by lines.
    ScrollLines(isize),
    /// … by pages.
    ScrollPages(isize),
    ScrollTop,
    /// Scroll to the end and follow the tail again.
    Follow,
    Cancel,
    Quit,
    ClearInput,
    ToggleThink,
    ShowHelp,
    CloseHelp,
    /// Scroll the help overlay by lines.
    HelpScroll(isize),
    Copy,
    NewConversation,
    SelectPrev,
    SelectNext,
    SelectLive,
    TogglePane(Pane),
    Maximise,
    DismissBanner,
    /// The user's answer to the tool call asked about.
    Answer(crate::tui::app::tool_loop::Answer),
    /// Other typing while a call is asked about: it answers nothing, and the prompt waits for
    /// a pause in the typing before it takes an answer.
    HoldApproval,
    /// Expand or fold the selected turn's tool call blocks.
    ToggleCalls,
    Nothing,
}

/// The keys and what they do, for the help overlay.
pub const HELP: &[(&str, &str)] = &[
    ("Enter", "send the message (or run the /command)"),
    ("Alt+Enter, Shift+Enter, Ctrl+J", "new line"),
    (
        "Up / Down",
        "empty box: edit the last message, then earlier prompts",
    ),
    ("Ctrl+U / Ctrl+K, Alt+U", "delete to line start / end, undo"),
    ("Tab / Shift+Tab", "focus next / previous pane"),
    (
        "PgUp / PgDn",
        "scroll the focused pane (or the conversation)",
    ),
    (
        "Up/Down, Home/End",
        "on a pane (Home/End: empty box too): scroll; End follows",
    ),
    (
        "Mouse wheel / click",
        "scroll the pane under it / focus, select turn",
    ),
    (
        "Esc, Ctrl+C, Ctrl+D",
        "stop the answer (kept) or the tool call; next queued starts",
    ),
    (
        "Ctrl+C, Ctrl+D",
        "idle, input empty: quit (Ctrl+C clears a full input)",
    ),
    (
        "Alt+Up / Alt+Down, Esc",
        "select an earlier / later turn; Esc: back, dismiss",
    ),
    (
        "Ctrl+G, F5",
        "answer now: end the thinking (while it thinks)",
    ),
    (
        "Ctrl+T / Ctrl+Y / Ctrl+N",
        "toggle \"Think carefully.\" / copy the answer / new chat",
    ),
    (
        "F2 / F3, F4 (Ctrl+Z), F1 / ?",
        "show/hide thinking / reflections; maximise; this help",
    ),
    (
        "Enter (conversation), y a n",
        "expand/fold tool calls; y/a/n answer a tool call's prompt",
    ),
];

fn plain(key: &KeyEvent) -> bool {
    key.modifiers.difference(KeyModifiers::SHIFT).is_empty()
}

/// The action for `key` in context `cx`.
pub fn action(key: KeyEvent, cx: &KeyContext) -> Action {
    if key.kind == KeyEventKind::Release {
        return Action::Nothing;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    if cx.help {
        return match key.code {
            KeyCode::Char('c') if ctrl && cx.busy => Action::Cancel,
            KeyCode::Up => Action::HelpScroll(-1),
            KeyCode::Down => Action::HelpScroll(1),
            KeyCode::PageUp => Action::HelpScroll(-10),
            KeyCode::PageDown => Action::HelpScroll(10),
            _ => Action::CloseHelp,
        };
    }
    if cx.asking == Some(Ask::Choose) {
        if let Some(a) = approval_key(&key) {
            return a;
        }
    }
    let on_input = cx.focus == Focus::Input;
    match key.code {
        KeyCode::Char('c') if ctrl => {
            if cx.busy {
                Action::Cancel
            } else if !cx.input_empty {
                Action::ClearInput
            } else {
                Action::Quit
            }
        }
        KeyCode::Char('d') if ctrl => {
            // While answering, Ctrl+D stops the answer (kept, marked interrupted) as Ctrl+C
            // does; it quits only when idle, as the help says.
            if cx.input_empty && cx.busy {
                Action::Cancel
            } else if cx.input_empty {
                Action::Quit
            } else if on_input {
                Action::Edit(key)
            } else {
                Action::Nothing
            }
        }
        KeyCode::Esc => {
            if cx.busy {
                Action::Cancel
            } else if cx.selected {
                Action::SelectLive
            } else if cx.banner {
                Action::DismissBanner
            } else if !on_input {
                Action::FocusInput
            } else {
                Action::Nothing
            }
        }
        KeyCode::Char('t') if ctrl => Action::ToggleThink,
        KeyCode::Char('g') if ctrl => Action::AnswerNow,
        KeyCode::F(5) => Action::AnswerNow,
        KeyCode::Char('y') if ctrl => Action::Copy,
        KeyCode::Char('n') if ctrl => Action::NewConversation,
        KeyCode::Char('z') if ctrl => Action::Maximise,
        KeyCode::Char('j') if ctrl => Action::Newline,
        KeyCode::F(1) => Action::ShowHelp,
        KeyCode::F(2) => Action::TogglePane(Pane::Thinking),
        KeyCode::F(3) => Action::TogglePane(Pane::Reflection),
        KeyCode::F(4) => Action::Maximise,
        KeyCode::Tab if !ctrl && !alt => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Up if alt => Action::SelectPrev,
        KeyCode::Down if alt => Action::SelectNext,
        KeyCode::PageUp => Action::ScrollPages(-1),
        KeyCode::PageDown => Action::ScrollPages(1),
        KeyCode::Enter if alt || shift => Action::Newline,
        KeyCode::Enter if on_input => Action::Send,
        KeyCode::Enter if cx.focus == Focus::Output => Action::ToggleCalls,
        KeyCode::Enter => Action::FocusInput,
        KeyCode::Char('?') if cx.input_empty && plain(&key) => Action::ShowHelp,
        // End follows the answer again from the message box too, and Home goes to the top:
        // always with Ctrl, and without when there is no text whose cursor they would move.
        KeyCode::End if ctrl || (on_input && cx.input_empty && plain(&key)) => Action::Follow,
        KeyCode::Home if ctrl || (on_input && cx.input_empty && plain(&key)) => Action::ScrollTop,
        _ if on_input => input_key(key, cx),
        _ => pane_key(key),
    }
}

/// Keys while the approval prompt waits for `y`, `a`, `n`: those three answer, other plain
/// typing does nothing (nothing runs by accident); the rest (Esc, scrolling) as usual.
fn approval_key(key: &KeyEvent) -> Option<Action> {
    use crate::tui::app::tool_loop::Answer;
    if !plain(key) {
        return None;
    }
    Some(match key.code {
        KeyCode::Char('y' | 'Y') => Action::Answer(Answer::Once),
        KeyCode::Char('a' | 'A') => Action::Answer(Answer::Always),
        KeyCode::Char('n' | 'N') => Action::Answer(Answer::No),
        KeyCode::Char(_) | KeyCode::Enter | KeyCode::Backspace => Action::HoldApproval,
        _ => return None,
    })
}

/// Keys on the input box that the global keys left.
fn input_key(key: KeyEvent, cx: &KeyContext) -> Action {
    let recall = (cx.input_empty || cx.recalling) && key.modifiers.is_empty();
    match key.code {
        KeyCode::Up if recall && cx.input_empty && cx.can_edit => Action::EditLast,
        KeyCode::Up if recall => Action::HistoryPrev,
        KeyCode::Down if recall => Action::HistoryNext,
        _ => Action::Edit(key),
    }
}

/// Keys on a focused pane.
fn pane_key(key: KeyEvent) -> Action {
    if !plain(&key) {
        return Action::Nothing;
    }
    match key.code {
        KeyCode::Up => Action::ScrollLines(-1),
        KeyCode::Down => Action::ScrollLines(1),
        KeyCode::Home => Action::ScrollTop,
        KeyCode::End => Action::Follow,
        KeyCode::Char(_) | KeyCode::Backspace => Action::TypeInInput(key),
        _ => Action::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyCode::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    const NONE: KeyModifiers = KeyModifiers::NONE;
    const CTRL: KeyModifiers = KeyModifiers::CONTROL;
    const ALT: KeyModifiers = KeyModifiers::ALT;
    const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

    fn idle() -> KeyContext {
        KeyContext {
            input_empty: true,
            ..KeyContext::default()
        }
    }

    /// The contexts the tables below press keys in.
    struct Contexts {
        typing: KeyContext,
        busy: KeyContext,
        busy_typing: KeyContext,
        on_output: KeyContext,
        selected: KeyContext,
        banner: KeyContext,
        recalling: KeyContext,
        help: KeyContext,
    }

    fn contexts() -> Contexts {
        let typing = KeyContext {
            input_empty: false,
            ..idle()
        };
        let busy = KeyContext {
            busy: true,
            ..idle()
        };
        Contexts {
            typing,
            busy,
            busy_typing: KeyContext {
                busy: true,
                ..typing
            },
            on_output: KeyContext {
                focus: Focus::Output,
                ..idle()
            },
            selected: KeyContext {
                selected: true,
                ..idle()
            },
            banner: KeyContext {
                banner: true,
                ..idle()
            },
            recalling: KeyContext {
                recalling: true,
                ..typing
            },
            help: KeyContext {
                help: true,
                ..idle()
            },
        }
    }

    fn check(table: Vec<(KeyEvent, KeyContext, Action)>) {
        for (k, cx, want) in table {
            assert_eq!(action(k, &cx), want, "{k:?} in {cx:?}");
        }
    }

    #[test]
    fn sending_newlines_and_history() {
        let Contexts {
            typing,
            on_output,
            recalling,
            ..
        } = contexts();
        let x = key(Char('x'), NONE);
        check(vec![
            (key(Enter, NONE), typing, Action::Send),
            (key(Enter, ALT), typing, Action::Newline),
            (key(Enter, SHIFT), typing, Action::Newline),
            (key(Char('j'), CTRL), typing, Action::Newline),
            (key(Enter, NONE), on_output, Action::ToggleCalls),
            (
                key(Enter, NONE),
                KeyContext {
                    focus: Focus::Thinking,
                    ..idle()
                },
                Action::FocusInput,
            ),
            (key(Up, NONE), idle(), Action::HistoryPrev),
            (key(Down, NONE), idle(), Action::HistoryNext),
            (key(Up, NONE), recalling, Action::HistoryPrev),
            (key(Up, NONE), typing, Action::Edit(key(Up, NONE))),
            (x, typing, Action::Edit(x)),
            (
                x,
                KeyContext {
                    focus: Focus::Thinking,
                    ..typing
                },
                Action::TypeInInput(x),
            ),
            (key(Char('x'), CTRL), on_output, Action::Nothing),
        ]);
    }

    #[test]
    fn scrolling_and_selecting() {
        let Contexts {
            typing, on_output, ..
        } = contexts();
        check(vec![
            (key(Up, NONE), on_output, Action::ScrollLines(-1)),
            (key(Down, NONE), on_output, Action::ScrollLines(1)),
            (key(Home, NONE), on_output, Action::ScrollTop),
            (key(End, NONE), on_output, Action::Follow),
            (key(End, NONE), typing, Action::Edit(key(End, NONE))),
            (key(End, NONE), idle(), Action::Follow),
            (key(Home, NONE), idle(), Action::ScrollTop),
            (key(Home, NONE), typing, Action::Edit(key(Home, NONE))),
            (key(End, CTRL), typing, Action::Follow),
            (key(Home, CTRL), typing, Action::ScrollTop),
            (key(PageUp, NONE), idle(), Action::ScrollPages(-1)),
            (key(PageDown, NONE), on_output, Action::ScrollPages(1)),
            (key(Up, ALT), idle(), Action::SelectPrev),
            (key(Down, ALT), typing, Action::SelectNext),
        ]);
    }

    #[test]
    fn cancelling_quitting_and_escaping() {
        let Contexts {
            typing,
            busy,
            busy_typing,
            on_output,
            selected,
            banner,
            ..
        } = contexts();
        check(vec![
            (key(Esc, NONE), busy, Action::Cancel),
            (key(Esc, NONE), busy_typing, Action::Cancel),
            (key(Char('c'), CTRL), busy, Action::Cancel),
            (key(Char('c'), CTRL), typing, Action::ClearInput),
            (key(Char('c'), CTRL), idle(), Action::Quit),
            (key(Char('d'), CTRL), idle(), Action::Quit),
            (key(Char('d'), CTRL), busy, Action::Cancel),
            (
                key(Char('d'), CTRL),
                typing,
                Action::Edit(key(Char('d'), CTRL)),
            ),
            (key(Esc, NONE), selected, Action::SelectLive),
            (key(Esc, NONE), banner, Action::DismissBanner),
            (key(Esc, NONE), on_output, Action::FocusInput),
            (key(Esc, NONE), idle(), Action::Nothing),
        ]);
    }

    #[test]
    fn focus_panes_and_commands() {
        let Contexts {
            typing,
            busy,
            on_output,
            ..
        } = contexts();
        check(vec![
            (key(Tab, NONE), idle(), Action::FocusNext),
            (key(BackTab, SHIFT), idle(), Action::FocusPrev),
            (key(Char('t'), CTRL), idle(), Action::ToggleThink),
            (key(Char('y'), CTRL), typing, Action::Copy),
            (key(Char('n'), CTRL), busy, Action::NewConversation),
            (key(F(2), NONE), idle(), Action::TogglePane(Pane::Thinking)),
            (
                key(F(3), NONE),
                idle(),
                Action::TogglePane(Pane::Reflection),
            ),
            (key(F(4), NONE), idle(), Action::Maximise),
            (key(Char('z'), CTRL), idle(), Action::Maximise),
            (key(F(1), NONE), typing, Action::ShowHelp),
            (key(Char('?'), NONE), idle(), Action::ShowHelp),
            (key(Char('?'), SHIFT), on_output, Action::ShowHelp),
            (
                key(Char('?'), NONE),
                typing,
                Action::Edit(key(Char('?'), NONE)),
            ),
        ]);
    }

    #[test]
    fn the_help_overlay() {
        let help = contexts().help;
        check(vec![
            (key(Esc, NONE), help, Action::CloseHelp),
            (key(Char('q'), NONE), help, Action::CloseHelp),
            (key(F(1), NONE), help, Action::CloseHelp),
            (key(Char('c'), CTRL), help, Action::CloseHelp),
            (
                key(Char('c'), CTRL),
                KeyContext { busy: true, ..help },
                Action::Cancel,
            ),
            (key(Down, NONE), help, Action::HelpScroll(1)),
            (key(PageUp, NONE), help, Action::HelpScroll(-10)),
        ]);
    }

    #[test]
    fn a_tool_call_asking_takes_y_a_n_and_esc_and_nothing_else_types() {
        use crate::tui::app::tool_loop::Answer;
        let asking = KeyContext {
            busy: true,
            asking: Some(Ask::Choose),
            ..idle()
        };
        let reason = KeyContext {
            asking: Some(Ask::Reason),
            ..asking
        };
        check(vec![
            (key(Char('y'), NONE), asking, Action::Answer(Answer::Once)),
            (key(Char('a'), NONE), asking, Action::Answer(Answer::Always)),
            (key(Char('n'), NONE), asking, Action::Answer(Answer::No)),
            (key(Char('N'), SHIFT), asking, Action::Answer(Answer::No)),
            (key(Char('x'), NONE), asking, Action::HoldApproval),
            (key(Enter, NONE), asking, Action::HoldApproval),
            (key(Esc, NONE), asking, Action::Cancel),
            (key(Char('c'), CTRL), asking, Action::Cancel),
            (key(PageUp, NONE), asking, Action::ScrollPages(-1)),
            (key(Tab, NONE), asking, Action::FocusNext),
            // After n, the reason is typed in the box and sent with Enter.
            (
                key(Char('y'), NONE),
                reason,
                Action::Edit(key(Char('y'), NONE)),
            ),
            (key(Enter, NONE), reason, Action::Send),
            (key(Esc, NONE), reason, Action::Cancel),
        ]);
    }

    #[test]
    fn key_releases_do_nothing() {
        let mut k = key(Enter, NONE);
        k.kind = KeyEventKind::Release;
        let typing = KeyContext::default();
        assert_eq!(action(k, &typing), Action::Nothing);
    }

    #[test]
    fn the_help_table_names_every_bound_key() {
        let text: String = HELP.iter().map(|(k, d)| format!("{k} {d}\n")).collect();
        for name in [
            "Enter",
            "Alt+Enter",
            "Shift+Enter",
            "Ctrl+J",
            "Up / Down",
            "Tab",
            "Shift+Tab",
            "PgUp",
            "PgDn",
            "Home/End",
            "Mouse wheel",
            "Esc",
            "Ctrl+C",
            "Ctrl+D",
            "Alt+Up",
            "Alt+Down",
            "Ctrl+T",
            "Ctrl+Y",
            "Ctrl+N",
            "F2",
            "F3",
            "F4",
            "Ctrl+Z",
            "F1",
            "?",
        ] {
            assert!(text.contains(name), "{name} missing from HELP");
        }
    }
}
