//! `/1/enterprises`: the Cork instance as one enterprise (see `cork_core::enterprise`):
//! its admins, members and workspaces, the audit log, the signup url and enterprise
//! tokens. Writes and the admin tools need a Cork administrator.

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::Router;
use cork_core::enterprise::{Enterprise, EnterpriseMemberView, EnterpriseView, MemberFlag, MemberQuery};
use cork_core::model::{Member, Organization};
use serde_json::{json, Map, Value};

use super::{action_query, json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/enterprises/{id}", get(get_enterprise))
        .route("/1/enterprises/{id}/admins", get(get_admins))
        .route("/1/enterprises/{id}/admins/{member}", put(put_admin).delete(delete_admin))
        .route("/1/enterprises/{id}/auditlog", get(get_audit_log))
        .route("/1/enterprises/{id}/claimableOrganizations", get(get_claimable_orgs))
        .route("/1/enterprises/{id}/pendingOrganizations", get(get_pending_orgs))
        .route("/1/enterprises/{id}/members", get(get_members))
        .route("/1/enterprises/{id}/members/query", get(get_members_query))
        .route("/1/enterprises/{id}/members/{member}", get(get_member))
        .route("/1/enterprises/{id}/members/{member}/deactivated", put(put_member_deactivated))
        .route("/1/enterprises/{id}/members/{member}/licensed", put(put_member_licensed))
        .route("/1/enterprises/{id}/organizations", get(get_orgs).put(put_org))
        .route("/1/enterprises/{id}/organizations/bulk/{orgs}", get(get_orgs_bulk))
        .route("/1/enterprises/{id}/organizations/{org}", axum::routing::delete(delete_org))
        .route("/1/enterprises/{id}/transferrable/organization/{org}", get(get_transferrable))
        .route("/1/enterprises/{id}/transferrable/bulk/{orgs}", get(get_transferrable_bulk))
        .route("/1/enterprises/{id}/signupUrl", get(get_signup_url))
        .route("/1/enterprises/{id}/tokens", post(post_token))
        .route("/1/enterprises/{id}/enterpriseJoinRequest/bulk", put(put_join_requests))
        .route("/1/members/{id}/enterprises", get(get_member_enterprises))
}

/// Default member fields of the enterprise routes (SPEC).
const MEMBER_FIELDS: &[&str] = &["avatarHash", "fullName", "initials", "username"];

/// Trello's Enterprise object. The instance has no SSO, domains, branding or billing,
/// so those keep their empty values.
fn enterprise_json(enterprise: &Enterprise, admins: &[String], organizations: &[Organization], licensed: i64) -> Value {
    json!({
        "id": enterprise.id,
        "name": enterprise.name,
        "displayName": enterprise.display_name,
        "logoHash": null,
        "logoUrl": null,
        "prefs": {
            "ssoOnly": false,
            "signup": {"banner": "", "bannerHtml": ""},
            "mandatoryTransferDate": null,
            "brandingColor": "",
            "autoJoinOrganizations": false,
            "notifications": {},
            "maxMembers": null,
        },
        "organizationPrefs": {},
        "ssoActivationFailed": false,
        "idAdmins": admins,
        "enterpriseDomains": [],
        "isRealEnterprise": true,
        "pluginWhitelistingEnabled": [],
        "idOrganizations": organizations.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
        "products": [],
        "licenses": {"maxMembers": null, "totalMembers": licensed, "relatedEnterprises": []},
        "domains": [],
        "dateOrganizationPrefsLastUpdated": enterprise.date_created,
        "idp": {"requestSigned": false, "certificate": null, "loginUrl": null},
    })
}

/// A member as the enterprise routes show it: Trello's Member plus the enterprise ids.
fn member_json(app: &App, view: &EnterpriseMemberView, id_enterprise: &str) -> Value {
    let mut out = app.render.member(&view.member, false);
    out["idEnterprise"] = json!(id_enterprise);
    out["idEnterprisesAdmin"] = json!(if view.standing.admin { vec![id_enterprise] } else { Vec::new() });
    out["idEnterprisesDeactivated"] = json!(if view.standing.deactivated { vec![id_enterprise] } else { Vec::new() });
    out
}

fn admin_json(member: &Member) -> Value {
    json!({"id": member.id, "fullName": member.full_name, "username": member.username})
}

/// `sort` (or the older `sortBy` + `sortOrder`): a SCIM attribute, `-` for descending.
fn sort_members(members: &mut [EnterpriseMemberView], params: &Params, prefix: &str) -> ApiResult<()> {
    let sort_key = format!("{prefix}sort");
    let (raw, name) = match params.str(&sort_key) {
        Some(sort) => (sort, sort_key),
        None => match params.str(&format!("{prefix}sortBy")) {
            Some(by) => {
                let descending = matches!(params.str(&format!("{prefix}sortOrder")).as_deref(), Some("descending" | "desc"));
                (if descending { format!("-{by}") } else { by }, format!("{prefix}sortBy"))
            }
            None => return Ok(()),
        },
    };
    let (descending, attribute) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest.to_ascii_lowercase()),
        None => (false, raw.to_ascii_lowercase()),
    };
    match attribute.as_str() {
        "id" | "none" | "" => members.sort_by(|a, b| a.member.id.cmp(&b.member.id)),
        "username" => members.sort_by(|a, b| a.member.username.cmp(&b.member.username)),
        "fullname" | "displayname" => members.sort_by_key(|m| m.member.full_name.to_lowercase()),
        "email" | "emails" => members.sort_by(|a, b| a.member.email.cmp(&b.member.email)),
        _ => return Err(ApiError::invalid_value(&name)),
    }
    if descending {
        members.reverse();
    }
    Ok(())
}

/// A page of `items`: `start` is 1-based as in SCIM (0 counts as 1).
fn page<T>(items: Vec<T>, start: i64, count: i64) -> Vec<T> {
    items.into_iter().skip((start.max(1) - 1) as usize).take(count as usize).collect()
}

async fn get_enterprise(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let members_filter = p.str("members").unwrap_or_else(|| "none".into());
    if !["none", "normal", "admins", "owners", "all"].contains(&members_filter.as_str()) {
        return Err(ApiError::invalid_value("members"));
    }
    let orgs_filter = p.str("organizations").unwrap_or_else(|| "none".into());
    if !["none", "members", "public", "all"].contains(&orgs_filter.as_str()) {
        return Err(ApiError::invalid_value("organizations"));
    }
    let fields = Fields::from(p, "fields", None);
    let wants_id_members = matches!(&fields, Fields::Some(names) if names.iter().any(|n| n == "idMembers"));
    let start = p.int("member_startIndex", 0, 100)?.unwrap_or(1);
    let count = p.int("member_count", 0, 100)?.unwrap_or(10);
    let view: EnterpriseView = app.cork.enterprise_view(&req.actor, &id, members_filter != "none" || wants_id_members).await?;
    let mut out = enterprise_json(&view.enterprise, &view.admins, &view.organizations, view.licensed_count);
    if wants_id_members {
        out["idMembers"] = json!(view.members.iter().map(|m| m.member.id.clone()).collect::<Vec<_>>());
    }
    let mut out = select(out, &fields);
    if members_filter != "none" {
        let mut members: Vec<EnterpriseMemberView> = view
            .members
            .into_iter()
            .filter(|m| match members_filter.as_str() {
                "normal" => !m.standing.admin,
                "admins" | "owners" => m.standing.admin,
                _ => true,
            })
            .collect();
        sort_members(&mut members, p, "member_")?;
        let member_fields = Fields::from(p, "member_fields", Some(MEMBER_FIELDS));
        out["members"] = many(page(members, start, count).iter().map(|m| member_json(&app, m, &view.enterprise.id)), &member_fields);
    }
    if orgs_filter != "none" {
        // `members`: the workspaces only their members see; `public`: the others.
        let is_public = |o: &&Organization| o.prefs.get("permissionLevel").and_then(Value::as_str) == Some("public");
        let orgs = view.organizations.iter().filter(|o| match orgs_filter.as_str() {
            "public" => is_public(o),
            "members" => !is_public(o),
            _ => true,
        });
        out["organizations"] = many(orgs.map(|o| app.render.organization(o, None, None)), &Fields::from(p, "organization_fields", None));
    }
    Ok(json_ok(out))
}

async fn get_admins(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let admins = app.cork.enterprise_admins(&req.actor, &id).await?;
    let fields = Fields::from(&req.params, "fields", Some(&["fullName", "username"]));
    Ok(json_ok(many(admins.iter().map(admin_json), &fields)))
}

async fn put_admin(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let member = app.cork.set_enterprise_admin(&req.actor, &id, &member, true).await?;
    Ok(json_ok(admin_json(&member)))
}

async fn delete_admin(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.set_enterprise_admin(&req.actor, &id, &member, false).await?;
    Ok(json_ok(json!({"_value": null})))
}

/// Trello's EnterpriseAuditLog entries, newest first.
async fn get_audit_log(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let query = action_query(&req.params, false)?;
    let page = app.cork.enterprise_audit_log(&req.actor, &id, &query).await?;
    let person = |member_id: &str| {
        page.members.iter().find(|m| m.id == member_id).map(|m| json!({"id": m.id, "username": m.username, "fullName": m.full_name}))
    };
    let entries = page.actions.iter().map(|action| {
        let mut entry = Map::new();
        entry.insert("idAction".into(), json!(action.id));
        entry.insert("type".into(), json!(action.kind));
        entry.insert("date".into(), json!(action.date));
        entry.insert("memberCreator".into(), person(&action.id_member_creator).unwrap_or_else(|| json!({"id": action.id_member_creator})));
        if let Some(org) = action.data.get("organization").filter(|o| o.is_object()) {
            entry.insert("organization".into(), json!({"id": org["id"], "name": org["name"], "enterpriseJoinRequest": null}));
        }
        if let Some(subject) = cork_core::enterprise::subject_of(action).and_then(person) {
            entry.insert("member".into(), subject);
        }
        Value::Object(entry)
    });
    Ok(json_ok(Value::Array(entries.collect())))
}

/// Every workspace already belongs to the instance: none is left to claim.
async fn get_claimable_orgs(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    req.params.int("limit", 0, 1000)?;
    app.cork.require_enterprise_admin(&req.actor, &id).await?;
    Ok(json_ok(json!({"organizations": [], "claimableCount": 0})))
}

/// No workspace can ask to join, so none is pending.
async fn get_pending_orgs(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.require_enterprise_admin(&req.actor, &id).await?;
    Ok(json_ok(json!([])))
}

async fn get_members(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let start = p.int("startIndex", 0, 9999)?.unwrap_or(1);
    let count = p.int("count", 0, 100)?.unwrap_or(100);
    let mut members = app.cork.enterprise_members(&req.actor, &id).await?;
    sort_members(&mut members, p, "")?;
    let enterprise = app.cork.enterprise().await?;
    let fields = Fields::from(p, "fields", Some(MEMBER_FIELDS));
    Ok(json_ok(many(page(members, start, count).iter().map(|m| member_json(&app, m, &enterprise.id)), &fields)))
}

/// Trello's Membership objects of `members/query` (SCIM-like: lowercase `fullname`).
async fn get_members_query(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let query = MemberQuery {
        licensed: p.bool("licensed")?,
        deactivated: p.bool("deactivated")?,
        collaborator: p.bool("collaborator")?,
        managed: match p.str("managed").as_deref() {
            None | Some("none") => None,
            _ => p.bool("managed")?,
        },
        admin: p.bool("admin")?,
        active_since: p.text("activeSince")?.filter(|d| d != "none"),
        inactive_since: p.text("inactiveSince")?.filter(|d| d != "none"),
        search: p.text("search")?.filter(|s| s != "none" && !s.is_empty()),
        cursor: p.text("cursor")?.filter(|c| c != "none" && !c.is_empty()),
    };
    let members = app.cork.enterprise_member_query(&req.actor, &id, &query).await?;
    let rows = members.iter().map(|view| {
        let m = &view.member;
        json!({
            "managed": true,
            "licensed": view.standing.licensed,
            "admin": view.standing.admin,
            "deactivated": view.standing.deactivated,
            "collaborator": !view.standing.licensed,
            "member": {
                "id": m.id,
                // A member's own field names (as trello.js validates them against live
                // Trello), and a date or null, never "".
                "fullName": m.full_name,
                "username": m.username,
                "dateLastImpression": m.date_last_active,
                "email": m.email.clone().unwrap_or_default(),
                "initials": m.initials,
                "avatarUrl": app.render.member(m, false)["avatarUrl"],
                "memberType": m.member_type,
                "confirmed": m.confirmed,
            },
        })
    });
    Ok(json_ok(Value::Array(rows.collect())))
}

async fn get_member(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let view = app.cork.enterprise_member(&req.actor, &id, &member).await?;
    let enterprise = app.cork.enterprise().await?;
    Ok(json_ok(select(member_json(&app, &view, &enterprise.id), &Fields::from(&req.params, "fields", Some(MEMBER_FIELDS)))))
}

async fn put_member_flag(app: App, id: String, member: String, req: Req, flag: MemberFlag) -> ApiResult {
    let value = req.params.bool("value")?.ok_or_else(|| ApiError::invalid_value("value"))?;
    let view = app.cork.set_enterprise_member_flag(&req.actor, &id, &member, flag, value).await?;
    let enterprise = app.cork.enterprise().await?;
    Ok(json_ok(select(member_json(&app, &view, &enterprise.id), &Fields::from(&req.params, "fields", Some(MEMBER_FIELDS)))))
}

async fn put_member_deactivated(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    put_member_flag(app, id, member, req, MemberFlag::Deactivated).await
}

async fn put_member_licensed(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    put_member_flag(app, id, member, req, MemberFlag::Licensed).await
}

async fn get_orgs(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let start = p.int("startIndex", 1, 9999)?.unwrap_or(1);
    let count = p.int("count", 0, 100)?.unwrap_or(100);
    let orgs = app.cork.enterprise_orgs(&req.actor, &id).await?;
    let filter = p.str("filter").unwrap_or_else(|| "all".into());
    let orgs: Vec<Organization> = orgs
        .into_iter()
        .filter(|o| filter != "public" || o.prefs.get("permissionLevel").and_then(Value::as_str) == Some("public"))
        .collect();
    Ok(json_ok(many(page(orgs, start, count).iter().map(|o| app.render.organization(o, None, None)), &Fields::from(p, "fields", None))))
}

/// "Transfers" a workspace: it is already in the instance enterprise, so this checks
/// it and answers with it.
async fn put_org(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let org = req.params.text("idOrganization")?.ok_or_else(|| ApiError::invalid_value("idOrganization"))?;
    let orgs = app.cork.enterprise_orgs_named(&req.actor, &id, &[org]).await?;
    Ok(json_ok(Value::Array(orgs.iter().map(|o| app.render.organization(o, None, None)).collect())))
}

fn id_list(raw: &str) -> Vec<String> {
    raw.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

async fn get_orgs_bulk(State(app): State<App>, Path((id, orgs)): Path<(String, String)>, req: Req) -> ApiResult {
    let orgs = app.cork.enterprise_orgs_named(&req.actor, &id, &id_list(&orgs)).await?;
    Ok(json_ok(Value::Array(orgs.iter().map(|o| app.render.organization(o, None, None)).collect())))
}

async fn delete_org(State(app): State<App>, Path((id, org)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.remove_enterprise_org(&req.actor, &id, &org).await?;
    Ok(json_ok(json!({"_value": null})))
}

/// A workspace already in the enterprise cannot be transferred into it again.
/// The spec's TransferrableOrganization (no id: trello.js refuses one, run strict); the
/// bulk answer keeps the order of the ids asked for.
fn transferrability(_org: &Organization) -> Value {
    json!({"transferrable": false, "newBillableMembers": [], "restrictedMembers": []})
}

async fn get_transferrable(State(app): State<App>, Path((id, org)): Path<(String, String)>, req: Req) -> ApiResult {
    let orgs = app.cork.enterprise_orgs_named(&req.actor, &id, &[org]).await?;
    Ok(json_ok(orgs.first().map(transferrability).unwrap_or(Value::Null)))
}

async fn get_transferrable_bulk(State(app): State<App>, Path((id, orgs)): Path<(String, String)>, req: Req) -> ApiResult {
    let orgs = app.cork.enterprise_orgs_named(&req.actor, &id, &id_list(&orgs)).await?;
    Ok(json_ok(Value::Array(orgs.iter().map(transferrability).collect())))
}

/// Members join Cork through its own server: the signup url is Cork's public url.
async fn get_signup_url(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    for flag in ["authenticate", "confirmationAccepted", "tosAccepted"] {
        req.params.bool(flag)?;
    }
    app.cork.enterprise_by_reference(&id).await?;
    Ok(json_ok(json!({"signupUrl": format!("{}/", app.render.base_url)})))
}

/// An enterprise-scoped token for the requesting admin (see `mint_enterprise_token` for
/// the limits that keep it from outliving the token that asked for it).
async fn post_token(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let expiration = req.params.text("expiration")?.filter(|e| e != "none" && !e.is_empty());
    let minted = app.cork.mint_enterprise_token(&req.actor, &id, expiration.as_deref()).await?;
    let token = &minted.token;
    Ok(json_ok(json!({
        "id": token.id,
        "identifier": token.identifier,
        "idMember": token.id_member,
        "dateCreated": token.date_created,
        "dateExpires": token.date_expires,
        "permissions": token.permissions,
        "token": minted.secret,
    })))
}

/// Declines join requests of the given workspaces: there are none, so this checks the
/// workspaces and changes nothing.
async fn put_join_requests(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let orgs = req.params.list("idOrganizations")?.unwrap_or_default();
    app.cork.enterprise_orgs_named(&req.actor, &id, &orgs).await?;
    Ok(json_ok(json!({"_value": null})))
}

async fn get_member_enterprises(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let enterprises = app.cork.member_enterprises(&req.actor, &id).await?;
    let view = app.cork.enterprise_view(&req.actor, &enterprises[0].id, false).await?;
    let out = enterprise_json(&view.enterprise, &view.admins, &view.organizations, view.licensed_count);
    Ok(json_ok(many([out], &Fields::from(&req.params, "fields", None))))
}
