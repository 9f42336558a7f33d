//! Members: lookup by id, username or `me`; account updates; board memberships;
//! board stars.

use cork_store::{Cond, Order, Table, Tx};
use serde_json::json;

use crate::access::{memberships_of, require, role_from, Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, data, record, Refs};
use crate::boards::{board_with_role, touch_board};
use crate::ids::{is_id, new_id};
use crate::model::{Board, BoardStar, Member, Membership, Organization};
use crate::organizations::{ensure_other_admin, org_role};
use crate::pos::Pos;
use crate::store_ext::{by_ids, find, get, insert, remove, save};
use crate::{Cork, DomainError, Result, NOT_FOUND};

/// Finds a member by id, username or `me` (the actor).
pub(crate) async fn resolve_member(tx: &mut Tx, actor: &Actor, reference: &str) -> Result<Member> {
    if reference.eq_ignore_ascii_case("me") {
        return actor.require_member().cloned();
    }
    let found = if is_id(reference) {
        get(tx, &reference.to_ascii_lowercase()).await?
    } else if !reference.is_empty() && reference.len() <= 100 {
        // Usernames hold letters, digits and underscores only: anything else names nobody.
        if reference.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            find(tx, &[Cond::eq("username", reference.to_ascii_lowercase())], Order::None, Some(1)).await?.pop()
        } else {
            None
        }
    } else {
        return Err(DomainError::InvalidId);
    };
    found.ok_or(DomainError::NotFound(NOT_FOUND))
}

/// A member with the ids of the boards and workspaces the actor may see them in.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub member: Member,
    pub id_boards: Vec<String>,
    pub id_organizations: Vec<String>,
    /// True when the actor is this member (private fields such as email are shown).
    pub is_self: bool,
}

/// Parameters of `PUT /members/{id}`.
#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    pub full_name: Option<String>,
    pub initials: Option<String>,
    pub bio: Option<String>,
    pub username: Option<String>,
}

impl Cork {
    /// `GET /members/{id}`.
    pub async fn member_view(&self, actor: &Actor, reference: &str) -> Result<MemberView> {
        let mut tx = self.store.read().await?;
        let member = resolve_member(&mut tx, actor, reference).await?;
        let memberships: Vec<Membership> = find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::Asc("id"), None).await?;
        let models: Vec<&str> = memberships.iter().map(|m| m.id_model.as_str()).collect();
        let mut boards: Vec<Board> = by_ids(&mut tx, &models).await?;
        let mut orgs: Vec<Organization> = by_ids(&mut tx, &models).await?;
        let is_self = actor.member_id() == Some(member.id.as_str());
        if !is_self || actor.is_narrowed() {
            // Others see only the boards and workspaces they may read themselves.
            let mut seen: Vec<&str> = boards.iter().map(|b| b.id.as_str()).chain(orgs.iter().map(|o| o.id.as_str())).collect();
            seen.extend(boards.iter().filter_map(|b| b.id_organization.as_deref()));
            let own = memberships_of(&mut tx, actor, &seen).await?;
            boards.retain(|b| role_from(actor, b, &own) >= Role::Read);
            orgs.retain(|o| org_role(actor, o, &own) >= Role::Read);
        }
        let mut id_boards: Vec<String> = boards.into_iter().map(|b| b.id).collect();
        let mut id_organizations: Vec<String> = orgs.into_iter().map(|o| o.id).collect();
        id_boards.sort();
        id_organizations.sort();
        Ok(MemberView { member, id_boards, id_organizations, is_self })
    }

    /// Members by id, for rendering (action creators, card members).
    pub async fn members_by_ids(&self, ids: &[String]) -> Result<Vec<Member>> {
        let mut tx = self.store.read().await?;
        crate::store_ext::by_ids(&mut tx, ids).await
    }

    /// `PUT /members/{id}`: only the member, with a token that has the `account` scope.
    pub async fn update_member(&self, actor: &Actor, reference: &str, patch: MemberPatch) -> Result<Member> {
        let mut tx = self.store.write().await?;
        let mut member = resolve_member(&mut tx, actor, reference).await?;
        if actor.member_id() != Some(member.id.as_str()) || !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let mut old = serde_json::Map::new();
        if let Some(full_name) = patch.full_name {
            if full_name.trim().is_empty() || full_name.len() > 512 {
                return Err(DomainError::InvalidValue("fullName".into()));
            }
            old.insert("fullName".into(), json!(member.full_name));
            member.full_name = full_name.trim().to_string();
        }
        if let Some(initials) = patch.initials {
            if initials.is_empty() || initials.chars().count() > 4 {
                return Err(DomainError::InvalidValue("initials".into()));
            }
            old.insert("initials".into(), json!(member.initials));
            member.initials = initials;
        }
        if let Some(bio) = patch.bio {
            old.insert("bio".into(), json!(member.bio));
            member.bio = bio;
        }
        if let Some(username) = patch.username {
            let valid = username.len() >= 3 && username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(DomainError::InvalidValue("username".into()));
            }
            if username != member.username && tx.count(Table::Members, &[Cond::eq("username", &username)]).await? > 0 {
                return Err(DomainError::BadRequest("Username is taken".into()));
            }
            old.insert("username".into(), json!(member.username));
            member.username = username;
        }
        save(&mut tx, &member).await?;
        let context = [
            ("member", json!({"id": member.id, "name": member.full_name})),
            ("new", crate::actions::written(&member, &old)),
            ("old", serde_json::Value::Object(old)),
        ];
        let refs = Refs { subject: Some(member.id.clone()), ..Refs::default() };
        record(&mut tx, actor, "updateMember", data(&context), refs).await?;
        tx.commit().await?;
        Ok(member)
    }

    /// `PUT /members/{id}/avatarSource`: `none` drops an uploaded avatar (the generated
    /// initials avatar shows again); `upload` keeps the uploaded one and needs one.
    /// Cork fetches nothing from outside, so `gravatar` is refused.
    pub async fn set_avatar_source(&self, actor: &Actor, reference: &str, source: &str) -> Result<Member> {
        let mut tx = self.store.write().await?;
        let mut member = resolve_member(&mut tx, actor, reference).await?;
        if actor.member_id() != Some(member.id.as_str()) || !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        match source {
            "none" if member.avatar_hash.is_some() => {
                let old = member.avatar_hash.take();
                save(&mut tx, &member).await?;
                let context = [
                    ("member", json!({"id": member.id, "name": member.full_name})),
                    ("new", json!({"avatarHash": null})),
                    ("old", json!({"avatarHash": old})),
                ];
                let refs = Refs { subject: Some(member.id.clone()), ..Refs::default() };
                record(&mut tx, actor, "updateMember", data(&context), refs).await?;
            }
            "none" => {}
            "upload" if member.avatar_hash.is_some() => {}
            _ => return Err(DomainError::InvalidValue("value".into())),
        }
        tx.commit().await?;
        Ok(member)
    }

    /// Adds a member to a board or changes their role (`PUT /boards/{id}/members/{idMember}`).
    pub async fn set_board_member(&self, actor: &Actor, board_ref_str: &str, member_ref: &str, member_type: &str) -> Result<Membership> {
        if !matches!(member_type, "admin" | "normal" | "observer") {
            return Err(DomainError::InvalidValue("type".into()));
        }
        let mut tx = self.store.write().await?;
        let (mut board, _) = board_with_role(&mut tx, actor, board_ref_str, Role::Admin, UNAUTHORIZED).await?;
        let member = resolve_member(&mut tx, actor, member_ref).await?;
        let existing: Option<Membership> =
            find(&mut tx, &[Cond::eq("model_id", &board.id), Cond::eq("member_id", &member.id)], Order::None, Some(1)).await?.pop();
        let (membership, kind, old_type) = match existing {
            Some(mut membership) => {
                if membership.member_type == "admin" && member_type != "admin" {
                    ensure_other_admin(&mut tx, &board.id, &member.id).await?;
                }
                let old_type = membership.member_type.clone();
                membership.member_type = member_type.to_string();
                save(&mut tx, &membership).await?;
                let kind = match member_type {
                    "admin" => "makeAdminOfBoard",
                    "normal" => "makeNormalMemberOfBoard",
                    _ => "makeObserverOfBoard",
                };
                (membership, kind, Some(old_type))
            }
            None => {
                let membership = Membership {
                    id: new_id(),
                    id_model: board.id.clone(),
                    id_member: member.id.clone(),
                    member_type: member_type.to_string(),
                    unconfirmed: false,
                    deactivated: false,
                };
                insert(&mut tx, &membership).await?;
                (membership, "addMemberToBoard", None)
            }
        };
        touch_board(&mut tx, &mut board).await?;
        let mut context = vec![("board", board_ref(&board)), ("idMember", json!(member.id)), ("memberType", json!(member_type))];
        if let Some(old_type) = old_type {
            context.push(("old", json!({"memberType": old_type})));
        }
        let refs = Refs { subject: Some(member.id.clone()), ..Refs::board(&board) };
        let action = record(&mut tx, actor, kind, data(&context), refs).await?;
        if kind == "addMemberToBoard" {
            crate::notifications::added_to_board(&mut tx, actor, &member.id, &action).await?;
        }
        tx.commit().await?;
        Ok(membership)
    }

    /// Changes a role by membership id (`PUT /boards/{id}/memberships/{idMembership}`).
    pub async fn set_board_membership(
        &self,
        actor: &Actor,
        board_ref_str: &str,
        membership_id: &str,
        member_type: &str,
    ) -> Result<Membership> {
        if !is_id(membership_id) {
            return Err(DomainError::InvalidId);
        }
        let member_id = {
            let mut tx = self.store.read().await?;
            let (board, _) = board_with_role(&mut tx, actor, board_ref_str, Role::Read, UNAUTHORIZED).await?;
            let membership: Membership = get(&mut tx, membership_id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
            if membership.id_model != board.id {
                return Err(DomainError::NotFound(NOT_FOUND));
            }
            membership.id_member
        };
        self.set_board_member(actor, board_ref_str, &member_id, member_type).await
    }

    /// Removes a member from a board; members may remove themselves.
    pub async fn remove_board_member(&self, actor: &Actor, board_ref_str: &str, member_ref: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (mut board, role) = board_with_role(&mut tx, actor, board_ref_str, Role::Read, UNAUTHORIZED).await?;
        let member = resolve_member(&mut tx, actor, member_ref).await?;
        if actor.member_id() != Some(member.id.as_str()) {
            require(role, Role::Admin, UNAUTHORIZED)?;
        }
        // Leaving a board changes the board: a read-only token may not.
        if !actor.may_write() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        ensure_other_admin(&mut tx, &board.id, &member.id).await?;
        let existing: Option<Membership> =
            find(&mut tx, &[Cond::eq("model_id", &board.id), Cond::eq("member_id", &member.id)], Order::None, Some(1)).await?.pop();
        let Some(membership) = existing else { return Err(DomainError::NotFound(NOT_FOUND)) };
        remove(&mut tx, &membership).await?;
        touch_board(&mut tx, &mut board).await?;
        let context = [("board", board_ref(&board)), ("idMember", json!(member.id)), ("deleted", json!(membership))];
        let refs = Refs { subject: Some(member.id.clone()), ..Refs::board(&board) };
        record(&mut tx, actor, "removeMemberFromBoard", data(&context), refs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A member's board stars (`GET /members/{id}/boardStars`); only their own.
    pub async fn board_stars(&self, actor: &Actor, member_ref: &str) -> Result<Vec<BoardStar>> {
        let mut tx = self.store.read().await?;
        let member = resolve_member(&mut tx, actor, member_ref).await?;
        if actor.member_id() != Some(member.id.as_str()) {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let stars: Vec<BoardStar> = find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::Asc("pos"), None).await?;
        let ids: Vec<&str> = stars.iter().map(|s| s.id_board.as_str()).collect();
        let reached = crate::access::reached_boards(&mut tx, actor, &ids).await?;
        Ok(stars.into_iter().filter(|s| reached.as_ref().map(|r| r.contains(&s.id_board)) != Some(false)).collect())
    }

    /// Stars a board the member can read (`POST /members/{id}/boardStars`).
    pub async fn star_board(&self, actor: &Actor, member_ref: &str, board_id: &str, pos: Pos) -> Result<BoardStar> {
        let mut tx = self.store.write().await?;
        let member = resolve_member(&mut tx, actor, member_ref).await?;
        if actor.member_id() != Some(member.id.as_str()) || !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let (board, _) = board_with_role(&mut tx, actor, board_id, Role::Read, UNAUTHORIZED).await.map_err(|e| match e {
            DomainError::InvalidId => DomainError::InvalidValue("idBoard".into()),
            other => other,
        })?;
        let conds = [Cond::eq("member_id", &member.id)];
        if tx.count(Table::BoardStars, &[Cond::eq("member_id", &member.id), Cond::eq("board_id", &board.id)]).await? > 0 {
            return Err(DomainError::BadRequest("Board already starred".into()));
        }
        let range = tx.pos_range(Table::BoardStars, &conds).await?;
        let star = BoardStar { id: new_id(), id_board: board.id.clone(), id_member: member.id.clone(), pos: pos.resolve(range) };
        insert(&mut tx, &star).await?;
        tx.commit().await?;
        Ok(star)
    }

    /// Removes a star.
    pub async fn unstar_board(&self, actor: &Actor, member_ref: &str, star_id: &str) -> Result<()> {
        if !is_id(star_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.write().await?;
        let member = resolve_member(&mut tx, actor, member_ref).await?;
        if actor.member_id() != Some(member.id.as_str()) {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let star: BoardStar = get(&mut tx, star_id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        if star.id_member != member.id {
            return Err(DomainError::NotFound(NOT_FOUND));
        }
        crate::access::require_reach(&mut tx, actor, &star.id_board).await?;
        if !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        remove(&mut tx, &star).await?;
        tx.commit().await?;
        Ok(())
    }
}
