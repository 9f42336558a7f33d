//! One error type for the wire layer, rendered as Trello renders errors: the status
//! code and an exact plain-text body (JSON only where Trello uses JSON).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use cork_core::DomainError;

/// An error a handler returns.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: String,
}

impl ApiError {
    /// 400 `invalid value for <name>`.
    pub fn invalid_value(name: &str) -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, body: format!("invalid value for {name}") }
    }

    /// 400 `invalid id`.
    pub fn invalid_id() -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, body: "invalid id".into() }
    }

    /// 404 as Trello words it for a missing object.
    pub fn not_found() -> ApiError {
        ApiError { status: StatusCode::NOT_FOUND, body: cork_core::NOT_FOUND.into() }
    }

    /// Any status with a text body.
    pub fn new(status: StatusCode, body: impl Into<String>) -> ApiError {
        ApiError { status, body: body.into() }
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let status = match &error {
            DomainError::InvalidId | DomainError::InvalidValue(_) | DomainError::BadRequest(_) => StatusCode::BAD_REQUEST,
            DomainError::NotFound(_) => StatusCode::NOT_FOUND,
            DomainError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
            DomainError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            DomainError::Conflict(_) => StatusCode::CONFLICT,
            DomainError::Busy | DomainError::Unavailable | DomainError::CommitUnknown => StatusCode::SERVICE_UNAVAILABLE,
            DomainError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
            }
        };
        ApiError { status, body: error.to_string() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], self.body).into_response();
        // Every 503 says when to come back.
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}

impl ApiError {
    /// The answer to a store failure outside a handler (the write pipeline's own reads and
    /// its commit): 503 when the database is unavailable or the commit's outcome unknown,
    /// 500 otherwise (logged).
    pub fn from_store(error: cork_store::StoreError, doing: &str) -> ApiError {
        tracing::warn!(%error, "{doing}");
        ApiError::from(DomainError::from(error))
    }
}

/// What handlers return.
pub type ApiResult<T = Response> = Result<T, ApiError>;
