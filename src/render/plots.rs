//! `mlops plots show`: each plot as an SVG chart (lines, points, a confusion matrix or bars),
//! a self-contained HTML page of them, a text summary, and a PNG of them all drawn from the same
//! SVG (rasterised in Rust, no browser).

use std::fmt::Write as _;

use mlops_exp::plots::{Bars, Drawing, Line, Matrix, Plot, PlotsReport};

use crate::render::{Format, html, text};

/// The human formats of `plots show` (PNG is written by the command itself).
pub(crate) const FORMATS: [Format; 3] = [Format::Text, Format::Markdown, Format::Html];

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 340.0;
/// Margins: left (y ticks), right, top (title), bottom (x ticks and legend).
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 76.0;
/// A line drawn with more points than this is reduced to each bucket's least and greatest y,
/// so its spikes stay and a page of many long curves stays small.
const MAX_POINTS: usize = 1000;
const COLOURS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];
/// Dash patterns telling sources apart when colours tell columns apart.
const DASHES: [&str; 4] = ["", "6 3", "2 2", "8 3 2 3"];

/// A count as a coordinate.
#[allow(
    clippy::cast_precision_loss,
    reason = "counts of plots, points and classes"
)]
fn float(n: usize) -> f64 {
    n as f64
}

/// `plots show` in a human format.
pub(crate) fn render(r: &PlotsReport, format: Format) -> String {
    match format {
        Format::Html => page(r),
        _ => summary(r, format),
    }
}

/// Which plots there are, from which sources, with how many points.
fn summary(r: &PlotsReport, format: Format) -> String {
    if r.plots.is_empty() {
        return "no plots: declare them under `plots:` in mlops.yaml (see docs/experiments.md), or name files to plot".into();
    }
    let rows: Vec<Vec<String>> = r
        .plots
        .iter()
        .map(|p| {
            let drawn = match &p.drawing {
                Drawing::Lines(lines) => lines
                    .iter()
                    .map(|l| format!("{} {} ({} points)", l.source, l.y, l.points.len()))
                    .collect::<Vec<_>>()
                    .join("; "),
                Drawing::Confusion(m) => m
                    .iter()
                    .map(|m| format!("{} ({} classes)", m.source, m.labels.len()))
                    .collect::<Vec<_>>()
                    .join("; "),
                Drawing::Bars(b) => b
                    .iter()
                    .map(|b| format!("{} ({} bars)", b.source, b.bars.len()))
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            let missing = if p.missing.is_empty() {
                String::new()
            } else {
                format!("missing: {}", p.missing.join(", "))
            };
            vec![p.id.clone(), p.template.clone(), drawn, missing]
        })
        .collect();
    let mut out = crate::render::table(&["plot", "template", "drawn", "missing"], &rows, format);
    out.push_str("\n`-o plots.html` draws them in a page, `-o plots.png` in an image");
    out
}

/// The page: one figure per plot.
fn page(r: &PlotsReport) -> String {
    let mut body = String::from("<h1>Plots</h1>");
    let _ = write!(
        body,
        "<p>Sources: {}.</p><div class=\"charts\">",
        r.sources
            .iter()
            .map(|s| format!("<code>{}</code>", html::escape(s)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for plot in &r.plots {
        let _ = write!(
            body,
            "<figure><figcaption>{}</figcaption>{}",
            html::escape(&plot.title),
            svg(plot)
        );
        if !plot.missing.is_empty() {
            let _ = write!(
                body,
                "<p>Not found: {}</p>",
                html::escape(&plot.missing.join(", "))
            );
        }
        body.push_str("</figure>");
    }
    body.push_str("</div>");
    html::page("mlops plots", &body)
}

/// One plot as a standalone SVG element.
pub(crate) fn svg(plot: &Plot) -> String {
    let inner = match &plot.drawing {
        Drawing::Lines(lines) => lines_svg(plot, lines),
        Drawing::Confusion(matrices) => confusion_svg(plot, matrices),
        Drawing::Bars(bars) => bars_svg(bars),
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH:.0}\" height=\"{HEIGHT:.0}\" \
         viewBox=\"0 0 {WIDTH:.0} {HEIGHT:.0}\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\">\
         <title>{}</title><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>{inner}</svg>",
        html::escape(&plot.title)
    )
}

/// Round numbers for an axis from `lo` to `hi`: about five, at 1, 2 or 5 times a power of ten.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let raw = (hi - lo) / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    let first = (lo / step).ceil() * step;
    (0..)
        .map(|i| first + f64::from(i) * step)
        .take_while(|t| *t <= hi + step * 1e-9)
        .take(20)
        .collect()
}

fn tick_text(x: f64) -> String {
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_owned()
    }
}

/// At most [`MAX_POINTS`] points: per bucket of x order, the points with the least and the
/// greatest y, in x order.
fn reduced(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let buckets = MAX_POINTS / 2;
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(MAX_POINTS);
    for chunk in points.chunks(size) {
        let low = chunk
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("a point");
        let high = chunk
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("a point");
        if low.0 <= high.0 {
            out.extend([*low, *high]);
        } else {
            out.extend([*high, *low]);
        }
    }
    out.dedup();
    out
}

/// A moving average over `window` points either side, for the `smooth` template.
fn smoothed(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let window = (points.len() / 20).max(1);
    (0..points.len())
        .map(|i| {
            let from = i.saturating_sub(window);
            let to = (i + window + 1).min(points.len());
            let slice = &points[from..to];
            let mean = slice.iter().map(|p| p.1).sum::<f64>() / float(slice.len());
            (points[i].0, mean)
        })
        .collect()
}

/// The least and greatest x and y of the lines' points, widened where they are equal; `None`
/// without points.
fn bounds(lines: &[Line]) -> Option<(f64, f64, f64, f64)> {
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in lines.iter().flat_map(|l| l.points.iter()) {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if !x0.is_finite() {
        return None;
    }
    if x1 <= x0 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    if y1 <= y0 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    Some((x0, x1, y0, y1))
}

fn lines_svg(plot: &Plot, lines: &[Line]) -> String {
    let mut out = String::new();
    let Some((x0, x1, y0, y1)) = bounds(lines) else {
        let _ = write!(
            out,
            "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\">no points</text>",
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
        return out;
    };
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * w;
    let sy = |y: f64| TOP + (1.0 - (y - y0) / (y1 - y0)) * h;
    axes(&mut out, &ticks(x0, x1), &ticks(y0, y1), &sx, &sy, plot);
    let sources: Vec<&str> = dedup(lines.iter().map(|l| l.source.as_str()));
    let ys: Vec<&str> = dedup(lines.iter().map(|l| l.y.as_str()));
    // One column: a colour per source; several: a colour per column, a dash per source.
    let by_source = ys.len() == 1;
    for (n, line) in lines.iter().enumerate() {
        let s = sources.iter().position(|s| *s == line.source).unwrap_or(0);
        let y = ys.iter().position(|y| *y == line.y).unwrap_or(0);
        let colour = COLOURS[if by_source { s } else { y } % COLOURS.len()];
        let dash = if by_source {
            ""
        } else {
            DASHES[s % DASHES.len()]
        };
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{dash}\"")
        };
        let name = html::escape(&format!("{} {}", line.source, line.y));
        let points = reduced(&line.points);
        let coords = |pts: &[(f64, f64)]| {
            pts.iter()
                .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        match plot.template.as_str() {
            "scatter" => {
                for (x, y) in &points {
                    let _ = write!(
                        out,
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{colour}\" fill-opacity=\"0.7\"/>",
                        sx(*x),
                        sy(*y)
                    );
                }
            }
            "smooth" => {
                let _ = write!(
                    out,
                    "<polyline fill=\"none\" stroke=\"{colour}\" stroke-opacity=\"0.3\" points=\"{}\"/>\
                     <polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash} points=\"{}\"><title>{name}</title></polyline>",
                    coords(&points),
                    coords(&smoothed(&points))
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"{dash} points=\"{}\"><title>{name}</title></polyline>",
                    coords(&points)
                );
            }
        }
        // The legend, under the x axis label: two columns of entries.
        let (lx, ly) = (
            LEFT + float(n % 2) * (w / 2.0),
            HEIGHT - 34.0 + float(n / 2) * 13.0,
        );
        if ly < HEIGHT - 2.0 {
            let _ = write!(
                out,
                "<line x1=\"{lx:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\
                 <text x=\"{:.1}\" y=\"{ly:.1}\">{name}</text>",
                ly - 4.0,
                lx + 18.0,
                ly - 4.0,
                lx + 22.0
            );
        }
    }
    out
}

fn dedup<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The frame, ticks and axis labels of a line plot.
fn axes(
    out: &mut String,
    xt: &[f64],
    yt: &[f64],
    sx: &dyn Fn(f64) -> f64,
    sy: &dyn Fn(f64) -> f64,
    plot: &Plot,
) {
    let bottom = HEIGHT - BOTTOM;
    let _ = write!(
        out,
        "<rect x=\"{LEFT:.0}\" y=\"{TOP:.0}\" width=\"{:.0}\" height=\"{:.0}\" fill=\"none\" stroke=\"#999\"/>",
        WIDTH - LEFT - RIGHT,
        HEIGHT - TOP - BOTTOM
    );
    for t in xt {
        let x = sx(*t);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#999\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 4.0,
            bottom + 16.0,
            tick_text(*t)
        );
    }
    for t in yt {
        let y = sy(*t);
        let _ = write!(
            out,
            "<line x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#eee\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            tick_text(*t)
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text x=\"14\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1})\">{}</text>\
         <text x=\"{LEFT:.0}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        bottom + 32.0,
        html::escape(&plot.x_label),
        TOP + (HEIGHT - TOP - BOTTOM) / 2.0,
        TOP + (HEIGHT - TOP - BOTTOM) / 2.0,
        html::escape(&plot.y_label),
        html::escape(&plot.title)
    );
}

/// One matrix per source, side by side: rows actual, columns predicted, shaded by share of the
/// largest cell, each cell's value written in it.
fn confusion_svg(plot: &Plot, matrices: &[Matrix]) -> String {
    let mut out = format!(
        "<text x=\"10\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>\
         <text x=\"12\" y=\"{:.0}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {:.0})\">{}</text>",
        html::escape(&plot.title),
        HEIGHT / 2.0,
        HEIGHT / 2.0,
        html::escape(&plot.x_label)
    );
    let each = (WIDTH - 40.0) / float(matrices.len().max(1));
    for (m, matrix) in matrices.iter().enumerate() {
        let n = matrix.labels.len().max(1);
        let cell = ((each - 70.0).min(HEIGHT - 90.0) / float(n)).max(4.0);
        let (ox, oy) = (30.0 + float(m) * each + 50.0, 62.0);
        let max = matrix.counts.iter().flatten().copied().fold(0.0, f64::max);
        let _ = write!(
            out,
            "<text x=\"{ox:.1}\" y=\"38\" font-weight=\"bold\">{}</text>\
             <text x=\"{:.1}\" y=\"54\" text-anchor=\"middle\">{}</text>",
            html::escape(&matrix.source),
            ox + cell * float(n) / 2.0,
            html::escape(&plot.y_label)
        );
        for (i, row) in matrix.counts.iter().enumerate() {
            let y = oy + float(i) * cell;
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                ox - 4.0,
                y + cell / 2.0 + 4.0,
                html::escape(&matrix.labels[i])
            );
            for (j, value) in row.iter().enumerate() {
                let x = ox + float(j) * cell;
                let shade = if max > 0.0 { value / max } else { 0.0 };
                let text_colour = if shade > 0.5 { "#fff" } else { "#222" };
                let _ = write!(
                    out,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell:.1}\" height=\"{cell:.1}\" \
                     fill=\"#1f77b4\" fill-opacity=\"{:.3}\" stroke=\"#fff\"/>",
                    0.08 + 0.92 * shade
                );
                if cell >= 18.0 {
                    let _ = write!(
                        out,
                        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{text_colour}\">{}</text>",
                        x + cell / 2.0,
                        y + cell / 2.0 + 4.0,
                        tick_text(*value)
                    );
                }
            }
        }
        for (j, label) in matrix.labels.iter().enumerate() {
            let x = ox + float(j) * cell + cell / 2.0;
            let y = oy + float(n) * cell + 14.0;
            let _ = write!(
                out,
                "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{}</text>",
                html::escape(label)
            );
        }
    }
    out
}

/// Horizontal bars, one group per label, one bar per source.
fn bars_svg(groups: &[Bars]) -> String {
    let mut out = String::new();
    let labels: Vec<&str> = dedup(
        groups
            .iter()
            .flat_map(|g| g.bars.iter().map(|(l, _)| l.as_str())),
    );
    let max = groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|(_, v)| v.abs()))
        .fold(0.0, f64::max);
    let rows = labels.len().max(1) * groups.len().max(1);
    let bar = ((HEIGHT - 60.0) / float(rows)).clamp(2.0, 24.0);
    let left = 140.0;
    let mut y = 20.0;
    for label in &labels {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + bar * 0.7,
            html::escape(label)
        );
        for (s, group) in groups.iter().enumerate() {
            if let Some((_, value)) = group.bars.iter().find(|(l, _)| l == label) {
                let length = if max > 0.0 {
                    value.abs() / max * (WIDTH - left - 70.0)
                } else {
                    0.0
                };
                let _ = write!(
                    out,
                    "<rect x=\"{left:.1}\" y=\"{y:.1}\" width=\"{length:.1}\" height=\"{:.1}\" fill=\"{}\">\
                     <title>{}</title></rect><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                    bar * 0.9,
                    COLOURS[s % COLOURS.len()],
                    html::escape(&group.source),
                    left + length + 4.0,
                    y + bar * 0.7,
                    tick_text(*value)
                );
            }
            y += bar;
        }
    }
    out
}

/// Every plot on a grid of two columns, as one SVG (for the PNG).
pub(crate) fn grid_svg(report: &PlotsReport) -> (String, u32, u32) {
    let columns = if report.plots.len() > 1 { 2 } else { 1 };
    let rows = report.plots.len().div_ceil(columns).max(1);
    let (width, height) = (WIDTH * float(columns), HEIGHT * float(rows));
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
    );
    for (i, plot) in report.plots.iter().enumerate() {
        let (x, y) = (float(i % columns) * WIDTH, float(i / columns) * HEIGHT);
        let _ = write!(
            out,
            "<g transform=\"translate({x:.0} {y:.0})\">{}</g>",
            svg(plot)
        );
    }
    out.push_str("</svg>");
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a few thousand pixels"
    )]
    (out, width as u32, height as u32)
}

/// The plots as one PNG image, drawn from their SVG with the system's fonts; the flag says
/// whether a font was found (without one, text is left out).
pub(crate) fn png(r: &PlotsReport) -> anyhow::Result<(Vec<u8>, bool)> {
    use resvg::{tiny_skia, usvg};
    let (svg, width, height) = grid_svg(r);
    let mut options = usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    // fontdb maps `sans-serif` to Arial, which a Linux machine rarely has: point it at a sans
    // font that is installed (DejaVu on Debian), else at any font.
    let families: Vec<String> = fonts
        .faces()
        .flat_map(|face| face.families.iter().map(|(name, _)| name.clone()))
        .collect();
    let sans = [
        "DejaVu Sans",
        "Liberation Sans",
        "Noto Sans",
        "Arial",
        "Helvetica",
    ]
    .into_iter()
    .find(|wanted| families.iter().any(|f| f == wanted))
    .map(str::to_owned)
    .or_else(|| families.first().cloned());
    let found = sans.is_some();
    if let Some(sans) = sans {
        fonts.set_sans_serif_family(sans);
    }
    let tree = usvg::Tree::from_str(&svg, &options)
        .map_err(|e| anyhow::anyhow!("cannot draw the plots: {e}"))?;
    let mut pixmap = tiny_skia::Pixmap::new(width.max(1), height.max(1))
        .ok_or_else(|| anyhow::anyhow!("cannot draw the plots: an image of {width}x{height}"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let bytes = pixmap
        .encode_png()
        .map_err(|e| anyhow::anyhow!("cannot encode the PNG: {e}"))?;
    Ok((bytes, found))
}

/// The size of a page, for the note after writing one.
pub(crate) fn size_note(bytes: usize) -> String {
    text::size(bytes as u64)
}
