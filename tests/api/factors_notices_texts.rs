//! Security notices by text, for an account that has phone numbers and no email address, and
//! the limits on them.

use serde_json::json;
use sesame_tests::{
    Browser, TestApp,
    flows::{login_code_finish, login_code_start, read_code},
    harness::TestFn,
    tests,
};

use crate::{codes::code_in, factors_notices::notices};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        an_account_with_numbers_only_is_told_by_text_a_few_times_an_hour,
        one_number_on_many_accounts_is_texted_few_notices
    ]
}

/// The texts sent since the first `from` (waiting for the server's background work first):
/// `(to, body)`.
async fn texts_since(app: &TestApp, from: usize) -> Vec<(String, String)> {
    app.settle().await;
    app.sms.requests()[from..]
        .iter()
        .map(|r| {
            let body = r.json().unwrap();
            let field = |k: &str| body[k].as_str().unwrap().to_owned();
            (field("to"), field("body"))
        })
        .collect()
}

/// A number is proven by the code texted to it (by `browser`'s account); returns the new
/// contact's id and the texts sent once it was added.
async fn add_number(
    app: &TestApp,
    browser: &Browser,
    address: &str,
) -> (String, Vec<(String, String)>) {
    let from = app.sms.requests().len();
    let start = browser
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "sms", "address": address}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let (_, body) = texts_since(app, from).await.remove(0);
    let from = app.sms.requests().len();
    let added = browser
        .post(
            "/api/v1/account/contacts/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code_in(&body)}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let id = added.body["id"].as_str().unwrap().to_owned();
    (id, texts_since(app, from).await)
}

/// Each of `texts` is `what`'s notice, and they went to exactly `numbers`.
fn told(texts: &[(String, String)], what: &str, numbers: &[&str]) {
    let mut to: Vec<&str> = texts.iter().map(|(to, _)| to.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, numbers, "{what}: {texts:?}");
    for (_, body) in texts {
        assert!(body.contains(&format!("security notice: {what}")), "{body}");
    }
}

/// An account with no email address hears of changes by text (OWASP ASVS 5.0 V6.3.7), at each
/// of its numbers and at a number just removed; at most five texts an hour to the account,
/// since texts cost money, and a removed number has an allowance of its own. An email address
/// added is texted to the numbers; after it, notices go by email.
async fn an_account_with_numbers_only_is_told_by_text_a_few_times_an_hour(app: TestApp) {
    let (first, second, third) = ("+447911123401", "+447911123402", "+447911123403");
    let start = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "rita", "channel": "sms", "address": first}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let (_, body) = texts_since(&app, 0).await.remove(0);
    let r = app
        .post(
            "/api/v1/signup/code/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code_in(&body)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let app = &app;
    let remove = |id: String| async move {
        let from = app.sms.requests().len();
        let r = app.delete(&format!("/api/v1/account/contacts/{id}")).await;
        assert_eq!(r.status, 204, "{}", r.text);
        texts_since(app, from).await
    };

    // The account's texts this hour: 2, then 3 (the removed number's is not one of them).
    let (second_id, added) = add_number(app, &app.browser, second).await;
    told(&added, "A contact was added", &[first, second]);
    told(
        &remove(second_id).await,
        "A contact was removed",
        &[first, second],
    );

    // The fourth and fifth of the hour are the last.
    let recovery_codes = || async {
        let r = app.post("/api/v1/account/recovery-codes", &json!({})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    };
    let from = app.sms.requests().len();
    for _ in 0..3 {
        recovery_codes().await;
    }
    let texts = texts_since(app, from).await;
    told(&texts, "New recovery codes were generated", &[first, first]);

    // Past the limit, a removed number is still told: cheap notices cannot use that up.
    app.clock.advance_secs(31);
    let (third_id, added) = add_number(app, &app.browser, third).await;
    assert_eq!(added, [], "past the account's limit");
    told(&remove(third_id).await, "A contact was removed", &[third]);

    // An hour on (and a log-in, for a session recent enough to make new codes).
    app.clock.advance_secs(3_601);
    let from = app.sms.requests().len();
    let ceremony = login_code_start(&app.browser, "rita", "sms").await;
    let texts = texts_since(app, from).await;
    let (_, body) = texts
        .iter()
        .find(|(_, b)| b.contains("sign-in code"))
        .unwrap();
    let r = login_code_finish(&app.browser, &ceremony, &code_in(body), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let from = texts_since(app, 0).await.len();
    recovery_codes().await;
    let texts = texts_since(app, from).await;
    told(&texts, "New recovery codes were generated", &[first]);

    // An email address added is texted to the numbers: whoever added it may have taken the
    // account over.
    let start = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "rita@example.com"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let code = read_code(app, "rita@example.com").await;
    let from = app.sms.requests().len();
    let added = app
        .post(
            "/api/v1/account/contacts/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    told(
        &texts_since(app, from).await,
        "A contact was added",
        &[first],
    );

    // From then on notices go by email; the number removed last is still told by text.
    let from = app.sms.requests().len();
    recovery_codes().await;
    assert_eq!(texts_since(app, from).await, [], "no text with an address");
    let contacts = app.get("/api/v1/account/contacts").await.body;
    let number = contacts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "sms")
        .unwrap();
    let removed = remove(number["id"].as_str().unwrap().to_owned()).await;
    told(&removed, "A contact was removed", &[first]);
    let got = notices(app, "rita@example.com", 2)
        .await
        .join("\n---\n")
        .to_lowercase();
    for what in ["recovery codes were generated", "contact was removed"] {
        assert!(got.contains(what), "no notice saying {what:?} in:\n{got}");
    }
}

/// The notice texts' limit is per number too: a number put on one account after another gets
/// no more than five notices an hour (SMS pumping through notices, OWASP ASVS 5.0 V2.4.1).
async fn one_number_on_many_accounts_is_texted_few_notices(app: TestApp) {
    let number = "+447911123409";
    let mut accounts = Vec::new();
    for name in ["pat", "sam"] {
        let browser = app.new_browser();
        let r = browser.signup_passkey(name, &mut app.authenticator()).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let (_, added) = add_number(&app, &browser, number).await;
        told(&added, "A contact was added", &[number]);
        app.clock.advance_secs(31);
        accounts.push(browser);
    }
    let from = app.sms.requests().len();
    for browser in &accounts {
        for _ in 0..2 {
            let r = browser
                .post("/api/v1/account/recovery-codes", &json!({}))
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
    }
    let texts = texts_since(&app, from).await;
    told(&texts, "New recovery codes were generated", &[number; 3]);
}
