//! A call's arguments, read with messages the model can act on: which argument is missing or
//! of the wrong type.

use serde_json::{Map, Value};

pub struct Args<'a> {
    tool: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    pub fn new(tool: &'a str, map: &'a Map<String, Value>) -> Args<'a> {
        Args { tool, map }
    }

    /// A required string argument.
    pub fn str(&self, key: &str) -> Result<&'a str, String> {
        self.opt_str(key)?
            .ok_or_else(|| format!("{} needs the argument \"{key}\"", self.tool))
    }

    /// An optional string argument.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("{}: \"{key}\" must be a string", self.tool)),
        }
    }

    /// An optional whole number (models also write numbers as strings: "10").
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, String> {
        let bad = || format!("{}: \"{key}\" must be a whole number", self.tool);
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }
}
