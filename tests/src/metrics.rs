//! Reading Prometheus text expositions (`/metrics`).

/// The value of the series line that starts with `series` (name and labels, exactly).
pub fn value(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
