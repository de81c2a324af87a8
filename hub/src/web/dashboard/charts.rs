//! The dashboard's charts: horizontal bar charts as inline SVG (no script, printable), laid out
//! right to left for Arabic. Each bar has its label above it and its value at its end; a value
//! axis with ticks and labels runs below, from zero for counts and durations or over a fixed
//! scale (satisfaction on 1–5, not from 0); a bar may carry its own target (a service's target
//! wait, marked across it) and the chart one goal line across all bars (the share-within goal).
//! Text is 16 units high in a 360-unit-wide drawing, so at 315 px or wider it reads at 14 px
//! or more. The drawing's accessible name says every bar, its target and the goal.
use maud::{Markup, html};

/// Geometry of a chart, in SVG units.
const WIDTH: f64 = 360.0;
/// Room left at the bars' far end for the longest bar's value.
const VALUE_W: f64 = 64.0;
/// Room at the bars' start, for the first tick's label.
const PAD: f64 = 12.0;
/// A row: its label's line, then its bar.
const LABEL_H: f64 = 20.0;
const BAR_H: f64 = 18.0;
const GAP: f64 = 8.0;
/// The axis below the rows: its line, tick labels and title.
const AXIS_H: f64 = 48.0;
/// The legend's line, when there is a target or a goal.
const LEGEND_H: f64 = 24.0;
const FONT: f64 = 16.0;
const BAR_COLOUR: &str = "#0b6e4f";
const MARK_COLOUR: &str = "#b3261e";
const GRID_COLOUR: &str = "#d5dce6";

/// One bar: its label, its value and, if it has one, its own target.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub target: Option<f64>,
}

impl Bar {
    /// A bar without a target.
    pub fn new(label: String, value: f64) -> Bar {
        Bar { label, value, target: None }
    }
}

/// Where a chart's value axis runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// From zero to a round number at or above the largest value (or target, or goal).
    FromZero,
    /// Over a fixed span (satisfaction: 1 to 5).
    Fixed(f64, f64),
}

/// A bar chart to draw.
pub struct Chart<'a> {
    pub bars: Vec<Bar>,
    /// Follows each value (` min`, `%`).
    pub unit: &'a str,
    pub scale: Scale,
    /// What the axis measures (under its tick labels).
    pub axis: &'a str,
    /// What the bars' own targets are called, for the legend (when some bar has one).
    pub target_name: Option<&'a str>,
    /// One line across all bars, and its name.
    pub goal: Option<(f64, &'a str)>,
    pub rtl: bool,
}

/// A round step for about four ticks over `0..=max`.
fn step_for(max: f64) -> f64 {
    let raw = (max / 4.0).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude)
}

/// The axis' span and its ticks.
fn axis(chart: &Chart<'_>) -> (f64, f64, Vec<f64>) {
    match chart.scale {
        Scale::Fixed(lo, hi) => {
            let step = step_for(hi - lo);
            (lo, hi, (0..=((hi - lo) / step).round() as i64).map(|i| lo + i as f64 * step).collect())
        }
        Scale::FromZero => {
            let largest = chart
                .bars
                .iter()
                .flat_map(|b| [Some(b.value), b.target])
                .flatten()
                .chain(chart.goal.map(|(g, _)| g))
                .fold(1.0_f64, f64::max);
            let step = step_for(largest);
            let top = (largest / step).ceil() * step;
            let ticks = (0..=((top / step).round() as i64)).map(|i| i as f64 * step).collect();
            (0.0, top, ticks)
        }
    }
}

/// Draws the chart.
pub fn draw(chart: &Chart<'_>) -> Markup {
    let (lo, hi, ticks) = axis(chart);
    let plot_w = WIDTH - VALUE_W - PAD;
    // The x of a value: from the left edge, or from the right for Arabic.
    let x = |v: f64| {
        let along = PAD + plot_w * ((v.clamp(lo, hi) - lo) / (hi - lo));
        if chart.rtl { WIDTH - along } else { along }
    };
    let rows_h = chart.bars.len() as f64 * (LABEL_H + BAR_H + GAP);
    let has_targets = chart.bars.iter().any(|b| b.target.is_some());
    let legend = has_targets || chart.goal.is_some();
    let height = rows_h + AXIS_H + if legend { LEGEND_H } else { 0.0 };
    let anchor = if chart.rtl { "end" } else { "start" };
    let edge = if chart.rtl { WIDTH } else { 0.0 };
    let name = accessible_name(chart);
    html! {
        svg role="img" aria-label=(name) viewBox={ "0 0 " (WIDTH) " " (height) } width="100%"
            preserveAspectRatio="xMinYMin meet" style="direction:ltr" font-size=(FONT) {
            @for t in &ticks {
                line x1=(r(x(*t))) x2=(r(x(*t))) y1="0" y2=(r(rows_h)) stroke=(GRID_COLOUR) {}
            }
            @for (i, b) in chart.bars.iter().enumerate() {
                @let top = i as f64 * (LABEL_H + BAR_H + GAP);
                @let (start, end) = (x(lo), x(b.value));
                @let value_x = if chart.rtl { end - 4.0 } else { end + 4.0 };
                text x=(r(edge)) y=(r(top + 15.0)) text-anchor=(anchor) { (b.label) }
                rect x=(r(start.min(end))) y=(r(top + LABEL_H)) width=(r((end - start).abs())) height=(BAR_H) fill=(BAR_COLOUR) {
                    title { (b.label) ": " (shown(b.value)) (chart.unit) }
                }
                text x=(r(value_x)) y=(r(top + LABEL_H + 14.0)) text-anchor=(anchor) { (shown(b.value)) (chart.unit) }
                @if let Some(target) = b.target {
                    line class="target" x1=(r(x(target))) x2=(r(x(target))) y1=(r(top + LABEL_H - 4.0))
                        y2=(r(top + LABEL_H + BAR_H + 4.0)) stroke=(MARK_COLOUR) stroke-width="3" {}
                }
            }
            @if let Some((goal, _)) = chart.goal {
                line class="goal" x1=(r(x(goal))) x2=(r(x(goal))) y1="0" y2=(r(rows_h)) stroke=(MARK_COLOUR)
                    stroke-width="2" stroke-dasharray="6 4" {}
            }
            line x1=(r(x(lo))) x2=(r(x(hi))) y1=(r(rows_h)) y2=(r(rows_h)) stroke="#4a5b73" {}
            @for t in &ticks {
                line x1=(r(x(*t))) x2=(r(x(*t))) y1=(r(rows_h)) y2=(r(rows_h + 5.0)) stroke="#4a5b73" {}
                text class="tick" x=(r(x(*t))) y=(r(rows_h + 20.0)) text-anchor="middle" { (shown(*t)) }
            }
            text class="axis" x=(r((x(lo) + x(hi)) / 2.0)) y=(r(rows_h + 42.0)) text-anchor="middle" { (chart.axis) }
            @if legend {
                @let y = rows_h + AXIS_H + 16.0;
                text x=(r(edge)) y=(r(y)) text-anchor=(anchor) {
                    @if let (true, Some(name)) = (has_targets, chart.target_name) { "┃ " (name) }
                    @if let (true, Some(_)) = (has_targets, chart.goal) { " · " }
                    @if let Some((goal, name)) = chart.goal { "┆ " (name) " " (shown(goal)) (chart.unit) }
                }
            }
        }
    }
}

/// What a screen reader says for the chart: every bar (with its target), then the goal.
fn accessible_name(chart: &Chart<'_>) -> String {
    let mut parts: Vec<String> = chart
        .bars
        .iter()
        .map(|b| {
            let target = match (b.target, chart.target_name) {
                (Some(t), Some(name)) => format!(" ({name} {}{})", shown(t), chart.unit),
                _ => String::new(),
            };
            format!("{}: {}{}{target}", b.label, shown(b.value), chart.unit)
        })
        .collect();
    if let Some((goal, name)) = chart.goal {
        parts.push(format!("{name} {}{}", shown(goal), chart.unit));
    }
    parts.join("; ")
}

/// A coordinate to one decimal.
fn r(v: f64) -> String {
    format!("{v:.1}")
}

/// A value as a bar shows it: whole, or to one decimal.
fn shown(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value}") } else { format!("{value:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(bars: Vec<Bar>, scale: Scale, rtl: bool) -> Chart<'static> {
        Chart { bars, unit: " min", scale, axis: "Minutes", target_name: Some("Target"), goal: None, rtl }
    }

    #[test]
    fn bars_sit_on_a_ticked_axis_from_zero_with_their_targets_and_escaped_labels() {
        let bars = vec![Bar { label: "A <b>".into(), value: 10.0, target: Some(15.0) }, Bar::new("B".into(), 5.5)];
        let svg = draw(&chart(bars, Scale::FromZero, false)).into_string();
        // The axis reaches the largest target: 0 to 15 by 5, over 284 units.
        for tick in ["0", "5", "10", "15"] {
            assert!(svg.contains(&format!("text-anchor=\"middle\">{tick}<")), "tick {tick}: {svg}");
        }
        assert!(svg.contains("width=\"189.3\""), "10 of 15 is two thirds of the plot: {svg}");
        assert!(svg.contains("class=\"target\" x1=\"296.0\""), "the target at 15 of 15: {svg}");
        assert!(svg.contains(">Minutes<"), "the axis says what it measures");
        assert!(svg.contains(">A &lt;b&gt;<") && svg.contains(">5.5 min<"));
        assert!(svg.contains("font-size=\"16\""));
        assert!(
            svg.contains("aria-label=\"A &lt;b&gt;: 10 min (Target 15 min); B: 5.5 min\""),
            "its name says every bar and target: {svg}"
        );
        let rtl = draw(&chart(vec![Bar::new("A".into(), 10.0)], Scale::FromZero, true)).into_string();
        assert!(rtl.contains("text-anchor=\"end\""));
        assert!(rtl.contains("x=\"64.0\" y=\"20.0\" width=\"284.0\""), "the longest bar grows from the right: {rtl}");
    }

    #[test]
    fn satisfaction_runs_from_one_to_five_and_a_goal_crosses_every_bar() {
        let bars = vec![Bar::new("A".into(), 3.5), Bar::new("B".into(), 4.1)];
        let mut c = chart(bars, Scale::Fixed(1.0, 5.0), false);
        c.goal = Some((4.0, "Goal"));
        let svg = draw(&c).into_string();
        assert!(svg.contains("width=\"177.5\""), "3.5 is 2.5 of the 4 from 1 to 5: {svg}");
        assert!(svg.contains("width=\"220.1\""), "4.1: {svg}");
        assert!(!svg.contains(">0<"), "no zero on a 1–5 scale");
        assert!(svg.contains("class=\"goal\" x1=\"225.0\""), "{svg}");
        assert!(svg.contains("Goal 4 min"));
    }

    #[test]
    fn ticks_are_round_steps() {
        assert_eq!(step_for(20.0), 5.0);
        assert_eq!(step_for(331.0), 100.0);
        assert_eq!(step_for(7.0), 2.0);
        assert_eq!(step_for(100.0), 25.0);
    }
}
