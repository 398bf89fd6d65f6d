//! Where a person goes after logging in (`return_to`), checked wherever Sesame itself produces
//! a redirect: a path on the same origin, or an address on one of the configured origins
//! (`SESAME_ORIGIN`). Anything else — another host, `//host`, `/\host`, `javascript:`, user
//! info, control characters — is refused, so no link through Sesame can send someone to another
//! site (OWASP ASVS 5.0 V3.7.2 / CWE-601 open redirect).
//!
//! The log-in page itself (`web/assets/ui.js` `safeReturnTo`) takes only same-origin paths, so
//! the redirect Sesame produces always names the page on the target's own origin and passes
//! the path alone.

use url::{Url, form_urlencoded::byte_serialize};

/// Longest `return_to` accepted.
const MAX_LEN: usize = 2048;

/// A checked return address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnTo {
    /// A path (with query) on the origin the request came to.
    Path(String),
    /// A path on one of the configured origins (`scheme://host[:port]`, as configured).
    OnOrigin { origin: String, path: String },
}

impl ReturnTo {
    /// The log-in page that comes back here afterwards: relative for a path, on the target's
    /// origin otherwise (the session cookie is the origin's own, `__Host-` on https).
    pub fn login_url(&self) -> String {
        match self {
            Self::Path(path) => format!("/login?return_to={}", encode(path)),
            Self::OnOrigin { origin, path } => {
                format!("{origin}/login?return_to={}", encode(path))
            }
        }
    }
}

fn encode(text: &str) -> String {
    byte_serialize(text.as_bytes()).collect()
}

/// Check `raw` against `origins` (the configured ones); `None` when it may not be used.
pub fn check(raw: &str, origins: &[Url]) -> Option<ReturnTo> {
    if raw.is_empty()
        || raw.len() > MAX_LEN
        || raw.contains('\\')
        || raw.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return None;
    }
    if raw.starts_with('/') {
        // A path: `//host` is a scheme-relative address of another host, never a path.
        if raw.starts_with("//") {
            return None;
        }
        let base = Url::parse("http://sesame.invalid/").ok()?;
        let url = base.join(raw).ok()?;
        (url.origin() == base.origin() && !scheme_relative(&url))
            .then(|| ReturnTo::Path(path_of(&url)))
    } else {
        let url = Url::parse(raw).ok()?;
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
            || scheme_relative(&url)
        {
            return None;
        }
        let origin = url.origin();
        origins
            .iter()
            .find(|o| o.origin() == origin)
            .map(|_| ReturnTo::OnOrigin {
                origin: origin.ascii_serialization(),
                path: path_of(&url),
            })
    }
}

/// Does the normalised path start with `//`? Dot segments are removed only when the address
/// is parsed (`/.//evil.example`, `/%2e//evil.example` and `/a/..//evil.example` all become
/// `//evil.example`), and a browser reads such a path, given on its own, as another host.
fn scheme_relative(url: &Url) -> bool {
    url.path().starts_with("//")
}

/// Path and query (the fragment never reaches a server).
fn path_of(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins() -> Vec<Url> {
        ["https://example.com", "https://app.example.com:8443"]
            .iter()
            .filter_map(|o| Url::parse(o).ok())
            .collect()
    }

    #[test]
    fn same_origin_paths_and_configured_origins_are_accepted() {
        let o = origins();
        assert_eq!(
            check("/app/x?a=1&b=2", &o),
            Some(ReturnTo::Path("/app/x?a=1&b=2".into()))
        );
        assert_eq!(
            check("https://app.example.com:8443/p?q=1#frag", &o),
            Some(ReturnTo::OnOrigin {
                origin: "https://app.example.com:8443".into(),
                path: "/p?q=1".into()
            })
        );
        assert_eq!(
            check("/a/../b", &o).map(|r| r.login_url()),
            Some("/login?return_to=%2Fb".into())
        );
    }

    #[test]
    fn other_sites_and_tricks_are_refused() {
        let o = origins();
        for bad in [
            "https://evil.example/",
            "//evil.example/x",
            "/.//evil.example/x",
            "/%2e//evil.example/x",
            "/a/..//evil.example/x",
            "https://example.com/.//evil.example/x",
            "/\\evil.example",
            "\\\\evil.example",
            "https://example.com.evil.example/",
            "https://user@example.com/",
            "http://example.com/",
            "https://app.example.com/",
            "javascript:alert(1)",
            "data:text/html,x",
            "/x\ny",
            "/x y",
            "",
            "relative/path",
        ] {
            assert_eq!(check(bad, &o), None, "{bad:?} was accepted");
        }
    }
}
