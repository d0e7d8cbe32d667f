//! Which model a follow-up runs on: a turn added to a saved session (`--continue`,
//! `--session`, a resumed chat) is answered by the session's model unless the run names
//! another.

use super::Session;
use crate::exit::Failure;
use crate::settings::Request;

/// A follow-up of `s` (or a resumed chat) runs on its session's model (its file, or its server
/// and model id) unless `req` names one (-m, --endpoint, --demo) or `from_hub` says that --hf
/// does. A session whose model file is gone stops here, saying so (exit 1, as any model that
/// cannot be loaded).
pub fn use_session_model(req: &mut Request, from_hub: bool, s: &Session) -> Result<(), Failure> {
    if req.model.is_some() || req.endpoint.is_some() || req.demo || from_hub {
        return Ok(());
    }
    match (&s.model_path, &s.endpoint) {
        (Some(path), _) if !path.exists() && path.is_relative() => Err(Failure::runtime(format!(
            "session {} names its model by the relative path {} (saved by an older \
                 reflect), which is not found from here; run from the directory it was saved \
                 in, or pass -m MODEL",
            s.id,
            path.display()
        ))),
        (Some(path), _) if !path.exists() => Err(Failure::runtime(format!(
            "session {} was answered by {}, which is no longer there; pass -m MODEL (or \
             --endpoint) to go on with another model",
            s.id,
            path.display()
        ))),
        (Some(path), _) => {
            req.model = Some(path.clone());
            Ok(())
        }
        (None, Some(endpoint)) => {
            req.endpoint = Some(endpoint.clone());
            req.model = (!s.model.is_empty()).then(|| s.model.clone().into());
            Ok(())
        }
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::code;
    use std::path::PathBuf;

    /// A session answered by the file `path`.
    fn on_file(path: PathBuf) -> Session {
        Session::new("m", Some(path), "reflection")
    }

    /// A session answered by model `model` of the server `endpoint`.
    fn on_server(endpoint: &str, model: &str) -> Session {
        let mut s = Session::new(model, None, "reflection");
        s.endpoint = Some(endpoint.into());
        s
    }

    fn model(m: &str) -> Request {
        Request {
            model: Some(m.into()),
            ..Request::default()
        }
    }

    #[test]
    fn the_sessions_model_unless_the_run_names_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("saved.gguf");
        std::fs::write(&file, "x").unwrap();
        let server = Request {
            endpoint: Some("http://box:8000/v1".into()),
            model: Some("qwen".into()),
            ..Request::default()
        };
        let demo = Request {
            demo: true,
            ..Request::default()
        };
        let endpoint_only = Request {
            endpoint: Some("local".into()),
            ..Request::default()
        };
        // (asked, --hf, session, what the run asks for after)
        let table = [
            (
                Request::default(),
                false,
                on_file(file.clone()),
                model(file.to_str().unwrap()),
            ),
            (
                model("other.gguf"),
                false,
                on_file(file.clone()),
                model("other.gguf"),
            ),
            (demo.clone(), false, on_file(file.clone()), demo),
            (
                Request::default(),
                true,
                on_file(file.clone()),
                Request::default(),
            ),
            (
                endpoint_only.clone(),
                false,
                on_file(file.clone()),
                endpoint_only,
            ),
            (
                Request::default(),
                false,
                on_server("http://box:8000/v1", "qwen"),
                server,
            ),
            (
                Request::default(),
                false,
                on_server("local", ""),
                Request {
                    endpoint: Some("local".into()),
                    ..Request::default()
                },
            ),
            (
                Request::default(),
                false,
                Session::new("", None, "plain"),
                Request::default(),
            ),
        ];
        for (i, (mut asked, from_hub, session, want)) in table.into_iter().enumerate() {
            use_session_model(&mut asked, from_hub, &session).unwrap();
            assert_eq!(asked, want, "row {i}");
        }
    }

    #[test]
    fn a_session_whose_model_is_gone_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let gone = on_file(dir.path().join("gone.gguf"));
        let err = use_session_model(&mut Request::default(), false, &gone).unwrap_err();
        assert_eq!(err.code, code::RUNTIME);
        assert!(
            err.message
                .contains("which is no longer there; pass -m MODEL"),
            "{}",
            err.message
        );
        let relative = on_file("no/such/old.gguf".into());
        let err = use_session_model(&mut Request::default(), false, &relative).unwrap_err();
        assert!(
            err.message
                .contains("by the relative path no/such/old.gguf"),
            "{}",
            err.message
        );
        // Naming another model goes on without the lost one.
        let mut asked = model("new.gguf");
        use_session_model(&mut asked, false, &gone).unwrap();
        assert_eq!(asked, model("new.gguf"));
    }
}
