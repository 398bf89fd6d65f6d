//! Recovery codes: 10 per set, `xxxx-xxxx-xxxx` (12 symbols of a 32-letter alphabet without
//! look-alikes: 60 bits), shown once. Each is stored as a salted argon2id hash (NIST SP 800-63B
//! rev 4 §3.1.2 look-up secrets with < 112 bits must be hashed with a password hash) plus a
//! 4-byte keyed lookup tag, so a log-in verifies one hash, not ten.

use uuid::Uuid;

use super::{account_sessions::begin_change, password, sessions::Authenticated};
use crate::{crypto, error::ApiError, extract::ClientInfo, state::AppState, store};

pub const CODES_PER_SET: usize = 10;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// One new code, formatted for people.
fn new_code() -> String {
    let bytes = crypto::random_bytes::<12>();
    let symbols: String = bytes
        .iter()
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect();
    format!("{}-{}-{}", &symbols[0..4], &symbols[4..8], &symbols[8..12])
}

/// What a person typed, in canonical form: lower case, no spaces or dashes; Crockford's
/// look-alikes folded (o→0, i/l→1). `None` when it cannot be a recovery code.
pub fn normalize(input: &str) -> Option<String> {
    let folded: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect();
    (folded.len() == 12 && folded.bytes().all(|b| ALPHABET.contains(&b))).then_some(folded)
}

fn lookup(state: &AppState, account_id: Uuid, normalized: &str) -> Vec<u8> {
    let mut data = account_id.as_bytes().to_vec();
    data.extend_from_slice(normalized.as_bytes());
    state.key.mac("recovery-lookup", &data)[..4].to_vec()
}

/// Make a new set (voiding the old one) and return the codes, shown this once.
#[tracing::instrument(skip_all)]
pub async fn generate(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    now: i64,
) -> Result<Vec<String>, ApiError> {
    let (account_id, session_id) = (auth.account.id, auth.session.id);
    let codes: Vec<String> = (0..CODES_PER_SET).map(|_| new_code()).collect();
    let normalized = codes
        .iter()
        .map(|code| normalize(code))
        .collect::<Option<Vec<String>>>()
        .ok_or_else(|| ApiError::Internal("generated code does not parse".into()))?;
    let tags: Vec<Vec<u8>> = normalized
        .iter()
        .map(|code| lookup(state, account_id, code))
        .collect();
    let rows: Vec<_> = tags
        .into_iter()
        .zip(password::hash_all(normalized).await?)
        .collect();
    let client = client.clone();
    state
        .writer
        .write(move |conn| async move {
            // Under the account's lock: two sets made at once on PostgreSQL would otherwise
            // each delete only the rows committed before them and leave 20 codes.
            let txn = begin_change(&conn, account_id, session_id).await?;
            store::recovery_codes::replace_set(&txn, account_id, rows, now).await?;
            let generated = serde_json::json!({"count": CODES_PER_SET});
            let kind = "recovery_codes_generated";
            store::events::insert(&txn, account_id, kind, &client, generated, now).await?;
            Ok(txn.commit().await?)
        })
        .await?;
    Ok(codes)
}

/// The id of the unused code matching `input`, if any (not yet consumed: the caller consumes
/// it with a conditional write in the session transaction).
pub async fn find(
    state: &AppState,
    account_id: Uuid,
    input: &str,
) -> Result<Option<Uuid>, ApiError> {
    let Some(normalized) = normalize(input) else {
        return Ok(None);
    };
    let tag = lookup(state, account_id, &normalized);
    for candidate in store::recovery_codes::candidates(&state.reads, account_id, &tag).await? {
        if password::verify(normalized.clone(), Some(candidate.code_hash.clone())).await? {
            return Ok(Some(candidate.id));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_documented_shape_and_normalise() {
        let code = new_code();
        assert_eq!(code.len(), 14);
        assert_eq!(normalize(&code).unwrap().len(), 12);
        assert_eq!(
            normalize(&code.to_uppercase().replace('-', " ")),
            normalize(&code)
        );
        assert_eq!(normalize("oooo-iiii-llll").unwrap(), "000011111111");
        assert!(normalize("abcd-efgh-ijk").is_none());
        assert!(
            normalize("abcd-efgh-ijku").is_none(),
            "u is not in the alphabet"
        );
    }
}
