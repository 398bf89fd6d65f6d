//! Decoding rows by position or by name, which pair layouts are trusted, and `PairBy`'s reused
//! statements against what sea-orm builds.

use entity::code_send;

use super::*;

/// Columns are read in sea-orm's order when they are there, and found by name when they
/// are not (another order, other columns before them, a prefix).
#[test]
fn columns_out_of_order_are_found_by_name() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let id = Uuid::new_v4();
    let expected = code_send::Model {
        id,
        target: "email:ada@example.com".into(),
        sent_at: 42,
    };
    for (sql, prefix) in [
        ("SELECT ?1 AS id, ?2 AS target, ?3 AS sent_at", ""),
        ("SELECT ?3 AS sent_at, ?2 AS target, ?1 AS id", ""),
        (
            "SELECT 7 AS A_id, ?2 AS B_target, ?1 AS B_id, ?3 AS B_sent_at",
            "B_",
        ),
    ] {
        let got = conn
            .query_row(sql, rusqlite::params![id, expected.target, 42], |row| {
                code_send(row, prefix)
            })
            .unwrap();
        assert_eq!(got, expected, "{sql}");
    }
}

/// A pair's layout is trusted (read by position alone) only once a row had every column where
/// it was expected; a row with any column elsewhere is read by name, every time.
#[test]
fn only_a_layout_with_every_column_in_place_is_trusted() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let read = |sql: &str, layout: &OnceLock<usize>| {
        conn.query_row(sql, rusqlite::params![a, b], |row| {
            pair_from::<_, code_send::Model, code_send::Model>(row, layout)
        })
        .unwrap()
    };
    let expected = Some((
        code_send::Model {
            id: a,
            target: "a".into(),
            sent_at: 1,
        },
        code_send::Model {
            id: b,
            target: "b".into(),
            sent_at: 2,
        },
    ));
    let shuffled = "SELECT ?1 AS A_id, 'a' AS A_target, 1 AS A_sent_at, \
                    ?2 AS B_id, 2 AS B_sent_at, 'b' AS B_target";
    let layout = OnceLock::new();
    for _ in 0..2 {
        assert_eq!(read(shuffled, &layout), expected);
        assert_eq!(layout.get(), None);
    }
    let in_place = "SELECT ?1 AS A_id, 'a' AS A_target, 1 AS A_sent_at, \
                    ?2 AS B_id, 'b' AS B_target, 2 AS B_sent_at";
    for _ in 0..2 {
        assert_eq!(read(in_place, &layout), expected);
        assert_eq!(layout.get(), Some(&3));
    }
    let absent = "SELECT ?1 AS A_id, 'a' AS A_target, 1 AS A_sent_at, \
                  NULLIF(?2, ?2) AS B_id, NULL AS B_target, NULL AS B_sent_at";
    assert_eq!(read(absent, &layout), None);
}

/// A [`PairBy`] statement is what sea-orm builds for the same select, in both dialects,
/// for the first value and for every later one (bound to the SQL kept from the first).
#[test]
fn reused_statements_are_what_sea_orm_builds() {
    fn check<A: EntityTrait + Related<B>, B: EntityTrait>(
        select: &PairBy<A, B>,
        column: A::Column,
    ) {
        for (slot, backend) in [DbBackend::Sqlite, DbBackend::Postgres]
            .into_iter()
            .enumerate()
        {
            for value in [vec![1_u8; 32], vec![2; 16], vec![]] {
                let fresh = A::find()
                    .filter(column.eq(value.clone()))
                    .find_also_related(B::default())
                    .limit(1)
                    .build(backend);
                let reused = select.statement(backend, value.into());
                assert_eq!(reused.db_backend, backend);
                assert_eq!((reused.sql, reused.values), (fresh.sql, fresh.values));
            }
            assert!(
                select.built[slot].get().is_some(),
                "{backend:?}: SQL not kept"
            );
        }
        // The pinned connections' selects (PostgreSQL) have the same columns, `$1` or
        // `= ANY($1)` in place of the one value (sea-query puts a custom `$1` in brackets), and
        // no limit.
        let one = select.statement(DbBackend::Postgres, vec![1_u8].into()).sql;
        let by_key = select.by_key();
        let (columns, condition) = one.split_once(" WHERE ").unwrap();
        let table = A::default().table_name().to_owned();
        let column_name = column.as_str();
        assert_eq!(
            condition,
            format!("\"{table}\".\"{column_name}\" = $1 LIMIT $2")
        );
        assert_eq!(
            by_key.one,
            format!("{columns} WHERE \"{table}\".\"{column_name}\" = ($1)")
        );
        assert_eq!(
            by_key.any,
            format!("{columns} WHERE \"{table}\".\"{column_name}\" = ANY($1)")
        );
        assert_eq!(by_key.key_column, format!("A_{column_name}"));
    }
    check(
        &PairBy::<session::Entity, account::Entity>::new(session::Column::TokenHash),
        session::Column::TokenHash,
    );
    check(
        &PairBy::<passkey::Entity, account::Entity>::new(passkey::Column::CredentialId),
        passkey::Column::CredentialId,
    );
}
