//! Usernames: 3–64 characters after NFKC normalisation and lower-casing; ASCII letters,
//! digits, `.`, `_`, `-` (contract "Sign-up"). NFKC first, so look-alike full-width forms
//! collapse onto their ASCII twins (UTS #39 / NIST SP 800-63B §5.1.1.2 normalisation).

use unicode_normalization::UnicodeNormalization;

/// The canonical form of a username, or a description of what is wrong with it.
pub fn normalize(raw: &str) -> Result<String, String> {
    let name: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    let len = name.chars().count();
    if !(3..=64).contains(&len) {
        return Err("a username has 3 to 64 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("a username may contain only letters a–z, digits, '.', '_' and '-'".into());
    }
    Ok(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::normalize;

    #[test]
    fn full_width_and_upper_case_fold_to_ascii() {
        assert_eq!(normalize("ＡＬＩＣＥ").unwrap(), "alice");
        assert_eq!(normalize(" Bob.Smith ").unwrap(), "bob.smith");
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["ab", "", "a b c", "ü-ber", "x".repeat(65).as_str(), "a/b/c"] {
            assert!(normalize(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
