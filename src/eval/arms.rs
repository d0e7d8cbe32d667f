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
