//! A push button read by polling: debouncing and long presses.
//!
//! Mechanical contacts bounce for a few milliseconds when pressed and released. A level only
//! counts once it has been stable for [`Button::DEBOUNCE_MS`]. Holding the button for
//! [`Button::LONG_PRESS_MS`] gives one [`Press::Long`] (while still held); letting go earlier
//! gives a [`Press::Short`] on release.

/// A press, as the device logic sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    Short,
    Long,
}

/// One button's debouncer. Feed it the raw level (`true` = pressed) with the time in ms.
#[derive(Debug, Clone)]
pub struct Button {
    /// The debounced level.
    stable: bool,
    /// The raw level last seen and since when.
    raw: bool,
    raw_since_ms: u64,
    /// When the debounced press began, and whether its long press was already reported.
    pressed_at_ms: u64,
    long_sent: bool,
}

impl Default for Button {
    fn default() -> Self {
        Self::new()
    }
}

impl Button {
    /// How long a level must hold to count.
    pub const DEBOUNCE_MS: u64 = 20;
    /// How long a hold makes a long press.
    pub const LONG_PRESS_MS: u64 = 1200;

    pub const fn new() -> Self {
        Button { stable: false, raw: false, raw_since_ms: 0, pressed_at_ms: 0, long_sent: false }
    }

    /// Takes one sample; returns a press when one completes.
    pub fn sample(&mut self, pressed: bool, now_ms: u64) -> Option<Press> {
        if pressed != self.raw {
            self.raw = pressed;
            self.raw_since_ms = now_ms;
        }
        let settled = now_ms.saturating_sub(self.raw_since_ms) >= Self::DEBOUNCE_MS;
        if settled && self.raw != self.stable {
            self.stable = self.raw;
            if self.stable {
                // The press is timed from when the contact closed for good, not when it settled.
                self.pressed_at_ms = self.raw_since_ms;
                self.long_sent = false;
            } else if !self.long_sent {
                return Some(Press::Short);
            }
        }
        if self.stable && !self.long_sent && now_ms.saturating_sub(self.pressed_at_ms) >= Self::LONG_PRESS_MS {
            self.long_sent = true;
            return Some(Press::Long);
        }
        None
    }

    /// The debounced level.
    pub fn is_down(&self) -> bool {
        self.stable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `(level, from_ms)` steps sampled every millisecond until `end_ms`.
    fn run(steps: &[(bool, u64)], end_ms: u64) -> Vec<(u64, Press)> {
        let mut b = Button::new();
        let mut out = Vec::new();
        for t in 0..end_ms {
            let level = steps.iter().rev().find(|(_, from)| *from <= t).map(|(l, _)| *l).unwrap_or(false);
            if let Some(p) = b.sample(level, t) {
                out.push((t, p));
            }
        }
        out
    }

    #[test]
    fn a_bouncy_short_press_counts_once() {
        // Bounces for 6 ms on press and on release.
        let steps = [
            (true, 100),
            (false, 101),
            (true, 103),
            (false, 104),
            (true, 106),
            (false, 400),
            (true, 401),
            (false, 402),
            (true, 404),
            (false, 406),
        ];
        let presses = run(&steps, 1000);
        assert_eq!(presses.iter().map(|p| p.1).collect::<Vec<_>>(), [Press::Short]);
        assert!((420..440).contains(&presses[0].0), "{presses:?}");
    }

    #[test]
    fn glitches_shorter_than_the_debounce_time_are_ignored() {
        let steps = [(true, 100), (false, 110), (true, 300), (false, 315)];
        assert!(run(&steps, 1000).is_empty());
    }

    #[test]
    fn holding_gives_one_long_press_and_no_short_one() {
        let steps = [(true, 100), (false, 102), (true, 103), (false, 3000)];
        let presses = run(&steps, 4000);
        // Timed from the last bounce, when the contact closed for good.
        assert_eq!(presses, [(103 + Button::LONG_PRESS_MS, Press::Long)]);
    }

    #[test]
    fn two_presses_in_a_row_are_two_presses() {
        let steps = [(true, 100), (false, 200), (true, 300), (false, 400)];
        let presses = run(&steps, 1000);
        assert_eq!(presses.len(), 2);
    }
}
