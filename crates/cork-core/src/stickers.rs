//! Stickers: Trello's default pictures or a member's own custom stickers, placed on
//! cards at a position, depth and angle. Placing a custom sticker gives the card its own
//! copy of the picture, so deleting the custom sticker later leaves placed ones intact.

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::access::{Actor, Role};
use crate::actions::{board_ref, card_ref, data, record, Refs};
use crate::boards::touch_board;
use crate::cards::card_with_role;
use crate::files::{FileRef, Pending, Upload};
use crate::ids::{is_id, new_id};
use crate::store_ext::{find, get, insert, remove, save, Stored};
use crate::uploads::{image_upload, own_member, own_record, Owned};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// The pictures every member may use, by Trello's names.
pub const DEFAULT_STICKERS: &[&str] = &[
    "check",
    "heart",
    "warning",
    "clock",
    "smile",
    "laugh",
    "huh",
    "frown",
    "thumbsup",
    "thumbsdown",
    "star",
    "rocketship",
    "taco-love",
    "taco-cool",
    "taco-angry",
    "taco-confused",
    "taco-sad",
    "taco-pixel",
    "taco-reading",
    "taco-money",
    "taco-active",
    "taco-alert",
    "taco-celebrate",
    "taco-embarrassed",
    "taco-proto",
    "pete-happy",
    "pete-love",
    "pete-broken",
    "pete-alert",
    "pete-ghost",
    "pete-award",
    "pete-busy",
    "pete-completed",
    "pete-confused",
    "pete-sad",
    "pete-shipped",
    "pete-talking",
    "pete-vacation",
];

/// A sticker on a card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sticker {
    pub id: String,
    pub id_card: String,
    /// A default sticker's name, or the id of the custom sticker it was made from.
    pub image: String,
    pub top: f64,
    pub left: f64,
    pub z_index: i64,
    pub rotate: f64,
    /// The card's copy of a custom sticker's picture; `None` for default stickers.
    #[serde(default)]
    pub file: Option<FileRef>,
}

impl Stored for Sticker {
    const TABLE: Table = Table::Stickers;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("card_id", Arg::text(&self.id_card))]
    }
}

/// A picture a member uploaded to use as a sticker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomSticker {
    pub id: String,
    pub id_member: String,
    pub file: FileRef,
}

impl Owned for CustomSticker {
    fn owner(&self) -> &str {
        &self.id_member
    }
}

impl Stored for CustomSticker {
    const TABLE: Table = Table::CustomStickers;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("member_id", Arg::text(&self.id_member))]
    }
}

/// Where and how a sticker sits; `None` keeps the current value on updates.
#[derive(Debug, Clone, Default)]
pub struct StickerPlace {
    pub top: Option<f64>,
    pub left: Option<f64>,
    pub z_index: Option<i64>,
    pub rotate: Option<f64>,
}

/// Trello's ranges: `top` and `left` from -60 to 100 (percent of the card), `rotate`
/// from 0 to 360 degrees.
fn check_place(place: &StickerPlace) -> Result<()> {
    let within = |value: Option<f64>, low: f64, high: f64| match value {
        Some(v) => v.is_finite() && (low..=high).contains(&v),
        None => true,
    };
    for (name, value, low, high) in
        [("top", place.top, -60.0, 100.0), ("left", place.left, -60.0, 100.0), ("rotate", place.rotate, 0.0, 360.0)]
    {
        if !within(value, low, high) {
            return Err(DomainError::InvalidValue(name.into()));
        }
    }
    Ok(())
}

pub(crate) fn sticker_data(sticker: &Sticker) -> Value {
    json!({"id": sticker.id, "image": sticker.image, "top": sticker.top, "left": sticker.left, "zIndex": sticker.z_index, "rotate": sticker.rotate})
}

/// Deletes the stickers of the given cards (a card or board deletion); returns them for
/// the action's `deleted` data. Their pictures go once the deletion commits.
pub(crate) async fn remove_for_cards(tx: &mut Tx, card_ids: &[String]) -> Result<Vec<Sticker>> {
    if card_ids.is_empty() {
        return Ok(Vec::new());
    }
    let stickers: Vec<Sticker> = find(tx, &[Cond::any_of("card_id", card_ids)], Order::Asc("id"), None).await?;
    if !stickers.is_empty() {
        tx.delete(Table::Stickers, &[Cond::any_of("card_id", card_ids)]).await?;
    }
    Ok(stickers)
}

/// The picture files the given stickers own.
pub(crate) fn sticker_files(stickers: &[Sticker]) -> Vec<String> {
    stickers.iter().filter_map(|s| s.file.as_ref().map(|f| f.key.clone())).collect()
}

/// Copies the stickers of one card onto another (`keepFromSource=stickers`), each copy
/// with its own picture file.
pub(crate) async fn copy_to_card(tx: &mut Tx, pending: &mut Pending, from_card: &str, to_card: &str) -> Result<()> {
    let stickers: Vec<Sticker> = find(tx, &[Cond::eq("card_id", from_card)], Order::Asc("id"), None).await?;
    for old in stickers {
        let mut copy = Sticker { id: new_id(), id_card: to_card.to_string(), ..old };
        if let Some(file) = copy.file.as_mut() {
            file.key = pending.duplicate(&file.key).await?;
        }
        insert(tx, &copy).await?;
    }
    Ok(())
}

async fn card_sticker(tx: &mut Tx, card_id: &str, sticker_id: &str) -> Result<Sticker> {
    if !is_id(sticker_id) {
        return Err(DomainError::InvalidId);
    }
    let sticker: Sticker = get(tx, &sticker_id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    if sticker.id_card != card_id {
        return Err(DomainError::NotFound(NOT_FOUND));
    }
    Ok(sticker)
}

impl Cork {
    /// `GET /cards/{id}/stickers`, lowest first.
    pub async fn card_stickers(&self, actor: &Actor, reference: &str) -> Result<Vec<Sticker>> {
        let mut tx = self.store.read().await?;
        let (card, _, _) = card_with_role(&mut tx, actor, reference, Role::Read).await?;
        let mut stickers: Vec<Sticker> = find(&mut tx, &[Cond::eq("card_id", &card.id)], Order::Asc("id"), None).await?;
        stickers.sort_by_key(|s| s.z_index);
        Ok(stickers)
    }

    /// `GET /cards/{id}/stickers/{idSticker}`.
    pub async fn card_sticker(&self, actor: &Actor, reference: &str, sticker_id: &str) -> Result<Sticker> {
        let mut tx = self.store.read().await?;
        let (card, _, _) = card_with_role(&mut tx, actor, reference, Role::Read).await?;
        card_sticker(&mut tx, &card.id, sticker_id).await
    }

    /// `POST /cards/{id}/stickers`: `image` is a default sticker's name or the id of one
    /// of the actor's custom stickers; `top`, `left` and `zIndex` are required.
    pub async fn add_sticker(&self, actor: &Actor, reference: &str, image: &str, place: StickerPlace) -> Result<Sticker> {
        check_place(&place)?;
        let (Some(top), Some(left), Some(z_index)) = (place.top, place.left, place.z_index) else {
            let missing = if place.top.is_none() {
                "top"
            } else if place.left.is_none() {
                "left"
            } else {
                "zIndex"
            };
            return Err(DomainError::InvalidValue(missing.into()));
        };
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let mut pending = self.pictures.pending();
        let file = if DEFAULT_STICKERS.contains(&image) {
            None
        } else if is_id(image) {
            let custom: Option<CustomSticker> = get(&mut tx, &image.to_ascii_lowercase()).await?;
            let custom = custom
                .filter(|c| Some(c.id_member.as_str()) == actor.member_id())
                .ok_or_else(|| DomainError::InvalidValue("image".into()))?;
            Some(FileRef { key: pending.duplicate(&custom.file.key).await?, ..custom.file })
        } else {
            return Err(DomainError::InvalidValue("image".into()));
        };
        let sticker = Sticker {
            id: new_id(),
            id_card: card.id.clone(),
            image: image.to_ascii_lowercase(),
            top,
            left,
            z_index,
            rotate: place.rotate.unwrap_or(0.0),
            file,
        };
        insert(&mut tx, &sticker).await?;
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let context = [("board", board_ref(&board)), ("card", card_ref(&card)), ("sticker", sticker_data(&sticker))];
        record(&mut tx, actor, "addStickerToCard", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        pending.keep();
        Ok(sticker)
    }

    /// `PUT /cards/{id}/stickers/{idSticker}`: moves, stacks or turns a sticker.
    pub async fn update_sticker(&self, actor: &Actor, reference: &str, sticker_id: &str, place: StickerPlace) -> Result<Sticker> {
        check_place(&place)?;
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let mut sticker = card_sticker(&mut tx, &card.id, sticker_id).await?;
        let mut old = Map::new();
        if let Some(top) = place.top.filter(|v| *v != sticker.top) {
            old.insert("top".into(), json!(sticker.top));
            sticker.top = top;
        }
        if let Some(left) = place.left.filter(|v| *v != sticker.left) {
            old.insert("left".into(), json!(sticker.left));
            sticker.left = left;
        }
        if let Some(z_index) = place.z_index.filter(|v| *v != sticker.z_index) {
            old.insert("zIndex".into(), json!(sticker.z_index));
            sticker.z_index = z_index;
        }
        if let Some(rotate) = place.rotate.filter(|v| *v != sticker.rotate) {
            old.insert("rotate".into(), json!(sticker.rotate));
            sticker.rotate = rotate;
        }
        if old.is_empty() {
            return Ok(sticker);
        }
        save(&mut tx, &sticker).await?;
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let context =
            [("board", board_ref(&board)), ("card", card_ref(&card)), ("sticker", sticker_data(&sticker)), ("old", Value::Object(old))];
        record(&mut tx, actor, "updateStickerOnCard", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        Ok(sticker)
    }

    /// `DELETE /cards/{id}/stickers/{idSticker}`; its picture copy goes after the commit.
    pub async fn remove_sticker(&self, actor: &Actor, reference: &str, sticker_id: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let sticker = card_sticker(&mut tx, &card.id, sticker_id).await?;
        remove(&mut tx, &sticker).await?;
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let context =
            [("board", board_ref(&board)), ("card", card_ref(&card)), ("sticker", sticker_data(&sticker)), ("deleted", json!(sticker))];
        record(&mut tx, actor, "removeStickerFromCard", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        self.pictures.discard(&sticker_files(std::slice::from_ref(&sticker))).await;
        Ok(())
    }

    /// `GET /members/{id}/customStickers`: only the member themself.
    pub async fn custom_stickers(&self, actor: &Actor, member_ref: &str) -> Result<Vec<CustomSticker>> {
        let mut tx = self.store.read().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::Asc("id"), None).await
    }

    /// `GET /members/{id}/customStickers/{idSticker}`.
    pub async fn custom_sticker(&self, actor: &Actor, member_ref: &str, sticker_id: &str) -> Result<CustomSticker> {
        let mut tx = self.store.read().await?;
        let (_, sticker): (_, CustomSticker) = own_record(&mut tx, actor, member_ref, sticker_id, false).await?;
        Ok(sticker)
    }

    /// `POST /members/{id}/customStickers` with an image file. Uploads are content that
    /// others see on cards, so, unlike preferences, they are logged.
    pub async fn create_custom_sticker(&self, actor: &Actor, member_ref: &str, upload: Upload) -> Result<CustomSticker> {
        let mut file = image_upload(&upload)?;
        self.pictures.check_enabled()?;
        // As for attachments: check, write the bytes, then the transaction checks again.
        own_member(&mut self.store.read().await?, actor, member_ref, true).await?;
        let mut pending = self.pictures.pending();
        file.key = pending.write(upload.bytes).await?;
        let mut tx = self.store.write().await?;
        let member = own_member(&mut tx, actor, member_ref, true).await?;
        let sticker = CustomSticker { id: new_id(), id_member: member.id.clone(), file };
        insert(&mut tx, &sticker).await?;
        let context = [("customSticker", json!({"id": sticker.id, "name": sticker.file.file_name}))];
        record(&mut tx, actor, "createCustomSticker", data(&context), Refs::default()).await?;
        tx.commit().await?;
        pending.keep();
        Ok(sticker)
    }

    /// `DELETE /members/{id}/customStickers/{idSticker}`. Stickers already placed on
    /// cards keep their own copies of the picture.
    pub async fn delete_custom_sticker(&self, actor: &Actor, member_ref: &str, sticker_id: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (_, sticker): (_, CustomSticker) = own_record(&mut tx, actor, member_ref, sticker_id, true).await?;
        remove(&mut tx, &sticker).await?;
        let context = [("customSticker", json!({"id": sticker.id, "name": sticker.file.file_name})), ("deleted", json!(sticker))];
        record(&mut tx, actor, "deleteCustomSticker", data(&context), Refs::default()).await?;
        tx.commit().await?;
        self.pictures.discard(std::slice::from_ref(&sticker.file.key)).await;
        Ok(())
    }
}
