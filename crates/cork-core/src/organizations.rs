//! Workspaces (Trello's organizations): create, read, update, delete, members, boards.

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde_json::{json, Map, Value};

use crate::access::{memberships_of, Actor, Role, UNAUTHORIZED};
use crate::actions::{data, org_ref, record, Refs};
use crate::ids::{is_id, new_id};
use crate::model::{Board, Member, Membership, Organization};
use crate::store_ext::{by_ids, find, get, insert, remove, save};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// Finds a workspace by id or by name.
pub(crate) async fn resolve_org(tx: &mut Tx, reference: &str) -> Result<Organization> {
    let found = if is_id(reference) {
        get(tx, &reference.to_ascii_lowercase()).await?
    } else if valid_org_name(reference) {
        find(tx, &[Cond::eq("name", reference.to_ascii_lowercase())], Order::None, Some(1)).await?.pop()
    } else {
        return Err(DomainError::InvalidId);
    };
    found.ok_or(DomainError::NotFound(NOT_FOUND))
}

fn valid_org_name(name: &str) -> bool {
    name.len() >= 3 && name.len() <= 100 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A name derived from the display name: lowercase letters, digits and underscores.
fn slug(display_name: &str) -> String {
    let mut name: String = display_name
        .chars()
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                Some(c.to_ascii_lowercase())
            } else if c == ' ' || c == '_' {
                Some('_')
            } else {
                None
            }
        })
        .collect();
    while name.len() < 3 {
        name.push('0');
    }
    name.truncate(90);
    name
}

/// Parameters of `POST /organizations` and `PUT /organizations/{id}`.
#[derive(Debug, Clone, Default)]
pub struct OrgInput {
    pub display_name: Option<String>,
    pub name: Option<String>,
    pub desc: Option<String>,
    pub website: Option<String>,
    pub prefs: Vec<(String, String)>,
}

/// A workspace with its memberships, members and the boards the actor may see.
#[derive(Debug, Clone)]
pub struct OrgView {
    pub org: Organization,
    pub memberships: Vec<Membership>,
    pub members: Vec<Member>,
    pub boards: Vec<Board>,
    pub role: Role,
}

/// The actor's role on a workspace, from its memberships already loaded.
/// A per-board token's narrowing caps it here, the one place workspace roles are made.
pub(crate) fn org_role(actor: &Actor, org: &Organization, own: &[Membership]) -> Role {
    let mut role = if org.prefs.get("permissionLevel").and_then(Value::as_str) == Some("public") { Role::Read } else { Role::None };
    // A deactivated membership gives nothing (PUT .../members/{idMember}/deactivated).
    for membership in own.iter().filter(|m| m.id_model == org.id && !m.deactivated) {
        role = role.max(if membership.member_type == "admin" { Role::Admin } else { Role::Write });
    }
    role.min(actor.org_cap(&org.id))
}

/// The workspace and the actor's role on it, refusing actors below `needed`.
pub(crate) async fn org_with_role(tx: &mut Tx, actor: &Actor, reference: &str, needed: Role) -> Result<(Organization, Role)> {
    let org = resolve_org(tx, reference).await?;
    let own = memberships_of(tx, actor, &[org.id.as_str()]).await?;
    let mut role = org_role(actor, &org, &own);
    if !actor.may_write() {
        role = role.min(Role::Read);
    }
    if role < needed {
        return Err(DomainError::Unauthorized(UNAUTHORIZED));
    }
    Ok((org, role))
}

impl Cork {
    /// `POST /organizations`: the creator becomes its admin.
    pub async fn create_org(&self, actor: &Actor, input: OrgInput) -> Result<Organization> {
        actor.require_member()?;
        // A per-board token reaches only the models it names: a new workspace is not one.
        if !actor.may_write() || actor.is_narrowed() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let display_name = input.display_name.unwrap_or_default().trim().to_string();
        if display_name.is_empty() {
            return Err(DomainError::InvalidValue("displayName".into()));
        }
        let mut tx = self.store.write().await?;
        let name = match input.name {
            Some(name) if valid_org_name(&name) => name.to_ascii_lowercase(),
            Some(_) => return Err(DomainError::InvalidValue("name".into())),
            None => {
                let base = slug(&display_name);
                let mut candidate = base.clone();
                let mut n = 1;
                while tx.count(Table::Organizations, &[Cond::eq("name", &candidate)]).await? > 0 {
                    candidate = format!("{base}{n}");
                    n += 1;
                }
                candidate
            }
        };
        if tx.count(Table::Organizations, &[Cond::eq("name", &name)]).await? > 0 {
            return Err(DomainError::BadRequest("Organization short name is taken".into()));
        }
        let mut prefs = Map::new();
        prefs.insert("permissionLevel".into(), json!("private"));
        apply_org_prefs(&mut prefs, &input.prefs)?;
        let org = Organization {
            id: new_id(),
            name,
            display_name,
            desc: input.desc.unwrap_or_default(),
            website: input.website.filter(|w| !w.is_empty()),
            prefs,
            date_last_activity: now(),
            logo_hash: None,
        };
        insert(&mut tx, &org).await?;
        let member_id = actor.member_id().unwrap_or_default().to_string();
        let membership = Membership {
            id: new_id(),
            id_model: org.id.clone(),
            id_member: member_id,
            member_type: "admin".into(),
            unconfirmed: false,
            deactivated: false,
        };
        insert(&mut tx, &membership).await?;
        let refs = Refs { org: Some(org.id.clone()), ..Refs::default() };
        record(&mut tx, actor, "createOrganization", data(&[("organization", org_ref(&org))]), refs).await?;
        tx.commit().await?;
        Ok(org)
    }

    /// `GET /organizations/{id}` with its members and visible boards.
    pub async fn org_view(&self, actor: &Actor, reference: &str) -> Result<OrgView> {
        let mut tx = self.store.read().await?;
        let (org, role) = org_with_role(&mut tx, actor, reference, Role::Read).await?;
        let memberships: Vec<Membership> = find(&mut tx, &[Cond::eq("model_id", &org.id)], Order::Asc("id"), None).await?;
        let ids: Vec<&str> = memberships.iter().map(|m| m.id_member.as_str()).collect();
        let members: Vec<Member> = by_ids(&mut tx, &ids).await?;
        let mut boards: Vec<Board> = find(&mut tx, &[Cond::eq("org_id", &org.id)], Order::Asc("id"), None).await?;
        let mut models: Vec<&str> = boards.iter().map(|b| b.id.as_str()).collect();
        models.push(org.id.as_str());
        let own = memberships_of(&mut tx, actor, &models).await?;
        boards.retain(|b| crate::access::role_from(actor, b, &own) >= Role::Read);
        Ok(OrgView { org, memberships, members, boards, role })
    }

    /// `PUT /organizations/{id}`: admins only.
    pub async fn update_org(&self, actor: &Actor, reference: &str, input: OrgInput) -> Result<Organization> {
        let mut tx = self.store.write().await?;
        let (mut org, _) = org_with_role(&mut tx, actor, reference, Role::Admin).await?;
        let mut old = Map::new();
        if let Some(display_name) = input.display_name {
            if display_name.trim().is_empty() {
                return Err(DomainError::InvalidValue("displayName".into()));
            }
            old.insert("displayName".into(), json!(org.display_name));
            org.display_name = display_name.trim().to_string();
        }
        if let Some(name) = input.name {
            if !valid_org_name(&name) {
                return Err(DomainError::InvalidValue("name".into()));
            }
            let name = name.to_ascii_lowercase();
            if name != org.name && tx.count(Table::Organizations, &[Cond::eq("name", &name)]).await? > 0 {
                return Err(DomainError::BadRequest("Organization short name is taken".into()));
            }
            old.insert("name".into(), json!(org.name));
            org.name = name;
        }
        if let Some(desc) = input.desc {
            old.insert("desc".into(), json!(org.desc));
            org.desc = desc;
        }
        if let Some(website) = input.website {
            old.insert("website".into(), json!(org.website));
            org.website = Some(website).filter(|w| !w.is_empty());
        }
        if !input.prefs.is_empty() {
            let mut old_prefs = Map::new();
            for (key, _) in &input.prefs {
                old_prefs.insert(key.clone(), org.prefs.get(key).cloned().unwrap_or(Value::Null));
            }
            apply_org_prefs(&mut org.prefs, &input.prefs)?;
            old.insert("prefs".into(), Value::Object(old_prefs));
        }
        org.date_last_activity = now();
        save(&mut tx, &org).await?;
        let refs = Refs { org: Some(org.id.clone()), ..Refs::default() };
        let context = [("organization", org_ref(&org)), ("new", crate::actions::written(&org, &old)), ("old", Value::Object(old))];
        record(&mut tx, actor, "updateOrganization", data(&context), refs).await?;
        tx.commit().await?;
        Ok(org)
    }

    /// `DELETE /organizations/{id}`: its boards stay, outside any workspace.
    pub async fn delete_org(&self, actor: &Actor, reference: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (org, _) = org_with_role(&mut tx, actor, reference, Role::Admin).await?;
        let memberships: Vec<Membership> = find(&mut tx, &[Cond::eq("model_id", &org.id)], Order::None, None).await?;
        let boards: Vec<Board> = find(&mut tx, &[Cond::eq("org_id", &org.id)], Order::None, None).await?;
        let org_visible: Vec<&str> = boards.iter().filter(|b| b.permission_level() == "org").map(|b| b.id.as_str()).collect();
        for mut board in boards.clone() {
            board.id_organization = None;
            if board.permission_level() == "org" {
                board.prefs.insert("permissionLevel".into(), json!("private"));
            }
            save(&mut tx, &board).await?;
        }
        tx.delete(Table::Memberships, &[Cond::eq("model_id", &org.id)]).await?;
        remove(&mut tx, &org).await?;
        let deleted = json!({
            "organization": org, "memberships": memberships, "boards": boards.iter().map(|b| &b.id).collect::<Vec<_>>(),
            "orgVisibleBoards": org_visible,
        });
        let refs = Refs { org: Some(org.id.clone()), ..Refs::default() };
        record(&mut tx, actor, "deleteOrganization", data(&[("organization", org_ref(&org)), ("deleted", deleted)]), refs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a member to a workspace or changes their role (`PUT /organizations/{id}/members/{idMember}`).
    pub async fn set_org_member(&self, actor: &Actor, reference: &str, member_ref: &str, member_type: &str) -> Result<OrgView> {
        if !matches!(member_type, "admin" | "normal") {
            return Err(DomainError::InvalidValue("type".into()));
        }
        {
            let mut tx = self.store.write().await?;
            let (org, _) = org_with_role(&mut tx, actor, reference, Role::Admin).await?;
            let member = crate::members::resolve_member(&mut tx, actor, member_ref).await?;
            let existing: Option<Membership> =
                find(&mut tx, &[Cond::eq("model_id", &org.id), Cond::eq("member_id", &member.id)], Order::None, Some(1)).await?.pop();
            let mut old_type = None;
            let kind = match existing {
                Some(mut membership) => {
                    if membership.member_type == "admin" && member_type != "admin" {
                        ensure_other_admin(&mut tx, &org.id, &member.id).await?;
                    }
                    old_type = Some(std::mem::replace(&mut membership.member_type, member_type.to_string()));
                    save(&mut tx, &membership).await?;
                    if member_type == "admin" {
                        "makeAdminOfOrganization"
                    } else {
                        "makeNormalMemberOfOrganization"
                    }
                }
                None => {
                    let membership = Membership {
                        id: new_id(),
                        id_model: org.id.clone(),
                        id_member: member.id.clone(),
                        member_type: member_type.to_string(),
                        unconfirmed: false,
                        deactivated: false,
                    };
                    insert(&mut tx, &membership).await?;
                    "addMemberToOrganization"
                }
            };
            let refs = Refs { org: Some(org.id.clone()), subject: Some(member.id.clone()), ..Refs::default() };
            let mut context = vec![("organization", org_ref(&org)), ("idMember", json!(member.id)), ("memberType", json!(member_type))];
            if let Some(old_type) = old_type {
                context.push(("old", json!({"memberType": old_type})));
            }
            record(&mut tx, actor, kind, data(&context), refs).await?;
            tx.commit().await?;
        }
        self.org_view(actor, reference).await
    }

    /// Removes a member from a workspace (and, as Trello does, leaves their board memberships).
    pub async fn remove_org_member(&self, actor: &Actor, reference: &str, member_ref: &str) -> Result<OrgView> {
        {
            let mut tx = self.store.write().await?;
            let org = resolve_org(&mut tx, reference).await?;
            let member = crate::members::resolve_member(&mut tx, actor, member_ref).await?;
            // Others need admin; leaving needs a token that reaches the workspace and may write.
            let needed = if actor.member_id() != Some(member.id.as_str()) { Role::Admin } else { Role::Read };
            org_with_role(&mut tx, actor, reference, needed).await?;
            if !actor.may_write() {
                return Err(DomainError::Unauthorized(UNAUTHORIZED));
            }
            ensure_other_admin(&mut tx, &org.id, &member.id).await?;
            let on_org = [Cond::eq("model_id", &org.id), Cond::eq("member_id", &member.id)];
            let membership: Membership =
                find(&mut tx, &on_org, Order::None, Some(1)).await?.pop().ok_or(DomainError::NotFound(NOT_FOUND))?;
            tx.delete(Table::Memberships, &on_org).await?;
            let refs = Refs { org: Some(org.id.clone()), subject: Some(member.id.clone()), ..Refs::default() };
            let context = [("organization", org_ref(&org)), ("idMember", json!(member.id)), ("deleted", json!(membership))];
            record(&mut tx, actor, "removeMemberFromOrganization", data(&context), refs).await?;
            tx.commit().await?;
        }
        self.org_view(actor, reference).await
    }

    /// Workspaces of a member, as the actor may see them.
    pub async fn member_orgs(&self, actor: &Actor, member_ref: &str) -> Result<Vec<Organization>> {
        let mut tx = self.store.read().await?;
        let member = crate::members::resolve_member(&mut tx, actor, member_ref).await?;
        let memberships: Vec<Membership> = find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::None, None).await?;
        let ids: Vec<&str> = memberships.iter().map(|m| m.id_model.as_str()).collect();
        let mut orgs: Vec<Organization> = by_ids(&mut tx, &ids).await?;
        let org_ids: Vec<&str> = orgs.iter().map(|o| o.id.as_str()).collect();
        let own = memberships_of(&mut tx, actor, &org_ids).await?;
        orgs.retain(|o| org_role(actor, o, &own) >= Role::Read);
        orgs.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(orgs)
    }
}

/// Refuses to leave a board or workspace without an admin.
pub(crate) async fn ensure_other_admin(tx: &mut Tx, model_id: &str, leaving: &str) -> Result<()> {
    let admins: Vec<Membership> =
        find(tx, &[Cond::eq("model_id", model_id), Cond::Eq("member_type", Arg::text("admin"))], Order::None, None).await?;
    if admins.iter().any(|m| m.id_member == leaving) && admins.len() == 1 {
        return Err(DomainError::Forbidden("cannot remove the last admin".into()));
    }
    Ok(())
}

fn apply_org_prefs(prefs: &mut Map<String, Value>, input: &[(String, String)]) -> Result<()> {
    for (key, raw) in input {
        let value = match key.as_str() {
            "permissionLevel" if matches!(raw.as_str(), "private" | "public") => json!(raw),
            "externalMembersDisabled" if matches!(raw.as_str(), "true" | "false") => json!(raw == "true"),
            "associatedDomain" => json!(raw),
            _ if crate::org_extras::apply_extra_pref(prefs, key, raw)? => continue,
            _ => return Err(DomainError::InvalidValue(format!("prefs/{key}"))),
        };
        prefs.insert(key.clone(), value);
    }
    Ok(())
}
