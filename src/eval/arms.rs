//! The arms of `reflect eval`: one per profile (`--profiles`, else the profile in effect), each
//! twice with `--compare think-carefully`, resolved from the request, environment and config as
//! a one-shot run's settings are; all on one backend.

use super::runner::Arm;
use super::{Compare, EvalRequest};
use crate::exit::Failure;
use crate::settings::{Context, Request};
use std::path::PathBuf;

/// The arms: each profile (the one in effect without `--profiles`), each with and without
/// "Think carefully." under `--compare think-carefully`. All run on one backend.
pub(super) fn resolve(
    ctx: &Context,
    a: &EvalRequest,
    demo_model: &dyn Fn() -> Result<PathBuf, Failure>,
) -> Result<Vec<Arm>, Failure> {
    let profiles: Vec<Option<String>> = match &a.profiles {
        Some(list) => list.iter().map(|p| Some(p.trim().to_string())).collect(),
        None => vec![a.run.profile.clone()],
    };
    let mut arms: Vec<Arm> = Vec::new();
    for p in profiles {
        let run = Request {
            profile: p,
            ..a.run.clone()
        };
        let settings = ctx
            .run_settings(&run, demo_model)
            .map_err(|f| match &a.profiles {
                // The settings name the flag of one profile; the user gave a list.
                Some(_) => Failure {
                    message: f.message.replacen("--profile ", "--profiles: ", 1),
                    ..f
                },
                None => f,
            })?;
        let base = if a.profiles.is_some() {
            Some(settings.profile.clone())
        } else {
            None
        };
        let variants: Vec<(Option<bool>, &str)> = match a.compare {
            Some(Compare::ThinkCarefully) => {
                vec![
                    (Some(true), "think-carefully"),
                    (Some(false), "no-think-carefully"),
                ]
            }
            None => vec![(None, "")],
        };
        for (think, suffix) in variants {
            let mut s = settings.clone();
            if let Some(t) = think {
                s.think_carefully = t;
            }
            let name = match (&base, suffix) {
                (Some(b), "") => b.clone(),
                (Some(b), sfx) => format!("{b}:{sfx}"),
                (None, "") => s.profile.clone(),
                (None, sfx) => sfx.to_string(),
            };
            if arms.iter().any(|x| x.name == name) {
                return Err(Failure::usage(format!(
                    "--profiles names '{name}' twice; each arm needs a profile of its own"
                )));
            }
            arms.push(Arm { name, settings: s });
        }
    }
    let first = &arms[0].settings.engine;
    for arm in &arms[1..] {
        let e = &arm.settings.engine;
        if e.model_path() != first.model_path() || e.endpoint() != first.endpoint() {
            return Err(Failure::usage(format!(
                "arm '{}' runs on {} but arm '{}' on {}: the arms of one eval share one model (set it with -m or --endpoint, not in the profiles)",
                arm.name,
                e.display_name(),
                arms[0].name,
                first.display_name()
            )));
        }
    }
    Ok(arms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::code;
    use crate::settings::Environment;

    /// An eval of a model file with these profiles and comparison, the rest by default.
    fn eval(profiles: Option<&[&str]>, compare: Option<Compare>) -> EvalRequest {
        let run = Request {
            model: Some("x.gguf".into()),
            ..Request::default()
        };
        EvalRequest {
            profiles: profiles.map(|p| p.iter().map(|s| s.to_string()).collect()),
            compare,
            ..EvalRequest::new("q.jsonl", run)
        }
    }

    fn arms(r: &EvalRequest) -> Result<Vec<Arm>, Failure> {
        let ctx = Context::load(Environment::new(None, [])).unwrap();
        resolve(&ctx, r, &|| unreachable!())
    }

    /// A row: the profiles, the comparison, and each arm's name and "Think carefully.".
    type Row<'a> = (
        Option<&'a [&'a str]>,
        Option<Compare>,
        &'a [(&'a str, bool)],
    );

    #[test]
    fn one_arm_per_profile_each_twice_with_a_comparison() {
        let tc = Some(Compare::ThinkCarefully);
        let table: [Row; 4] = [
            (None, None, &[("reflection", true)]),
            (
                None,
                tc,
                &[("think-carefully", true), ("no-think-carefully", false)],
            ),
            (
                Some(&["plain", " think"]),
                None,
                &[("plain", false), ("think", false)],
            ),
            (
                Some(&["reflection"]),
                tc,
                &[
                    ("reflection:think-carefully", true),
                    ("reflection:no-think-carefully", false),
                ],
            ),
        ];
        for (profiles, compare, want) in table {
            let got: Vec<(String, bool)> = arms(&eval(profiles, compare))
                .unwrap()
                .into_iter()
                .map(|a| (a.name, a.settings.think_carefully))
                .collect();
            let want: Vec<(String, bool)> = want.iter().map(|(n, t)| (n.to_string(), *t)).collect();
            assert_eq!(got, want, "{profiles:?} {compare:?}");
        }
    }

    #[test]
    fn a_bad_list_of_profiles_is_a_usage_error_that_names_the_list() {
        let Err(twice) = arms(&eval(Some(&["plain", "plain"]), None)) else {
            panic!("a profile named twice was taken");
        };
        assert_eq!(twice.code, code::USAGE);
        assert!(
            twice.message.contains("names 'plain' twice"),
            "{}",
            twice.message
        );
        let Err(unknown) = arms(&eval(Some(&["nope"]), None)) else {
            panic!("an unknown profile was taken");
        };
        assert!(
            unknown.message.starts_with("--profiles: nope: "),
            "{}",
            unknown.message
        );
    }
}
