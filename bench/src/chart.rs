//! A hand-written SVG: for each swept scenario, throughput and p99 latency against
//! concurrency (log₂ x axis), one polyline per series (e.g. per database).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// One point of a concurrency sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Point {
    pub concurrency: usize,
    pub throughput: f64,
    pub p99_ms: f64,
}

/// One line: a scenario on one backend.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Series {
    pub backend: String,
    pub scenario: String,
    pub points: Vec<Point>,
}

const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];
const WIDTH: f64 = 960.0;
const ROW: f64 = 300.0;
const PANEL_W: f64 = WIDTH / 2.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 52.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A round upper bound (1, 2 or 5 × 10^k) at or above `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for factor in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if factor * magnitude >= max {
            return factor * magnitude;
        }
    }
    10.0 * magnitude
}

fn label(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.0}k", value / 1000.0)
    } else if value >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// The SVG document for `series` (grouped into rows by scenario), titled `title`.
pub fn svg(title: &str, subtitle: &str, series: &[Series]) -> String {
    let mut scenarios: Vec<&str> = Vec::new();
    for s in series {
        if !scenarios.contains(&s.scenario.as_str()) {
            scenarios.push(&s.scenario);
        }
    }
    let mut backends: Vec<&str> = Vec::new();
    for s in series {
        if !backends.contains(&s.backend.as_str()) {
            backends.push(&s.backend);
        }
    }
    let mut concurrencies: Vec<usize> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.concurrency.max(1)))
        .collect();
    concurrencies.sort_unstable();
    concurrencies.dedup();
    let x_min = concurrencies.first().copied().unwrap_or(1) as f64;
    let x_max = concurrencies.last().copied().unwrap_or(2) as f64;
    let (lx_min, lx_max) = (x_min.log2(), x_max.log2().max(x_min.log2() + 1.0));

    let height = 70.0 + ROW * scenarios.len().max(1) as f64 + 30.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="{}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{}</text>
<text x="{}" y="44" text-anchor="middle" fill="#555">{}</text>
"##,
        WIDTH / 2.0,
        escape(title),
        WIDTH / 2.0,
        escape(subtitle)
    );
    for (row, scenario) in scenarios.iter().enumerate() {
        let y0 = 60.0 + ROW * row as f64;
        for (panel, (metric, unit)) in [("throughput", "ops/s"), ("p99 latency", "ms")]
            .iter()
            .enumerate()
        {
            let x0 = PANEL_W * panel as f64;
            let (px, py) = (x0 + LEFT, y0 + TOP);
            let (pw, ph) = (PANEL_W - LEFT - RIGHT, ROW - TOP - BOTTOM);
            let value = |p: &Point| if panel == 0 { p.throughput } else { p.p99_ms };
            let y_max = nice_max(
                series
                    .iter()
                    .filter(|s| s.scenario == *scenario)
                    .flat_map(|s| s.points.iter().map(value))
                    .fold(0.0, f64::max),
            );
            let to_x = |c: usize| px + ((c.max(1) as f64).log2() - lx_min) / (lx_max - lx_min) * pw;
            let to_y = |v: f64| py + ph - (v / y_max).clamp(0.0, 1.05) * ph;
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{}" text-anchor="middle" font-weight="bold">{} — {metric}</text>"#,
                px + pw / 2.0,
                y0 + TOP - 14.0,
                escape(scenario)
            );
            // Grid and y ticks.
            for i in 0..=5 {
                let v = y_max * i as f64 / 5.0;
                let y = to_y(v);
                let _ = writeln!(
                    out,
                    r##"<line x1="{px}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">{}</text>"##,
                    px + pw,
                    px - 6.0,
                    y + 4.0,
                    label(v)
                );
            }
            // Axes.
            let _ = writeln!(
                out,
                r##"<polyline points="{px},{py} {px},{:.1} {:.1},{:.1}" fill="none" stroke="#333"/>"##,
                py + ph,
                px + pw,
                py + ph
            );
            for &c in &concurrencies {
                let x = to_x(c);
                let _ = writeln!(
                    out,
                    r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#333">{c}</text>"##,
                    py + ph,
                    py + ph + 4.0,
                    py + ph + 18.0
                );
            }
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">concurrency (clients)</text><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333" transform="rotate(-90 {:.1} {:.1})">{unit}</text>"##,
                px + pw / 2.0,
                py + ph + 36.0,
                x0 + 16.0,
                py + ph / 2.0,
                x0 + 16.0,
                py + ph / 2.0
            );
            for s in series.iter().filter(|s| s.scenario == *scenario) {
                let color = COLORS
                    [backends.iter().position(|b| *b == s.backend).unwrap_or(0) % COLORS.len()];
                let mut points: Vec<&Point> = s.points.iter().collect();
                points.sort_by_key(|p| p.concurrency);
                let coords: Vec<String> = points
                    .iter()
                    .map(|p| format!("{:.1},{:.1}", to_x(p.concurrency), to_y(value(p))))
                    .collect();
                let _ = writeln!(
                    out,
                    r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                    coords.join(" ")
                );
                for p in points {
                    let _ = writeln!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"><title>{} {}: c={} {}={}</title></circle>"#,
                        to_x(p.concurrency),
                        to_y(value(p)),
                        escape(&s.backend),
                        escape(&s.scenario),
                        p.concurrency,
                        metric,
                        label(value(p))
                    );
                }
            }
        }
    }
    // Legend.
    let legend_y = height - 18.0;
    for (i, backend) in backends.iter().enumerate() {
        let x = LEFT + 160.0 * i as f64;
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(
            out,
            r##"<line x1="{x}" y1="{legend_y}" x2="{}" y2="{legend_y}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}" fill="#333">{}</text>"##,
            x + 24.0,
            x + 30.0,
            legend_y + 4.0,
            escape(backend)
        );
    }
    out.push_str("</svg>\n");
    out
}
