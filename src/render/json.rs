//! JSON: every report is `Serialize` with stable `snake_case` keys, and its JSON rendering is one
//! pretty-printed document ending in a newline. (`mlops run --json` streams JSON Lines instead,
//! one compact event per line, as it goes: see `commands::run`.)

use serde::Serialize;

/// `report` as one pretty-printed JSON document and a newline.
pub(crate) fn pretty<T: Serialize + ?Sized>(report: &T) -> serde_json::Result<String> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}
