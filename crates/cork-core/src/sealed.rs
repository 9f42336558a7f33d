//! App secrets at rest. An application's secret signs its webhook deliveries and checks
//! its OAuth signatures, so Cork needs it in clear and cannot hash it; it is stored
//! sealed instead: XChaCha20-Poly1305 under the instance's secret key, with a random
//! nonce per value, as `sealed:v1:<key id>:<hex of nonce and ciphertext>`. The key id
//! (the first four bytes of the key's SHA-256) names which key sealed a value, so a
//! rotation can keep opening values sealed with the previous key until `cork
//! secrets-rewrap` has sealed them all again with the new one.
//!
//! The key comes from `CORK_SECRET_KEY` (64 hex digits), or from `secret.key` in the
//! data directory, created owner-only on first start. Every node of one database must
//! use the same key. A value stored before sealing existed (plain text) is read as it
//! is and sealed at its next write.

use std::path::Path;
use std::sync::RwLock;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "sealed:v1:";

/// A key and its id.
struct SealingKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl SealingKey {
    fn new(bytes: &[u8; 32]) -> SealingKey {
        let id = hex::encode(&Sha256::digest(bytes)[..4]);
        SealingKey { id, cipher: XChaCha20Poly1305::new(bytes.into()) }
    }
}

/// The process's keys: the one that seals, and older ones that may still open.
struct Keys {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

static KEYS: RwLock<Option<Keys>> = RwLock::new(None);

/// Makes `current` the sealing key of this process (and `previous` keys that still open).
pub fn install(current: [u8; 32], previous: &[[u8; 32]]) {
    let keys = Keys { current: SealingKey::new(&current), previous: previous.iter().map(SealingKey::new).collect() };
    if let Ok(mut slot) = KEYS.write() {
        *slot = Some(keys);
    }
}

/// The id of the installed sealing key, if any.
pub fn key_id() -> Option<String> {
    KEYS.read().ok()?.as_ref().map(|k| k.current.id.clone())
}

/// Parses a key written as 64 hex digits.
pub fn parse_key(text: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(text.trim()).map_err(|_| "a secret key is 64 hex digits".to_string())?;
    bytes.try_into().map_err(|_| "a secret key is 64 hex digits (32 bytes)".to_string())
}

/// The key of `CORK_SECRET_KEY`, else of `<data_dir>/secret.key`, which is created
/// (owner-only, 0600) when missing. Creation is safe against another process starting
/// at the same moment: the key is written to a file of its own and linked into place
/// only if none is there, so both end up with the same key.
pub fn load_or_create(data_dir: &Path) -> Result<[u8; 32], String> {
    if let Ok(text) = std::env::var("CORK_SECRET_KEY") {
        return parse_key(&text).map_err(|e| format!("CORK_SECRET_KEY: {e}"));
    }
    let path = data_dir.join("secret.key");
    if !path.exists() {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let staging = data_dir.join(format!("secret.key.{}.{}", std::process::id(), crate::ids::new_id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&staging).and_then(|mut file| {
            use std::io::Write;
            file.write_all(format!("{}\n", hex::encode(key)).as_bytes())?;
            file.sync_all()
        });
        if let Err(error) = written {
            let _ = std::fs::remove_file(&staging);
            return Err(format!("creating {}: {error}", path.display()));
        }
        let linked = std::fs::hard_link(&staging, &path);
        let _ = std::fs::remove_file(&staging);
        match linked {
            Ok(()) => tracing::info!(path = %path.display(), "created the secret key that seals app secrets: back it up with the database"),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(format!("creating {}: {error}", path.display())),
        }
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    parse_key(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `value` sealed with the installed key (as it is when no key is installed).
pub fn seal(value: &str) -> String {
    let Ok(keys) = KEYS.read() else { return value.to_string() };
    match keys.as_ref() {
        Some(keys) => seal_with(keys, value),
        None => value.to_string(),
    }
}

fn seal_with(keys: &Keys, value: &str) -> String {
    let mut nonce = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut nonce);
    match keys.current.cipher.encrypt(XNonce::from_slice(&nonce), value.as_bytes()) {
        Ok(sealed) => format!("{PREFIX}{}:{}{}", keys.current.id, hex::encode(nonce), hex::encode(sealed)),
        Err(_) => value.to_string(),
    }
}

/// The clear value of a stored one: opened when sealed, as it is when stored before
/// sealing existed.
pub fn open(stored: &str) -> Result<String, String> {
    let keys = KEYS.read().map_err(|_| "the secret keys are unavailable".to_string())?;
    open_with(keys.as_ref(), stored)
}

fn open_with(keys: Option<&Keys>, stored: &str) -> Result<String, String> {
    let Some(rest) = stored.strip_prefix(PREFIX) else { return Ok(stored.to_string()) };
    let (id, body) = rest.split_once(':').ok_or("a sealed secret without its key id")?;
    let keys = keys.ok_or("an app secret is sealed, and no secret key is configured (CORK_SECRET_KEY or secret.key)")?;
    let key = std::iter::once(&keys.current).chain(&keys.previous).find(|k| k.id == id).ok_or_else(|| {
        format!(
            "an app secret is sealed with key {id}, which is not configured (CORK_SECRET_KEY, or CORK_SECRET_KEY_PREVIOUS while rotating)"
        )
    })?;
    let bytes = hex::decode(body).map_err(|_| "a sealed secret that is not hex".to_string())?;
    if bytes.len() < 24 {
        return Err("a sealed secret too short to hold its nonce".into());
    }
    let (nonce, sealed) = bytes.split_at(24);
    let clear =
        key.cipher.decrypt(XNonce::from_slice(nonce), sealed).map_err(|_| format!("an app secret sealed with key {id} does not open"))?;
    String::from_utf8(clear).map_err(|_| "a sealed secret that is not text".into())
}

/// Whether a stored value is sealed with the installed key already.
pub fn sealed_with_current(stored: &str) -> bool {
    key_id().is_some_and(|id| stored.starts_with(&format!("{PREFIX}{id}:")))
}

/// `#[serde(with = "crate::sealed::field")]`: a string field stored sealed.
pub mod field {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::seal(value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        let stored = String::deserialize(deserializer)?;
        super::open(&stored).map_err(serde::de::Error::custom)
    }
}

impl crate::Cork {
    /// Checks at start that the installed key opens the app secrets sealed most
    /// recently: a node given another key than its peers (or a restore without the key
    /// that sealed it) is refused with what to do, rather than answer 500 on every use.
    pub async fn check_sealed_secrets(&self) -> Result<(), String> {
        let mut tx = self.store.read().await.map_err(|e| e.to_string())?;
        let docs = tx.docs(cork_store::Table::AppKeys, &[], cork_store::Order::Desc("id"), Some(20)).await.map_err(|e| e.to_string())?;
        for doc in docs {
            if let Err(error) = serde_json::from_str::<crate::model::AppKey>(&doc) {
                return Err(format!(
                    "{error}: start every node of this database with the same secret key (CORK_SECRET_KEY, or the same secret.key in the data directory)"
                ));
            }
        }
        Ok(())
    }

    /// Seals every app secret again with the installed key (after a rotation), in one
    /// transaction; answers how many were written.
    pub async fn rewrap_secrets(&self) -> crate::Result<usize> {
        let mut tx = self.store.write().await?;
        let keys: Vec<crate::model::AppKey> = crate::store_ext::find(&mut tx, &[], cork_store::Order::Asc("id"), None).await?;
        for key in &keys {
            crate::store_ext::save(&mut tx, key).await?;
        }
        tx.commit().await?;
        Ok(keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(current: [u8; 32], previous: &[[u8; 32]]) -> Keys {
        Keys { current: SealingKey::new(&current), previous: previous.iter().map(SealingKey::new).collect() }
    }

    #[test]
    fn sealed_values_open_with_their_key_only() {
        let (old, new) = ([7u8; 32], [9u8; 32]);
        let before = keys(old, &[]);
        let sealed = seal_with(&before, "the app secret");
        assert!(sealed.starts_with(PREFIX), "{sealed}");
        assert!(!sealed.contains("the app secret"));
        assert_ne!(seal_with(&before, "the app secret"), sealed, "a fresh nonce each time");
        assert_eq!(open_with(Some(&before), &sealed).unwrap(), "the app secret");
        assert_eq!(open_with(Some(&before), "plain from before").unwrap(), "plain from before");
        assert!(open_with(None, &sealed).unwrap_err().contains("no secret key"));
        // Rotated: the new key seals, the old one still opens until rewrapped.
        let rotating = keys(new, &[old]);
        assert_eq!(open_with(Some(&rotating), &sealed).unwrap(), "the app secret");
        assert!(seal_with(&rotating, "x").contains(&rotating.current.id));
        let after = keys(new, &[]);
        assert!(open_with(Some(&after), &sealed).unwrap_err().contains("not configured"));
        // Tampered: refused.
        let mut tampered = seal_with(&before, "x");
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        assert!(open_with(Some(&before), &tampered).is_err());
    }
}
