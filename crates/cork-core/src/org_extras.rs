//! Workspace administration beyond create/read/update/delete: tags (board collections),
//! exports, the logo, the preferences Trello exposes as their own routes, member
//! deactivation, invitations by email, removal from every workspace board, single
//! memberships and the guests a board would add.

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::access::{Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, data, org_ref, record, ActionQuery, Refs};
use crate::boards::{board_with_role, touch_board, view_in, BoardInclude, BoardView};
use crate::files::{image_info, Upload};
use crate::ids::{is_id, new_id};
use crate::members::resolve_member;
use crate::model::{Attachment, Board, Member, Membership, Organization};
use crate::organizations::{ensure_other_admin, org_with_role, OrgView};
use crate::store_ext::{by_ids, find, get, insert, remove, save, Stored};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// A workspace tag (Trello's board collection).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrgTag {
    pub id: String,
    pub id_organization: String,
    pub name: String,
}

impl Stored for OrgTag {
    const TABLE: Table = Table::OrgTags;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("org_id", Arg::text(&self.id_organization)), ("name", Arg::text(&self.name))]
    }
}

/// An export of a workspace (Trello's Export). Cork builds it synchronously, so a
/// recorded export is always finished; its JSON file sits in the data directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrgExport {
    pub id: String,
    pub id_organization: String,
    pub id_member_creator: String,
    pub started_at: String,
    pub finished_at: String,
    /// The file's size in bytes.
    pub size: i64,
    /// The file's key in the file store.
    pub key: String,
    pub attachments: bool,
}

impl Stored for OrgExport {
    const TABLE: Table = Table::OrgExports;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("org_id", Arg::text(&self.id_organization))]
    }
}

/// What an export is made of; the wire layer renders it as Trello's board exports.
#[derive(Debug, Clone)]
pub struct ExportSource {
    pub org: Organization,
    /// Every board of the workspace, open and closed, with every nested collection.
    pub boards: Vec<BoardView>,
    /// The attachments of those boards' cards (empty unless asked for).
    pub attachments: Vec<Attachment>,
}

/// The most actions an exported board carries (as Trello's board export).
const EXPORT_ACTIONS: i64 = 1000;

/// Trello's values for `prefs/boardVisibilityRestrict/{level}`.
const VISIBILITY_RESTRICTIONS: &[&str] = &["admin", "none", "org"];
const VISIBILITY_LEVELS: &[&str] = &["private", "org", "enterprise", "public"];

/// The preferences `PUT /organizations/{id}` takes beyond the basic ones: returns false
/// for a key it does not know. `boardVisibilityRestrict/{level}` (or `_{level}`) sets one
/// level of the restriction object; `orgInviteRestrict` adds an address pattern to the
/// list; `googleAppsVersion` is 1 or 2.
pub(crate) fn apply_extra_pref(prefs: &mut Map<String, Value>, key: &str, raw: &str) -> Result<bool> {
    let invalid = || DomainError::InvalidValue(format!("prefs/{key}"));
    if let Some(level) = key.strip_prefix("boardVisibilityRestrict/").or_else(|| key.strip_prefix("boardVisibilityRestrict_")) {
        if !VISIBILITY_LEVELS.contains(&level) || !VISIBILITY_RESTRICTIONS.contains(&raw) {
            return Err(invalid());
        }
        let entry = prefs.entry("boardVisibilityRestrict").or_insert_with(|| json!({}));
        if !entry.is_object() {
            *entry = json!({});
        }
        if let Some(map) = entry.as_object_mut() {
            for default_level in VISIBILITY_LEVELS {
                map.entry(*default_level).or_insert_with(|| json!("org"));
            }
            map.insert(level.to_string(), json!(raw));
        }
        return Ok(true);
    }
    match key {
        "googleAppsVersion" => {
            let version: i64 = raw.parse().ok().filter(|v| *v == 1 || *v == 2).ok_or_else(invalid)?;
            prefs.insert(key.into(), json!(version));
        }
        "orgInviteRestrict" => {
            let pattern = raw.trim();
            if pattern.is_empty() || pattern.len() > 256 || pattern.contains(char::is_whitespace) {
                return Err(invalid());
            }
            let entry = prefs.entry("orgInviteRestrict").or_insert_with(|| json!([]));
            if !entry.is_array() {
                *entry = json!([]);
            }
            if let Some(list) = entry.as_array_mut() {
                if !list.iter().any(|v| v.as_str() == Some(pattern)) {
                    list.push(json!(pattern));
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// A plausible email address: one `@`, something on both sides, no spaces.
fn valid_email(email: &str) -> bool {
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.len() <= 254
        && !email.contains(char::is_whitespace)
}

/// `*` in a pattern matches any run of characters; everything else matches itself,
/// ignoring case.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.to_ascii_lowercase(), text.to_ascii_lowercase());
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// True when `orgInviteRestrict` (address patterns; a pattern without `@` names the
/// domain) lets `email` be invited. No pattern means no restriction.
fn invite_allowed(prefs: &Map<String, Value>, email: &str) -> bool {
    let patterns: Vec<&str> = prefs
        .get("orgInviteRestrict")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let domain = email.rsplit('@').next().unwrap_or_default();
    patterns.is_empty() || patterns.iter().any(|p| if p.contains('@') { glob_match(p, email) } else { glob_match(p, domain) })
}

/// A free username derived from an email address (for members invited by email).
async fn free_username(tx: &mut Tx, email: &str) -> Result<String> {
    let local = email.split('@').next().unwrap_or_default();
    let mut base: String = local
        .chars()
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                Some(c.to_ascii_lowercase())
            } else if c == '_' || c == '.' || c == '-' {
                Some('_')
            } else {
                None
            }
        })
        .collect();
    while base.len() < 3 {
        base.push('0');
    }
    base.truncate(90);
    let mut candidate = base.clone();
    let mut n = 1;
    while tx.count(Table::Members, &[Cond::eq("username", &candidate)]).await? > 0 {
        candidate = format!("{base}{n}");
        n += 1;
    }
    Ok(candidate)
}

async fn org_membership_of(tx: &mut Tx, org_id: &str, member_id: &str) -> Result<Option<Membership>> {
    Ok(find(tx, &[Cond::eq("model_id", org_id), Cond::eq("member_id", member_id)], Order::None, Some(1)).await?.pop())
}

async fn load_export(tx: &mut Tx, id: &str) -> Result<OrgExport> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    get(tx, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))
}

impl Cork {
    /// `GET /organizations/{id}/tags`.
    pub async fn org_tags(&self, actor: &Actor, org: &str) -> Result<Vec<OrgTag>> {
        let mut tx = self.store.read().await?;
        let (org, _) = org_with_role(&mut tx, actor, org, Role::Read).await?;
        find(&mut tx, &[Cond::eq("org_id", &org.id)], Order::Asc("id"), None).await
    }

    /// `POST /organizations/{id}/tags`: workspace members; a name is used once.
    pub async fn create_org_tag(&self, actor: &Actor, org: &str, name: Option<String>) -> Result<OrgTag> {
        let name = name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty() && n.chars().count() <= 100)
            .ok_or_else(|| DomainError::InvalidValue("name".into()))?;
        let mut tx = self.store.write().await?;
        let (org, _) = org_with_role(&mut tx, actor, org, Role::Write).await?;
        if tx.count(Table::OrgTags, &[Cond::eq("org_id", &org.id), Cond::eq("name", &name)]).await? > 0 {
            return Err(DomainError::BadRequest("A tag with that name already exists".into()));
        }
        let tag = OrgTag { id: new_id(), id_organization: org.id.clone(), name };
        insert(&mut tx, &tag).await?;
        let refs = Refs { org: Some(org.id.clone()), ..Refs::default() };
        record(
            &mut tx,
            actor,
            "createTag",
            data(&[("organization", org_ref(&org)), ("tag", json!({"id": tag.id, "name": tag.name}))]),
            refs,
        )
        .await?;
        tx.commit().await?;
        Ok(tag)
    }

    /// `DELETE /organizations/{id}/tags/{idTag}`: workspace members.
    pub async fn delete_org_tag(&self, actor: &Actor, org: &str, tag_id: &str) -> Result<()> {
        if !is_id(tag_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.write().await?;
        let (org, _) = org_with_role(&mut tx, actor, org, Role::Write).await?;
        let tag: OrgTag = get(&mut tx, &tag_id.to_ascii_lowercase())
            .await?
            .filter(|t: &OrgTag| t.id_organization == org.id)
            .ok_or(DomainError::NotFound(NOT_FOUND))?;
        remove(&mut tx, &tag).await?;
        let refs = Refs { org: Some(org.id.clone()), ..Refs::default() };
        let context =
            [("organization", org_ref(&org)), ("tag", json!({"id": tag.id, "name": tag.name})), ("deleted", serde_json::to_value(&tag)?)];
        record(&mut tx, actor, "deleteTag", data(&context), refs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What `POST /organizations/{id}/exports` writes: the workspace's boards with their
    /// lists, cards, labels, checklists, members, memberships and newest actions, read
    /// in one snapshot. Workspace admins only.
    pub async fn org_export_source(&self, actor: &Actor, org: &str, with_attachments: bool) -> Result<ExportSource> {
        self.files.check_enabled()?;
        let mut tx = self.store.read().await?;
        let (org, _) = org_with_role(&mut tx, actor, org, Role::Admin).await?;
        let boards: Vec<Board> = find(&mut tx, &[Cond::eq("org_id", &org.id)], Order::Asc("id"), None).await?;
        let include = BoardInclude {
            lists: Some("all".into()),
            cards: Some("all".into()),
            labels: true,
            members: Some("all".into()),
            memberships: true,
            checklists: true,
            actions: Some(ActionQuery { limit: EXPORT_ACTIONS, ..ActionQuery::default() }),
            organization: false,
            custom_fields: true,
            custom_field_items: true,
        };
        let mut views = Vec::with_capacity(boards.len());
        for board in boards {
            views.push(view_in(&mut tx, board, Role::Admin, &include).await?);
        }
        let attachments = if with_attachments {
            let card_ids: Vec<&str> = views.iter().flat_map(|v| v.cards.iter().map(|c| c.id.as_str())).collect();
            if card_ids.is_empty() {
                Vec::new()
            } else {
                find(&mut tx, &[Cond::any_of("card_id", &card_ids)], Order::Asc("pos"), None).await?
            }
        } else {
            Vec::new()
        };
        Ok(ExportSource { org, boards: views, attachments })
    }

    /// Stores a rendered export and records it (`createExport`), in one transaction; the
    /// file is removed again if anything fails before the commit.
    pub async fn create_org_export(
        &self,
        actor: &Actor,
        org: &str,
        started_at: String,
        attachments: bool,
        bytes: Vec<u8>,
    ) -> Result<OrgExport> {
        let mut tx = self.store.write().await?;
        let (org, _) = org_with_role(&mut tx, actor, org, Role::Admin).await?;
        let size = bytes.len() as i64;
        let mut pending = self.files.pending();
        let key = pending.write(bytes).await?;
        let member = actor.require_member()?;
        let export = OrgExport {
            id: new_id(),
            id_organization: org.id.clone(),
            id_member_creator: member.id.clone(),
            started_at,
            finished_at: now(),
            size,
            key,
            attachments,
        };
        insert(&mut tx, &export).await?;
        let refs = Refs { org: Some(org.id.clone()), ..Refs::default() };
        record(
            &mut tx,
            actor,
            "createExport",
            data(&[("organization", org_ref(&org)), ("export", json!({"id": export.id, "size": size}))]),
            refs,
        )
        .await?;
        tx.commit().await?;
        pending.keep();
        Ok(export)
    }

    /// `GET /organizations/{id}/exports`: workspace admins only, oldest first.
    pub async fn org_exports(&self, actor: &Actor, org: &str) -> Result<Vec<OrgExport>> {
        let mut tx = self.store.read().await?;
        let (org, _) = org_with_role(&mut tx, actor, org, Role::Admin).await?;
        find(&mut tx, &[Cond::eq("org_id", &org.id)], Order::Asc("id"), None).await
    }

    /// The file of an export (`/cork/exports/{id}`), for admins of its workspace.
    pub async fn org_export_file(&self, actor: &Actor, export_id: &str) -> Result<(OrgExport, Vec<u8>)> {
        let export = {
            let mut tx = self.store.read().await?;
            let export = load_export(&mut tx, export_id).await?;
            org_with_role(&mut tx, actor, &export.id_organization, Role::Admin).await?;
            export
        };
        let bytes = self.files.read(&export.key).await?;
        Ok((export, bytes))
    }

    /// `POST /organizations/{id}/logo` (an image) and `DELETE /organizations/{id}/logo`
    /// (`None`): workspace admins; recorded as `updateOrganization` with the old hash.
    pub async fn set_org_logo(&self, actor: &Actor, org: &str, upload: Option<Upload>) -> Result<Organization> {
        if let Some(upload) = &upload {
            self.pictures.check_enabled()?;
            if image_info(&upload.bytes).is_none() {
                return Err(DomainError::InvalidValue("file".into()));
            }
        }
        let mut tx = self.store.write().await?;
        let (mut org, _) = org_with_role(&mut tx, actor, org, Role::Admin).await?;
        let mut pending = self.pictures.pending();
        let new_hash = match upload {
            Some(upload) => Some(pending.write(upload.bytes).await?),
            None => None,
        };
        let old_hash = org.logo_hash.clone();
        org.logo_hash = new_hash;
        org.date_last_activity = now();
        save(&mut tx, &org).await?;
        let refs = Refs { org: Some(org.id.clone()), ..Refs::default() };
        record(
            &mut tx,
            actor,
            "updateOrganization",
            data(&[("organization", org_ref(&org)), ("new", json!({"logoHash": org.logo_hash})), ("old", json!({"logoHash": old_hash}))]),
            refs,
        )
        .await?;
        tx.commit().await?;
        pending.keep();
        if let Some(old) = old_hash {
            self.pictures.discard(&[old]).await;
        }
        Ok(org)
    }

    /// `DELETE /organizations/{id}/prefs/associatedDomain|orgInviteRestrict`: admins.
    /// `orgInviteRestrict` drops one pattern when `value` names it, else all of them.
    pub async fn remove_org_pref(&self, actor: &Actor, org: &str, pref: &str, value: Option<String>) -> Result<Organization> {
        let mut tx = self.store.write().await?;
        let (mut org, _) = org_with_role(&mut tx, actor, org, Role::Admin).await?;
        let old = org.prefs.get(pref).cloned().unwrap_or(Value::Null);
        match (pref, value) {
            ("orgInviteRestrict", Some(pattern)) => {
                let kept: Vec<Value> =
                    old.as_array().cloned().unwrap_or_default().into_iter().filter(|v| v.as_str() != Some(pattern.as_str())).collect();
                org.prefs.insert(pref.into(), Value::Array(kept));
            }
            ("orgInviteRestrict", None) => {
                org.prefs.insert(pref.into(), json!([]));
            }
            ("associatedDomain", _) => {
                org.prefs.remove(pref);
            }
            _ => return Err(DomainError::NotFound(NOT_FOUND)),
        }
        org.date_last_activity = now();
        save(&mut tx, &org).await?;
        let refs = Refs { org: Some(org.id.clone()), ..Refs::default() };
        let old_prefs = json!({"prefs": {pref: old}});
        let old_prefs = Map::from_iter([("prefs".to_string(), old_prefs)]);
        let context =
            [("organization", org_ref(&org)), ("new", crate::actions::written(&org, &old_prefs)), ("old", Value::Object(old_prefs))];
        record(&mut tx, actor, "updateOrganization", data(&context), refs).await?;
        tx.commit().await?;
        Ok(org)
    }

    /// `PUT /organizations/{id}/members/{idMember}/deactivated`: admins. A deactivated
    /// member keeps their memberships but loses what they gave: the workspace and its
    /// boards (their board memberships there are deactivated with it). The last active
    /// admin stays active.
    pub async fn set_org_member_deactivated(&self, actor: &Actor, org: &str, member_ref: &str, value: bool) -> Result<OrgView> {
        let reference = {
            let mut tx = self.store.write().await?;
            let (org, _) = org_with_role(&mut tx, actor, org, Role::Admin).await?;
            let member = resolve_member(&mut tx, actor, member_ref).await?;
            let mut membership = org_membership_of(&mut tx, &org.id, &member.id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
            if membership.deactivated != value {
                if value && membership.member_type == "admin" {
                    let admins: Vec<Membership> =
                        find(&mut tx, &[Cond::eq("model_id", &org.id), Cond::eq("member_type", "admin")], Order::None, None).await?;
                    if !admins.iter().any(|a| a.id_member != member.id && !a.deactivated) {
                        return Err(DomainError::Forbidden("cannot remove the last admin".into()));
                    }
                }
                membership.deactivated = value;
                save(&mut tx, &membership).await?;
                let board_ids = tx.column(Table::Boards, "id", &[Cond::eq("org_id", &org.id)]).await?;
                let on_boards: Vec<Membership> = if board_ids.is_empty() {
                    Vec::new()
                } else {
                    find(&mut tx, &[Cond::eq("member_id", &member.id), Cond::any_of("model_id", &board_ids)], Order::Asc("id"), None)
                        .await?
                };
                let mut changed = Vec::new();
                for mut board_membership in on_boards.into_iter().filter(|m| m.deactivated != value) {
                    board_membership.deactivated = value;
                    save(&mut tx, &board_membership).await?;
                    changed.push(board_membership.id);
                }
                let kind = if value { "deactivatedMemberInOrganization" } else { "reactivatedMemberInOrganization" };
                let context = [
                    ("organization", org_ref(&org)),
                    ("idMember", json!(member.id)),
                    ("member", json!({"id": member.id, "name": member.full_name})),
                    ("old", json!({"deactivated": !value})),
                    ("idBoardMemberships", json!(changed)),
                ];
                let refs = Refs { org: Some(org.id.clone()), subject: Some(member.id.clone()), ..Refs::default() };
                record(&mut tx, actor, kind, data(&context), refs).await?;
                tx.commit().await?;
            }
            org.id
        };
        self.org_view(actor, &reference).await
    }

    /// `PUT /organizations/{id}/members` with an email: admins add the member who has
    /// that address, or invite a new one. A new address makes an unconfirmed member (a
    /// ghost, as on Trello) with an unconfirmed membership; a Cork administrator gives
    /// them a token to let them in.
    pub async fn invite_org_member(&self, actor: &Actor, org: &str, email: &str, full_name: &str, member_type: &str) -> Result<OrgView> {
        let email = email.trim().to_ascii_lowercase();
        if !valid_email(&email) {
            return Err(DomainError::InvalidValue("email".into()));
        }
        if full_name.is_empty() || full_name.trim() != full_name || full_name.len() > 512 {
            return Err(DomainError::InvalidValue("fullName".into()));
        }
        if !matches!(member_type, "admin" | "normal") {
            return Err(DomainError::InvalidValue("type".into()));
        }
        let reference = {
            let mut tx = self.store.write().await?;
            let (org, _) = org_with_role(&mut tx, actor, org, Role::Admin).await?;
            if !invite_allowed(&org.prefs, &email) {
                return Err(DomainError::Forbidden("the workspace only invites addresses its orgInviteRestrict allows".into()));
            }
            let existing: Option<Member> = find(&mut tx, &[Cond::eq("email", &email)], Order::Asc("id"), Some(1)).await?.pop();
            let (member, kind, unconfirmed) = match existing {
                Some(member) => (member, "addMemberToOrganization", false),
                None => {
                    let member = Member {
                        id: new_id(),
                        username: free_username(&mut tx, &email).await?,
                        full_name: full_name.to_string(),
                        initials: crate::accounts::initials(full_name),
                        email: Some(email.clone()),
                        bio: String::new(),
                        member_type: "ghost".into(),
                        confirmed: false,
                        avatar_hash: None,
                        date_last_active: None,
                        prefs: Default::default(),
                    };
                    insert(&mut tx, &member).await?;
                    (member, "unconfirmedOrganizationInvitation", true)
                }
            };
            match org_membership_of(&mut tx, &org.id, &member.id).await? {
                Some(membership) if membership.member_type == member_type => {}
                Some(mut membership) => {
                    if membership.member_type == "admin" {
                        ensure_other_admin(&mut tx, &org.id, &member.id).await?;
                    }
                    let old_type = std::mem::replace(&mut membership.member_type, member_type.to_string());
                    save(&mut tx, &membership).await?;
                    let kind = if member_type == "admin" { "makeAdminOfOrganization" } else { "makeNormalMemberOfOrganization" };
                    let context = [
                        ("organization", org_ref(&org)),
                        ("idMember", json!(member.id)),
                        ("memberType", json!(member_type)),
                        ("old", json!({"memberType": old_type})),
                    ];
                    let refs = Refs { org: Some(org.id.clone()), subject: Some(member.id.clone()), ..Refs::default() };
                    record(&mut tx, actor, kind, data(&context), refs).await?;
                }
                None => {
                    let membership = Membership {
                        id: new_id(),
                        id_model: org.id.clone(),
                        id_member: member.id.clone(),
                        member_type: member_type.to_string(),
                        unconfirmed,
                        deactivated: false,
                    };
                    insert(&mut tx, &membership).await?;
                    let context = [
                        ("organization", org_ref(&org)),
                        ("idMember", json!(member.id)),
                        ("memberType", json!(member_type)),
                        ("email", json!(email)),
                    ];
                    let refs = Refs { org: Some(org.id.clone()), subject: Some(member.id.clone()), ..Refs::default() };
                    record(&mut tx, actor, kind, data(&context), refs).await?;
                }
            }
            tx.commit().await?;
            org.id
        };
        self.org_view(actor, &reference).await
    }

    /// `DELETE /organizations/{id}/members/{idMember}/all`: removes a member from the
    /// workspace and from each of its boards, in one transaction; admins (or the member
    /// themself). No board may be left without an admin.
    pub async fn remove_org_member_everywhere(&self, actor: &Actor, org: &str, member_ref: &str) -> Result<OrgView> {
        let reference = {
            let mut tx = self.store.write().await?;
            let member = resolve_member(&mut tx, actor, member_ref).await?;
            let needed = if actor.member_id() == Some(member.id.as_str()) { Role::Read } else { Role::Admin };
            let (org, _) = org_with_role(&mut tx, actor, org, needed).await?;
            if !actor.may_write() {
                return Err(DomainError::Unauthorized(UNAUTHORIZED));
            }
            let org_membership = org_membership_of(&mut tx, &org.id, &member.id).await?;
            let mut boards: Vec<Board> = find(&mut tx, &[Cond::eq("org_id", &org.id)], Order::Asc("id"), None).await?;
            let board_ids: Vec<&str> = boards.iter().map(|b| b.id.as_str()).collect();
            let on_boards: Vec<Membership> = if board_ids.is_empty() {
                Vec::new()
            } else {
                find(&mut tx, &[Cond::eq("member_id", &member.id), Cond::any_of("model_id", &board_ids)], Order::Asc("id"), None).await?
            };
            if org_membership.is_none() && on_boards.is_empty() {
                return Err(DomainError::NotFound(NOT_FOUND));
            }
            if let Some(membership) = &org_membership {
                ensure_other_admin(&mut tx, &org.id, &member.id).await?;
                remove(&mut tx, membership).await?;
                let refs = Refs { org: Some(org.id.clone()), subject: Some(member.id.clone()), ..Refs::default() };
                let context = [("organization", org_ref(&org)), ("idMember", json!(member.id)), ("deleted", json!(membership))];
                record(&mut tx, actor, "removeMemberFromOrganization", data(&context), refs).await?;
            }
            for membership in &on_boards {
                let Some(board) = boards.iter_mut().find(|b| b.id == membership.id_model) else {
                    continue;
                };
                ensure_other_admin(&mut tx, &board.id, &member.id).await?;
                remove(&mut tx, membership).await?;
                touch_board(&mut tx, board).await?;
                let context = [("board", board_ref(board)), ("idMember", json!(member.id)), ("deleted", json!(membership))];
                let refs = Refs { subject: Some(member.id.clone()), ..Refs::board(board) };
                record(&mut tx, actor, "removeMemberFromBoard", data(&context), refs).await?;
            }
            tx.commit().await?;
            org.id
        };
        self.org_view(actor, &reference).await
    }

    /// `GET /organizations/{id}/memberships/{idMembership}` with its member.
    pub async fn org_membership(&self, actor: &Actor, org: &str, membership_id: &str) -> Result<(Membership, Member)> {
        if !is_id(membership_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.read().await?;
        let (org, _) = org_with_role(&mut tx, actor, org, Role::Read).await?;
        let membership: Membership = get(&mut tx, &membership_id.to_ascii_lowercase())
            .await?
            .filter(|m: &Membership| m.id_model == org.id)
            .ok_or(DomainError::NotFound(NOT_FOUND))?;
        let member: Member = get(&mut tx, &membership.id_member).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        Ok((membership, member))
    }

    /// `GET /organizations/{id}/newBillableGuests/{idBoard}`: the members of the board
    /// who are neither in the workspace nor already on another of its boards, that is
    /// the guests the board would newly bring into the workspace.
    pub async fn org_new_billable_guests(&self, actor: &Actor, org: &str, board: &str) -> Result<Vec<Member>> {
        let mut tx = self.store.read().await?;
        let (org, _) = org_with_role(&mut tx, actor, org, Role::Read).await?;
        let (board, _) = board_with_role(&mut tx, actor, board, Role::Read, UNAUTHORIZED).await?;
        let mut models = tx.column(Table::Boards, "id", &[Cond::eq("org_id", &org.id)]).await?;
        models.retain(|id| *id != board.id);
        models.push(org.id.clone());
        models.push(board.id.clone());
        let memberships: Vec<Membership> = find(&mut tx, &[Cond::any_of("model_id", &models)], Order::Asc("id"), None).await?;
        let mut guests: Vec<&str> = memberships
            .iter()
            .filter(|m| m.id_model == board.id && !memberships.iter().any(|o| o.id_model != board.id && o.id_member == m.id_member))
            .map(|m| m.id_member.as_str())
            .collect();
        guests.sort_unstable();
        guests.dedup();
        let mut members: Vec<Member> = by_ids(&mut tx, &guests).await?;
        members.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_prefs_follow_trello() {
        let mut prefs = Map::new();
        assert_eq!(apply_extra_pref(&mut prefs, "boardVisibilityRestrict/public", "admin"), Ok(true));
        assert_eq!(prefs["boardVisibilityRestrict"], json!({"private": "org", "org": "org", "enterprise": "org", "public": "admin"}));
        assert_eq!(apply_extra_pref(&mut prefs, "boardVisibilityRestrict_private", "none"), Ok(true));
        assert_eq!(prefs["boardVisibilityRestrict"]["private"], "none");
        assert!(apply_extra_pref(&mut prefs, "boardVisibilityRestrict/public", "everyone").is_err());
        assert_eq!(apply_extra_pref(&mut prefs, "orgInviteRestrict", "*@example.com"), Ok(true));
        assert_eq!(apply_extra_pref(&mut prefs, "orgInviteRestrict", "*@example.com"), Ok(true));
        assert_eq!(prefs["orgInviteRestrict"], json!(["*@example.com"]));
        assert_eq!(apply_extra_pref(&mut prefs, "googleAppsVersion", "2"), Ok(true));
        assert!(apply_extra_pref(&mut prefs, "googleAppsVersion", "3").is_err());
        assert_eq!(apply_extra_pref(&mut prefs, "voting", "members"), Ok(false));
    }

    #[test]
    fn invite_restrictions_are_address_patterns() {
        let mut prefs = Map::new();
        assert!(invite_allowed(&prefs, "anyone@anywhere.test"));
        prefs.insert("orgInviteRestrict".into(), json!(["*@acme.test", "*.partner.test"]));
        assert!(invite_allowed(&prefs, "Dana@ACME.test"));
        assert!(invite_allowed(&prefs, "x@eu.partner.test"));
        assert!(!invite_allowed(&prefs, "x@acme.test.evil"));
        assert!(!invite_allowed(&prefs, "x@partner.test"));
        assert!(glob_match("a*b*c", "aXXbYc") && !glob_match("a*b*c", "aXXcYb"));
    }

    #[test]
    fn invitation_addresses_are_checked() {
        assert!(valid_email("new.person@example.test"));
        assert!(!valid_email("no-at-sign"));
        assert!(!valid_email("two@@example.test"));
        assert!(!valid_email("space @example.test"));
        assert!(!valid_email("x@localhost"));
    }
}
