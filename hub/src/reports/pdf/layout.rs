//! The drawing primitives of the report's pages: a cursor running down A4 pages, headings,
//! wrapped paragraphs, tables and bar charts, each mirrored for a right-to-left language (the
//! first column, the first bar and the start of a line on the right).
use super::doc::{Doc, PAGE_H, PAGE_W, Page, Rgb};
use super::typeset::{Line, Shaper};

pub const MARGIN: f32 = 48.0;
const BOTTOM: f32 = PAGE_H - 56.0;
pub const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;

/// The colours of the charts' series.
pub const SERIES: [Rgb; 3] = [Rgb(0.13, 0.42, 0.62), Rgb(0.85, 0.53, 0.16), Rgb(0.35, 0.6, 0.35)];
const TARGET: Rgb = Rgb(0.78, 0.16, 0.16);
const HEAD_FILL: Rgb = Rgb(0.93, 0.95, 0.97);

/// One bar chart: groups of bars (one per series), an optional target line across the chart
/// or a target mark per group.
pub struct Chart<'a> {
    pub title: &'a str,
    pub groups: Vec<(String, Vec<f64>)>,
    pub series: Vec<String>,
    /// A line across the chart at this value, with its label.
    pub target: Option<(f64, String)>,
    /// A short mark over each group at its own target (waits against each service's target).
    pub group_targets: Vec<Option<f64>>,
    /// What the marks are, for the legend.
    pub group_target_label: Option<String>,
    /// The axis' greatest value at least (100 for shares).
    pub floor_max: f64,
    /// How a value is written on the bar and the axis.
    pub format: fn(f64) -> String,
}

/// The pages being written, the cursor on the current one.
pub struct Writer<'a> {
    pub doc: Doc,
    shaper: &'a Shaper,
    page: Option<Page>,
    pub y: f32,
    pub rtl: bool,
    footer: String,
}

impl<'a> Writer<'a> {
    pub fn new(shaper: &'a Shaper, title: &str, footer: String, rtl: bool) -> Writer<'a> {
        Writer { doc: Doc::new(title), shaper, page: None, y: MARGIN, rtl, footer }
    }

    pub fn shape(&self, text: &str, bold: bool) -> Line {
        self.shaper.line(text, bold, self.rtl)
    }

    /// Starts a new page (ending the one being drawn).
    pub fn new_page(&mut self) {
        self.end_page();
        self.page = Some(self.doc.page());
        self.y = MARGIN;
    }

    fn end_page(&mut self) {
        if let Some(mut page) = self.page.take() {
            let number = format!("{}", self.doc.page_count() + 1);
            let footer = self.shape(&self.footer, false);
            let num = self.shape(&number, false);
            page.line((MARGIN, PAGE_H - 40.0), (PAGE_W - MARGIN, PAGE_H - 40.0), 0.5, Rgb::RULE);
            let (f_x, n_x) = match self.rtl {
                true => (PAGE_W - MARGIN - footer.width_at(8.0), MARGIN),
                false => (MARGIN, PAGE_W - MARGIN - num.width_at(8.0)),
            };
            self.doc.text(&mut page, &footer, f_x, PAGE_H - 28.0, 8.0, Rgb::GREY);
            self.doc.text(&mut page, &num, n_x, PAGE_H - 28.0, 8.0, Rgb::GREY);
            self.doc.end_page(page);
        }
    }

    /// Moves to a new page unless `height` more points fit on this one.
    pub fn room(&mut self, height: f32) {
        if self.page.is_none() || self.y + height > BOTTOM {
            self.new_page();
        }
    }

    fn page(&mut self) -> &mut Page {
        if self.page.is_none() {
            self.new_page();
        }
        self.page.as_mut().expect("a page was started")
    }

    /// Draws a shaped line within the box `x..x + width` at baseline `y`: at its start side, or
    /// at its end side with `end` (numbers in a table's later columns).
    pub fn put(&mut self, line: &Line, (x, width): (f32, f32), y: f32, size: f32, color: Rgb, end: bool) {
        let w = line.width_at(size);
        let left = match self.rtl != end {
            true => x + width - w,
            false => x,
        };
        let mut page = self.page.take().unwrap_or_else(|| self.doc.page());
        self.doc.text(&mut page, line, left, y, size, color);
        self.page = Some(page);
    }

    /// Text across the page's width at the cursor, wrapped at spaces.
    pub fn paragraph(&mut self, text: &str, size: f32, bold: bool, color: Rgb) {
        for line in self.wrap(text, size, bold, WIDTH) {
            self.room(size * 1.6);
            self.y += size * 1.25;
            self.put(&line, (MARGIN, WIDTH), self.y, size, color, false);
            self.y += size * 0.35;
        }
    }

    /// A heading, kept with the `keep` points that follow it.
    pub fn heading(&mut self, text: &str, size: f32, keep: f32) {
        self.room(size * 2.2 + keep);
        self.y += size * 0.9;
        self.paragraph(text, size, true, Rgb::INK);
        self.y += size * 0.3;
    }

    /// The lines of `text` that fit `width` at `size` (at least one word each).
    pub fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<Line> {
        let mut lines = Vec::new();
        let mut current = String::new();
        for word in text.split(' ') {
            let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
            if !current.is_empty() && self.shape(&candidate, bold).width_at(size) > width {
                lines.push(self.shape(&current, bold));
                current = word.to_string();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() || lines.is_empty() {
            lines.push(self.shape(&current, bold));
        }
        lines
    }

    /// The x and width of each column, `shares` of the page's width, first column at the
    /// start side.
    fn columns(&self, shares: &[f32]) -> Vec<(f32, f32)> {
        let total: f32 = shares.iter().sum();
        let mut x = 0.0;
        shares
            .iter()
            .map(|s| {
                let w = WIDTH * s / total;
                let left = if self.rtl { MARGIN + WIDTH - x - w } else { MARGIN + x };
                x += w;
                (left, w)
            })
            .collect()
    }

    /// A table: a shaded head row, then the rows (the head repeated on a new page). The first
    /// column is text at the start side; the others are figures, at the end side.
    pub fn table(&mut self, head: &[String], rows: &[Vec<String>], shares: &[f32]) {
        const SIZE: f32 = 8.5;
        let cols = self.columns(shares);
        let draw_row = |w: &mut Writer, cells: &[String], bold: bool| {
            let lines: Vec<Vec<Line>> =
                cells.iter().zip(&cols).map(|(cell, (_, width))| w.wrap(cell, SIZE, bold, width - 8.0)).collect();
            let height = lines.iter().map(Vec::len).max().unwrap_or(1) as f32 * SIZE * 1.3 + 6.0;
            (lines, height)
        };
        let head_row = draw_row(self, head, true);
        let mut first = true;
        for row in std::iter::once(None).chain(rows.iter().map(Some)) {
            let (lines, height) = match row {
                None => (head_row.0.clone(), head_row.1),
                Some(cells) => draw_row(self, cells, false),
            };
            if first || self.y + height > BOTTOM {
                self.room(height + head_row.1 + 4.0);
                if row.is_some() {
                    self.head_row(&head_row.0, head_row.1, &cols);
                }
                first = false;
            }
            if row.is_none() {
                self.head_row(&head_row.0, head_row.1, &cols);
                continue;
            }
            self.cells(&lines, &cols);
            self.y += height;
            let y = self.y;
            self.page().line((MARGIN, y), (MARGIN + WIDTH, y), 0.4, Rgb::RULE);
        }
        self.y += 8.0;
    }

    fn head_row(&mut self, lines: &[Vec<Line>], height: f32, cols: &[(f32, f32)]) {
        let y = self.y;
        self.page().fill(MARGIN, y, WIDTH, height, HEAD_FILL);
        self.cells(lines, cols);
        self.y += height;
    }

    fn cells(&mut self, lines: &[Vec<Line>], cols: &[(f32, f32)]) {
        const SIZE: f32 = 8.5;
        for (i, (cell, (x, w))) in lines.iter().zip(cols).enumerate() {
            for (n, line) in cell.iter().enumerate() {
                let baseline = self.y + 3.0 + SIZE * (1.0 + n as f32 * 1.3);
                self.put(line, (x + 4.0, w - 8.0), baseline, SIZE, Rgb::INK, i > 0);
            }
        }
    }

    /// A bar chart across the page's width, 170 points high, with its axis, gridlines, labels
    /// under the bars, values over them, a legend and the target line or marks.
    pub fn chart(&mut self, chart: &Chart<'_>) {
        const HEIGHT: f32 = 150.0;
        self.heading(chart.title, 11.0, HEIGHT + 50.0);
        let top = self.y + 6.0;
        let bottom = top + HEIGHT;
        let max_value = chart
            .groups
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .chain(chart.target.as_ref().map(|t| t.0))
            .chain(chart.group_targets.iter().flatten().copied())
            .fold(chart.floor_max, f64::max);
        let top_value = nice_ceiling(max_value);
        let axis_w = 34.0;
        let (plot_x, plot_w) = match self.rtl {
            true => (MARGIN, WIDTH - axis_w),
            false => (MARGIN + axis_w, WIDTH - axis_w),
        };
        let y_of = |v: f64| bottom - (v / top_value) as f32 * HEIGHT;
        // Gridlines and the axis' values.
        let steps = axis_steps(top_value);
        for step in 0..=steps {
            let v = top_value * f64::from(step) / f64::from(steps);
            let y = y_of(v);
            self.page().line((plot_x, y), (plot_x + plot_w, y), if step == 0 { 0.8 } else { 0.3 }, Rgb::RULE);
            let label = self.shaper.line(&(chart.format)(v), false, false);
            let axis_box = if self.rtl { (plot_x + plot_w + 4.0, axis_w - 4.0) } else { (MARGIN, axis_w - 4.0) };
            let left = if self.rtl { axis_box.0 } else { axis_box.0 + axis_box.1 - label.width_at(7.0) };
            let mut page = self.page.take().expect("a page");
            self.doc.text(&mut page, &label, left, y + 2.5, 7.0, Rgb::GREY);
            self.page = Some(page);
        }
        let groups = chart.groups.len().max(1);
        let slot = plot_w / groups as f32;
        let series = chart.series.len().max(1);
        let bar_w = (slot * 0.7 / series as f32).min(36.0);
        let label_size = if slot < 28.0 { 6.0 } else { 7.5 };
        for (g, (label, values)) in chart.groups.iter().enumerate() {
            let slot_x = if self.rtl { plot_x + plot_w - (g + 1) as f32 * slot } else { plot_x + g as f32 * slot };
            let bars_w = bar_w * values.len() as f32;
            let mut x = slot_x + (slot - bars_w) / 2.0;
            let order: Vec<usize> =
                if self.rtl { (0..values.len()).rev().collect() } else { (0..values.len()).collect() };
            for s in order {
                let v = values[s];
                let y = y_of(v);
                self.page().fill(x, y, bar_w - 1.0, bottom - y, SERIES[s % SERIES.len()]);
                if slot >= 22.0 {
                    // Inside the bar's top when it is tall enough (clear of a target mark just
                    // above it), over it otherwise.
                    let text = self.shaper.line(&(chart.format)(v), false, false);
                    let size = 6.5;
                    let left = x + (bar_w - 1.0 - text.width_at(size)) / 2.0;
                    let (baseline, color) = if bottom - y > 14.0 { (y + 8.5, Rgb::WHITE) } else { (y - 2.0, Rgb::INK) };
                    let mut page = self.page.take().expect("a page");
                    self.doc.text(&mut page, &text, left, baseline, size, color);
                    self.page = Some(page);
                }
                x += bar_w;
            }
            if let Some(Some(t)) = chart.group_targets.get(g) {
                let y = y_of(*t);
                self.page().line((slot_x + slot * 0.08, y), (slot_x + slot * 0.92, y), 1.6, TARGET);
            }
            let text = self.shape(label, false);
            let lines = if text.width_at(label_size) > slot - 2.0 {
                self.wrap(label, label_size, false, slot - 2.0)
            } else {
                vec![text]
            };
            for (n, line) in lines.iter().take(2).enumerate() {
                let left = slot_x + (slot - line.width_at(label_size)) / 2.0;
                let mut page = self.page.take().expect("a page");
                self.doc.text(&mut page, line, left, bottom + 9.0 + n as f32 * 8.0, label_size, Rgb::INK);
                self.page = Some(page);
            }
        }
        if let Some((value, label)) = &chart.target {
            let y = y_of(*value);
            self.page().dashed((plot_x, y), (plot_x + plot_w, y), 1.2, TARGET);
            let text = self.shape(label, false);
            let left = if self.rtl { plot_x + 2.0 } else { plot_x + plot_w - text.width_at(7.0) - 2.0 };
            let mut page = self.page.take().expect("a page");
            self.doc.text(&mut page, &text, left, y - 3.0, 7.0, TARGET);
            self.page = Some(page);
        }
        self.y = bottom + 26.0;
        let mut items: Vec<(Rgb, String)> = match chart.series.len() {
            0 | 1 => Vec::new(),
            _ => chart.series.iter().enumerate().map(|(i, s)| (SERIES[i % SERIES.len()], s.clone())).collect(),
        };
        if let Some(label) = &chart.group_target_label {
            items.push((TARGET, label.clone()));
        }
        self.legend(&items);
        self.y += 6.0;
    }

    /// The series' colours in words, and the target mark's, in one line.
    fn legend(&mut self, items: &[(Rgb, String)]) {
        if items.is_empty() {
            return;
        }
        self.room(14.0);
        let y = self.y;
        let mut offset = 0.0;
        for (color, label) in items {
            let line = self.shape(label, false);
            let w = line.width_at(7.5);
            let swatch_x = if self.rtl { MARGIN + WIDTH - offset - 8.0 } else { MARGIN + offset };
            self.page().fill(swatch_x, y - 7.0, 8.0, 8.0, *color);
            let text_x = if self.rtl { swatch_x - 4.0 - w } else { swatch_x + 12.0 };
            let mut page = self.page.take().expect("a page");
            self.doc.text(&mut page, &line, text_x, y, 7.5, Rgb::INK);
            self.page = Some(page);
            offset += w + 26.0;
        }
        self.y += 8.0;
    }
}

/// A round value at or above `v` for an axis' top (1, 2, 2.5 or 5 times a power of ten).
pub fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().map(|m| m * power).find(|c| *c >= v).unwrap_or(10.0 * power)
}

/// How many gridline steps divide `top` into round values (5 or 4).
pub fn axis_steps(top: f64) -> u32 {
    let round = |step: f64| {
        let power = 10f64.powf(step.log10().floor());
        [1.0, 2.0, 2.5, 5.0, 10.0].iter().any(|m| ((step / power) - m).abs() < 1e-9)
    };
    if round(top / 5.0) { 5 } else { 4 }
}

impl Writer<'_> {
    /// Ends the last page and writes the PDF.
    pub fn finish(mut self) -> Vec<u8> {
        self.end_page();
        self.doc.finish()
    }
}
