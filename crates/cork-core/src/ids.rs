//! Identifiers shaped like Trello's: 24-hex ObjectIds whose first four bytes are the
//! creation time, 8-char base62 shortLinks, and the secrets handed to applications.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};

/// The per-process counter, starting at a random value (as a MongoDB ObjectId's does), so
/// two processes rarely count through the same values at once.
fn counter() -> &'static AtomicU32 {
    static COUNTER: std::sync::OnceLock<AtomicU32> = std::sync::OnceLock::new();
    COUNTER.get_or_init(|| AtomicU32::new(rand::thread_rng().gen()))
}

/// Two random bytes drawn once per process.
fn process_bytes() -> [u8; 2] {
    static BYTES: std::sync::OnceLock<[u8; 2]> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| rand::thread_rng().gen())
}

/// The latest time (microseconds since the epoch) this process put in a `new_id`, so its
/// ids never go back when the clock does.
static LAST_MICROS: AtomicU64 = AtomicU64::new(0);

/// A new object id: 4 bytes of Unix seconds (as Trello's, which clients decode), 3 bytes
/// of the microsecond within that second, 2 bytes fixed per process and a 3-byte counter.
/// Ids sort by creation time, which `since=`/`before=` paging and the newest-first order of
/// actions rely on — across the nodes of one database too, to the microsecond of their
/// clocks (a card made on one node and moved a moment later on another lists in that
/// order); within one process, strictly by creation.
pub fn new_id() -> String {
    let now = Utc::now();
    let micros = (now.timestamp().max(0) as u64) * 1_000_000 + u64::from(now.timestamp_subsec_micros().min(999_999));
    // Each id of this process takes a microsecond after the last one's, so they sort
    // strictly by creation whatever the counter (up to a million ids a second).
    let mut taken = micros;
    let _ = LAST_MICROS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
        taken = micros.max(last + 1);
        Some(taken)
    });
    id_of(taken)
}

/// A new id whose timestamp is `at` (used where a creation date is given).
pub fn new_id_at(at: DateTime<Utc>) -> String {
    id_of((at.timestamp().max(0) as u64) * 1_000_000 + u64::from(at.timestamp_subsec_micros().min(999_999)))
}

fn id_of(micros: u64) -> String {
    let seconds = (micros / 1_000_000).min(u64::from(u32::MAX)) as u32;
    let within = (micros % 1_000_000) as u32;
    let count = counter().fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
    let mut bytes = Vec::with_capacity(12);
    bytes.extend_from_slice(&seconds.to_be_bytes());
    bytes.extend_from_slice(&within.to_be_bytes()[1..]);
    bytes.extend_from_slice(&process_bytes());
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
        // Whatever the counter (another node's), a later microsecond sorts later.
        let t = 1_700_000_000_123_456u64;
        for _ in 0..1000 {
            assert!(id_of(t + 1) > id_of(t));
        }
    }

    #[test]
    fn short_links_are_base62() {
        let link = short_link();
        assert!(is_short_link(&link));
        assert!(!is_id(&link));
    }
}
