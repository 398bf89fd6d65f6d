//! The message bodies' wording, their HTML escaping and their one-line fields.

use super::*;

#[test]
fn code_sms_wording() {
    assert_eq!(
        code_sms(CodePurpose::LogIn, "123456", "Sesame", 10),
        "123456 is your Sesame sign-in code. It expires in 10 minutes. Don't share it."
    );
    assert!(code_sms(CodePurpose::SignUp, "123456", "Sesame", 1).contains("1 minute."));
    assert_eq!(
        code_sms_origin_bound(CodePurpose::LogIn, "123456", "Sesame", "id.example.com", 10),
        "123456 is your Sesame sign-in code. It expires in 10 minutes. Don't share it.\n\n\
         @id.example.com #123456"
    );
    assert!(
        !code_sms_origin_bound(CodePurpose::LogIn, "123456", "Sesame", "bad host", 10)
            .contains('@')
    );
}

#[test]
fn code_email_says_purpose_and_expiry_and_escapes() {
    let (subject, text, html) = code_email(CodePurpose::VerifyContact, "654321", "<Acme & Co>", 10);
    assert_eq!(subject, "Your <Acme & Co> verification code");
    assert!(text.contains("654321"));
    assert!(text.contains("expires in 10 minutes"));
    assert!(html.contains("654321"));
    assert!(html.contains("&lt;Acme &amp; Co&gt;"));
    assert!(!html.contains("<Acme"));
    assert!(!subject.contains("654321"));
    for purpose in [
        CodePurpose::SignUp,
        CodePurpose::LogIn,
        CodePurpose::VerifyContact,
        CodePurpose::Reauthenticate,
    ] {
        let (s, t, _) = code_email(purpose, "111111", "Sesame", 5);
        assert!(s.contains(purpose.noun()));
        assert!(t.contains("5 minutes"));
    }
}

#[test]
fn security_notice_escapes_and_flattens() {
    let (subject, text, html) = security_notice_email(
        "A passkey was added to your account",
        "2026-11-27T10:00:00Z",
        Some("203.0.113.7"),
        Some("<script>alert(1)</script>\r\nX-Injected: yes"),
        "Sesame",
    );
    assert_eq!(
        subject,
        "Sesame security notice: A passkey was added to your account"
    );
    assert!(!subject.contains('\n'));
    assert!(text.starts_with("A passkey was added to your account.\n"));
    assert!(text.contains("When: 2026-11-27T10:00:00Z"));
    assert!(text.contains("IP address: 203.0.113.7"));
    assert!(!text.contains("\r\nX-Injected"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(!html.contains("<script>"));
    let (_, text, _) = security_notice_email("Password removed", "t", None, None, "Sesame");
    assert!(!text.contains("IP address"));
    assert!(!text.contains("Device"));
}

#[test]
fn a_security_notice_by_text_is_one_short_line() {
    let sms = security_notice_sms(
        "A passkey was added to your account",
        "2026-11-27T10:00:00Z",
        "Sesame\nX",
    );
    assert_eq!(
        sms,
        "Sesame X security notice: A passkey was added to your account \
         (2026-11-27T10:00:00Z). If it wasn't you, sign in to Sesame X now and review your \
         account."
    );
    // Two SMS segments at most (GSM-7: 153 characters each when concatenated), whatever the
    // lengths of the parts.
    let long = security_notice_sms(&"w".repeat(500), &"t".repeat(500), &"R".repeat(500));
    assert!(
        long.chars().count() <= 306,
        "{} characters",
        long.chars().count()
    );
    assert!(long.is_ascii());
}
