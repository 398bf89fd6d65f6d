//! `AUTH PLAIN` and `AUTH LOGIN`: any credentials are accepted and recorded with the message.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::net::tcp::OwnedWriteHalf;

use super::session::{Reader, read_line, reply};

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    BASE64.decode(s.trim()).ok()
}

/// Sends a `334` challenge and reads the client's answer.
async fn next_response(
    challenge: &str,
    reader: &mut Reader,
    w: &mut OwnedWriteHalf,
) -> std::io::Result<Option<String>> {
    reply(w, &format!("334 {challenge}")).await?;
    Ok(read_line(reader)
        .await?
        .map(|l| String::from_utf8_lossy(&l).into_owned()))
}

/// AUTH PLAIN / LOGIN: accepts any credentials and returns them.
pub(super) async fn auth(
    reader: &mut Reader,
    w: &mut OwnedWriteHalf,
    arg: &str,
) -> std::io::Result<Option<(String, String)>> {
    let mut words = arg.split_whitespace();
    let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
    let initial = words.next().map(str::to_owned);
    match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(r) => r,
                None => match next_response("", reader, w).await? {
                    Some(r) => r,
                    None => return Ok(None),
                },
            };
            let decoded = decode_b64(&response).unwrap_or_default();
            let mut fields = decoded.split(|b| *b == 0);
            let (_authz, user, password) = (fields.next(), fields.next(), fields.next());
            match (user, password) {
                (Some(user), Some(password)) if response.trim() != "*" => Ok(Some((
                    String::from_utf8_lossy(user).into_owned(),
                    String::from_utf8_lossy(password).into_owned(),
                ))),
                _ => {
                    reply(w, "501 5.5.2 Malformed AUTH PLAIN response").await?;
                    Ok(None)
                }
            }
        }
        "LOGIN" => {
            let user = match initial {
                Some(r) => r,
                None => match next_response("VXNlcm5hbWU6", reader, w).await? {
                    Some(r) => r,
                    None => return Ok(None),
                },
            };
            let Some(password) = next_response("UGFzc3dvcmQ6", reader, w).await? else {
                return Ok(None);
            };
            match (decode_b64(&user), decode_b64(&password)) {
                (Some(user), Some(password)) => Ok(Some((
                    String::from_utf8_lossy(&user).into_owned(),
                    String::from_utf8_lossy(&password).into_owned(),
                ))),
                _ => {
                    reply(w, "501 5.5.2 Malformed AUTH LOGIN response").await?;
                    Ok(None)
                }
            }
        }
        _ => {
            reply(w, "504 5.5.4 Unrecognized authentication type").await?;
            Ok(None)
        }
    }
}
