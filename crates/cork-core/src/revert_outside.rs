//! Undo of the actions that belong to no board: a workspace's fields, members and
//! tags, the workspace itself; a member's profile and own uploads (custom stickers,
//! emoji, board backgrounds); the Power-Up catalogue and the enterprise's standing of
//! its members. The rules are those of [`crate::revert`]: the objects must still hold
//! what the action wrote (updates outside a board record it as `new`, beside `old`),
//! else `409` naming the fields changed since and nothing changes; the undo is an
//! ordinary action carrying `data.revertOf`; permissions are those of doing it by hand.

use cork_store::{Cond, Order, Table, Tx};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Map, Value};

use crate::access::{Actor, Role, UNAUTHORIZED};
use crate::actions::{data, org_ref, record, Refs};
use crate::emoji::CustomEmoji;
use crate::enterprise::MemberFlag;
use crate::files::FileStore;
use crate::model::{Action, Board, Member, Membership, Organization};
use crate::org_extras::OrgTag;
use crate::organizations::org_with_role;
use crate::plugins::{Plugin, PluginListing};
use crate::prefs::{BackgroundPatch, BoardBackground};
use crate::revert::{conflict, gone, still_gone, text, unsupported};
use crate::stickers::CustomSticker;
use crate::store_ext::{find, get, get_for_update, insert, remove, save};
use crate::{Cork, DomainError, Result};

/// What undoes an action outside a board.
#[derive(Debug, Clone)]
pub(crate) enum Outside {
    // Written in the checking transaction.
    OrgFields(String, Map<String, Value>),
    RestoreOrg(Box<Value>),
    RestoreOrgMember(Box<Membership>),
    RestoreTag(Box<OrgTag>),
    MemberFields(String, Map<String, Value>),
    RemoveEmoji(Box<CustomEmoji>),
    RestoreSticker(Box<CustomSticker>),
    RestoreBackground(Box<BoardBackground>),
    PluginFields(String, Map<String, Value>),
    ListingFields(String, Map<String, Value>),
    RemoveListing(String),
    RestoreEmoji(Box<CustomEmoji>),
    RestoreListing(Box<PluginListing>),
    RemovePlugin(Box<Plugin>),
    RestorePlugin(Box<Plugin>),
    // Ordinary commands, after the check commits.
    DeleteOrg(String),
    RemoveOrgMember(String, String),
    SetOrgMember(String, String, String),
    SetDeactivated(String, String, bool),
    DeleteTag(String, String),
    DeleteSticker(String, String),
    DeleteBackground(String, String),
    UpdateBackground(String, String, BackgroundPatch),
    EnterpriseAdmin(String, bool),
    EnterpriseFlags(String, Vec<(MemberFlag, bool)>),
}

impl Outside {
    pub(crate) fn in_place(&self) -> bool {
        matches!(
            self,
            Outside::OrgFields(..)
                | Outside::RestoreOrg(_)
                | Outside::RestoreOrgMember(_)
                | Outside::RestoreTag(_)
                | Outside::MemberFields(..)
                | Outside::RemoveEmoji(_)
                | Outside::RestoreSticker(_)
                | Outside::RestoreBackground(_)
                | Outside::PluginFields(..)
                | Outside::ListingFields(..)
                | Outside::RemoveListing(_)
                | Outside::RestoreEmoji(_)
                | Outside::RestoreListing(_)
                | Outside::RemovePlugin(_)
                | Outside::RestorePlugin(_)
        )
    }
}

fn part<T: DeserializeOwned>(d: &Value, key: &str, kind: &str) -> Result<T> {
    Ok(serde_json::from_value(d.get(key).cloned().ok_or_else(|| unsupported(kind))?)?)
}

/// The fields of `old` whose value in `current` is no longer what the action wrote
/// (its `new`), preference by preference for `prefs`.
fn changed_since(current: &Value, new: &Value, old: &Map<String, Value>) -> Vec<String> {
    let mut changed = Vec::new();
    for (key, was) in old {
        match (key.as_str(), was) {
            ("prefs", Value::Object(prefs)) => {
                for pref in prefs.keys() {
                    let pointer = format!("/prefs/{pref}");
                    if current.pointer(&pointer).unwrap_or(&Value::Null) != new.pointer(&pointer).unwrap_or(&Value::Null) {
                        changed.push(format!("prefs/{pref}"));
                    }
                }
            }
            _ => {
                if current.get(key.as_str()).unwrap_or(&Value::Null) != new.get(key.as_str()).unwrap_or(&Value::Null) {
                    changed.push(key.clone());
                }
            }
        }
    }
    changed
}

/// The action's `old`, once checked against `object`: nobody changed those fields since.
fn checked_old<T: Serialize>(action: &Action, object: &T) -> Result<Map<String, Value>> {
    let old = action.data.get("old").and_then(Value::as_object).cloned().unwrap_or_default();
    let new = action.data.get("new").ok_or_else(|| unsupported(&format!("{} (recorded without the values it wrote)", action.kind)))?;
    let changed = changed_since(&serde_json::to_value(object)?, new, &old);
    if !changed.is_empty() {
        return Err(conflict(&changed));
    }
    Ok(old)
}

/// `object` with the fields of `old` put back (a `null` preference goes away), and
/// the values it had for them, to record as the undo's own `old`.
fn put_back<T: Serialize + DeserializeOwned>(object: &T, old: &Map<String, Value>) -> Result<(T, Map<String, Value>)> {
    let mut value = serde_json::to_value(object)?;
    let mut now = Map::new();
    for (key, was) in old {
        match (key.as_str(), was) {
            ("prefs", Value::Object(prefs)) => {
                let mut now_prefs = Map::new();
                let target = value.get_mut("prefs").and_then(Value::as_object_mut).ok_or_else(|| unsupported("prefs"))?;
                for (pref, was) in prefs {
                    now_prefs.insert(pref.clone(), target.get(pref).cloned().unwrap_or(Value::Null));
                    if was.is_null() {
                        target.remove(pref);
                    } else {
                        target.insert(pref.clone(), was.clone());
                    }
                }
                now.insert(key.clone(), Value::Object(now_prefs));
            }
            _ => {
                now.insert(key.clone(), value.get(key.as_str()).cloned().unwrap_or(Value::Null));
                value[key.as_str()] = was.clone();
            }
        }
    }
    Ok((serde_json::from_value(value)?, now))
}

/// For an undo that puts back a picture (`key`: an avatar, a logo): the one shown before
/// comes out of the trash, and the one shown now is returned, to go in once it commits.
async fn swap_pictures(pictures: &FileStore, old: &Map<String, Value>, now: &Map<String, Value>, key: &str) -> Result<Vec<String>> {
    if let Some(Value::String(was)) = old.get(key) {
        pictures.untrash(std::slice::from_ref(was)).await?;
    }
    Ok(now.get(key).and_then(Value::as_str).map(str::to_string).into_iter().collect())
}

async fn org_membership(tx: &mut Tx, org: &str, member: &str) -> Result<Option<Membership>> {
    Ok(find(tx, &[Cond::eq("model_id", org), Cond::eq("member_id", member)], Order::None, Some(1)).await?.pop())
}

/// The inverse of an action outside any board, checked against the objects as they are;
/// `None` for actions that belong to a board.
pub(crate) async fn plan(tx: &mut Tx, actor: &Actor, action: &Action) -> Result<Option<Outside>> {
    let d = &action.data;
    let kind = action.kind.as_str();
    let org = text(d, "/organization/id");
    let need_org = || org.clone().ok_or_else(|| unsupported(kind));
    let member = text(d, "/idMember");
    let need_member = || member.clone().ok_or_else(|| unsupported(kind));
    let inverse = match kind {
        "createOrganization" => {
            let org = need_org()?;
            get::<Organization>(tx, &org).await?.ok_or_else(|| gone("workspace"))?;
            Outside::DeleteOrg(org)
        }
        "updateOrganization" => {
            let org = need_org()?;
            let current: Organization = get_for_update(tx, &org).await?.ok_or_else(|| gone("workspace"))?;
            Outside::OrgFields(org, checked_old(action, &current)?)
        }
        "deleteOrganization" => {
            let deleted = d.get("deleted").cloned().ok_or_else(|| unsupported(kind))?;
            let org: Organization = part(&deleted, "organization", kind)?;
            still_gone::<Organization>(tx, &org.id, "workspace").await?;
            if tx.count(Table::Organizations, &[Cond::eq("name", &org.name)]).await? > 0 {
                return Err(DomainError::Conflict(format!("the workspace name {} is taken since", org.name)));
            }
            // Its admins, as it was, may bring it back.
            let memberships: Vec<Membership> = part(&deleted, "memberships", kind)?;
            let admin = memberships.iter().any(|m| Some(m.id_member.as_str()) == actor.member_id() && m.member_type == "admin");
            if !admin || !actor.may_write() || actor.is_narrowed() {
                return Err(DomainError::Unauthorized(UNAUTHORIZED));
            }
            Outside::RestoreOrg(Box::new(deleted))
        }
        "addMemberToOrganization" | "unconfirmedOrganizationInvitation" => {
            let (org, member) = (need_org()?, need_member()?);
            let now = org_membership(tx, &org, &member).await?.ok_or_else(|| gone("membership"))?;
            if Some(now.member_type.as_str()) != d.get("memberType").and_then(Value::as_str) {
                return Err(conflict(&["memberType".into()]));
            }
            Outside::RemoveOrgMember(org, member)
        }
        "makeAdminOfOrganization" | "makeNormalMemberOfOrganization" => {
            let (org, member) = (need_org()?, need_member()?);
            let was = text(d, "/old/memberType").ok_or_else(|| unsupported(&format!("{kind} (recorded without the role before)")))?;
            let now = org_membership(tx, &org, &member).await?.ok_or_else(|| gone("membership"))?;
            if Some(now.member_type.as_str()) != d.get("memberType").and_then(Value::as_str) {
                return Err(conflict(&["memberType".into()]));
            }
            Outside::SetOrgMember(org, member, was)
        }
        "removeMemberFromOrganization" => {
            let membership: Membership = part(d, "deleted", kind)?;
            if org_membership(tx, &membership.id_model, &membership.id_member).await?.is_some() {
                return Err(DomainError::Conflict("the member is in the workspace again".into()));
            }
            Outside::RestoreOrgMember(Box::new(membership))
        }
        "deactivatedMemberInOrganization" | "reactivatedMemberInOrganization" => {
            let (org, member) = (need_org()?, need_member()?);
            let was = d.pointer("/old/deactivated").and_then(Value::as_bool).ok_or_else(|| unsupported(kind))?;
            let now = org_membership(tx, &org, &member).await?.ok_or_else(|| gone("membership"))?;
            if now.deactivated == was {
                return Err(conflict(&["deactivated".into()]));
            }
            Outside::SetDeactivated(org, member, was)
        }
        "createTag" => {
            let tag = text(d, "/tag/id").ok_or_else(|| unsupported(kind))?;
            get::<OrgTag>(tx, &tag).await?.ok_or_else(|| gone("tag"))?;
            Outside::DeleteTag(need_org()?, tag)
        }
        "deleteTag" => {
            let tag: OrgTag = part(d, "deleted", kind)?;
            still_gone::<OrgTag>(tx, &tag.id, "tag").await?;
            Outside::RestoreTag(Box::new(tag))
        }
        "updateMember" => {
            let id = text(d, "/member/id").ok_or_else(|| unsupported(kind))?;
            let current: Member = get_for_update(tx, &id).await?.ok_or_else(|| gone("member"))?;
            Outside::MemberFields(id, checked_old(action, &current)?)
        }
        "createCustomSticker" => {
            let id = text(d, "/customSticker/id").ok_or_else(|| unsupported(kind))?;
            let sticker: CustomSticker = get(tx, &id).await?.ok_or_else(|| gone("custom sticker"))?;
            Outside::DeleteSticker(sticker.id_member, id)
        }
        "deleteCustomSticker" => {
            let sticker: CustomSticker = part(d, "deleted", kind)?;
            still_gone::<CustomSticker>(tx, &sticker.id, "custom sticker").await?;
            Outside::RestoreSticker(Box::new(sticker))
        }
        "createCustomEmoji" => {
            let id = text(d, "/customEmoji/id").ok_or_else(|| unsupported(kind))?;
            Outside::RemoveEmoji(Box::new(get(tx, &id).await?.ok_or_else(|| gone("custom emoji"))?))
        }
        "deleteCustomEmoji" => {
            let emoji: CustomEmoji = part(d, "deleted", kind)?;
            still_gone::<CustomEmoji>(tx, &emoji.id, "custom emoji").await?;
            Outside::RestoreEmoji(Box::new(emoji))
        }
        "createBoardBackground" => {
            let id = text(d, "/boardBackground/id").ok_or_else(|| unsupported(kind))?;
            let background: BoardBackground = get(tx, &id).await?.ok_or_else(|| gone("board background"))?;
            Outside::DeleteBackground(background.id_member, id)
        }
        "updateBoardBackground" => {
            let id = text(d, "/boardBackground/id").ok_or_else(|| unsupported(kind))?;
            let background: BoardBackground = get(tx, &id).await?.ok_or_else(|| gone("board background"))?;
            let written = d.get("boardBackground").cloned().unwrap_or(Value::Null);
            let old = d.get("old").and_then(Value::as_object).cloned().unwrap_or_default();
            let changed = changed_since(&serde_json::to_value(&background)?, &written, &old);
            if !changed.is_empty() {
                return Err(conflict(&changed));
            }
            let patch = BackgroundPatch {
                brightness: old.get("brightness").and_then(Value::as_str).map(str::to_string),
                tile: old.get("tile").and_then(Value::as_bool),
            };
            Outside::UpdateBackground(background.id_member, id, patch)
        }
        "deleteBoardBackground" => {
            let background: BoardBackground = part(d, "deleted", kind)?;
            still_gone::<BoardBackground>(tx, &background.id, "board background").await?;
            Outside::RestoreBackground(Box::new(background))
        }
        "updatePlugin" => {
            let id = text(d, "/plugin/id").ok_or_else(|| unsupported(kind))?;
            let plugin: Plugin = get_for_update(tx, &id).await?.ok_or_else(|| gone("plugin"))?;
            Outside::PluginFields(id, checked_old(action, &plugin)?)
        }
        "createPluginListing" => {
            let id = text(d, "/listing/id").ok_or_else(|| unsupported(kind))?;
            get::<PluginListing>(tx, &id).await?.ok_or_else(|| gone("listing"))?;
            Outside::RemoveListing(id)
        }
        "deletePluginListing" => {
            let listing: PluginListing = part(d, "deleted", kind)?;
            still_gone::<PluginListing>(tx, &listing.id, "listing").await?;
            Outside::RestoreListing(Box::new(listing))
        }
        "updatePluginListing" => {
            let id = text(d, "/listing/id").ok_or_else(|| unsupported(kind))?;
            let listing: PluginListing = get_for_update(tx, &id).await?.ok_or_else(|| gone("listing"))?;
            Outside::ListingFields(id, checked_old(action, &listing)?)
        }
        "makeAdminOfEnterprise" | "removeAdminFromEnterprise" => {
            let member = need_member()?;
            let admin = kind == "makeAdminOfEnterprise";
            if crate::enterprise::standing(tx, &member).await?.admin != admin {
                return Err(conflict(&["admin".into()]));
            }
            Outside::EnterpriseAdmin(member, !admin)
        }
        "deactivatedMemberInEnterprise"
        | "reactivatedMemberInEnterprise"
        | "licensedMemberInEnterprise"
        | "unlicensedMemberInEnterprise" => {
            let member = need_member()?;
            let was = |key: &str| d.pointer(&format!("/old/{key}")).and_then(Value::as_bool).ok_or_else(|| unsupported(kind));
            let (was_deactivated, was_licensed) = (was("deactivated")?, was("licensed")?);
            let now = crate::enterprise::standing(tx, &member).await?;
            let expected = match kind {
                "deactivatedMemberInEnterprise" => (true, was_licensed),
                "reactivatedMemberInEnterprise" => (false, was_licensed),
                "licensedMemberInEnterprise" => (was_deactivated, true),
                _ => (true, false),
            };
            if (now.deactivated, now.licensed) != expected {
                return Err(conflict(&["deactivated".into(), "licensed".into()]));
            }
            // The licence first: taking one away deactivated the member too.
            let mut steps = Vec::new();
            if was_licensed != now.licensed {
                steps.push((MemberFlag::Licensed, was_licensed));
            }
            if was_deactivated != now.deactivated {
                steps.push((MemberFlag::Deactivated, was_deactivated));
            }
            Outside::EnterpriseFlags(member, steps)
        }
        "createPlugin" => {
            let id = text(d, "/plugin/id").ok_or_else(|| unsupported(kind))?;
            let plugin: Plugin = get_for_update(tx, &id).await?.ok_or_else(|| gone("plugin"))?;
            if tx.count(Table::BoardPlugins, &[Cond::eq("plugin_id", &id)]).await? > 0
                || tx.count(Table::PluginListings, &[Cond::eq("plugin_id", &id)]).await? > 0
            {
                return Err(DomainError::Conflict("changed since the action: boards enabled it or it was listed".into()));
            }
            Outside::RemovePlugin(Box::new(plugin))
        }
        "deletePlugin" => {
            let plugin: Plugin = part(d, "deleted", kind)?;
            still_gone::<Plugin>(tx, &plugin.id, "plugin").await?;
            Outside::RestorePlugin(Box::new(plugin))
        }
        "createExport" => {
            return Err(DomainError::BadRequest("actions of type createExport copy a workspace and change nothing to revert".into()))
        }
        _ => return Ok(None),
    };
    Ok(Some(inverse))
}

/// Writes an in-place inverse in the checking transaction; returns the pictures to
/// move to the trash once it commits.
pub(crate) async fn apply_in_place(tx: &mut Tx, actor: &Actor, pictures: &FileStore, inverse: Outside) -> Result<Vec<String>> {
    match inverse {
        Outside::OrgFields(id, old) => {
            let (org, _) = org_with_role(tx, actor, &id, Role::Admin).await?;
            let (mut org, now) = put_back(&org, &old)?;
            if old.contains_key("name") && tx.count(Table::Organizations, &[Cond::eq("name", &org.name)]).await? > 0 {
                return Err(DomainError::Conflict(format!("the workspace name {} is taken since", org.name)));
            }
            let discard = swap_pictures(pictures, &old, &now, "logoHash").await?;
            org.date_last_activity = crate::now();
            save(tx, &org).await?;
            let context = [("organization", org_ref(&org)), ("new", crate::actions::written(&org, &now)), ("old", Value::Object(now))];
            record(tx, actor, "updateOrganization", data(&context), Refs { org: Some(org.id.clone()), ..Refs::default() }).await?;
            return Ok(discard);
        }
        Outside::RestoreOrg(deleted) => {
            let org: Organization = part(&deleted, "organization", "deleteOrganization")?;
            let memberships: Vec<Membership> = part(&deleted, "memberships", "deleteOrganization")?;
            let boards: Vec<String> = part(&deleted, "boards", "deleteOrganization")?;
            let org_visible: Vec<String> =
                deleted.get("orgVisibleBoards").cloned().map(serde_json::from_value).transpose()?.unwrap_or_default();
            insert(tx, &org).await?;
            for membership in &memberships {
                insert(tx, membership).await?;
            }
            // Its boards come back to it unless they went to another workspace since.
            for id in &boards {
                let Some(mut board) = get_for_update::<Board>(tx, id).await? else { continue };
                if board.id_organization.is_none() {
                    board.id_organization = Some(org.id.clone());
                    if org_visible.contains(id) && board.permission_level() == "private" {
                        board.prefs.insert("permissionLevel".into(), json!("org"));
                    }
                    save(tx, &board).await?;
                }
            }
            record(
                tx,
                actor,
                "createOrganization",
                data(&[("organization", org_ref(&org))]),
                Refs { org: Some(org.id.clone()), ..Refs::default() },
            )
            .await?;
        }
        Outside::RestoreOrgMember(membership) => {
            let (org, _) = org_with_role(tx, actor, &membership.id_model, Role::Admin).await?;
            insert(tx, &*membership).await?;
            let refs = Refs { org: Some(org.id.clone()), subject: Some(membership.id_member.clone()), ..Refs::default() };
            let context =
                [("organization", org_ref(&org)), ("idMember", json!(membership.id_member)), ("memberType", json!(membership.member_type))];
            record(tx, actor, "addMemberToOrganization", data(&context), refs).await?;
        }
        Outside::RestoreTag(tag) => {
            let (org, _) = org_with_role(tx, actor, &tag.id_organization, Role::Write).await?;
            if tx.count(Table::OrgTags, &[Cond::eq("org_id", &org.id), Cond::eq("name", &tag.name)]).await? > 0 {
                return Err(DomainError::Conflict(format!("a tag named {} exists again", tag.name)));
            }
            insert(tx, &*tag).await?;
            let context = [("organization", org_ref(&org)), ("tag", json!({"id": tag.id, "name": tag.name}))];
            record(tx, actor, "createTag", data(&context), Refs { org: Some(org.id.clone()), ..Refs::default() }).await?;
        }
        Outside::MemberFields(id, old) => {
            let member = crate::uploads::own_member(tx, actor, &id, true).await?;
            let (member, now) = put_back(&member, &old)?;
            if old.contains_key("username") && tx.count(Table::Members, &[Cond::eq("username", &member.username)]).await? > 0 {
                return Err(DomainError::Conflict(format!("the username {} is taken since", member.username)));
            }
            let discard = swap_pictures(pictures, &old, &now, "avatarHash").await?;
            save(tx, &member).await?;
            let context = [
                ("member", json!({"id": member.id, "name": member.full_name})),
                ("new", crate::actions::written(&member, &now)),
                ("old", Value::Object(now)),
            ];
            record(tx, actor, "updateMember", data(&context), Refs { subject: Some(member.id.clone()), ..Refs::default() }).await?;
            return Ok(discard);
        }
        Outside::RemoveEmoji(emoji) => {
            crate::uploads::own_member(tx, actor, &emoji.id_member, true).await?;
            remove(tx, &*emoji).await?;
            let context = [("customEmoji", json!({"id": emoji.id, "name": emoji.name})), ("deleted", json!(emoji))];
            record(tx, actor, "deleteCustomEmoji", data(&context), Refs::default()).await?;
            return Ok(vec![emoji.file.key.clone()]);
        }
        Outside::RestoreSticker(sticker) => {
            crate::uploads::own_member(tx, actor, &sticker.id_member, true).await?;
            insert(tx, &*sticker).await?;
            pictures.untrash(std::slice::from_ref(&sticker.file.key)).await?;
            let context = [("customSticker", json!({"id": sticker.id, "name": sticker.file.file_name}))];
            record(tx, actor, "createCustomSticker", data(&context), Refs::default()).await?;
        }
        Outside::RestoreBackground(background) => {
            crate::uploads::own_member(tx, actor, &background.id_member, true).await?;
            insert(tx, &*background).await?;
            pictures.untrash(std::slice::from_ref(&background.file.key)).await?;
            record(tx, actor, "createBoardBackground", data(&[("boardBackground", json!({"id": background.id}))]), Refs::default()).await?;
        }
        Outside::PluginFields(id, old) => {
            crate::enterprise::require_admin(tx, actor).await?;
            let plugin: Plugin = get_for_update(tx, &id).await?.ok_or_else(|| gone("plugin"))?;
            let (plugin, now) = put_back(&plugin, &old)?;
            save(tx, &plugin).await?;
            let context = [
                ("plugin", json!({"id": plugin.id, "name": plugin.name})),
                ("new", crate::actions::written(&plugin, &now)),
                ("old", Value::Object(now)),
            ];
            record(tx, actor, "updatePlugin", data(&context), Refs::default()).await?;
        }
        Outside::ListingFields(id, old) => {
            crate::enterprise::require_admin(tx, actor).await?;
            let listing: PluginListing = get_for_update(tx, &id).await?.ok_or_else(|| gone("listing"))?;
            let (listing, now) = put_back(&listing, &old)?;
            let same_locale = [Cond::eq("plugin_id", &listing.id_plugin), Cond::eq("locale", &listing.locale)];
            if old.contains_key("locale") && tx.count(Table::PluginListings, &same_locale).await? > 0 {
                return Err(DomainError::Conflict(format!("the plugin has a listing for {} again", listing.locale)));
            }
            save(tx, &listing).await?;
            let context = [
                ("plugin", json!({"id": listing.id_plugin})),
                ("listing", json!({"id": listing.id, "locale": listing.locale})),
                ("new", crate::actions::written(&listing, &now)),
                ("old", Value::Object(now)),
            ];
            record(tx, actor, "updatePluginListing", data(&context), Refs::default()).await?;
        }
        Outside::RemoveListing(id) => {
            crate::enterprise::require_admin(tx, actor).await?;
            let listing: PluginListing = get_for_update(tx, &id).await?.ok_or_else(|| gone("listing"))?;
            remove(tx, &listing).await?;
            let context = [
                ("plugin", json!({"id": listing.id_plugin})),
                ("listing", json!({"id": listing.id, "locale": listing.locale})),
                ("deleted", json!(listing)),
            ];
            record(tx, actor, "deletePluginListing", data(&context), Refs::default()).await?;
        }
        Outside::RestoreEmoji(emoji) => {
            let member = crate::uploads::own_member(tx, actor, &emoji.id_member, true).await?;
            if tx.count(Table::CustomEmoji, &[Cond::eq("member_id", &member.id), Cond::eq("name", &emoji.name)]).await? > 0 {
                return Err(DomainError::Conflict(format!("an emoji named {} exists again", emoji.name)));
            }
            insert(tx, &*emoji).await?;
            pictures.untrash(std::slice::from_ref(&emoji.file.key)).await?;
            record(tx, actor, "createCustomEmoji", data(&[("customEmoji", json!({"id": emoji.id, "name": emoji.name}))]), Refs::default())
                .await?;
        }
        Outside::RestoreListing(listing) => {
            crate::enterprise::require_admin(tx, actor).await?;
            get::<Plugin>(tx, &listing.id_plugin).await?.ok_or_else(|| gone("plugin"))?;
            let same_locale = [Cond::eq("plugin_id", &listing.id_plugin), Cond::eq("locale", &listing.locale)];
            if tx.count(Table::PluginListings, &same_locale).await? > 0 {
                return Err(DomainError::Conflict(format!("the plugin has a listing for {} again", listing.locale)));
            }
            insert(tx, &*listing).await?;
            let context = [("plugin", json!({"id": listing.id_plugin})), ("listing", json!({"id": listing.id, "locale": listing.locale}))];
            record(tx, actor, "createPluginListing", data(&context), Refs::default()).await?;
        }
        Outside::RemovePlugin(plugin) => {
            crate::enterprise::require_admin(tx, actor).await?;
            remove(tx, &*plugin).await?;
            let context = [("plugin", json!({"id": plugin.id, "name": plugin.name})), ("deleted", json!(plugin))];
            record(tx, actor, "deletePlugin", data(&context), Refs::default()).await?;
        }
        Outside::RestorePlugin(plugin) => {
            crate::enterprise::require_admin(tx, actor).await?;
            insert(tx, &*plugin).await?;
            record(tx, actor, "createPlugin", data(&[("plugin", json!({"id": plugin.id, "name": plugin.name}))]), Refs::default()).await?;
        }
        other => return Err(DomainError::Internal(format!("{other:?} is not written in place"))),
    }
    Ok(Vec::new())
}

impl Cork {
    /// Applies an inverse that is an ordinary command, once the check committed.
    pub(crate) async fn apply_outside(&self, actor: &Actor, inverse: Outside) -> Result<()> {
        match inverse {
            Outside::DeleteOrg(org) => self.delete_org(actor, &org).await,
            Outside::RemoveOrgMember(org, member) => self.remove_org_member(actor, &org, &member).await.map(drop),
            Outside::SetOrgMember(org, member, kind) => self.set_org_member(actor, &org, &member, &kind).await.map(drop),
            Outside::SetDeactivated(org, member, value) => self.set_org_member_deactivated(actor, &org, &member, value).await.map(drop),
            Outside::DeleteTag(org, tag) => self.delete_org_tag(actor, &org, &tag).await,
            Outside::DeleteSticker(member, id) => self.delete_custom_sticker(actor, &member, &id).await,
            Outside::DeleteBackground(member, id) => self.delete_board_background(actor, &member, &id).await,
            Outside::UpdateBackground(member, id, patch) => self.update_board_background(actor, &member, &id, patch).await.map(drop),
            Outside::EnterpriseAdmin(member, admin) => {
                let enterprise = self.enterprise().await?;
                self.set_enterprise_admin(actor, &enterprise.id, &member, admin).await.map(drop)
            }
            Outside::EnterpriseFlags(member, steps) => {
                let enterprise = self.enterprise().await?;
                for (flag, value) in steps {
                    self.set_enterprise_member_flag(actor, &enterprise.id, &member, flag, value).await?;
                }
                Ok(())
            }
            other => Err(DomainError::Internal(format!("{other:?} outside its revert"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_back_restores_fields_and_preferences_and_reports_what_they_were() {
        let org = json!({"name": "acme2", "displayName": "Acme", "prefs": {"permissionLevel": "public", "added": true}});
        let old = json!({"name": "acme", "prefs": {"permissionLevel": "private", "added": null}});
        let (back, now): (Value, _) = put_back(&org, old.as_object().unwrap()).unwrap();
        assert_eq!(back, json!({"name": "acme", "displayName": "Acme", "prefs": {"permissionLevel": "private"}}));
        assert_eq!(Value::Object(now), json!({"name": "acme2", "prefs": {"permissionLevel": "public", "added": true}}));
    }

    #[test]
    fn a_field_changed_since_is_named_preference_by_preference() {
        let old = json!({"name": "acme", "prefs": {"permissionLevel": "private", "other": null}});
        let new = json!({"name": "acme2", "prefs": {"permissionLevel": "public", "other": null}});
        let current = json!({"name": "acme2", "prefs": {"permissionLevel": "private"}});
        assert_eq!(changed_since(&current, &new, old.as_object().unwrap()), vec!["prefs/permissionLevel".to_string()]);
        let untouched = json!({"name": "acme2", "prefs": {"permissionLevel": "public"}});
        assert!(changed_since(&untouched, &new, old.as_object().unwrap()).is_empty());
    }
}
