//! Uploaded files as Trello objects: file attachments on cards and their download, and
//! the pieces shared by a member's own uploads (custom stickers, emoji, backgrounds).
//!
//! Deleting a record that owns a file (an attachment, a card, a board, a custom sticker)
//! sets the file aside once the transaction has committed: the download route stops
//! serving it at once, and the bytes wait in the upload folder's `trash/` for
//! [`crate::files::KEEP_DELETED`] (30 days) so that an undo of the deletion brings the
//! attachment back whole, then they are removed. An operator who must erase a leaked
//! document sooner deletes its file from `trash/` (the action log names its key).

use cork_store::Tx;
use serde_json::json;

use crate::access::{Actor, Role};
use crate::actions::{board_ref, card_ref, data, record, Refs};
use crate::boards::touch_board;
use crate::cards::card_with_role;
use crate::files::{describe, is_mime_type, FileRef, Pending, Upload};
use crate::ids::{is_id, new_id};
use crate::model::{Attachment, Member};
use crate::pos::Pos;
use crate::store_ext::{get, insert, save};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// Parameters of `POST /cards/{id}/attachments` with a file.
#[derive(Debug, Clone)]
pub struct NewFileAttachment {
    pub upload: Upload,
    pub name: Option<String>,
    pub mime_type: Option<String>,
    pub set_cover: bool,
}

/// The keys of the files the given attachments own (link attachments own none).
pub(crate) fn attachment_files(attachments: &[Attachment]) -> Vec<String> {
    attachments.iter().filter_map(|a| a.file.as_ref().map(|f| f.key.clone())).collect()
}

/// Gives a copied attachment its own file, so that deleting the original later does
/// not take the copy's bytes (and the other way round).
pub(crate) async fn own_file(pending: &mut Pending, attachment: &mut Attachment) -> Result<()> {
    if let Some(file) = attachment.file.as_mut() {
        file.key = pending.duplicate(&file.key).await?;
    }
    Ok(())
}

/// The member `reference` names, who must be the actor; `writing` also needs a token
/// with the `account` scope. Custom stickers, emoji, backgrounds, saved searches and
/// board preferences are the member's own: nobody else reads or changes them.
pub(crate) async fn own_member(tx: &mut Tx, actor: &Actor, reference: &str, writing: bool) -> Result<Member> {
    let member = crate::members::resolve_member(tx, actor, reference).await?;
    if actor.member_id() != Some(member.id.as_str()) || (writing && !actor.may_change_account()) {
        return Err(DomainError::Unauthorized(crate::access::UNAUTHORIZED));
    }
    Ok(member)
}

/// A record that belongs to one member (saved search, custom sticker, custom emoji).
pub(crate) trait Owned: crate::store_ext::Stored {
    fn owner(&self) -> &str;
}

/// The member's own record `id`, for the member `reference` names, who must be the actor
/// (see [`own_member`]): `invalid id` for a malformed id, not found when it does not exist
/// or is someone else's.
pub(crate) async fn own_record<T: Owned>(tx: &mut Tx, actor: &Actor, reference: &str, id: &str, writing: bool) -> Result<(Member, T)> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    let member = own_member(tx, actor, reference, writing).await?;
    let record: T =
        get(tx, &id.to_ascii_lowercase()).await?.filter(|r: &T| r.owner() == member.id).ok_or(DomainError::NotFound(NOT_FOUND))?;
    Ok((member, record))
}

/// Checks that an upload meant as a picture (sticker, emoji, background) is an image
/// Cork recognises, and describes it with the type its bytes show; the key is filled in
/// once the bytes are written.
pub(crate) fn image_upload(upload: &Upload) -> Result<FileRef> {
    let info = crate::files::image_info(&upload.bytes).ok_or_else(|| DomainError::InvalidValue("file".into()))?;
    Ok(FileRef { mime_type: info.mime_type.to_string(), ..describe(upload, None, String::new()) })
}

impl Cork {
    /// Attaches an uploaded file to a card. The bytes are written (and synced) before the
    /// transaction commits and removed again if anything fails, so a committed
    /// attachment always has its file and a failed request leaves no file behind.
    pub async fn attach_file(&self, actor: &Actor, reference: &str, input: NewFileAttachment) -> Result<Attachment> {
        let name = input.name.filter(|n| !n.is_empty());
        if name.as_ref().is_some_and(|n| n.chars().count() > 256) {
            return Err(DomainError::InvalidValue("name".into()));
        }
        let declared = input.mime_type.filter(|m| !m.is_empty());
        if declared.as_ref().is_some_and(|m| !is_mime_type(m)) {
            return Err(DomainError::InvalidValue("mimeType".into()));
        }
        self.files.check_enabled()?;
        // Permission first, so that a refused request writes nothing; then the bytes, outside
        // the write transaction (SQLite has one writer, and a large upload takes a while);
        // then the transaction, which checks again.
        card_with_role(&mut self.store.read().await?, actor, reference, Role::Write).await?;
        let mut file = describe(&input.upload, declared.as_deref(), String::new());
        let mut pending = self.files.pending();
        file.key = pending.write(input.upload.bytes).await?;
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let range = tx.pos_range(cork_store::Table::Attachments, &[cork_store::Cond::eq("card_id", &card.id)]).await?;
        let attachment = Attachment {
            id: new_id(),
            id_card: card.id.clone(),
            id_member: actor.member_id().unwrap_or_default().to_string(),
            name: name.unwrap_or_else(|| file.file_name.clone()),
            // Upload urls name the attachment's card and id, so the wire layer builds them.
            url: String::new(),
            mime_type: Some(file.mime_type.clone()),
            bytes: Some(file.bytes),
            date: now(),
            is_upload: true,
            pos: Pos::Bottom.resolve(range),
            file: Some(file),
        };
        insert(&mut tx, &attachment).await?;
        card.counts.attachments += 1;
        // Covers show a picture, so only an image can become one (as on Trello).
        if input.set_cover && attachment.file.as_ref().is_some_and(FileRef::is_image) {
            card.id_attachment_cover = Some(attachment.id.clone());
        }
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let context = [
            ("board", board_ref(&board)),
            ("card", card_ref(&card)),
            (
                "attachment",
                json!({"id": attachment.id, "name": attachment.name, "mimeType": attachment.mime_type, "bytes": attachment.bytes}),
            ),
        ];
        record(&mut tx, actor, "addAttachmentToCard", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        pending.keep();
        Ok(attachment)
    }

    /// The file of an uploaded attachment, for readers of its board.
    pub async fn attachment_download(&self, actor: &Actor, reference: &str, attachment_id: &str) -> Result<(FileRef, Vec<u8>)> {
        if !is_id(attachment_id) {
            return Err(DomainError::InvalidId);
        }
        let file = {
            let mut tx = self.store.read().await?;
            let (card, _, _) = card_with_role(&mut tx, actor, reference, Role::Read).await?;
            let attachment: Attachment =
                get(&mut tx, &attachment_id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
            if attachment.id_card != card.id {
                return Err(DomainError::NotFound(NOT_FOUND));
            }
            attachment.file.ok_or(DomainError::NotFound(NOT_FOUND))?
        };
        let bytes = self.files.read(&file.key).await?;
        Ok((file, bytes))
    }

    /// The bytes of a member's picture (custom sticker, emoji or background) by its file
    /// key. The key is 128 random bits handed out only in that picture's url, so the url
    /// works as Trello's public image links do. Pictures live apart from attachments, so
    /// this route can never serve an attachment, and only recognised images are served.
    pub async fn picture(&self, key: &str) -> Result<(&'static str, Vec<u8>)> {
        if !crate::files::is_key(key) {
            return Err(DomainError::NotFound(NOT_FOUND));
        }
        let bytes = self.pictures.read(key).await?;
        let info = crate::files::image_info(&bytes).ok_or(DomainError::NotFound(NOT_FOUND))?;
        Ok((info.mime_type, bytes))
    }
}
