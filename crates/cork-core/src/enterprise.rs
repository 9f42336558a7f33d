//! The instance as one Trello enterprise. Cork has no tenants above workspaces, so the
//! whole server is the enterprise: its members are all Cork members, its workspaces all
//! workspaces, and its admins the Cork administrators (members with the `admin` flag,
//! set by `cork user create --admin` or by another administrator). The enterprise
//! record itself is written once, on first use, into the `settings` table.

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::access::{memberships_of, Actor, Role, UNAUTHORIZED};
use crate::actions::{creators_of, data, record, Refs};
use crate::ids::{is_id, new_id};
use crate::members::resolve_member;
use crate::model::{Action, Member, Organization};
use crate::organizations::{org_role, resolve_org};
use crate::store_ext::{by_ids, find, get, insert, save, Stored};
use crate::{now, parse_date, Cork, DomainError, Result, NOT_FOUND};

/// The settings row that holds the enterprise record.
const ENTERPRISE_SETTING: &str = "enterprise";

/// The instance enterprise as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Enterprise {
    pub id: String,
    /// The URL name (`/e/{name}` on Trello); fixed, `cork`.
    pub name: String,
    pub display_name: String,
    pub date_created: String,
}

/// One instance-wide setting: a name and its JSON value.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Setting {
    id: String,
    value: Value,
}

impl Stored for Setting {
    const TABLE: Table = Table::Settings;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        Vec::new()
    }
}

/// A member's standing in the enterprise. Members without a row are licensed, active
/// and not administrators ([`EnterpriseMember::default_for`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseMember {
    /// The member's id.
    pub id: String,
    pub admin: bool,
    pub deactivated: bool,
    pub licensed: bool,
}

impl EnterpriseMember {
    /// The standing of a member nobody changed yet.
    pub fn default_for(member_id: &str) -> EnterpriseMember {
        EnterpriseMember { id: member_id.to_string(), admin: false, deactivated: false, licensed: true }
    }
}

impl Stored for EnterpriseMember {
    const TABLE: Table = Table::EnterpriseMembers;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("admin", Arg::flag(self.admin)), ("deactivated", Arg::flag(self.deactivated))]
    }
}

/// A member with their standing.
#[derive(Debug, Clone)]
pub struct EnterpriseMemberView {
    pub member: Member,
    pub standing: EnterpriseMember,
}

/// Which flag `PUT /enterprises/{id}/members/{idMember}/...` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberFlag {
    Deactivated,
    Licensed,
}

/// `GET /enterprises/{id}` and what it may include.
#[derive(Debug, Clone)]
pub struct EnterpriseView {
    pub enterprise: Enterprise,
    pub admins: Vec<String>,
    /// The workspaces the actor may see (all of them for an admin).
    pub organizations: Vec<Organization>,
    /// Every member, with their standing (loaded only when asked).
    pub members: Vec<EnterpriseMemberView>,
    pub member_count: i64,
    /// Members holding a license (all but those whose license was taken away).
    pub licensed_count: i64,
    /// True when the actor is an enterprise admin.
    pub actor_is_admin: bool,
}

/// Filters of `GET /enterprises/{id}/members/query`; `None` keeps both kinds.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    pub licensed: Option<bool>,
    pub deactivated: Option<bool>,
    pub collaborator: Option<bool>,
    pub managed: Option<bool>,
    pub admin: Option<bool>,
    pub active_since: Option<String>,
    pub inactive_since: Option<String>,
    /// A prefix of the email address or the full name.
    pub search: Option<String>,
    /// Only members whose id sorts after this one (the page cursor).
    pub cursor: Option<String>,
}

/// The most members one `members/query` page returns.
pub const QUERY_PAGE: usize = 100;

/// One entry of the enterprise audit log: an action and the members it names.
#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    pub actions: Vec<Action>,
    /// Creators and subjects of the actions.
    pub members: Vec<Member>,
}

/// The standing of one member (defaults when no row exists).
pub(crate) async fn standing(tx: &mut Tx, member_id: &str) -> Result<EnterpriseMember> {
    Ok(get(tx, member_id).await?.unwrap_or_else(|| EnterpriseMember::default_for(member_id)))
}

/// True when the actor is a Cork administrator.
pub(crate) async fn is_admin(tx: &mut Tx, actor: &Actor) -> Result<bool> {
    match actor.member_id() {
        Some(id) => Ok(standing(tx, id).await?.admin),
        None => Ok(false),
    }
}

/// The actor, who must be a Cork administrator (Trello's 401 otherwise).
pub(crate) async fn require_admin<'a>(tx: &mut Tx, actor: &'a Actor) -> Result<&'a Member> {
    let member = actor.require_member()?;
    if standing(tx, &member.id).await?.admin {
        Ok(member)
    } else {
        Err(DomainError::Unauthorized(UNAUTHORIZED))
    }
}

async fn stored_enterprise(tx: &mut Tx) -> Result<Option<Enterprise>> {
    let setting: Option<Setting> = get(tx, ENTERPRISE_SETTING).await?;
    setting.map(|s| Ok(serde_json::from_value(s.value)?)).transpose()
}

/// Checks a path reference (the id, or the name `cork`) against the enterprise. The
/// spec writes one path as `/enterprises/${id}/...`, so a leading `$` is tolerated.
fn check_reference(enterprise: &Enterprise, reference: &str) -> Result<()> {
    let reference = reference.strip_prefix('$').unwrap_or(reference);
    if is_id(reference) {
        return if reference.eq_ignore_ascii_case(&enterprise.id) { Ok(()) } else { Err(DomainError::NotFound(NOT_FOUND)) };
    }
    if reference == enterprise.name {
        return Ok(());
    }
    let name_like =
        !reference.is_empty() && reference.len() <= 100 && reference.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if name_like {
        Err(DomainError::NotFound(NOT_FOUND))
    } else {
        Err(DomainError::InvalidId)
    }
}

/// The standings of members by id, defaults filled in, in one query.
async fn standings_of(tx: &mut Tx, members: &[Member]) -> Result<Vec<EnterpriseMemberView>> {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let stored: Vec<EnterpriseMember> = by_ids(tx, &ids).await?;
    Ok(members
        .iter()
        .map(|m| EnterpriseMemberView {
            member: m.clone(),
            standing: stored.iter().find(|s| s.id == m.id).cloned().unwrap_or_else(|| EnterpriseMember::default_for(&m.id)),
        })
        .collect())
}

/// The ids of the Cork administrators.
async fn admin_ids(tx: &mut Tx) -> Result<Vec<String>> {
    let mut ids = tx.column(Table::EnterpriseMembers, "id", &[Cond::Eq("admin", Arg::flag(true))]).await?;
    ids.sort();
    Ok(ids)
}

/// Workspaces the actor may see: all for an admin, else those it can read.
async fn visible_orgs(tx: &mut Tx, actor: &Actor, admin: bool) -> Result<Vec<Organization>> {
    let mut orgs: Vec<Organization> = find(tx, &[], Order::Asc("id"), None).await?;
    if !admin {
        let ids: Vec<&str> = orgs.iter().map(|o| o.id.as_str()).collect();
        let own = memberships_of(tx, actor, &ids).await?;
        orgs.retain(|o| org_role(actor, o, &own) >= Role::Read);
    }
    Ok(orgs)
}

/// Suspends (or restores) every live token of a member: a deactivated member cannot use
/// the API. The token rows keep their hash behind a `suspended:` prefix, which no lookup
/// by a real token's hash can match; revoked tokens (`revoked:`) are never restored.
async fn suspend_tokens(tx: &mut Tx, member_id: &str, suspend: bool) -> Result<()> {
    let hashes = tx.column(Table::Tokens, "token_hash", &[Cond::eq("member_id", member_id)]).await?;
    for hash in hashes {
        let replacement = match (suspend, hash.strip_prefix("suspended:")) {
            (true, None) if !hash.starts_with("revoked:") => format!("suspended:{hash}"),
            (false, Some(original)) => original.to_string(),
            _ => continue,
        };
        tx.update(Table::Tokens, &[("token_hash", Arg::text(replacement))], &[Cond::eq("token_hash", &hash)]).await?;
    }
    Ok(())
}

fn enterprise_ref(enterprise: &Enterprise) -> Value {
    json!({"id": enterprise.id, "displayName": enterprise.display_name})
}

impl Cork {
    /// The enterprise record, written on first use. Two nodes racing to write it both
    /// end up with the one that committed first (the settings key is unique).
    pub async fn enterprise(&self) -> Result<Enterprise> {
        {
            let mut tx = self.store.read().await?;
            if let Some(found) = stored_enterprise(&mut tx).await? {
                return Ok(found);
            }
        }
        let enterprise = Enterprise { id: new_id(), name: "cork".into(), display_name: "Cork".into(), date_created: now() };
        let mut tx = self.store.write().await?;
        if let Some(found) = stored_enterprise(&mut tx).await? {
            return Ok(found);
        }
        let setting = Setting { id: ENTERPRISE_SETTING.into(), value: serde_json::to_value(&enterprise)? };
        match insert(&mut tx, &setting).await {
            Ok(()) => {}
            Err(DomainError::BadRequest(_)) => {
                drop(tx);
                let mut tx = self.store.read().await?;
                return stored_enterprise(&mut tx).await?.ok_or(DomainError::Internal("enterprise record vanished".into()));
            }
            Err(other) => return Err(other),
        }
        tx.commit().await?;
        Ok(enterprise)
    }

    /// The enterprise named by a path reference, for anyone (the signup URL is public).
    pub async fn enterprise_by_reference(&self, reference: &str) -> Result<Enterprise> {
        let enterprise = self.enterprise().await?;
        check_reference(&enterprise, reference)?;
        Ok(enterprise)
    }

    /// The enterprise after checking the path reference; any member may read it.
    async fn enterprise_for(&self, actor: &Actor, reference: &str) -> Result<Enterprise> {
        let enterprise = self.enterprise().await?;
        check_reference(&enterprise, reference)?;
        actor.require_member()?;
        // A per-board token reaches its boards only, not the instance's directory.
        if actor.is_narrowed() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        Ok(enterprise)
    }

    /// Makes a member a Cork administrator or takes the flag away, as the CLI does it:
    /// the member acts on their own account (`cork user create --admin`).
    pub async fn set_instance_admin(&self, member: &Member, admin: bool) -> Result<EnterpriseMember> {
        let enterprise = self.enterprise().await?;
        let actor = Actor::member(member.clone());
        let mut tx = self.store.write().await?;
        let standing = change_admin(&mut tx, &actor, &enterprise, member, admin).await?;
        tx.commit().await?;
        Ok(standing)
    }

    /// A member's standing in the instance enterprise (defaults when never changed).
    pub async fn instance_standing(&self, member_id: &str) -> Result<EnterpriseMember> {
        let mut tx = self.store.read().await?;
        standing(&mut tx, member_id).await
    }

    /// True when the member is a Cork administrator.
    pub async fn is_instance_admin(&self, member_id: &str) -> Result<bool> {
        Ok(self.instance_standing(member_id).await?.admin)
    }

    /// `GET /enterprises/{id}`; `with_members` loads every member with their standing.
    pub async fn enterprise_view(&self, actor: &Actor, reference: &str, with_members: bool) -> Result<EnterpriseView> {
        let enterprise = self.enterprise_for(actor, reference).await?;
        let mut tx = self.store.read().await?;
        let actor_is_admin = is_admin(&mut tx, actor).await?;
        let standings: Vec<EnterpriseMember> = find(&mut tx, &[], Order::Asc("id"), None).await?;
        let admins: Vec<String> = standings.iter().filter(|s| s.admin).map(|s| s.id.clone()).collect();
        let organizations = visible_orgs(&mut tx, actor, actor_is_admin).await?;
        let member_count = tx.count(Table::Members, &[]).await?;
        let licensed_count = member_count - standings.iter().filter(|s| !s.licensed).count() as i64;
        let members = if with_members {
            let all: Vec<Member> = find(&mut tx, &[], Order::Asc("id"), None).await?;
            standings_of(&mut tx, &all).await?
        } else {
            Vec::new()
        };
        Ok(EnterpriseView { enterprise, admins, organizations, members, member_count, licensed_count, actor_is_admin })
    }

    /// The enterprises a member belongs to: the instance enterprise, for every member.
    pub async fn member_enterprises(&self, actor: &Actor, member_ref: &str) -> Result<Vec<Enterprise>> {
        actor.require_member()?;
        let enterprise = self.enterprise().await?;
        let mut tx = self.store.read().await?;
        resolve_member(&mut tx, actor, member_ref).await?;
        Ok(vec![enterprise])
    }

    /// `GET /enterprises/{id}/admins`.
    pub async fn enterprise_admins(&self, actor: &Actor, reference: &str) -> Result<Vec<Member>> {
        self.enterprise_for(actor, reference).await?;
        let mut tx = self.store.read().await?;
        let ids = admin_ids(&mut tx).await?;
        let mut admins: Vec<Member> = by_ids(&mut tx, &ids).await?;
        admins.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(admins)
    }

    /// `PUT|DELETE /enterprises/{id}/admins/{idMember}`: admins only; the last admin stays.
    pub async fn set_enterprise_admin(&self, actor: &Actor, reference: &str, member_ref: &str, admin: bool) -> Result<Member> {
        let enterprise = self.enterprise_for(actor, reference).await?;
        let mut tx = self.store.write().await?;
        require_admin(&mut tx, actor).await?;
        let member = resolve_member(&mut tx, actor, member_ref).await?;
        change_admin(&mut tx, actor, &enterprise, &member, admin).await?;
        tx.commit().await?;
        Ok(member)
    }

    /// `GET /enterprises/{id}/members`: every member, in id order.
    pub async fn enterprise_members(&self, actor: &Actor, reference: &str) -> Result<Vec<EnterpriseMemberView>> {
        self.enterprise_for(actor, reference).await?;
        let mut tx = self.store.read().await?;
        let members: Vec<Member> = find(&mut tx, &[], Order::Asc("id"), None).await?;
        standings_of(&mut tx, &members).await
    }

    /// `GET /enterprises/{id}/members/{idMember}`.
    pub async fn enterprise_member(&self, actor: &Actor, reference: &str, member_ref: &str) -> Result<EnterpriseMemberView> {
        self.enterprise_for(actor, reference).await?;
        let mut tx = self.store.read().await?;
        let member = resolve_member(&mut tx, actor, member_ref).await?;
        let standing = standing(&mut tx, &member.id).await?;
        Ok(EnterpriseMemberView { member, standing })
    }

    /// `GET /enterprises/{id}/members/query`: admins only, at most [`QUERY_PAGE`] members
    /// after the cursor, in id order.
    pub async fn enterprise_member_query(&self, actor: &Actor, reference: &str, query: &MemberQuery) -> Result<Vec<EnterpriseMemberView>> {
        self.enterprise_for(actor, reference).await?;
        let active_since = query
            .active_since
            .as_deref()
            .map(|d| parse_date(d).ok_or_else(|| DomainError::InvalidValue("activeSince".into())))
            .transpose()?;
        let inactive_since = query
            .inactive_since
            .as_deref()
            .map(|d| parse_date(d).ok_or_else(|| DomainError::InvalidValue("inactiveSince".into())))
            .transpose()?;
        if query.cursor.as_deref().is_some_and(|c| !is_id(c)) {
            return Err(DomainError::InvalidValue("cursor".into()));
        }
        let mut tx = self.store.read().await?;
        require_admin(&mut tx, actor).await?;
        let mut conds = Vec::new();
        if let Some(cursor) = &query.cursor {
            conds.push(Cond::Gt("id", Arg::text(cursor.to_ascii_lowercase())));
        }
        let members: Vec<Member> = find(&mut tx, &conds, Order::Asc("id"), None).await?;
        let views = standings_of(&mut tx, &members).await?;
        let search = query.search.as_deref().map(str::to_lowercase);
        // `None` keeps both kinds; written out because `Option::is_none_or` is newer than
        // the workspace's minimum Rust.
        let keeps = |want: Option<bool>, actual: bool| want.is_none() || want == Some(actual);
        let kept = views.into_iter().filter(|v| {
            let s = &v.standing;
            let last_active = v.member.date_last_active.as_deref().and_then(parse_date);
            let searched = match search.as_deref() {
                None => true,
                Some(prefix) => {
                    v.member.full_name.to_lowercase().starts_with(prefix)
                        || v.member.email.as_deref().is_some_and(|e| e.to_lowercase().starts_with(prefix))
                }
            };
            let active = match (active_since, last_active) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(since), Some(at)) => at >= since,
            };
            let inactive = match (inactive_since, last_active) {
                (None, _) | (Some(_), None) => true,
                (Some(since), Some(at)) => at < since,
            };
            // Every Cork member is managed by the instance; a collaborator is a member
            // without a license (Trello's board guest).
            keeps(query.licensed, s.licensed)
                && keeps(query.deactivated, s.deactivated)
                && keeps(query.collaborator, !s.licensed)
                && keeps(query.managed, true)
                && keeps(query.admin, s.admin)
                && searched
                && active
                && inactive
        });
        Ok(kept.take(QUERY_PAGE).collect())
    }

    /// `PUT /enterprises/{id}/members/{idMember}/deactivated|licensed`: admins only.
    /// Deactivating suspends the member's tokens at once; taking a license away
    /// deactivates too, and reactivating takes a license again (as on Trello).
    pub async fn set_enterprise_member_flag(
        &self,
        actor: &Actor,
        reference: &str,
        member_ref: &str,
        flag: MemberFlag,
        value: bool,
    ) -> Result<EnterpriseMemberView> {
        let enterprise = self.enterprise_for(actor, reference).await?;
        let mut tx = self.store.write().await?;
        let me = require_admin(&mut tx, actor).await?;
        let member = resolve_member(&mut tx, actor, member_ref).await?;
        let old = standing(&mut tx, &member.id).await?;
        let mut new = old.clone();
        match flag {
            MemberFlag::Deactivated => {
                new.deactivated = value;
                if !value {
                    new.licensed = true;
                }
            }
            MemberFlag::Licensed => {
                new.licensed = value;
                if !value {
                    new.deactivated = true;
                }
            }
        }
        if new.deactivated && !old.deactivated {
            if member.id == me.id {
                return Err(DomainError::Forbidden("cannot deactivate yourself".into()));
            }
            if old.admin {
                return Err(DomainError::Forbidden("cannot deactivate an enterprise admin".into()));
            }
        }
        if new != old {
            if tx.count(Table::EnterpriseMembers, &[Cond::eq("id", &member.id)]).await? > 0 {
                save(&mut tx, &new).await?;
            } else {
                insert(&mut tx, &new).await?;
            }
            if new.deactivated != old.deactivated {
                suspend_tokens(&mut tx, &member.id, new.deactivated).await?;
            }
            let kind = match (flag, value) {
                (MemberFlag::Deactivated, true) => "deactivatedMemberInEnterprise",
                (MemberFlag::Deactivated, false) => "reactivatedMemberInEnterprise",
                (MemberFlag::Licensed, true) => "licensedMemberInEnterprise",
                (MemberFlag::Licensed, false) => "unlicensedMemberInEnterprise",
            };
            let context = [
                ("enterprise", enterprise_ref(&enterprise)),
                ("idMember", json!(member.id)),
                ("member", json!({"id": member.id, "name": member.full_name})),
                ("old", json!({"deactivated": old.deactivated, "licensed": old.licensed})),
            ];
            let refs = Refs { subject: Some(member.id.clone()), ..Refs::default() };
            record(&mut tx, actor, kind, data(&context), refs).await?;
        }
        tx.commit().await?;
        Ok(EnterpriseMemberView { member, standing: new })
    }

    /// `GET /enterprises/{id}/organizations`: the workspaces the actor may see.
    pub async fn enterprise_orgs(&self, actor: &Actor, reference: &str) -> Result<Vec<Organization>> {
        self.enterprise_for(actor, reference).await?;
        let mut tx = self.store.read().await?;
        let admin = is_admin(&mut tx, actor).await?;
        visible_orgs(&mut tx, actor, admin).await
    }

    /// Workspaces named by id or name, for the admin-only transfer routes. Every
    /// workspace already belongs to the instance enterprise, so nothing changes.
    pub async fn enterprise_orgs_named(&self, actor: &Actor, reference: &str, org_refs: &[String]) -> Result<Vec<Organization>> {
        self.enterprise_for(actor, reference).await?;
        if org_refs.is_empty() {
            return Err(DomainError::InvalidValue("idOrganizations".into()));
        }
        let mut tx = self.store.read().await?;
        require_admin(&mut tx, actor).await?;
        let mut orgs = Vec::new();
        for org_ref in org_refs {
            orgs.push(resolve_org(&mut tx, org_ref).await?);
        }
        Ok(orgs)
    }

    /// `DELETE /enterprises/{id}/organizations/{idOrg}`: refused, because a workspace
    /// cannot leave the instance it lives in.
    pub async fn remove_enterprise_org(&self, actor: &Actor, reference: &str, org_ref: &str) -> Result<()> {
        self.enterprise_orgs_named(actor, reference, &[org_ref.to_string()]).await?;
        Err(DomainError::Forbidden("a workspace cannot leave the Cork enterprise; delete the workspace instead".into()))
    }

    /// Checks the actor is an enterprise admin (for the admin-only reads without data).
    pub async fn require_enterprise_admin(&self, actor: &Actor, reference: &str) -> Result<Enterprise> {
        let enterprise = self.enterprise_for(actor, reference).await?;
        let mut tx = self.store.read().await?;
        require_admin(&mut tx, actor).await?;
        Ok(enterprise)
    }

    /// `GET /enterprises/{id}/auditlog`: the newest actions of the whole instance,
    /// admins only, paged like any action log.
    pub async fn enterprise_audit_log(&self, actor: &Actor, reference: &str, query: &crate::actions::ActionQuery) -> Result<AuditPage> {
        self.enterprise_for(actor, reference).await?;
        let mut tx = self.store.read().await?;
        require_admin(&mut tx, actor).await?;
        let actions = crate::actions::page_of_actions(&mut tx, Vec::new(), query).await?;
        let mut members = creators_of(&mut tx, &actions).await?;
        let mut subjects: Vec<&str> = actions.iter().filter_map(subject_of).filter(|id| !members.iter().any(|m| m.id == *id)).collect();
        subjects.sort_unstable();
        subjects.dedup();
        let more: Vec<Member> = by_ids(&mut tx, &subjects).await?;
        members.extend(more);
        Ok(AuditPage { actions, members })
    }
}

/// The member an action is about, when its data names one.
pub fn subject_of(action: &Action) -> Option<&str> {
    action
        .data
        .get("idMember")
        .and_then(Value::as_str)
        .or_else(|| action.data.pointer("/member/id").and_then(Value::as_str))
        .filter(|id| is_id(id))
}

/// Sets or clears the admin flag inside `tx`, recording the change; refuses to take the
/// flag from the last admin and to make a deactivated member an admin.
async fn change_admin(tx: &mut Tx, actor: &Actor, enterprise: &Enterprise, member: &Member, admin: bool) -> Result<EnterpriseMember> {
    let old: Option<EnterpriseMember> = get(tx, &member.id).await?;
    let mut standing = old.clone().unwrap_or_else(|| EnterpriseMember::default_for(&member.id));
    if standing.admin == admin {
        return Ok(standing);
    }
    if admin && standing.deactivated {
        return Err(DomainError::BadRequest("a deactivated member cannot be an enterprise admin".into()));
    }
    if !admin && admin_ids(tx).await?.len() <= 1 {
        return Err(DomainError::Forbidden("cannot remove the last admin".into()));
    }
    standing.admin = admin;
    if old.is_some() {
        save(tx, &standing).await?;
    } else {
        insert(tx, &standing).await?;
    }
    let kind = if admin { "makeAdminOfEnterprise" } else { "removeAdminFromEnterprise" };
    let context = [
        ("enterprise", enterprise_ref(enterprise)),
        ("idMember", json!(member.id)),
        ("member", json!({"id": member.id, "name": member.full_name})),
    ];
    let refs = Refs { subject: Some(member.id.clone()), ..Refs::default() };
    record(tx, actor, kind, data(&context), refs).await?;
    Ok(standing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_the_id_or_the_name() {
        let enterprise =
            Enterprise { id: "5f0000000000000000000001".into(), name: "cork".into(), display_name: "Cork".into(), date_created: now() };
        assert_eq!(check_reference(&enterprise, "5F0000000000000000000001"), Ok(()));
        assert_eq!(check_reference(&enterprise, "$5f0000000000000000000001"), Ok(()));
        assert_eq!(check_reference(&enterprise, "cork"), Ok(()));
        assert_eq!(check_reference(&enterprise, "5f0000000000000000000002"), Err(DomainError::NotFound(NOT_FOUND)));
        assert_eq!(check_reference(&enterprise, "other"), Err(DomainError::NotFound(NOT_FOUND)));
        assert_eq!(check_reference(&enterprise, "bad id!"), Err(DomainError::InvalidId));
    }
}
