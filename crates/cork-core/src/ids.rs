//! Identifiers shaped like Trello's: 24-hex ObjectIds whose first four bytes are the
//! creation time, 8-char base62 shortLinks, and the secrets handed to applications.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Five random bytes drawn once per process, as in a MongoDB ObjectId: ids made by
/// one process within one second then sort by their counter, that is by creation.
fn process_bytes() -> [u8; 5] {
    static BYTES: std::sync::OnceLock<[u8; 5]> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| rand::thread_rng().gen())
}

/// A new object id: 4 bytes of Unix seconds, 5 bytes fixed per process, a 3-byte counter.
/// Ids sort by creation time, which `since=`/`before=` paging relies on.
pub fn new_id() -> String {
    new_id_at(Utc::now())
}

/// A new id whose timestamp is `at` (used where a creation date is given).
pub fn new_id_at(at: DateTime<Utc>) -> String {
    let seconds = at.timestamp().clamp(0, u32::MAX as i64) as u32;
    let random = process_bytes();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
    let mut bytes = Vec::with_capacity(12);
    bytes.extend_from_slice(&seconds.to_be_bytes());
    bytes.extend_from_slice(&random);
    bytes.extend_from_slice(&count.to_be_bytes()[1..]);
    hex::encode(bytes)
}

/// The smallest id of a given second: `since=<date>` becomes `id > floor_id(date)`.
pub fn floor_id(at: DateTime<Utc>) -> String {
    let seconds = at.timestamp().clamp(0, u32::MAX as i64) as u32;
    format!("{}{}", hex::encode(seconds.to_be_bytes()), "0".repeat(16))
}

/// True for a 24-character hex string (Trello accepts either case).
pub fn is_id(value: &str) -> bool {
    value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A `since`/`before` bound as clients give it: an id, or a date turned into the
/// smallest id of its second. `None` when it is neither.
pub fn id_bound(text: &str) -> Option<String> {
    if is_id(text) {
        Some(text.to_ascii_lowercase())
    } else {
        crate::parse_date(text).map(floor_id)
    }
}

/// The creation time encoded in an id.
pub fn id_time(id: &str) -> Option<DateTime<Utc>> {
    let seconds = u32::from_str_radix(id.get(0..8)?, 16).ok()?;
    Utc.timestamp_opt(i64::from(seconds), 0).single()
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A random 8-character base62 shortLink.
pub fn short_link() -> String {
    let mut rng = rand::thread_rng();
    (0..8).map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char).collect()
}

/// True for something shaped like a shortLink.
pub fn is_short_link(value: &str) -> bool {
    value.len() == 8 && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `n` random bytes as lowercase hex: 16 for an API key, 32 for a token or a secret.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// SHA-256 hex digest; tokens are stored and looked up by it.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_creation_time_and_sort_by_it() {
        let at = Utc.with_ymd_and_hms(2020, 5, 1, 12, 0, 0).unwrap();
        let id = new_id_at(at);
        assert!(is_id(&id));
        assert_eq!(id_time(&id), Some(at));
        assert!(floor_id(at) <= id);
        assert!(new_id() > id);
        let (first, second) = (new_id(), new_id());
        assert!(second > first, "ids of one second sort by creation");
    }

    #[test]
    fn short_links_are_base62() {
        let link = short_link();
        assert!(is_short_link(&link));
        assert!(!is_id(&link));
    }
}
