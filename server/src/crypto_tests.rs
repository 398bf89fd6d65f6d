//! The server key file: made whole on first start (mode 0600), read afterwards, one key for
//! instances that start at once.

#![allow(clippy::unwrap_used)]

use super::ServerKey;

#[test]
fn the_key_file_is_made_once_whole_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let made = ServerKey::load_or_create(&data).unwrap();
    let text = std::fs::read_to_string(data.join("server.key")).unwrap();
    assert_eq!(text, made.to_hex());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("server.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Read, not made again; and nothing else is left in the directory.
    assert_eq!(
        ServerKey::load_or_create(&data).unwrap().to_hex(),
        made.to_hex()
    );
    let names: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["server.key"]);
}

#[test]
fn instances_starting_at_once_share_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let keys: Vec<String> = std::thread::scope(|s| {
        let starts: Vec<_> = (0..8)
            .map(|_| s.spawn(|| ServerKey::load_or_create(&data).unwrap().to_hex()))
            .collect();
        starts.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(
        std::fs::read_to_string(data.join("server.key")).unwrap(),
        keys[0]
    );
}
