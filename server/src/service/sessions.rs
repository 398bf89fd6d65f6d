//! Sessions: issuing, checking and ending them.
//!
//! A token is 256 bits from the OS CSPRNG and only its SHA-256 is stored (contract
//! "Conventions"; OWASP ASVS 5.0 V7.2). Every log-in issues a new token (session fixation,
//! ASVS V7.2.4); idle and absolute lifetimes are enforced here, server-side (NIST SP 800-63B
//! §2.2.3 / ASVS V7.3).

use entity::{account, session};
use sea_orm::DbErr;
use uuid::Uuid;

use crate::{
    config::Config,
    crypto,
    db::{Exec, Reads, Writer},
    extract::ClientInfo,
    service::{Method, methods_text},
    store,
};

/// A checked, live session and its account.
#[derive(Clone)]
pub struct Authenticated {
    pub session: session::Model,
    pub account: account::Model,
}

/// The ids only: the account row holds the password hash and the sealed TOTP secret, which
/// must not reach a log line or a panic message through a `{:?}`.
impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticated")
            .field("session", &self.session.id)
            .field("account", &self.account.id)
            .finish_non_exhaustive()
    }
}

/// A session that was just issued, with the token for the cookie. No `Debug`: the token is
/// the session (a `{:?}` in a log line would hand it over).
pub struct Issued {
    pub token: String,
    pub session: session::Model,
    /// The account's device generation, read in the log-in's transaction: what its
    /// known-device cookie is issued under (`auth::signed_in`).
    pub device_generation: i32,
}

/// Look a token up: one indexed read (through `inline` when there is one, SQLite; else
/// through `reads`); at most once a minute a `last_seen_at` write (through the writer), more
/// often only when the idle time is under ten minutes ([`touch_every`]).
pub async fn authenticate(
    reads: Reads<'_>,
    writer: &Writer,
    config: &Config,
    token: &str,
    now: i64,
) -> Result<Option<Authenticated>, crate::error::ApiError> {
    let hash = crypto::token_hash(token);
    let Some((session, account)) = store::sessions::find_by_token_hash(reads, &hash).await? else {
        return Ok(None);
    };
    let idle_ms = (config.session_idle_secs as i64).saturating_mul(1000);
    if session.expires_at <= now || session.last_seen_at + idle_ms <= now || account.disabled {
        return Ok(None);
    }
    let stale_ms = touch_every(idle_ms);
    if now - session.last_seen_at >= stale_ms {
        let id = session.id;
        // Boxed: rare (at most once a minute per session with the defaults), and inline its
        // state would be part of every check's future (docs/performance-history.md, item 28).
        Box::pin(writer.write(move |db| async move {
            Ok(store::sessions::touch(&db, id, now, stale_ms).await?)
        }))
        .await?;
    }
    Ok(Some(Authenticated { session, account }))
}

/// How stale `last_seen_at` may get before a check writes it again: a minute, or a tenth of
/// the idle time when that is shorter. With a fixed minute, an idle time of 30 s ended a
/// session used every 20 s (its `last_seen_at` was never moved on); with a tenth, a session
/// used within nine tenths of the idle time stays alive.
fn touch_every(idle_ms: i64) -> i64 {
    (idle_ms / 10).clamp(1, 60_000)
}

/// Finish a successful log-in ceremony: a re-authentication of `current` when it belongs to
/// the same account (new token, fresh `authenticated_at`), else a new session. Any other
/// session this browser carried is ended. Records a `login` event.
pub async fn complete_login<C: Exec>(
    db: &C,
    config: &Config,
    account: &account::Model,
    methods: &[Method],
    client: &ClientInfo,
    current: Option<&Authenticated>,
    now: i64,
) -> Result<Issued, DbErr> {
    let (token, token_hash) = crypto::new_token();
    let methods = methods_text(methods);
    // In the transaction, after the account's lock (taken by every log-in, and by every change
    // that forgets the account's devices): a forget either came before, and the cookie is
    // under its generation, or comes after, and ends this session and the cookie with it.
    let device_generation = store::devices::generation(db, account.id).await?;
    if let Some(current) = current {
        if current.account.id == account.id {
            let rotated = store::sessions::rotate(
                db,
                current.session.id,
                &current.session.token_hash,
                token_hash.clone(),
                &methods,
                now,
            )
            .await?;
            if rotated {
                store::events::insert(
                    db,
                    account.id,
                    "login",
                    client,
                    serde_json::json!({"methods": methods, "reauthentication": true}),
                    now,
                )
                .await?;
                let mut session = current.session.clone();
                session.token_hash = token_hash;
                session.authenticated_at = now;
                session.last_seen_at = now;
                session.methods = methods;
                return Ok(Issued {
                    token,
                    session,
                    device_generation,
                });
            }
        } else {
            store::sessions::delete(db, current.account.id, current.session.id).await?;
        }
    }
    let session = session::Model {
        id: Uuid::new_v4(),
        account_id: account.id,
        token_hash,
        created_at: now,
        last_seen_at: now,
        authenticated_at: now,
        expires_at: now + (config.session_lifetime_secs as i64).saturating_mul(1000),
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        methods: methods.clone(),
    };
    let others = store::sessions::insert_counting_others(db, session.clone()).await?;
    // At most `SESAME_SESSION_LIMIT` sessions an account: a script that logs in again and
    // again, never signing out, would otherwise keep thousands alive until they idle out, each
    // one in the account's session list (OWASP ASVS 5.0 V7.1.2: a documented limit of
    // concurrent sessions, and what happens at it). The least recently used go; the login
    // event says how many.
    let limit = config.session_limit;
    let ended = if limit > 0 && others >= u64::from(limit) {
        store::sessions::end_beyond_limit(db, account.id, session.id, limit).await?
    } else {
        0
    };
    let mut detail = serde_json::json!({"methods": methods, "session_id": session.id});
    if ended > 0 {
        detail["sessions_ended"] = ended.into();
    }
    store::events::insert(db, account.id, "login", client, detail, now).await?;
    Ok(Issued {
        token,
        session,
        device_generation,
    })
}

/// Is the session's last authentication within the re-authentication window?
pub fn is_recent(config: &Config, session: &session::Model, now: i64) -> bool {
    now - session.authenticated_at <= (config.reauth_window_secs as i64).saturating_mul(1000)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::{config::Config, db};

    /// A `{:?}` of an authenticated request's session shows ids, never the password hash or
    /// the sealed TOTP secret of its account (nor the session's token hash).
    #[test]
    fn an_authenticated_sessions_debug_shows_no_secret() {
        let mut account = crate::store::accounts::new_account("ada", "Ada", uuid::Uuid::nil(), 0);
        account.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        account.totp_secret = Some(vec![0xAB; 40]);
        // Fixed ids, so that no digit of theirs looks like the bytes looked for below.
        account.id = uuid::Uuid::nil();
        let session = entity::session::Model {
            id: uuid::Uuid::nil(),
            account_id: account.id,
            token_hash: vec![0xCD; 32],
            created_at: 0,
            last_seen_at: 0,
            authenticated_at: 0,
            expires_at: 1,
            ip: None,
            user_agent: None,
            methods: "passkey".into(),
        };
        let shown = format!("{:?}", super::Authenticated { session, account });
        // The hash, and the bytes 0xAB and 0xCD as `{:?}` writes them.
        for secret in ["argon2id", "171", "205"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    /// The session check's future carries no state of a path it rarely takes. sqlx's check-out
    /// of a connection is a future of 14.5 KB; inline in the pinned read, it made every
    /// check's future 15 KB (release build), copied and allocated whole on every request, on
    /// SQLite too (docs/performance-history.md, item 28). The check-out and the once-a-minute write
    /// are boxed.
    #[tokio::test]
    async fn the_session_checks_future_carries_no_connection_check_out() {
        let pool = db::connect("sqlite::memory:", 1).await.unwrap();
        let writer = db::Writer::new(pool.clone(), None).unwrap();
        let config = Config::default();
        // A future's size is its type's: the same whichever branch it would take.
        let reads = db::ReadPool::new(pool.clone());
        let check = super::authenticate(db::Reads::pooled(&reads), &writer, &config, "t", 0);
        let size = std::mem::size_of_val(&check);
        eprintln!("the session check's future: {size} bytes");
        assert!(size <= 2048, "{size} bytes");
    }
}
