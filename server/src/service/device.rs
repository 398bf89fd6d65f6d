//! What a user agent string says about the device, for the sessions and activity lists
//! ("Firefox on Windows 10" reads better than the raw header). Parsed with `woothee`, a
//! table-driven parser with no network access or data files.

use serde::Serialize;

/// `{"browser", "os"}`; either is `null` when the user agent does not say.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Device {
    #[schema(required = true)]
    pub browser: Option<String>,
    #[schema(required = true)]
    pub os: Option<String>,
}

impl Device {
    /// Parse a `User-Agent` header value (absent, empty or unrecognised: both fields `null`).
    pub fn from_user_agent(user_agent: Option<&str>) -> Self {
        let Some(parsed) = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua))
        else {
            return Self::default();
        };
        let known = |value: &str| {
            (!value.is_empty() && value != woothee::woothee::VALUE_UNKNOWN)
                .then(|| value.to_owned())
        };
        let os = known(parsed.os).map(|os| match known(&parsed.os_version) {
            // "Mac OSX 10.15.7", "Android 14"; but "Windows 10" already says it (its version
            // is "NT 10.0").
            Some(version)
                if version.starts_with(|c: char| c.is_ascii_digit())
                    && !os.ends_with(|c: char| c.is_ascii_digit()) =>
            {
                format!("{os} {version}")
            }
            _ => os,
        });
        Self {
            browser: known(parsed.name),
            os,
        }
    }

    /// "Firefox on Windows 10", "Chrome", "Linux", or `None` when nothing is known.
    pub fn describe(&self) -> Option<String> {
        match (&self.browser, &self.os) {
            (Some(browser), Some(os)) => Some(format!("{browser} on {os}")),
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Device;

    #[test]
    fn common_browsers_are_named_with_their_os() {
        let firefox = Device::from_user_agent(Some(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        ));
        assert_eq!(firefox.browser.as_deref(), Some("Firefox"));
        assert_eq!(firefox.os.as_deref(), Some("Windows 10"));
        let chrome = Device::from_user_agent(Some(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        ));
        assert_eq!(chrome.describe().as_deref(), Some("Chrome on Linux"));
        let safari = Device::from_user_agent(Some(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        ));
        assert_eq!(safari.browser.as_deref(), Some("Safari"));
        assert!(safari.os.unwrap_or_default().starts_with("Mac OSX 10.15"));
    }

    #[test]
    fn an_absent_or_unknown_user_agent_says_nothing() {
        assert_eq!(Device::from_user_agent(None), Device::default());
        assert_eq!(Device::from_user_agent(Some("")).describe(), None);
        assert_eq!(Device::from_user_agent(Some("zzz")).describe(), None);
    }
}
