//! Uploaded files on the wire: attaching a file to a card, downloading it (readers of
//! the board only), members' pictures by their url, and the default sticker images.

use axum::extract::{Path, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cork_core::files::{FileRef, Upload};
use cork_core::uploads::NewFileAttachment;

use super::json_ok;
use crate::error::{ApiError, ApiResult};
use crate::render::path_segment;
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/cards/{id}/attachments/{attachment}/download/{file}", get(get_attachment_download))
        .route("/cork/pictures/{key}/{file}", get(get_picture))
        .route("/cork/stickers/{file}", get(get_default_sticker))
}

/// The file a multipart request carries: the `file` field, as Trello names it, or else
/// the only file sent.
pub(super) fn upload_of(req: &Req) -> Option<Upload> {
    let file = req.files.iter().find(|f| f.field == "file").or_else(|| (req.files.len() == 1).then(|| &req.files[0]))?;
    Some(Upload { bytes: file.bytes.to_vec(), file_name: file.file_name.clone(), content_type: file.content_type.clone() })
}

/// The public url of a member's picture (custom sticker, emoji, background).
pub(super) fn picture_url(app: &App, file: &FileRef) -> String {
    format!("{}/cork/pictures/{}/{}", app.render.base_url, file.key, path_segment(&file.file_name))
}

/// The image of one of Trello's default stickers, drawn by Cork.
pub(super) fn default_sticker_url(app: &App, name: &str) -> String {
    format!("{}/cork/stickers/{}.svg", app.render.base_url, path_segment(name))
}

/// `POST /cards/{id}/attachments` with a file (`name`, `mimeType`, `setCover` optional).
pub(super) async fn post_file_attachment(app: &App, id: &str, req: &Req, upload: Upload) -> ApiResult {
    let p = &req.params;
    let input = NewFileAttachment {
        upload,
        name: p.text("name")?,
        mime_type: p.text("mimeType")?,
        set_cover: p.bool("setCover")?.unwrap_or(false),
    };
    let created = app.cork.attach_file(&req.actor, id, input).await?;
    Ok(json_ok(app.render.attachment(&created)))
}

/// `Content-Disposition` with the file's name: a plain ASCII form for old clients and
/// the exact UTF-8 form (RFC 6266) for the others.
fn disposition(kind: &str, file_name: &str) -> HeaderValue {
    let ascii: String =
        file_name.chars().map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' }).collect();
    let value = format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{}", path_segment(file_name));
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

/// Stored bytes with headers that keep a browser from running them: the stored type,
/// `nosniff`, a sandboxing CSP, and `attachment` for anything but a recognised image.
fn file_response(content_type: &str, inline: bool, file_name: &str, bytes: Vec<u8>) -> Response {
    let content_type = HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let headers: [(HeaderName, HeaderValue); 5] = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, disposition(if inline { "inline" } else { "attachment" }, file_name)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=0")),
    ];
    (StatusCode::OK, headers, bytes).into_response()
}

/// The bytes of an uploaded attachment. The file name in the path is decoration, as on
/// Trello: the attachment id decides.
async fn get_attachment_download(
    State(app): State<App>,
    Path((id, attachment, _file)): Path<(String, String, String)>,
    req: Req,
) -> ApiResult {
    let (file, bytes) = app.cork.attachment_download(&req.actor, &id, &attachment).await?;
    Ok(file_response(&file.mime_type, file.is_image(), &file.file_name, bytes))
}

async fn get_picture(State(app): State<App>, Path((key, file)): Path<(String, String)>) -> ApiResult {
    let (mime_type, bytes) = app.cork.picture(&key).await?;
    let mut response = file_response(mime_type, true, &file, bytes);
    // A picture's url never changes its bytes (a new upload gets a new key).
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    Ok(response)
}

/// A default sticker: its name on a round badge, coloured by the name. Cork does not
/// ship Trello's artwork.
async fn get_default_sticker(Path(file): Path<String>) -> ApiResult {
    let name = file.strip_suffix(".svg").filter(|n| cork_core::stickers::DEFAULT_STICKERS.contains(n)).ok_or_else(ApiError::not_found)?;
    let hue = name.bytes().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 360;
    let label = name.rsplit('-').next().unwrap_or(name);
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\"><circle cx=\"32\" cy=\"32\" r=\"30\" fill=\"hsl({hue},60%,50%)\" stroke=\"#fff\" stroke-width=\"3\"/><text x=\"32\" y=\"37\" font-family=\"sans-serif\" font-size=\"11\" fill=\"#fff\" text-anchor=\"middle\">{label}</text></svg>"
    );
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], svg).into_response())
}
