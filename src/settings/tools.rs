//! The tool settings of a run: the profile's `tools` list, then config.toml's `tools` (on/off,
//! the `allow` / `ask` / `deny` lists, `max_steps`), then the flags (`--tools` / `--no-tools`,
//! `--allow`, `--yes`, `--max-steps`, `--workspace`).

use super::{Context, Request};
use crate::exit::Failure;
use crate::profile::Profile;
use crate::tools::{Policy, ToolSettings, Workspace};

impl Context {
    /// What tools `run` offers on `profile` (the flags already applied to it), under which
    /// policies, where, and for how many steps.
    pub(super) fn tool_settings(
        &self,
        run: &Request,
        profile: &Profile,
    ) -> Result<ToolSettings, Failure> {
        let mut t = ToolSettings::default();
        let config = &self.config.tools;
        let flags = &run.tools;
        if !profile.tools.is_empty() {
            t.on = true;
            t.offered.clone_from(&profile.tools);
        }
        t.on = flags.on.or(config.on).unwrap_or(t.on);
        for (tool, policy) in &config.policies {
            t.policies.set(std::slice::from_ref(tool), *policy);
        }
        for tool in &flags.allow {
            if let Some(why) = crate::config::tools::unknown_tool(tool) {
                return Err(Failure::usage(format!("--allow {tool}: {why}")));
            }
        }
        t.policies.set(&flags.allow, Policy::Allow);
        if flags.yes {
            t.policies.yes_to_all();
        }
        if let Some(n) = flags.max_steps.or(config.max_steps) {
            t.max_steps = n;
        }
        if let Some(dir) = &flags.workspace {
            let ws = Workspace::new(dir).map_err(|why| {
                Failure::usage(format!(
                    "--workspace {}: {why}; give a directory that exists",
                    dir.display()
                ))
            })?;
            t.workspace = ws.root().to_path_buf();
        }
        Ok(t)
    }
}

/// Pipe mode: tool flags given while tools are off would be ignored, so they are a usage
/// error that says how to turn tools on. (The chat takes them: `/tools on` may follow.)
pub fn check_tool_flags_used(run: &Request, tools: &ToolSettings) -> Result<(), Failure> {
    let given = run.tools.given();
    if tools.on || given.is_empty() {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "{}: tools are off; turn them on with --tools (or --profile agent, or tools = true in \
         config.toml)",
        given.join(" ")
    )))
}

#[cfg(test)]
mod tests {
    use super::super::{Environment, RunSettings, ToolFlags};
    use super::*;
    use std::path::Path;

    /// Settings for a model file with this config.toml, these user profiles, this profile and
    /// these tool flags.
    fn resolve(
        config: &str,
        profiles: &[(&str, &str)],
        profile: Option<&str>,
        tools: ToolFlags,
    ) -> Result<RunSettings, Failure> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("prompts")).unwrap();
        for (name, text) in profiles {
            std::fs::write(dir.path().join(format!("prompts/{name}.toml")), text).unwrap();
        }
        let ctx = Context::load(Environment::new(Some(dir.path().to_path_buf()), []))
            .map_err(Failure::from)?;
        let run = Request {
            model: Some("x.gguf".into()),
            profile: profile.map(str::to_string),
            tools,
            ..Request::default()
        };
        ctx.run_settings_with(&run, || unreachable!(), |_: &Path| None)
    }

    fn tools(config: &str, profile: Option<&str>, flags: ToolFlags) -> ToolSettings {
        resolve(config, &[], profile, flags).unwrap().tools
    }

    fn flags_on() -> ToolFlags {
        ToolFlags {
            on: Some(true),
            ..ToolFlags::default()
        }
    }

    #[test]
    fn tools_are_off_by_default_and_the_agent_profile_turns_them_all_on() {
        let t = tools("", None, ToolFlags::default());
        assert_eq!(t, ToolSettings::default());
        assert!(!t.on && t.schemas().is_empty());
        let s = resolve("", &[], Some("agent"), ToolFlags::default()).unwrap();
        assert!(s.tools.on);
        assert_eq!(
            s.tools.offered,
            ToolSettings::default().offered,
            "every tool"
        );
        assert_eq!(s.tools.schemas().len(), 6);
        let card = crate::prompt::REFLECTION_SYSTEM_PROMPT;
        let system = s.system.unwrap();
        assert!(
            system.starts_with(card),
            "the card's prompt, as is: {system}"
        );
        assert!(system[card.len()..].contains("inside <output> and only there"));
        let reflection = resolve("", &[], Some("reflection"), ToolFlags::default()).unwrap();
        assert!(!reflection.tools.on, "reflection stays without tools");
        assert_eq!(reflection.system.as_deref(), Some(card));
    }

    #[test]
    fn flags_beat_config_toml_which_beats_the_profile() {
        let mine = [("mine", "tools = [\"read_file\", \"search\"]\n")];
        let on_off = |config: &str, profile: Option<&str>, on: Option<bool>| {
            let flags = ToolFlags {
                on,
                ..ToolFlags::default()
            };
            resolve(config, &mine, profile, flags).unwrap().tools.on
        };
        let table = [
            ("", None, None, false),
            ("", Some("mine"), None, true),
            ("tools = true", None, None, true),
            ("tools = false", Some("agent"), None, false),
            ("[tools]\non = false\n", Some("mine"), None, false),
            ("tools = false", Some("agent"), Some(true), true),
            ("tools = true", None, Some(false), false),
            ("", Some("agent"), Some(false), false),
        ];
        for (config, profile, flag, want) in table {
            assert_eq!(
                on_off(config, profile, flag),
                want,
                "{config:?} {profile:?} {flag:?}"
            );
        }
        let t = resolve("", &mine, Some("mine"), ToolFlags::default())
            .unwrap()
            .tools;
        assert_eq!(
            t.offered,
            ["read_file", "search"],
            "what the profile offers"
        );
        let names: Vec<String> = t
            .schemas()
            .iter()
            .map(|s| s["function"]["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["read_file", "search"]);
        let off = [("none", "extends = \"agent\"\ntools = []\n")];
        assert!(
            !resolve("", &off, Some("none"), ToolFlags::default())
                .unwrap()
                .tools
                .on
        );
    }

    #[test]
    fn policies_come_from_the_defaults_config_toml_allow_and_yes() {
        let config =
            "[tools]\nallow = [\"write_file\"]\ndeny = [\"run_command\"]\nask = [\"read_file\"]\n";
        let t = tools(config, None, flags_on());
        let p = |t: &ToolSettings, tool: &str| t.policies.get(tool);
        assert_eq!(p(&t, "write_file"), Policy::Allow);
        assert_eq!(p(&t, "run_command"), Policy::Deny);
        assert_eq!(p(&t, "read_file"), Policy::Ask);
        assert_eq!(p(&t, "edit_file"), Policy::Ask, "the default");
        assert_eq!(p(&t, "list_dir"), Policy::Allow, "the default");
        let yes = tools(
            config,
            None,
            ToolFlags {
                yes: true,
                ..flags_on()
            },
        );
        assert_eq!(p(&yes, "edit_file"), Policy::Allow);
        assert_eq!(p(&yes, "read_file"), Policy::Allow);
        assert_eq!(
            p(&yes, "run_command"),
            Policy::Deny,
            "--yes never overrides a deny"
        );
        let allow = ToolFlags {
            allow: vec!["edit_file".into(), "run_command".into()],
            ..flags_on()
        };
        let allowed = tools(config, None, allow);
        assert_eq!(p(&allowed, "edit_file"), Policy::Allow);
        assert_eq!(
            p(&allowed, "run_command"),
            Policy::Allow,
            "named on the command line"
        );
        assert_eq!(p(&allowed, "read_file"), Policy::Ask);
    }

    #[test]
    fn max_steps_and_workspace() {
        assert_eq!(tools("", None, flags_on()).max_steps, 10);
        assert_eq!(
            tools("[tools]\nmax_steps = 4\n", None, flags_on()).max_steps,
            4
        );
        let two = ToolFlags {
            max_steps: Some(2),
            ..flags_on()
        };
        assert_eq!(tools("[tools]\nmax_steps = 4\n", None, two).max_steps, 2);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let ws = ToolFlags {
            workspace: Some(dir.path().join("sub/..")),
            ..flags_on()
        };
        assert_eq!(
            tools("", None, ws).workspace,
            dir.path().canonicalize().unwrap()
        );
        let missing = dir.path().join("nowhere");
        let e = resolve(
            "",
            &[],
            None,
            ToolFlags {
                workspace: Some(missing.clone()),
                ..flags_on()
            },
        )
        .unwrap_err();
        assert_eq!(e.code, crate::exit::code::USAGE);
        assert!(
            e.message
                .starts_with(&format!("--workspace {}: cannot use", missing.display()))
                && e.message.ends_with("give a directory that exists"),
            "{}",
            e.message
        );
    }

    #[test]
    fn wrong_tool_names_are_usage_errors_that_list_the_tools() {
        let e = resolve(
            "",
            &[],
            None,
            ToolFlags {
                allow: vec!["rm".into()],
                ..flags_on()
            },
        )
        .unwrap_err();
        assert_eq!(e.code, crate::exit::code::USAGE);
        assert_eq!(
            e.message,
            "--allow rm: there is no tool named 'rm' (the tools: read_file, list_dir, search, \
             write_file, edit_file, run_command)"
        );
        let bad = [("bad", "description = \"x\"\ntools = [\"red_file\"]\n")];
        let e = resolve("", &bad, Some("bad"), ToolFlags::default()).unwrap_err();
        assert_eq!(e.code, crate::exit::code::USAGE);
        assert!(
            e.message.ends_with(
                "bad.toml:2: tools: there is no tool named 'red_file' — did you mean \
                 'read_file'? (the tools: read_file, list_dir, search, write_file, edit_file, \
                 run_command)"
            ),
            "{}",
            e.message
        );
    }

    #[test]
    fn pipe_mode_refuses_tool_flags_while_tools_are_off() {
        let run = |flags: ToolFlags| Request {
            tools: flags,
            ..Request::default()
        };
        let off = ToolSettings::default();
        let on = ToolSettings {
            on: true,
            ..ToolSettings::default()
        };
        let given = ToolFlags {
            yes: true,
            allow: vec!["write_file".into()],
            ..ToolFlags::default()
        };
        let e = check_tool_flags_used(&run(given.clone()), &off).unwrap_err();
        assert_eq!(e.code, crate::exit::code::USAGE);
        assert!(
            e.message
                .starts_with("--yes --allow write_file: tools are off; turn them on with --tools"),
            "{}",
            e.message
        );
        assert!(check_tool_flags_used(&run(given), &on).is_ok());
        assert!(check_tool_flags_used(&run(ToolFlags::default()), &off).is_ok());
    }
}
