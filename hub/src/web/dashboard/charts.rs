//! The dashboard's charts: horizontal bar charts as inline SVG (no script, printable), laid out
//! right to left for Arabic.
use maud::{Markup, html};

/// Geometry of a chart, in SVG units.
const WIDTH: f64 = 420.0;
const BAR_H: f64 = 22.0;
const GAP: f64 = 6.0;
const LABEL_W: f64 = 150.0;
const BAR_COLOUR: &str = "#0b6e4f";

/// One labelled bar per `(label, value)`, longest bar the largest value; `unit` follows each
/// value (` min`, say).
pub fn bars(rows: &[(String, f64)], unit: &str, rtl: bool) -> Markup {
    let max = rows.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1.0);
    let height = rows.len() as f64 * (BAR_H + GAP) + 4.0;
    // As an image its texts are hidden from screen readers: its name says every bar.
    let name =
        rows.iter().map(|(label, value)| format!("{label}: {}{unit}", shown(*value))).collect::<Vec<_>>().join("; ");
    html! {
        svg role="img" aria-label=(name) viewBox={ "0 0 " (WIDTH) " " (height) } width="100%"
            preserveAspectRatio="xMinYMin meet" style="direction:ltr" {
            @for (i, (label, value)) in rows.iter().enumerate() {
                (bar(i, label, *value, max, unit, rtl))
            }
        }
    }
}

/// The `i`-th bar: its label, the bar (with a tooltip) and its value.
fn bar(i: usize, label: &str, value: f64, max: f64, unit: &str, rtl: bool) -> Markup {
    let y = i as f64 * (BAR_H + GAP);
    let w = (WIDTH - LABEL_W - 60.0) * value / max;
    let (label_x, anchor, bar_x, value_x) = if rtl {
        (WIDTH, "end", WIDTH - LABEL_W - w, WIDTH - LABEL_W - w - 4.0)
    } else {
        (0.0, "start", LABEL_W, LABEL_W + w + 4.0)
    };
    let text_y = y + 15.0;
    let shown = shown(value);
    html! {
        text x=(label_x) y=(text_y) text-anchor=(anchor) { (label) }
        rect x=(bar_x) y=(y) width=(format!("{w:.1}")) height=(BAR_H) rx="3" fill=(BAR_COLOUR) {
            title { (label) ": " (shown) (unit) }
        }
        text x=(value_x) y=(text_y) text-anchor=(anchor) { (shown) (unit) }
    }
}

/// A value as a bar shows it: whole, or to one decimal.
fn shown(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value}") } else { format!("{value:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_largest_value_and_labels_are_escaped() {
        let rows = vec![("A <b>".to_string(), 10.0), ("B".to_string(), 5.5)];
        let svg = bars(&rows, " min", false).into_string();
        assert!(svg.contains("viewBox=\"0 0 420 60\""), "{svg}");
        assert!(svg.contains("width=\"210.0\""), "the largest bar is the full width: {svg}");
        assert!(svg.contains("width=\"115.5\""), "{svg}");
        assert!(svg.contains(">A &lt;b&gt;<"));
        assert!(svg.contains(">5.5 min<"));
        assert!(svg.contains("aria-label=\"A &lt;b&gt;: 10 min; B: 5.5 min\""), "its name says every bar: {svg}");
        let rtl = bars(&rows, "", true).into_string();
        assert!(rtl.contains("text-anchor=\"end\""));
    }
}
