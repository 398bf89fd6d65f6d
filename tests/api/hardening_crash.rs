//! Kill -9 under load: a driver signs up and logs in continuously against a real `sesame`
//! process while the test kills it with SIGKILL and starts it again, several times. Afterwards
//! everything that was answered with success is there and works, nothing is half made, and no
//! ceremony can be finished twice.

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sea_orm::{DatabaseConnection, EntityTrait};
use sesame_tests::{TestApp, harness::TestFn, process::ServerProcess, tests};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::hardening_crash_driver::{Record, client, drive_once};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![everything_answered_with_success_survives_kill_9_under_load]
}

/// How many times the process is killed.
const KILLS: usize = 5;

async fn everything_answered_with_success_survives_kill_9_under_load(app: TestApp) {
    let mut process = ServerProcess::start_for(&app, None, &[]).await;
    let (port, origin) = (process.port, process.origin.clone());
    let app = Arc::new(app);
    let record = Arc::new(Mutex::new(Record::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut drivers = Vec::new();
    for lane in 0..2 {
        let (app, record, stop, origin) =
            (app.clone(), record.clone(), stop.clone(), origin.clone());
        drivers.push(tokio::spawn(async move {
            let mut n = lane;
            while !stop.load(Ordering::Relaxed) {
                if drive_once(&app, port, &origin, n, &record).await.is_err() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                n += 2;
            }
        }));
    }
    for kill in 0..=KILLS {
        // Let the driver get somewhere first (a loaded machine is slow), then kill it at a
        // moment that moves from kill to kill, so kills land in different steps.
        let before = record.lock().await.accounts.len();
        for _ in 0..400 {
            if record.lock().await.accounts.len() >= before + 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if kill == KILLS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(37 * kill as u64)).await;
        process.restart().await; // SIGKILL, then start again and wait for /readyz
    }
    stop.store(true, Ordering::Relaxed);
    for driver in drivers {
        driver.await.expect("the driver did not panic");
    }
    let record = Arc::try_unwrap(record)
        .ok()
        .expect("drivers done")
        .into_inner();
    eprintln!(
        "kill -9 x{KILLS}: {} accounts, {} sessions answered with success, {} answers lost to a kill",
        record.accounts.len(),
        record.tokens.len(),
        record.unknown.len()
    );
    assert!(
        record.accounts.len() >= 3 * (KILLS + 1),
        "the driver made progress: {}",
        record.accounts.len()
    );

    // Every recorded session still answers.
    let plain = reqwest::Client::new();
    for token in &record.tokens {
        let r = plain
            .get(format!("http://127.0.0.1:{port}/api/v1/session"))
            .header("cookie", format!("sesame_session={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "a session answered with success is gone");
    }
    // Every recorded passkey still logs in; every account exists.
    let browser = client(port);
    for (username, auth) in &record.accounts {
        let Some(auth) = auth else { continue };
        let mut auth = auth.clone();
        let r = client(port)
            .login_passkey(Some(username), &mut auth, &Default::default())
            .await;
        assert_eq!(r.status, 200, "{username}: {}", r.text);
    }
    let db = app.db().await;
    let usernames: HashSet<String> = entity::account::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.username)
        .collect();
    for (username, _) in &record.accounts {
        assert!(usernames.contains(username), "{username} is missing");
    }
    // No ceremony finishes twice: the answered ones are spent, the lost ones finish at most once.
    for (path, body) in &record.finished {
        let r = browser.post(path, body).await;
        assert!(
            matches!(r.status, 400 | 401),
            "{path} finished again: {} {}",
            r.status,
            r.text
        );
    }
    for (path, body) in &record.unknown {
        let (one, two) = (client(port), client(port));
        let (a, b) = tokio::join!(one.post(path, body), two.post(path, body));
        let wins = [a.status, b.status].iter().filter(|s| **s < 300).count();
        assert!(wins <= 1, "{path}: {} and {}", a.text, b.text);
        assert!(
            a.status < 500 && b.status < 500,
            "{path}: {} {}",
            a.text,
            b.text
        );
    }
    assert_consistent(&db).await;
    drop(process);
}

/// Nothing half made: every row's account exists, every account has a way in and the event
/// that created it (written in the same transaction).
pub async fn assert_consistent(db: &DatabaseConnection) {
    let accounts: HashSet<Uuid> = entity::account::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    let totp: HashSet<Uuid> = entity::account::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.totp_enabled_at.is_some())
        .map(|a| a.id)
        .collect();
    let passkeys: Vec<Uuid> = entity::passkey::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.account_id)
        .collect();
    let contacts: Vec<Uuid> = entity::contact::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.account_id)
        .collect();
    let sessions: Vec<Uuid> = entity::session::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.account_id)
        .collect();
    let events = entity::event::Entity::find().all(db).await.unwrap();
    let recovery: Vec<Uuid> = entity::recovery_code::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.account_id)
        .collect();
    for (what, owners) in [
        ("passkey", &passkeys),
        ("contact", &contacts),
        ("session", &sessions),
        ("recovery code", &recovery),
    ] {
        for owner in owners.iter() {
            assert!(
                accounts.contains(owner),
                "a {what} of a missing account {owner}"
            );
        }
    }
    for event in &events {
        assert!(
            accounts.contains(&event.account_id),
            "an event of a missing account"
        );
    }
    let created: HashSet<Uuid> = events
        .iter()
        .filter(|e| e.kind == "account_created")
        .map(|e| e.account_id)
        .collect();
    for account in &accounts {
        let ways_in = passkeys.iter().filter(|p| *p == account).count()
            + contacts.iter().filter(|c| *c == account).count()
            + usize::from(totp.contains(account));
        assert!(ways_in > 0, "account {account} has no way in");
        assert!(
            created.contains(account),
            "account {account} has no account_created event"
        );
    }
}
