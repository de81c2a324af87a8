//! Where a screen's touch targets are: every element with the accessible role of a button or a
//! check box, by its accessible label, with its place in the window in logical pixels, read from
//! the laid-out element tree (Slint's element search, `i-slint-backend-testing`, which works on
//! any window, real or headless).
//!
//! The apps log these at debug level (target `dawr_touch_targets`) whenever they change, so a
//! test that works the real window with a pointer clicks where the layout put a button, never at
//! a guessed position; the layout tests use them as the boxes a label must stay inside.
use i_slint_backend_testing::{AccessibleRole, ElementQuery};
use serde::{Deserialize, Serialize};
use slint::ComponentHandle;

/// One touch target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TouchTarget {
    /// Its accessible label (what a screen reader says; for a plain button, its text).
    pub label: String,
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl TouchTarget {
    /// Its centre, where a finger (or a test's pointer) touches it.
    pub fn centre(&self) -> (f32, f32) {
        (self.x + self.width / 2.0, self.y + self.height / 2.0)
    }
}

/// What precedes the JSON list of targets in the log line.
pub const LOG_PREFIX: &str = "touch targets ";

/// The log target of [`log_if_changed`]'s lines (enable with `RUST_LOG=…,dawr_touch_targets=debug`).
pub const LOG_TARGET: &str = "dawr_touch_targets";

/// The buttons and check boxes of `component` as laid out now, in tree order.
pub fn touch_targets(component: &impl ComponentHandle) -> Vec<TouchTarget> {
    placed(component, |role| matches!(role, AccessibleRole::Button | AccessibleRole::Checkbox))
}

/// The elements of `component` whose accessible role `wanted` accepts, with their places.
fn placed(component: &impl ComponentHandle, wanted: fn(AccessibleRole) -> bool) -> Vec<TouchTarget> {
    ElementQuery::from_root(component)
        .match_predicate(move |e| e.accessible_role().is_some_and(wanted))
        .find_all()
        .into_iter()
        .map(|element| {
            let (position, size) = (element.absolute_position(), element.size());
            TouchTarget {
                label: element.accessible_label().map(|l| l.to_string()).unwrap_or_default(),
                x: position.x,
                y: position.y,
                width: size.width,
                height: size.height,
            }
        })
        .filter(|t| t.width > 0.0 && t.height > 0.0)
        .collect()
}

/// The texts of `component` as laid out now (elements of the accessible role `text`: Slint's
/// `Text`), each with its text as the label: the boxes the layout gave them.
pub fn text_boxes(component: &impl ComponentHandle) -> Vec<TouchTarget> {
    placed(component, |role| role == AccessibleRole::Text)
}

/// Logs `component`'s touch targets (one line: [`LOG_PREFIX`] then a JSON list) when debug
/// logging is on for [`LOG_TARGET`] and they differ from `last`, which then holds them.
pub fn log_if_changed(component: &impl ComponentHandle, last: &mut Vec<TouchTarget>) {
    if !tracing::enabled!(target: LOG_TARGET, tracing::Level::DEBUG) {
        return;
    }
    let now = touch_targets(component);
    if now != *last {
        let json = serde_json::to_string(&now).expect("targets serialise");
        tracing::debug!(target: LOG_TARGET, "{LOG_PREFIX}{json}");
        *last = now;
    }
}

/// The targets of the last line in `log` that lists them (as [`log_if_changed`] writes it).
pub fn last_logged(log: &str) -> Option<Vec<TouchTarget>> {
    let line = log.lines().rev().find(|l| l.contains(LOG_PREFIX))?;
    let json = &line[line.find(LOG_PREFIX)? + LOG_PREFIX.len()..];
    serde_json::from_str(json.trim()).ok()
}
