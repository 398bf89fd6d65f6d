//! The password policy, and hashes that agree with the argon2 crate's own.

#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn common_and_short_passwords_are_refused() {
    for bad in ["password", "12345678", "qwertyuiop", "short", "alicealice1"] {
        assert!(check_policy(bad, "alice").is_err(), "{bad}");
    }
    assert!(check_policy("correct horse battery staple", "alice").is_ok());
    assert!(check_policy(&"x".repeat(129), "alice").is_err());
}

#[tokio::test]
async fn a_hash_verifies_only_its_password() {
    let phc = hash("tangerine ladder 42 quietly".into()).await.unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(
        verify("tangerine ladder 42 quietly".into(), Some(phc.clone()))
            .await
            .unwrap()
    );
    assert!(
        !verify("tangerine ladder 42 quietlY".into(), Some(phc))
            .await
            .unwrap()
    );
    assert!(!verify("anything".into(), None).await.unwrap());
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn hashing_threads_run_at_the_lowest_priority() {
    hash("tangerine ladder 42 quietly".into()).await.unwrap();
    let mut seen = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let task = task.unwrap().path();
        let name = std::fs::read_to_string(task.join("comm")).unwrap();
        if name.starts_with("sesame-hash-") {
            // Field 41 of /proc/[pid]/task/[tid]/stat is the scheduling policy (proc(5)),
            // 5 = SCHED_IDLE; the name in field 2 has no spaces here.
            let stat = std::fs::read_to_string(task.join("stat")).unwrap();
            assert_eq!(stat.split(' ').nth(40), Some("5"), "{name}");
            seen += 1;
        }
    }
    assert!(seen >= 1);
}

#[test]
fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
    use argon2::{PasswordHasher, PasswordVerifier};
    let ours = hash_now(b"juniper kettle 7 softly").unwrap();
    assert!(
        argon2()
            .unwrap()
            .verify_password(b"juniper kettle 7 softly", ours.as_str())
            .is_ok()
    );
    // Stored by the crate, with other parameters too: each verifies with its own, in the
    // same thread's memory, whatever size the previous hash needed.
    for params in [
        Params::new(19_456, 2, 1, None),
        Params::new(8_192, 3, 1, None),
    ] {
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.unwrap())
            .hash_password_with_salt(b"juniper kettle 7 softly", &crypto::random_bytes::<16>())
            .unwrap()
            .to_string();
        assert!(verify_now(b"juniper kettle 7 softly", &theirs).unwrap());
        assert!(!verify_now(b"juniper kettle 7 softlY", &theirs).unwrap());
    }
    assert!(!verify_now(b"x", "not a phc string").unwrap());
    assert!(!verify_now(b"x", "$argon2id$v=19$m=19456,t=2,p=1").unwrap());
}

#[tokio::test]
async fn a_set_is_hashed_in_order_each_with_its_own_salt() {
    let secrets = vec!["first code".to_owned(), "second code".to_owned()];
    let hashes = hash_all(secrets.clone()).await.unwrap();
    assert_eq!(hashes.len(), 2);
    assert_ne!(hashes[0], hashes[1]);
    for (secret, phc) in secrets.iter().zip(&hashes) {
        assert!(verify(secret.clone(), Some(phc.clone())).await.unwrap());
    }
    assert!(
        !verify(secrets[1].clone(), Some(hashes[0].clone()))
            .await
            .unwrap()
    );
}
