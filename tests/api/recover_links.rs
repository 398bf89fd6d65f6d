//! What ends or withholds an administrator's recovery link: a new link, disabling the
//! account, removing the email address it went to, and mail settings that cannot send it.

use sesame_tests::{TestApp, harness::TestFn, tests};

use crate::admin::sesame;
use crate::recover::{issue, person, start};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_new_link_replaces_the_earlier_one,
        a_disabled_account_gets_no_link,
        removing_an_email_address_ends_the_link_emailed_to_it,
        a_link_that_cannot_be_emailed_is_not_issued,
    ]
}

async fn a_new_link_replaces_the_earlier_one(app: TestApp) {
    person(&app, "mia").await;
    let first = issue(&app, "mia").await;
    let second = issue(&app, "mia").await;
    assert_ne!(first, second);
    assert_eq!(
        start(&app.new_browser(), &first).await.error(),
        "invalid_ceremony"
    );
    assert_eq!(start(&app.new_browser(), &second).await.status, 200);
}

async fn a_disabled_account_gets_no_link(app: TestApp) {
    person(&app, "ned").await;
    let token = issue(&app, "ned").await;
    let out = sesame(&app, &["account", "disable", "ned"]).await;
    assert!(out.ok, "{}", out.stderr);
    // Disabling dropped the pending link …
    assert_eq!(
        start(&app.new_browser(), &token).await.error(),
        "invalid_ceremony"
    );
    // … and no new one is issued.
    let out = sesame(&app, &["account", "recovery", "ned"]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("disabled"), "{}", out.stderr);
}

/// The link is emailed to every verified address; when the owner removes one (someone else
/// may read that mailbox), the link must stop working, as the log-in codes sent there do
/// (NIST SP 800-63B rev 4 §3.1.3: out-of-band secrets only through addresses bound to the
/// account).
async fn removing_an_email_address_ends_the_link_emailed_to_it(app: TestApp) {
    let browser = person(&app, "olga").await;
    sesame_tests::flows::enable_totp(&app, &browser).await;
    let token = issue(&app, "olga").await;
    let contacts = browser.get("/api/v1/account/contacts").await;
    let id = contacts.body[0]["id"]
        .as_str()
        .expect("a contact id")
        .to_owned();
    let r = browser
        .delete(&format!("/api/v1/account/contacts/{id}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);

    let r = start(&app.new_browser(), &token).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_ceremony");
}

/// Delivery settings that cannot work stop the command before anything changes: the earlier
/// link keeps working, and no new one is recorded that nobody got.
async fn a_link_that_cannot_be_emailed_is_not_issued(app: TestApp) {
    person(&app, "pavel").await;
    let token = issue(&app, "pavel").await;
    let out = crate::admin::sesame_with(
        &app,
        &["account", "recovery", "pavel", "--json"],
        &[("SESAME_MAIL_FROM", "")],
    )
    .await;
    assert!(!out.ok, "{}", out.stdout);
    assert!(out.stderr.contains("from address"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let shown = sesame(&app, &["account", "show", "pavel", "--json"]).await;
    let issued = shown.stdout.matches("admin_recovery_issued").count();
    assert_eq!(issued, 1, "{}", shown.stdout);
    let r = start(&app.new_browser(), &token).await;
    assert_eq!(r.status, 200, "the earlier link still works: {}", r.text);
}
