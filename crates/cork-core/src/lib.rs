//! Cork's domain: the Trello objects, who may do what to them, and the commands that
//! change them. Every command runs in one store transaction that also writes the
//! command's action rows (the action log is the system of record). No HTTP here.

pub mod access;
pub mod accounts;
pub mod actions;
pub mod audit;
pub mod audit_export;
pub mod backup;
pub mod board_extras;
pub mod boards;
pub mod cards;
pub mod checklists;
pub mod custom_fields;
pub mod emoji;
pub mod enterprise;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod gates;
pub mod ids;
pub mod import;
pub mod labels;
pub mod legacy;
pub mod lists;
pub mod member_extras;
pub mod members;
pub mod mirror;
pub mod model;
pub mod notifications;
pub mod oauth;
pub mod org_extras;
pub mod organizations;
pub mod paging;
pub mod plugins;
pub mod pos;
pub mod prefs;
pub mod reactions;
pub mod reports;
pub mod revert;
mod revert_outside;
pub mod sealed;
pub mod search;
pub mod service;
pub mod sessions;
pub mod stickers;
mod store_ext;
pub mod tokens;
pub mod uploads;
pub mod votes;
pub mod webhooks;

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use cork_store::{Store, StoreError};

pub use access::Actor;

/// What can go wrong in a command; the wire layer renders each as Trello does.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DomainError {
    /// A path or parameter id that is not shaped like an id.
    #[error("invalid id")]
    InvalidId,
    /// A well-formed reference to nothing.
    #[error("{0}")]
    NotFound(&'static str),
    /// A parameter with a value of the wrong shape.
    #[error("invalid value for {0}")]
    InvalidValue(String),
    /// Missing credentials or permission (Trello's 401 strings).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Understood but refused (a limit, the last admin leaving, ...).
    #[error("{0}")]
    Forbidden(String),
    /// A request that cannot be carried out as sent.
    #[error("{0}")]
    BadRequest(String),
    /// The change cannot be made as asked because of the object's state (a revert of an
    /// action whose object changed since); Cork's 409.
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` named another version than the object's (the current one inside).
    #[error("precondition failed")]
    PreconditionFailed(i64),
    /// The write lost a race with another; the write pipeline tries it again.
    #[error("the server is busy; try again")]
    Busy,
    /// The database could not be reached (a restart, a failover): nothing was changed,
    /// and the request can be sent again. Cork's 503 with `Retry-After`.
    #[error("The database is unavailable; try again.")]
    Unavailable,
    /// The connection was lost while the change was being committed: it may or may not
    /// have been applied. Cork's 503 with `X-Cork-Commit: unknown`.
    #[error("The connection to the database was lost while this change was committed, so it may or may not have been applied. Read before sending it again, or send it again with the same Idempotency-Key.")]
    CommitUnknown,
    /// Something broke inside; logged, shown to clients as a plain 500.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Trello's text for a missing object.
pub const NOT_FOUND: &str = "The requested resource was not found.";

impl From<StoreError> for DomainError {
    fn from(error: StoreError) -> Self {
        match error {
            // The same words on both backends: which kind of record, never the driver's text.
            StoreError::Conflict(table) => {
                DomainError::BadRequest(format!("that {} already exists", table.trim_end_matches('s').replace('_', " ")))
            }
            StoreError::PreconditionFailed(version) => DomainError::PreconditionFailed(version),
            StoreError::Retry(_) => DomainError::Busy,
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "the database is unavailable");
                DomainError::Unavailable
            }
            StoreError::CommitUnknown(_) => DomainError::CommitUnknown,
            other => DomainError::Internal(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for DomainError {
    fn from(error: serde_json::Error) -> Self {
        DomainError::Internal(format!("stored document: {error}"))
    }
}

pub type Result<T> = std::result::Result<T, DomainError>;

/// The domain entry point: every command and query is a method of it.
#[derive(Clone, Debug)]
pub struct Cork {
    pub store: Store,
    /// Uploaded attachments' bytes (readers of their board download them).
    pub files: files::FileStore,
    /// Members' pictures: custom stickers, emoji and board backgrounds (public by url).
    pub pictures: files::FileStore,
    /// The access audit's queue (issue 4): refused and rate-limited requests.
    pub audit: audit::AuditLog,
}

impl Cork {
    /// Wraps an opened store; uploads stay off until [`Cork::with_data_dir`].
    pub fn new(store: Store) -> Cork {
        Cork { store, files: files::FileStore::default(), pictures: files::FileStore::default(), audit: Default::default() }
    }

    /// Keeps uploads under `dir`: attachments and members' pictures in separate folders,
    /// so that the public picture urls can never reach an attachment.
    pub fn with_data_dir(mut self, dir: impl AsRef<std::path::Path>) -> Cork {
        self.files = files::FileStore::new(dir.as_ref().join("attachments"));
        self.pictures = files::FileStore::new(dir.as_ref().join("pictures"));
        self
    }

    /// Keeps attachments and members' pictures in the stores given (two folders, or two
    /// prefixes of one object store): several nodes sharing one object store serve the
    /// same files.
    pub fn with_file_stores(mut self, files: files::FileStore, pictures: files::FileStore) -> Cork {
        self.files = files;
        self.pictures = pictures;
        self
    }
}

/// Now, rendered as Trello renders dates: UTC, milliseconds, `Z`.
pub fn now() -> String {
    format_date(Utc::now())
}

/// A date in Trello's form.
pub fn format_date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses the date forms clients send: RFC 3339 with any offset, a bare date, or
/// epoch milliseconds.
pub fn parse_date(value: &str) -> Option<DateTime<Utc>> {
    // Years 0 to 9999 only: a date beyond them (epoch milliseconds can reach year 33658)
    // would be stored in a form (`+33658-…`) that no reader, Cork's own included, parses.
    parse_any_date(value).filter(|at| (0..=9999).contains(&at.year()))
}

fn parse_any_date(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(at.and_utc());
    }
    if let Ok(at) = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f") {
        return Some(at.and_utc());
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return day.and_hms_opt(0, 0, 0).map(|at| at.and_utc());
    }
    if value.len() >= 10 && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<i64>().ok().and_then(DateTime::from_timestamp_millis);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_arrive_in_several_forms_and_leave_in_one() {
        let expected = "2019-09-16T16:19:17.156Z";
        for input in ["2019-09-16T16:19:17.156Z", "2019-09-16T18:19:17.156+02:00", "1568650757156", "2019-09-16T16:19:17.156"] {
            assert_eq!(parse_date(input).map(format_date).as_deref(), Some(expected), "{input}");
        }
        assert_eq!(parse_date("2019-09-16").map(format_date).as_deref(), Some("2019-09-16T00:00:00.000Z"));
        // Past year 9999 a date could not be read back once stored: refused on the way in.
        assert_eq!(parse_date("1000000000000000"), None);
        assert_eq!(parse_date("253402300799999").map(format_date).as_deref(), Some("9999-12-31T23:59:59.999Z"));
        assert_eq!(parse_date("253402300800000"), None);
        assert_eq!(parse_date("tomorrow"), None);
    }
}
