//! The bundled SQLite is built with the flags of `.cargo/config.toml` (`LIBSQLITE3_FLAGS`).
//! Cargo reads that file only when it runs inside this repository; a build from elsewhere, or
//! a change to the flags, would quietly lose them, and only the benchmarks would notice.

#![allow(clippy::unwrap_used)]

fn compile_options() -> Vec<String> {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
    stmt.query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn the_bundled_sqlite_has_the_build_flags_sesame_relies_on() {
    let options = compile_options();
    let has = |option: &str| options.iter().any(|o| o == option);
    // A bound `LIMIT` keeps its plan, so cached statements are not re-prepared.
    assert!(has("ENABLE_QPSG"), "{options:?}");
    // sqlite3_malloc without a process-wide mutex.
    assert!(has("DEFAULT_MEMSTATUS=0"), "{options:?}");
    // Each connection's page cache its own, without a process-wide lock, and without a bulk
    // allocation on its first read.
    assert!(!has("ENABLE_MEMORY_MANAGEMENT"), "{options:?}");
    assert!(has("DEFAULT_PCACHE_INITSZ=0"), "{options:?}");
}
