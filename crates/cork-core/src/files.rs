//! Uploaded bytes: on the local disk under the data directory by default, or in an
//! S3-compatible object store (`--files s3://bucket/prefix`) that several nodes share.
//! Each upload is one file (object) named by a random key, never by anything a client
//! sent, and its record in the database holds that key. No HTTP and no SQL here: commands
//! write files through a [`Pending`] guard before their transaction commits, and the
//! guard removes them again unless the command reaches [`Pending::keep`] after the commit.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{DomainError, Result};

/// Where uploads live; `None` when the server was started without a data directory.
#[derive(Debug, Clone, Default)]
pub struct FileStore {
    place: Option<Arc<Place>>,
}

#[derive(Debug)]
enum Place {
    /// A folder: `ab/abcd…` for the live files, `trash/abcd…` for deleted ones.
    Disk(PathBuf),
    /// Objects under a prefix, laid out as on disk.
    Objects(Objects),
}

#[derive(Debug)]
struct Objects {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// `s3://bucket/prefix/folder`, for logs and errors (never credentials).
    shown: String,
    /// When the trash was last swept (seconds since the epoch): a listing of the whole
    /// trash is not worth making on every deletion.
    swept: AtomicU64,
}

/// What a stored document keeps of an uploaded file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileRef {
    /// The random name of the bytes on disk (32 hex characters).
    pub key: String,
    /// The client's file name, cleaned; shown and offered on download, never a path.
    pub file_name: String,
    pub mime_type: String,
    pub bytes: i64,
    /// Pixel size, for images whose header Cork can read.
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
}

impl FileRef {
    /// True when the bytes are an image Cork recognised (PNG, JPEG, GIF or WebP).
    pub fn is_image(&self) -> bool {
        self.width.is_some() && self.height.is_some()
    }
}

/// A file as it arrived, before it is stored.
#[derive(Debug, Clone)]
pub struct Upload {
    pub bytes: Vec<u8>,
    /// The file name the client gave, if any.
    pub file_name: Option<String>,
    /// The content type the client declared for the part, if any.
    pub content_type: Option<String>,
}

/// True for a key Cork could have made (32 lowercase hex characters).
pub(crate) fn is_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn new_key() -> String {
    hex::encode(rand::thread_rng().gen::<[u8; 16]>())
}

fn io_error(what: &str, error: std::io::Error) -> DomainError {
    DomainError::Internal(format!("{what}: {error}"))
}

fn disabled() -> DomainError {
    DomainError::BadRequest("file uploads are not enabled on this server".into())
}

fn checked(key: &str) -> Result<&str> {
    if is_key(key) {
        Ok(key)
    } else {
        Err(DomainError::Internal(format!("malformed file key {key:?}")))
    }
}

/// Why `--files` was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FilesUrlError(String);

impl Objects {
    fn live(&self, key: &str) -> ObjectPath {
        self.prefix.clone().join(&key[..2]).join(key)
    }

    fn trashed(&self, key: &str) -> ObjectPath {
        self.prefix.clone().join("trash").join(key)
    }

    /// A failed call to the object store: the request is answered 503 (the store may be
    /// back in a moment) and the cause is logged, never sent to the client.
    fn failed(&self, what: &str, error: object_store::Error) -> DomainError {
        tracing::warn!(store = %self.shown, %error, "{what} failed");
        DomainError::Unavailable
    }

    async fn trash_now(&self, keys: &[String]) {
        for key in keys.iter().filter(|k| is_key(k)) {
            let (from, to) = (self.live(key), self.trashed(key));
            // No rename in S3: a copy (which dates the trashed object now), then a delete.
            match self.store.copy(&from, &to).await {
                Ok(()) => {
                    if let Err(error) = self.store.delete(&from).await {
                        tracing::warn!(store = %self.shown, %from, %error, "cannot remove a deleted upload after setting it aside");
                    }
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => tracing::warn!(store = %self.shown, %from, %error, "cannot set aside a deleted upload"),
            }
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let last = self.swept.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= SWEEP_EVERY.as_secs()
            && self.swept.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            self.sweep(KEEP_DELETED).await;
        }
    }

    /// Removes the trashed objects older than `keep`.
    async fn sweep(&self, keep: std::time::Duration) {
        use futures_util::StreamExt;
        let cutoff = chrono::Utc::now() - chrono::Duration::from_std(keep).unwrap_or_else(|_| chrono::Duration::days(30));
        let trash = self.prefix.clone().join("trash");
        let mut listing = self.store.list(Some(&trash));
        while let Some(entry) = listing.next().await {
            match entry {
                Ok(meta) if meta.last_modified < cutoff => {
                    if let Err(error) = self.store.delete(&meta.location).await {
                        tracing::warn!(store = %self.shown, path = %meta.location, %error, "cannot remove an expired deleted upload");
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(store = %self.shown, %error, "cannot list the deleted uploads");
                    return;
                }
            }
        }
    }
}

/// How often, at most, a node lists an object store's trash for expired uploads.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

impl FileStore {
    /// Files under `root` (created on first upload).
    pub fn new(root: impl Into<PathBuf>) -> FileStore {
        FileStore { place: Some(Arc::new(Place::Disk(root.into()))) }
    }

    /// Files in `store`, under `prefix`; `shown` names the place in logs.
    pub fn objects(store: Arc<dyn ObjectStore>, prefix: &str, shown: impl Into<String>) -> FileStore {
        let objects = Objects { store, prefix: ObjectPath::from(prefix), shown: shown.into(), swept: AtomicU64::new(0) };
        FileStore { place: Some(Arc::new(Place::Objects(objects))) }
    }

    /// The store a `--files` value names, with `folder` (`attachments`, `pictures`) under
    /// it: `s3://bucket[/prefix]` in an S3-compatible object store (endpoint, region and
    /// credentials from the usual `AWS_*` variables), anything else a local folder.
    pub fn from_setting(setting: &str, folder: &str) -> std::result::Result<FileStore, FilesUrlError> {
        let Some(rest) = setting.strip_prefix("s3://") else {
            return Ok(FileStore::new(Path::new(setting).join(folder)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(FilesUrlError(format!("{setting}: the bucket is missing (s3://bucket/prefix)")));
        }
        let prefix = prefix.trim_matches('/');
        use object_store::aws::AmazonS3ConfigKey;
        use object_store::ClientConfigKey;
        // A store that does not answer must not hold requests for minutes: a few quick
        // retries, then the request is answered 503 and may be sent again.
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(10),
        };
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry)
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout), "5s")
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "60s")
            .build()
            .map_err(|e| FilesUrlError(format!("{setting}: {e}")))?;
        let under = if prefix.is_empty() { folder.to_string() } else { format!("{prefix}/{folder}") };
        Ok(FileStore::objects(Arc::new(store), &under, format!("s3://{bucket}/{under}")))
    }

    /// The folder files are kept in, when they are on the local disk.
    pub fn root(&self) -> Option<&Path> {
        match self.place.as_deref()? {
            Place::Disk(root) => Some(root),
            Place::Objects(_) => None,
        }
    }

    /// True when uploads are enabled (a folder or an object store).
    pub fn is_enabled(&self) -> bool {
        self.place.is_some()
    }

    /// Where the files are, for logs: a folder or `s3://bucket/prefix`.
    pub fn shown(&self) -> String {
        match self.place.as_deref() {
            None => "nowhere (uploads off)".into(),
            Some(Place::Disk(root)) => root.display().to_string(),
            Some(Place::Objects(objects)) => objects.shown.clone(),
        }
    }

    /// Proves at start-up that the object store answers and takes writes: one small
    /// object is written, read back and removed. A folder needs no check.
    pub async fn check(&self) -> std::result::Result<(), String> {
        let Some(Place::Objects(objects)) = self.place.as_deref() else { return Ok(()) };
        let probe = objects.prefix.clone().join(format!("probe-{}", new_key()));
        let fail = |what: &str, e: object_store::Error| format!("{}: {what}: {e}", objects.shown);
        objects.store.put(&probe, PutPayload::from_static(b"cork")).await.map_err(|e| fail("writing a probe object", e))?;
        let read = objects.store.get(&probe).await.map_err(|e| fail("reading the probe object", e))?;
        let bytes = read.bytes().await.map_err(|e| fail("reading the probe object", e))?;
        objects.store.delete(&probe).await.map_err(|e| fail("removing the probe object", e))?;
        if bytes.as_ref() != b"cork" {
            return Err(format!("{}: the probe object came back changed", objects.shown));
        }
        Ok(())
    }

    /// The keys stored, live or set aside as deleted (for tests and tools).
    pub async fn keys(&self, deleted: bool) -> Result<Vec<String>> {
        let key_of = |name: &str| is_key(name).then(|| name.to_string());
        match self.place.as_deref().ok_or_else(disabled)? {
            Place::Disk(root) => {
                let mut keys = Vec::new();
                let folders: Vec<PathBuf> = if deleted {
                    vec![root.join("trash")]
                } else {
                    std::fs::read_dir(root)
                        .map(|entries| {
                            entries.flatten().map(|e| e.path()).filter(|p| p.file_name().is_some_and(|n| n.len() == 2)).collect()
                        })
                        .unwrap_or_default()
                };
                for folder in folders {
                    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
                        keys.extend(entry.file_name().to_str().and_then(key_of));
                    }
                }
                Ok(keys)
            }
            Place::Objects(objects) => {
                use futures_util::TryStreamExt;
                let listed: Vec<_> =
                    objects.store.list(Some(&objects.prefix)).try_collect().await.map_err(|e| objects.failed("listing uploads", e))?;
                let trash = objects.prefix.clone().join("trash");
                Ok(listed
                    .into_iter()
                    .filter(|meta| meta.location.prefix_matches(&trash) == deleted)
                    .filter_map(|meta| meta.location.filename().and_then(key_of))
                    .collect())
            }
        }
    }

    /// The path of a key on disk: two levels (`ab/abcd...`) so that no folder grows too
    /// large.
    fn path(root: &Path, key: &str) -> Result<PathBuf> {
        let key = checked(key)?;
        Ok(root.join(&key[..2]).join(key))
    }

    /// Fails unless uploads are enabled; commands call it before they write anything.
    pub(crate) fn check_enabled(&self) -> Result<()> {
        self.place.as_ref().map(|_| ()).ok_or_else(disabled)
    }

    /// A guard for the files one command writes.
    pub(crate) fn pending(&self) -> Pending {
        Pending { store: self.clone(), written: Vec::new() }
    }

    /// The bytes stored under `key`.
    pub(crate) async fn read(&self, key: &str) -> Result<Vec<u8>> {
        match self.place.as_deref().ok_or_else(disabled)? {
            Place::Disk(root) => match tokio::fs::read(FileStore::path(root, key)?).await {
                Ok(bytes) => Ok(bytes),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(DomainError::NotFound(crate::NOT_FOUND)),
                Err(error) => Err(io_error("reading an upload", error)),
            },
            Place::Objects(objects) => {
                let found = match objects.store.get(&objects.live(checked(key)?)).await {
                    Ok(found) => found,
                    Err(object_store::Error::NotFound { .. }) => return Err(DomainError::NotFound(crate::NOT_FOUND)),
                    Err(error) => return Err(objects.failed("reading an upload", error)),
                };
                let bytes = found.bytes().await.map_err(|e| objects.failed("reading an upload", e))?;
                Ok(bytes.to_vec())
            }
        }
    }

    /// Sets aside the files whose records a committed transaction deleted: they move to
    /// `trash/` (no longer served), where an undo of the deletion finds them again for
    /// [`KEEP_DELETED`], after which they are removed. A failure is only logged: the change
    /// is already durable. Inside a write pipeline it waits for the request's commit (a
    /// dry run keeps the bytes where they were).
    pub(crate) async fn discard(&self, keys: &[String]) {
        let store = self.clone();
        let keys = keys.to_vec();
        cork_store::pipeline::after_commit(async move { store.trash_now(&keys).await }).await;
    }

    fn trash_path(root: &Path, key: &str) -> Result<PathBuf> {
        Ok(root.join("trash").join(checked(key)?))
    }

    async fn trash_now(&self, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        let root = match self.place.as_deref() {
            None => return,
            Some(Place::Objects(objects)) => return objects.trash_now(keys).await,
            Some(Place::Disk(root)) => root.clone(),
        };
        let moves: Vec<(PathBuf, PathBuf)> =
            keys.iter().filter_map(|key| Some((FileStore::path(&root, key).ok()?, FileStore::trash_path(&root, key).ok()?))).collect();
        let done = tokio::task::spawn_blocking(move || {
            let trash = root.join("trash");
            if let Err(error) = std::fs::create_dir_all(&trash) {
                tracing::warn!(path = %trash.display(), %error, "cannot create the folder of deleted uploads");
                return;
            }
            for (from, to) in moves {
                match std::fs::rename(&from, &to) {
                    // The trash keeps it from the moment of its deletion.
                    Ok(()) => {
                        let stamped =
                            std::fs::File::options().write(true).open(&to).and_then(|f| f.set_modified(std::time::SystemTime::now()));
                        if let Err(error) = stamped {
                            tracing::warn!(path = %to.display(), %error, "cannot date a deleted upload");
                        }
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => tracing::warn!(path = %from.display(), %error, "cannot set aside a deleted upload"),
                }
            }
            sweep(&trash, KEEP_DELETED);
        })
        .await;
        if let Err(error) = done {
            tracing::warn!(%error, "setting aside deleted uploads failed");
        }
    }

    /// Brings deleted uploads back under their keys, for an undo that restores their
    /// records. Inside a write pipeline a rollback (a dry run) sets them aside again.
    pub(crate) async fn untrash(&self, keys: &[String]) -> Result<()> {
        match self.place.as_deref().ok_or_else(disabled)? {
            Place::Disk(root) => {
                let mut moved = Vec::new();
                for key in keys {
                    let (from, to) = (FileStore::trash_path(root, key)?, FileStore::path(root, key)?);
                    if let Some(folder) = to.parent() {
                        tokio::fs::create_dir_all(folder).await.map_err(|e| io_error("creating the upload folder", e))?;
                    }
                    match tokio::fs::rename(&from, &to).await {
                        Ok(()) => moved.push((to, from)),
                        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(gone_from_trash()),
                        Err(error) => return Err(io_error("restoring a deleted upload", error)),
                    }
                }
                cork_store::pipeline::on_rollback(move || {
                    for (from, to) in moved {
                        if let Err(error) = std::fs::rename(&from, &to) {
                            tracing::warn!(path = %from.display(), %error, "cannot set a restored upload aside again");
                        }
                    }
                });
            }
            Place::Objects(objects) => {
                // Copied back, not moved: the trashed copy stays until the sweep takes it,
                // so a rollback only has to remove the restored object.
                let mut restored = Vec::new();
                for key in keys {
                    let to = objects.live(checked(key)?);
                    match objects.store.copy(&objects.trashed(key), &to).await {
                        Ok(()) => restored.push(to),
                        Err(object_store::Error::NotFound { .. }) => return Err(gone_from_trash()),
                        Err(error) => return Err(objects.failed("restoring a deleted upload", error)),
                    }
                }
                let place = self.place.clone();
                cork_store::pipeline::on_rollback(move || {
                    if let Some(Place::Objects(objects)) = place.as_deref() {
                        remove_objects_later(objects, restored);
                    }
                });
            }
        }
        Ok(())
    }

    /// Removes what a command wrote and did not keep.
    fn remove(&self, keys: Vec<String>) {
        match self.place.as_deref() {
            None => {}
            Some(Place::Disk(root)) => remove_paths(keys.iter().filter_map(|key| FileStore::path(root, key).ok()).collect()),
            Some(Place::Objects(objects)) => remove_objects_later(objects, keys.iter().map(|key| objects.live(key)).collect()),
        }
    }
}

fn gone_from_trash() -> DomainError {
    DomainError::Conflict("the deleted file's bytes are no longer kept".into())
}

/// Deletes objects in the background; used where the caller cannot wait (a guard dropped
/// on an error path, a rollback).
fn remove_objects_later(objects: &Objects, paths: Vec<ObjectPath>) {
    if paths.is_empty() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(store = %objects.shown, count = paths.len(), "no runtime to remove the uploads of a failed command");
        return;
    };
    let (store, shown) = (Arc::clone(&objects.store), objects.shown.clone());
    runtime.spawn(async move {
        for path in paths {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => tracing::warn!(store = %shown, %path, %error, "cannot remove the upload of a failed command"),
            }
        }
    });
}

/// How long the bytes of a deleted upload are kept for an undo.
pub const KEEP_DELETED: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Removes the deleted uploads set aside longer than `keep` ago.
fn sweep(trash: &Path, keep: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(trash) else { return };
    let now = std::time::SystemTime::now();
    for entry in entries.flatten() {
        let old = entry.metadata().and_then(|m| m.modified()).map(|at| now.duration_since(at).unwrap_or_default() > keep);
        if old.unwrap_or(false) {
            if let Err(error) = std::fs::remove_file(entry.path()) {
                tracing::warn!(path = %entry.path().display(), %error, "cannot remove an expired deleted upload");
            }
        }
    }
}

/// Files written for a command that has not committed yet. Dropping the guard (an
/// error, a failed commit, a panic) removes them; [`Pending::keep`] keeps them.
#[must_use = "files are removed when the guard is dropped without keep()"]
pub(crate) struct Pending {
    store: FileStore,
    /// The keys written so far.
    written: Vec<String>,
}

impl Pending {
    /// Stores `bytes` under a new key and returns the key. The file is synced (the object
    /// acknowledged) before the command commits, so a committed record never points at
    /// bytes still in flight.
    pub async fn write(&mut self, bytes: Vec<u8>) -> Result<String> {
        let key = new_key();
        match self.store.place.as_deref().ok_or_else(disabled)? {
            Place::Disk(root) => {
                let path = FileStore::path(root, &key)?;
                self.written.push(key.clone());
                let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    use std::io::Write;
                    if let Some(folder) = path.parent() {
                        std::fs::create_dir_all(folder)?;
                    }
                    // create_new: a key collision (2^-128) fails instead of overwriting an upload.
                    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
                    file.write_all(&bytes)?;
                    file.sync_all()
                })
                .await
                .map_err(|e| DomainError::Internal(format!("writing an upload: {e}")))?;
                written.map_err(|e| io_error("writing an upload", e))?;
            }
            Place::Objects(objects) => {
                self.written.push(key.clone());
                objects
                    .store
                    .put(&objects.live(&key), PutPayload::from(bytes))
                    .await
                    .map_err(|e| objects.failed("writing an upload", e))?;
            }
        }
        Ok(key)
    }

    /// Gives the bytes of `key` a second name, so that a copied record owns its own file
    /// and deleting either copy never takes the other's bytes. On disk a hard link costs
    /// no space (the bytes are copied where links are not possible); in an object store
    /// the store copies the object itself.
    pub async fn duplicate(&mut self, key: &str) -> Result<String> {
        let copy = new_key();
        match self.store.place.as_deref().ok_or_else(disabled)? {
            Place::Disk(root) => {
                let source = FileStore::path(root, key)?;
                let target = FileStore::path(root, &copy)?;
                if let Some(folder) = target.parent() {
                    tokio::fs::create_dir_all(folder).await.map_err(|e| io_error("creating the upload folder", e))?;
                }
                self.written.push(copy.clone());
                if tokio::fs::hard_link(&source, &target).await.is_err() {
                    tokio::fs::copy(&source, &target).await.map_err(|e| io_error("copying an upload", e))?;
                }
            }
            Place::Objects(objects) => {
                let source = objects.live(checked(key)?);
                self.written.push(copy.clone());
                match objects.store.copy(&source, &objects.live(&copy)).await {
                    Ok(()) => {}
                    Err(object_store::Error::NotFound { .. }) => return Err(DomainError::NotFound(crate::NOT_FOUND)),
                    Err(error) => return Err(objects.failed("copying an upload", error)),
                }
            }
        }
        Ok(copy)
    }

    /// The transaction committed: the files stay. Inside a write pipeline the request
    /// may still roll back (a dry run, a later failure): then they go.
    pub fn keep(mut self) {
        let written = std::mem::take(&mut self.written);
        let store = self.store.clone();
        let _ = cork_store::pipeline::on_rollback(move || store.remove(written));
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let written = std::mem::take(&mut self.written);
        if !written.is_empty() {
            self.store.remove(written);
        }
    }
}

/// Synchronous on purpose: Drop cannot await, and unlinking is quick.
fn remove_paths(paths: Vec<PathBuf>) {
    for path in paths {
        if let Err(error) = std::fs::remove_file(&path) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), %error, "cannot remove the upload of a failed command");
            }
        }
    }
}

/// The kind and pixel size of an image, read from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub mime_type: &'static str,
    pub width: u32,
    pub height: u32,
}

fn be16(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?])))
}

fn le16(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes([*bytes.get(at)?, *bytes.get(at + 1)?])))
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(*bytes.get(at)?) | u32::from(*bytes.get(at + 1)?) << 8 | u32::from(*bytes.get(at + 2)?) << 16)
}

/// Recognises PNG, JPEG, GIF and WebP by their magic bytes and reads their size. SVG is
/// deliberately not an image here: it can carry scripts, so it is only ever downloaded.
pub fn image_info(bytes: &[u8]) -> Option<ImageInfo> {
    let info = |mime_type, width, height| Some(ImageInfo { mime_type, width, height });
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR") {
        let width = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
        let height = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
        return info("image/png", width, height);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return info("image/gif", le16(bytes, 6)?, le16(bytes, 8)?);
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return match bytes.get(12..16)? {
            b"VP8 " if bytes.get(23..26) == Some(&[0x9d, 0x01, 0x2a]) => {
                info("image/webp", le16(bytes, 26)? & 0x3fff, le16(bytes, 28)? & 0x3fff)
            }
            b"VP8L" if bytes.get(20) == Some(&0x2f) => {
                let bits = u32::from_le_bytes(bytes.get(21..25)?.try_into().ok()?);
                info("image/webp", (bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1)
            }
            b"VP8X" => info("image/webp", le24(bytes, 24)? + 1, le24(bytes, 27)? + 1),
            _ => None,
        };
    }
    if bytes.starts_with(&[0xff, 0xd8]) {
        // Walk the JPEG segments to the first start-of-frame marker, which holds the size.
        let mut at = 2;
        while at + 9 < bytes.len() {
            if bytes[at] != 0xff {
                return None;
            }
            let marker = bytes[at + 1];
            if marker == 0xff {
                at += 1;
                continue;
            }
            let is_frame = (0xc0..=0xcf).contains(&marker) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
            if is_frame {
                return info("image/jpeg", be16(bytes, at + 7)?, be16(bytes, at + 5)?);
            }
            at += 2 + be16(bytes, at + 2)? as usize;
        }
    }
    None
}

/// The client's file name made safe to show: the last path component, without control
/// characters, at most 256 characters; `file` when nothing is left.
pub fn clean_file_name(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default();
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(256).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "file".into()
    } else {
        cleaned.to_string()
    }
}

/// True for a `type/subtype[; parameters]` content type that is safe to send back in a
/// header (printable ASCII, at most 256 characters).
pub fn is_mime_type(value: &str) -> bool {
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    let essence = value.split(';').next().unwrap_or_default().trim();
    let printable = value.bytes().all(|b| (0x20..0x7f).contains(&b));
    value.len() <= 256 && printable && essence.split_once('/').is_some_and(|(kind, sub)| token(kind) && token(sub))
}

/// A content type for a file from its name, for clients that declare none.
fn mime_from_name(file_name: &str) -> Option<&'static str> {
    let extension = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => return None,
    })
}

/// Describes an upload: the declared type (`mimeType` parameter, then the part's own
/// type) wins over what the bytes look like, which wins over the file name. Images are
/// recognised from their bytes only, whatever was declared.
pub(crate) fn describe(upload: &Upload, declared: Option<&str>, key: String) -> FileRef {
    let file_name = clean_file_name(upload.file_name.as_deref());
    let image = image_info(&upload.bytes);
    let part_type = upload.content_type.as_deref().filter(|t| is_mime_type(t) && !t.eq_ignore_ascii_case("application/octet-stream"));
    let mime_type = declared
        .or(part_type)
        .or(image.map(|i| i.mime_type))
        .or(mime_from_name(&file_name))
        .unwrap_or("application/octet-stream")
        .to_string();
    FileRef { key, file_name, mime_type, bytes: upload.bytes.len() as i64, width: image.map(|i| i.width), height: image.map(|i| i.height) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 6, 0, 0, 0]);
        bytes
    }

    #[test]
    fn image_sizes_come_from_headers() {
        assert_eq!(image_info(&png(70, 50)), Some(ImageInfo { mime_type: "image/png", width: 70, height: 50 }));
        assert_eq!(image_info(b"GIF89a\x0a\x00\x05\x00rest"), Some(ImageInfo { mime_type: "image/gif", width: 10, height: 5 }));
        let jpeg = [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x20, 0x00, 0x40, 0x03, 0, 0];
        assert_eq!(image_info(&jpeg), Some(ImageInfo { mime_type: "image/jpeg", width: 64, height: 32 }));
        assert_eq!(image_info(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(image_info(b"%PDF-1.7"), None);
    }

    #[test]
    fn client_names_never_become_paths() {
        assert_eq!(clean_file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_file_name(Some("C:\\Users\\me\\report.pdf")), "report.pdf");
        assert_eq!(clean_file_name(Some("..")), "file");
        assert_eq!(clean_file_name(Some("a\u{0}b\nc.txt")), "abc.txt");
        assert_eq!(clean_file_name(None), "file");
    }

    #[test]
    fn declared_types_must_be_header_safe() {
        assert!(is_mime_type("text/plain; charset=utf-8"));
        assert!(is_mime_type("application/vnd.ms-excel"));
        assert!(!is_mime_type("text"));
        assert!(!is_mime_type("text/plain\r\nSet-Cookie: x=1"));
        let upload = Upload { bytes: png(2, 2), file_name: Some("x.bin".into()), content_type: Some("application/octet-stream".into()) };
        let described = describe(&upload, None, "0".repeat(32));
        assert_eq!((described.mime_type.as_str(), described.width, described.file_name.as_str()), ("image/png", Some(2), "x.bin"));
    }

    #[tokio::test]
    async fn pending_files_vanish_unless_kept() {
        let dir = std::env::temp_dir().join(format!("cork-files-{}", new_key()));
        let store = FileStore::new(&dir);
        let mut pending = store.pending();
        let dropped = pending.write(b"first".to_vec()).await.unwrap();
        let copied = pending.duplicate(&dropped).await.unwrap();
        assert_eq!(store.read(&copied).await.unwrap(), b"first");
        drop(pending);
        assert_eq!(store.read(&dropped).await, Err(DomainError::NotFound(crate::NOT_FOUND)));
        assert_eq!(store.read(&copied).await, Err(DomainError::NotFound(crate::NOT_FOUND)));
        let mut pending = store.pending();
        let kept = pending.write(b"second".to_vec()).await.unwrap();
        pending.keep();
        assert_eq!(store.read(&kept).await.unwrap(), b"second");
        store.discard(std::slice::from_ref(&kept)).await;
        assert!(store.read(&kept).await.is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
