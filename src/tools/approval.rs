//! Which calls run, which wait for the user, and which are denied, in the chat (someone can be
//! asked) and in pipe mode (no one can): pure, so the rules are tested without a terminal.
//! Nothing here runs a tool.

use super::policy::{Policies, Policy};
use std::collections::BTreeSet;

/// What happens to one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Runs now.
    Run,
    /// Waits for the user's y / a / n / Esc.
    Ask,
    /// Does not run. `to_model` is the tool result the model reads; `to_user` says on stderr
    /// (pipe mode) which call was denied and how to allow it.
    Deny { to_model: String, to_user: String },
}

/// The approval state of one session.
#[derive(Debug, Clone)]
pub struct Approval {
    policies: Policies,
    /// Whether someone can be asked (the chat), or not (pipe mode).
    interactive: bool,
    /// Tools the user allowed for the rest of the session (`a`).
    always: BTreeSet<String>,
}

impl Approval {
    pub fn new(policies: Policies, interactive: bool) -> Approval {
        Approval {
            policies,
            interactive,
            always: BTreeSet::new(),
        }
    }

    /// The verdict on a call to `tool`; `shown` is the call as the user reads it.
    pub fn verdict(&self, tool: &str, shown: &str) -> Verdict {
        match self.policies.get(tool) {
            Policy::Allow => Verdict::Run,
            Policy::Deny => Verdict::Deny {
                to_model: format!("denied: the user's settings do not allow {tool}"),
                to_user: format!("denied {shown}: config.toml's [tools] deny list names {tool}"),
            },
            Policy::Ask if self.always.contains(tool) => Verdict::Run,
            Policy::Ask if self.interactive => Verdict::Ask,
            Policy::Ask => Verdict::Deny {
                to_model: format!(
                    "denied: {tool} needs the user's approval, and no one could be asked"
                ),
                to_user: format!(
                    "denied {shown}: it needs approval, and pipe mode cannot ask; allow it with \
                     --allow {tool}, or every tool with --yes"
                ),
            },
        }
    }

    /// `a`: the tool runs without asking for the rest of the session.
    pub fn always_allow(&mut self, tool: &str) {
        self.always.insert(tool.to_string());
    }

    /// Whether `a` allowed `tool` for the rest of the session.
    pub fn always_allowed(&self, tool: &str) -> bool {
        self.always.contains(tool)
    }
}

/// The result the model reads when the user says no (`n`, optionally with a reason).
pub fn denied_by_user(reason: Option<&str>) -> String {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("denied by the user: {r}"),
        None => "denied by the user".to_string(),
    }
}

/// Counts the steps of a turn (one generation each) and stops a runaway loop.
#[derive(Debug, Clone, Copy)]
pub struct Steps {
    done: u32,
    max: u32,
}

/// The default for `--max-steps`.
pub const MAX_STEPS: u32 = 10;

impl Steps {
    pub fn new(max: u32) -> Steps {
        Steps { done: 0, max }
    }

    /// Begins the next step after tool results; refused (with the notice to show) when the
    /// turn has used its steps.
    pub fn begin_next(&mut self) -> Result<u32, String> {
        if self.done + 1 >= self.max {
            return Err(format!(
                "stopped after {} steps: the model kept calling tools (--max-steps {}); ask \
                 again, or raise --max-steps to let it go on",
                self.max, self.max
            ));
        }
        self.done += 1;
        Ok(self.done + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deny_text(v: Verdict) -> (String, String) {
        match v {
            Verdict::Deny { to_model, to_user } => (to_model, to_user),
            v => panic!("expected a denial, got {v:?}"),
        }
    }

    #[test]
    fn the_chat_asks_and_pipe_mode_denies_what_needs_approval() {
        let chat = Approval::new(crate::tools::builtin::policies(), true);
        let pipe = Approval::new(crate::tools::builtin::policies(), false);
        assert_eq!(chat.verdict("read_file", "read_file path=a"), Verdict::Run);
        assert_eq!(pipe.verdict("read_file", "read_file path=a"), Verdict::Run);
        assert_eq!(
            chat.verdict("run_command", "run_command command=ls"),
            Verdict::Ask
        );
        let (model, user) = deny_text(pipe.verdict("run_command", "run_command command=ls"));
        assert_eq!(
            model,
            "denied: run_command needs the user's approval, and no one could be asked"
        );
        assert!(
            user.starts_with("denied run_command command=ls: it needs approval"),
            "{user}"
        );
        assert!(
            user.contains("--allow run_command") && user.contains("--yes"),
            "{user}"
        );
    }

    #[test]
    fn always_allow_lasts_the_session_and_deny_lists_win() {
        let mut policies = crate::tools::builtin::policies();
        policies.set(&["write_file".into()], Policy::Deny);
        let mut chat = Approval::new(policies.clone(), true);
        chat.always_allow("edit_file");
        assert_eq!(chat.verdict("edit_file", "edit_file"), Verdict::Run);
        assert_eq!(chat.verdict("run_command", "run_command"), Verdict::Ask);
        chat.always_allow("write_file");
        let (model, user) = deny_text(chat.verdict("write_file", "write_file path=x"));
        assert_eq!(model, "denied: the user's settings do not allow write_file");
        assert!(user.contains("deny list names write_file"), "{user}");
        let mut yes = policies;
        yes.yes_to_all();
        let pipe = Approval::new(yes, false);
        assert_eq!(pipe.verdict("run_command", "run_command"), Verdict::Run);
        assert!(matches!(
            pipe.verdict("write_file", "w"),
            Verdict::Deny { .. }
        ));
    }

    #[test]
    fn a_user_denial_carries_its_reason() {
        assert_eq!(denied_by_user(None), "denied by the user");
        assert_eq!(denied_by_user(Some("  ")), "denied by the user");
        assert_eq!(
            denied_by_user(Some("use git mv")),
            "denied by the user: use git mv"
        );
    }

    #[test]
    fn steps_stop_a_runaway_loop_at_the_limit() {
        let mut s = Steps::new(3);
        assert_eq!(s.begin_next(), Ok(2));
        assert_eq!(s.begin_next(), Ok(3));
        let e = s.begin_next().unwrap_err();
        assert!(
            e.starts_with("stopped after 3 steps") && e.contains("--max-steps 3"),
            "{e}"
        );
        assert!(
            Steps::new(1).begin_next().is_err(),
            "one step: no tool results are sent back"
        );
    }
}
