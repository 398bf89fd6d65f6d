//! Reading Prometheus text expositions (`/metrics`).

/// `GET {base}/metrics`, with the bearer `token` when there is one: the status and the text.
pub async fn scrape(client: &reqwest::Client, base: &str, token: Option<&str>) -> (u16, String) {
    let mut request = client.get(format!("{base}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.expect("GET /metrics");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// The value of the series line that starts with `series` (name and labels, exactly).
pub fn value(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
