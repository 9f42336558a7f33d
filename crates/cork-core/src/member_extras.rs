//! The rest of a member's account: single board stars, invitations not yet accepted,
//! dismissed one-time messages and the uploaded avatar. Stars and dismissed messages
//! are member preferences (no action, as on Trello); the avatar is an account change
//! (`updateMember`, with the `account` scope).

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::{Actor, UNAUTHORIZED};
use crate::actions::{data, record, Refs};
use crate::files::{image_info, Upload};
use crate::ids::is_id;
use crate::model::{Board, BoardStar, Member, Membership, Organization};
use crate::pos::Pos;
use crate::store_ext::{by_ids, find, get, insert, save, Stored};
use crate::uploads::own_member;
use crate::{Cork, DomainError, Result, NOT_FOUND};

/// Per-member account state that is not part of the Member object.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MemberSettings {
    /// The member's id.
    pub id: String,
    #[serde(default)]
    pub one_time_messages_dismissed: Vec<String>,
}

impl Stored for MemberSettings {
    const TABLE: Table = Table::MemberSettings;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        Vec::new()
    }
}

/// The most dismissed messages kept per member (the oldest go first).
const MAX_DISMISSED: usize = 500;

async fn own_star(tx: &mut Tx, member: &Member, star_id: &str) -> Result<BoardStar> {
    if !is_id(star_id) {
        return Err(DomainError::InvalidId);
    }
    get(tx, &star_id.to_ascii_lowercase()).await?.filter(|s: &BoardStar| s.id_member == member.id).ok_or(DomainError::NotFound(NOT_FOUND))
}

/// The member's memberships that still wait for them to accept.
async fn invitations(tx: &mut Tx, member: &Member) -> Result<Vec<String>> {
    let memberships: Vec<Membership> = find(tx, &[Cond::eq("member_id", &member.id)], Order::Asc("id"), None).await?;
    Ok(memberships.into_iter().filter(|m| m.unconfirmed).map(|m| m.id_model).collect())
}

impl Cork {
    /// `GET /members/{id}/boardStars/{idStar}`: the member's own.
    pub async fn board_star(&self, actor: &Actor, member_ref: &str, star_id: &str) -> Result<BoardStar> {
        let mut tx = self.store.read().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        let star = own_star(&mut tx, &member, star_id).await?;
        crate::access::require_reach(&mut tx, actor, &star.id_board).await?;
        Ok(star)
    }

    /// `PUT /members/{id}/boardStars/{idStar}`: moves a star (`top`, `bottom`, a number).
    pub async fn move_board_star(&self, actor: &Actor, member_ref: &str, star_id: &str, pos: Option<Pos>) -> Result<BoardStar> {
        let mut tx = self.store.write().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        if !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let mut star = own_star(&mut tx, &member, star_id).await?;
        crate::access::require_reach(&mut tx, actor, &star.id_board).await?;
        if let Some(pos) = pos {
            let range = tx.pos_range(Table::BoardStars, &[Cond::eq("member_id", &member.id)]).await?;
            star.pos = pos.resolve(range);
            save(&mut tx, &star).await?;
        }
        tx.commit().await?;
        Ok(star)
    }

    /// `GET /members/{id}/boardsInvited`: boards whose membership the member has not
    /// accepted yet; only the member sees them.
    pub async fn invited_boards(&self, actor: &Actor, member_ref: &str) -> Result<Vec<Board>> {
        let mut tx = self.store.read().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        let ids = invitations(&mut tx, &member).await?;
        let mut boards: Vec<Board> = by_ids(&mut tx, &ids).await?;
        boards.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(boards)
    }

    /// `GET /members/{id}/organizationsInvited`: workspaces the member was invited to
    /// and has not joined yet; only the member sees them.
    pub async fn invited_orgs(&self, actor: &Actor, member_ref: &str) -> Result<Vec<Organization>> {
        let mut tx = self.store.read().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        let ids = invitations(&mut tx, &member).await?;
        let mut orgs: Vec<Organization> = by_ids(&mut tx, &ids).await?;
        orgs.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(orgs)
    }

    /// `GET /members/{id}/oneTimeMessagesDismissed`.
    pub async fn dismissed_messages(&self, actor: &Actor, member_ref: &str) -> Result<Vec<String>> {
        let mut tx = self.store.read().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        let settings: Option<MemberSettings> = get(&mut tx, &member.id).await?;
        Ok(settings.map(|s| s.one_time_messages_dismissed).unwrap_or_default())
    }

    /// `POST /members/{id}/oneTimeMessagesDismissed`: remembers that the member closed
    /// a message (an account preference: the `account` scope, no action).
    pub async fn dismiss_message(&self, actor: &Actor, member_ref: &str, message: &str) -> Result<Vec<String>> {
        let message = message.trim();
        if message.is_empty() || message.len() > 256 {
            return Err(DomainError::InvalidValue("value".into()));
        }
        let mut tx = self.store.write().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        if !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let existing: Option<MemberSettings> = get(&mut tx, &member.id).await?;
        let is_new = existing.is_none();
        let mut settings = existing.unwrap_or_else(|| MemberSettings { id: member.id.clone(), ..MemberSettings::default() });
        if !settings.one_time_messages_dismissed.iter().any(|m| m == message) {
            settings.one_time_messages_dismissed.push(message.to_string());
            let overflow = settings.one_time_messages_dismissed.len().saturating_sub(MAX_DISMISSED);
            settings.one_time_messages_dismissed.drain(..overflow);
            if is_new {
                insert(&mut tx, &settings).await?;
            } else {
                save(&mut tx, &settings).await?;
            }
        }
        tx.commit().await?;
        Ok(settings.one_time_messages_dismissed)
    }

    /// `POST /members/{id}/avatar`: a PNG, JPEG, GIF or WebP image becomes the member's
    /// avatar (`avatarHash` is its picture key, served at `/cork/pictures/{hash}`); the
    /// member only, with the `account` scope.
    pub async fn set_avatar(&self, actor: &Actor, member_ref: &str, upload: Upload) -> Result<Member> {
        self.pictures.check_enabled()?;
        if image_info(&upload.bytes).is_none() {
            return Err(DomainError::InvalidValue("file".into()));
        }
        let mut tx = self.store.write().await?;
        let mut member = own_member(&mut tx, actor, member_ref, false).await?;
        if !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let mut pending = self.pictures.pending();
        let key = pending.write(upload.bytes).await?;
        let old = member.avatar_hash.replace(key);
        save(&mut tx, &member).await?;
        let context = [
            ("member", json!({"id": member.id, "name": member.full_name})),
            ("new", json!({"avatarHash": member.avatar_hash})),
            ("old", json!({"avatarHash": old})),
        ];
        let refs = Refs { subject: Some(member.id.clone()), ..Refs::default() };
        record(&mut tx, actor, "updateMember", data(&context), refs).await?;
        tx.commit().await?;
        pending.keep();
        if let Some(old) = old {
            self.pictures.discard(&[old]).await;
        }
        Ok(member)
    }
}
