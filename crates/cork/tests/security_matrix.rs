//! The security matrix: every route of the route table (`cork_api::route_paths()`, so new
//! routes join without editing this file) × every method it serves × four callers who
//! must not reach a victim's private objects:
//!
//! - `outsider`: a member with a full token and no access to the victim's board;
//! - `reader`: a member of the board whose token has only the `read` scope (writes only);
//! - `narrowed`: the victim's own per-board token for another board;
//! - `narrowed-org`: the victim's own token narrowed to another workspace (read-write);
//! - `anonymous`: no credentials;
//! - `self-read`: the victim's own token with only the `read` scope (writes only);
//! - `self-no-account`: the victim's own `read,write` token, on the routes that change the
//!   member's own account, preferences, stars, tokens and notifications (writes only).
//!
//! Each case passes when the caller is refused (401, 404, or 400/403 for input refused
//! before anything is read), or when the route is classified below as open to that
//! caller; in every case the answer must not contain the secret marker the victim's
//! objects are named with, and after a write the victim's board, workspace,
//! notifications, stars and tokens must be exactly as before. A method a path does not
//! serve (`Cannot METHOD ...`) is skipped. The test prints
//! `security matrix: N passed, M failed` (N counts route × method × case).

mod common;

use std::collections::BTreeMap;

use common::{s, Body, Client, Resp, Server};
use cork_api::ApiConfig;
use serde_json::{json, Value};

const ZERO_ID: &str = "000000000000000000000000";

/// A 1×1 PNG for the upload routes.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63,
    0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

static CALLBACKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Routes a caller outside the board may get a 2xx from, each with its reason. The
/// marker check and the before/after comparison still apply to them.
const OPEN: &[(&str, &str, &str, &str)] = &[
    // (method, path, cases, reason)
    ("GET", "/1/emoji", "outsider,narrowed,anonymous", "Trello's emoji table is public data"),
    (
        "GET",
        "/1/members/{id}",
        "outsider,narrowed,anonymous",
        "a member's public profile; boards listed only where the caller may read them",
    ),
    ("GET", "/1/members/{id}/{field}", "outsider,narrowed,anonymous", "one field of the public profile"),
    ("GET", "/1/members/{id}/boards", "outsider,narrowed,anonymous", "filtered to the boards the caller may read (public ones for anyone)"),
    ("GET", "/1/members/{id}/boards/{filter}", "outsider,narrowed,anonymous", "filtered to the boards the caller may read"),
    ("GET", "/1/members/{id}/cards", "outsider,narrowed,anonymous", "filtered to the cards on boards the caller may read"),
    ("GET", "/1/members/{id}/cards/{filter}", "outsider,narrowed,anonymous", "filtered to the cards on boards the caller may read"),
    ("GET", "/1/members/{id}/organizations", "outsider,narrowed,anonymous", "filtered to the workspaces the caller may read"),
    ("GET", "/1/members/{id}/organizations/{filter}", "outsider,narrowed,anonymous", "filtered to the workspaces the caller may read"),
    ("GET", "/1/search", "outsider,narrowed", "results filtered to what the caller may read"),
    ("GET", "/1/search/members", "outsider,narrowed", "members sharing a board the caller may read"),
    ("GET", "/1/batch", "outsider,narrowed,anonymous", "a 200 whose inner answers are each checked (they must all be refusals)"),
    ("GET", "/1/enterprises/{id}", "outsider,narrowed", "the instance enterprise's record, the same for every member"),
    ("GET", "/1/members/{id}/enterprises", "outsider,narrowed", "the instance enterprise every member belongs to"),
    ("POST", "/1/notifications/all/read", "outsider", "marks the caller's own notifications"),
    ("POST", "/1/organizations", "outsider", "creates a workspace of the caller's own"),
    ("GET", "/1/types/{id}", "outsider,narrowed,anonymous", "tells a member id from a workspace id (Trello's public lookup)"),
    // The instance is one enterprise holding every member (enterprise.rs): its directory
    // is visible to members; a per-board token is refused it.
    ("GET", "/1/enterprises/{id}/admins", "outsider", "the instance's administrators, visible to every member of the instance"),
    ("GET", "/1/enterprises/{id}/members", "outsider", "the instance's member directory, visible to its members"),
    ("GET", "/1/enterprises/{id}/members/{member}", "outsider", "one entry of the member directory"),
    ("GET", "/1/enterprises/{id}/organizations", "outsider", "filtered to the workspaces the caller may read"),
    ("GET", "/1/enterprises/{id}/signupUrl", "outsider,narrowed,anonymous", "the instance's public address, the same for anyone"),
    // Trello lets a token watch what it can read; the webhook belongs to the caller's token.
    ("POST", "/1/webhooks", "reader,self-read", "a read-only token may watch the board it reads (facts §11)"),
    ("PUT", "/1/webhooks", "reader,self-read", "the old API's create: a read-only token may watch the board it reads"),
    // `/tokens/{token}/...` carries the token's secret: its holder manages that token's
    // webhooks, which need only the read scope.
    ("POST", "/1/tokens/{token}/webhooks", "self-read,self-no-account", "the path token's holder watches what that token reads"),
    ("PUT", "/1/tokens/{token}/webhooks", "self-read,self-no-account", "the path token's holder watches what that token reads"),
    ("PUT", "/1/tokens/{token}/webhooks/{id}", "self-read,self-no-account", "the path token's holder manages its webhooks"),
    ("DELETE", "/1/tokens/{token}/webhooks/{id}", "self-read,self-no-account", "the path token's holder manages its webhooks"),
    ("GET", "/1/sessions/socket", "outsider,narrowed", "the caller's own session (no board data)"),
    // Presence: the caller's own session record, whatever the id; it shows no board the
    // caller cannot read.
    ("POST", "/1/sessions", "outsider,reader,narrowed,self-read", "the caller's own presence session"),
    ("PUT", "/1/sessions/{id}", "outsider,reader,narrowed,self-read", "the caller's own presence session"),
    ("PUT", "/1/sessions/{id}/status", "outsider,reader,narrowed,self-read", "the caller's own presence session"),
    // Browser pages: without a session they show the login form and reveal nothing.
    ("GET", "/login", "outsider,narrowed,anonymous", "the login page"),
    ("GET", "/account", "outsider,narrowed,anonymous", "asks for a login without a session"),
    ("GET", "/account/password", "outsider,narrowed,anonymous", "asks for a login without a session"),
    ("GET", "/account/tokens", "outsider,narrowed,anonymous", "asks for a login without a session"),
    ("GET", "/app-key", "outsider,narrowed,anonymous", "asks for a login without a session"),
    ("GET", "/1/authorize", "outsider,narrowed,anonymous", "the consent flow asks for a login without a session"),
    // The review queue across boards: filtered to boards the caller administers (none here).
    ("GET", "/cork/changeRequests", "outsider,narrowed", "lists only the requests of boards the caller administers: none"),
    // Imports: a member's own jobs, writing only a board of that member's own.
    ("GET", "/cork/imports", "outsider", "lists the caller's own import jobs: none"),
    ("POST", "/cork/imports", "outsider", "starts an import of the caller's own (this body is no export, so the job fails)"),
    ("GET", "/cork/mirrors", "outsider,narrowed,narrowed-org", "lists the mirrors of boards the caller (or token) can read: none"),
    // Probes and metrics for operators: no board data (the marker check proves it).
    ("GET", "/cork/health", "outsider,narrowed,narrowed-org,anonymous", "the liveness probe: the process answers"),
    ("GET", "/cork/ready", "outsider,narrowed,narrowed-org,anonymous", "the readiness probe: database, migrations, worker"),
    (
        "GET",
        "/cork/metrics",
        "outsider,narrowed,narrowed-org,anonymous",
        "Prometheus counts by route template, served to loopback scrapers (the tests are on loopback)",
    ),
    // The API contract (OpenAPI), generated from the route table: no data, no credentials.
    ("GET", "/cork/openapi.json", "outsider,narrowed,narrowed-org,anonymous", "the OpenAPI document of the routes Cork serves"),
    // The web board's page shell: without a session every URL sends the visitor to log in.
    ("GET", "/", "outsider,narrowed,anonymous", "the web board asks for a login without a session"),
    ("GET", "/b/{short_link}", "outsider,narrowed,anonymous", "the web board asks for a login without a session"),
    ("GET", "/b/{short_link}/{slug}", "outsider,narrowed,anonymous", "the web board asks for a login without a session"),
    ("GET", "/c/{short_link}", "outsider,narrowed,anonymous", "the web board asks for a login without a session"),
    ("GET", "/c/{short_link}/{slug}", "outsider,narrowed,anonymous", "the web board asks for a login without a session"),
    ("GET", "/r/{short_link}", "outsider,narrowed,anonymous", "the web board asks for a login without a session"),
    ("GET", "/search", "outsider,narrowed,anonymous", "the web board asks for a login without a session"),
    ("GET", "/review", "outsider,narrowed,anonymous", "the web board asks for a login without a session"),
    ("GET", "/import", "outsider,narrowed,anonymous", "the web board asks for a login without a session"),
    (
        "GET",
        "/assets/{version}/{name}",
        "outsider,narrowed,anonymous",
        "the web board's own script and style files (404 here: no such file)",
    ),
];

/// The victim's own per-board token may use the member's own account routes: they hold
/// no board data (the marker check proves it) and the `account` scope allows them.
fn narrowed_self_route(path: &str) -> bool {
    path.starts_with("/1/members/{id}")
        || path.starts_with("/1/tokens/{token}")
        || path.starts_with("/1/notifications/all")
        || path.starts_with("/1/applications/{key}")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Case {
    Outsider,
    Reader,
    Narrowed,
    NarrowedOrg,
    Anonymous,
    SelfRead,
    SelfNoAccount,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Outsider => "outsider",
            Case::Reader => "reader",
            Case::Narrowed => "narrowed",
            Case::NarrowedOrg => "narrowed-org",
            Case::Anonymous => "anonymous",
            Case::SelfRead => "self-read",
            Case::SelfNoAccount => "self-no-account",
        }
    }
}

/// The victim's objects and the callers.
struct World {
    marker: String,
    /// Mutable only to seed a webhook again after a caller allowed to delete it did.
    ids: std::sync::Mutex<BTreeMap<&'static str, String>>,
    victim: Client,
    /// Another full token of the victim, for the before/after views (the victim's first
    /// token is a path parameter some callers try to revoke).
    observer: Client,
    victim_token: String,
    outsider: Client,
    reader: Client,
    narrowed: Client,
    narrowed_org: Client,
    anonymous: Client,
    self_read: Client,
    self_no_account: Client,
    callback: String,
}

impl World {
    fn id(&self, name: &str) -> String {
        self.ids.lock().unwrap().get(name).cloned().unwrap_or_else(|| ZERO_ID.to_string())
    }

    fn client(&self, case: Case) -> &Client {
        match case {
            Case::Outsider => &self.outsider,
            Case::Reader => &self.reader,
            Case::Narrowed => &self.narrowed,
            Case::NarrowedOrg => &self.narrowed_org,
            Case::Anonymous => &self.anonymous,
            Case::SelfRead => &self.self_read,
            Case::SelfNoAccount => &self.self_no_account,
        }
    }

    /// The value of one `{param}`, from its name and the segment before it.
    fn param(&self, name: &str, before: &str, path: &str) -> String {
        let in_org = path.starts_with("/1/organizations/");
        match (name, before) {
            ("field", _) if path == "/1/members/{id}/{field}" => "fullName".into(),
            ("field", _) if path == "/1/webhooks/{id}/{field}" => "description".into(),
            ("field", "{id}") if path == "/1/boards/{id}/{field}/{sub}" => "labelNames".into(),
            ("sub", _) if path == "/1/boards/{id}/{field}/{sub}" => "green".into(),
            ("pref", "prefs") if in_org => "associatedDomain".into(),
            ("membership", _) if in_org => self.id("orgMembership"),
            ("reaction", _) => self.id("reaction"),
            ("id", "actions") => self.id("action"),
            ("id", "boards") => self.id("board"),
            ("id", "cards") => self.id("card"),
            ("id", "checklists") => self.id("checklist"),
            ("id", "customFields") => self.id("customField"),
            ("id", "labels") => self.id("label"),
            ("id", "lists") => self.id("list"),
            ("id", "members") => self.id("member"),
            ("id", "notifications") => self.id("notification"),
            ("id", "organizations") => self.id("org"),
            ("id", "enterprises") => self.id("enterprise"),
            ("id", "webhooks") => self.id("webhook"),
            ("id", "types") => self.id("org"),
            ("field", "customField") => self.id("customField"),
            ("field", _) => "name".into(),
            ("token", _) => self.victim_token.clone(),
            ("item", _) => self.id("checkItem"),
            ("checklist", _) => self.id("checklist"),
            ("label", _) => self.id("label"),
            ("member", _) => self.id("reader"),
            ("membership", _) => self.id("membership"),
            ("attachment", _) => self.id("attachment"),
            ("action", _) => self.id("action"),
            ("star", _) => self.id("star"),
            ("search", _) => self.id("savedSearch"),
            ("sticker", _) => self.id("sticker"),
            ("board", _) => self.id("board"),
            ("org", _) | ("orgs", _) => self.id("org"),
            ("filter", _) => "all".into(),
            ("pref", "myPrefs") => "showSidebar".into(),
            ("pref", _) => "colorBlind".into(),
            ("channel", _) => "email".into(),
            ("keys", _) => "all".into(),
            ("key", "applications") => self.victim.key.clone().unwrap_or_default(),
            ("file", _) => "file.txt".into(),
            ("sub", _) => "name".into(),
            _ => ZERO_ID.into(),
        }
    }

    /// The path with its parameters filled, and the query some routes need.
    fn fill(&self, path: &str) -> String {
        let segments: Vec<&str> = path.split('/').collect();
        let mut out = Vec::with_capacity(segments.len());
        for (at, segment) in segments.iter().enumerate() {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                out.push(self.param(name, if at > 0 { segments[at - 1] } else { "" }, path));
            } else {
                out.push(segment.to_string());
            }
        }
        let mut filled = out.join("/");
        let query = match path {
            // A prefix of the marker (the answer echoes the query): it matches every seeded name.
            "/1/search" => format!("query={}&modelTypes=all&partial=true", &self.marker[..8]),
            "/1/search/members" => "query=vic".to_string(),
            "/1/batch" => {
                let urls = [
                    format!("/boards/{}", self.id("board")),
                    format!("/cards/{}", self.id("card")),
                    format!("/lists/{}", self.id("list")),
                    format!("/actions/{}", self.id("action")),
                    format!("/checklists/{}", self.id("checklist")),
                    format!("/labels/{}", self.id("label")),
                    format!("/organizations/{}", self.id("org")),
                    format!("/boards/{}/cards", self.id("board")),
                    format!("/customFields/{}", self.id("customField")),
                    format!("/notifications/{}", self.id("notification")),
                ];
                format!("urls={}", urls.join(","))
            }
            _ => String::new(),
        };
        if !query.is_empty() {
            filled.push('?');
            filled.push_str(&query);
        }
        filled
    }

    /// A body that would make most writes valid: a missing check, not bad input, must be
    /// what stops them.
    fn body(&self, case: Case, path: &str) -> Body {
        let mut body = self.generic_body(case);
        // Values some routes check before anything else, so that the access check is what
        // refuses them.
        let specific = match path {
            "/1/actions/{id}/reactions" => json!({"shortName": "thumbsup"}),
            "/1/cards/{id}/customField/{field}/item" => json!({"value": {"text": "pwned"}}),
            "/1/cards/{id}/customFields" => {
                json!({"customFieldItems": [{"idCustomField": self.id("customField"), "value": {"text": "pwned"}}]})
            }
            "/1/cards/{id}/labels" | "/1/cards/{id}/idLabels" => json!({"value": self.id("label")}),
            "/1/cards/{id}/membersVoted" => json!({"value": body["idMember"]}),
            "/1/customFields" => json!({"type": "text"}),
            "/1/members/{id}/boardStars/{star}/pos" => json!({"value": "top"}),
            "/1/members/{id}/notificationsChannelSettings" => json!({"channel": "email", "blockedKeys": "notification_comment_card"}),
            "/1/members/{id}/notificationsChannelSettings/{channel}" => json!({"blockedKeys": "notification_comment_card"}),
            "/1/members/{id}/notificationsChannelSettings/{channel}/{keys}" => {
                json!({"blockedKeys": "notification_comment_card", "value": "notification_comment_card"})
            }
            "/1/members/{id}/prefs/{pref}" | "/1/notifications/{id}/unread" => json!({"value": "true"}),
            p if p.ends_with("/deactivated") || p.ends_with("/licensed") => json!({"value": "true"}),
            p if p.starts_with("/1/sessions") => json!({"status": "active"}),
            _ => json!({}),
        };
        if let (Value::Object(body), Value::Object(specific)) = (&mut body, specific) {
            body.extend(specific);
        }
        // Uploads: a real multipart body with a small PNG.
        let uploads = ["/avatar", "/boardBackgrounds", "/customBoardBackgrounds", "/customEmoji", "/customStickers", "/logo"];
        if uploads.iter().any(|u| path.ends_with(u)) {
            let boundary = "corkmatrixboundary";
            let mut bytes = Vec::new();
            for (name, value) in [("name", "pwned"), ("idModel", body["idModel"].as_str().unwrap_or_default())] {
                bytes.extend_from_slice(
                    format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
                );
            }
            bytes.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n"
                )
                .as_bytes(),
            );
            bytes.extend_from_slice(PNG);
            bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            return Body::Raw("multipart/form-data; boundary=corkmatrixboundary", bytes);
        }
        Body::Json(body)
    }

    fn generic_body(&self, case: Case) -> Value {
        let me = match case {
            Case::Anonymous => self.id("member"),
            _ => self.client(case).id.clone(),
        };
        json!({
            "name": "pwned", "desc": "pwned", "text": "pwned", "value": "pwned", "closed": "true",
            "pos": "top", "idList": self.id("list"), "idBoard": self.id("board"), "idCard": self.id("card"),
            "idModel": self.id("board"), "modelType": "board", "idOrganization": self.id("org"),
            "idBoardSource": self.id("board"), "idCardSource": self.id("card"), "idChecklistSource": self.id("checklist"),
            "idChecklist": self.id("checklist"), "idCheckItem": self.id("checkItem"), "idLabel": self.id("label"),
            "idMember": me, "idMembers": me, "type": "normal", "color": "red", "state": "complete",
            "url": "https://example.test/x", "email": "pwned@example.test",
            // A new callback each time, so that no webhook is refused as a duplicate.
            "callbackURL": format!("{}/{}", self.callback, CALLBACKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
            "fullName": "pwned", "displayName": "pwned", "image": "taco-cool", "top": "0", "left": "0", "zIndex": "1",
            "query": "pwned", "ids": self.id("notification"), "unread": "false", "keepFromSource": "all",
            "idAction": self.id("action"), "idAttachmentCover": self.id("attachment"),
        })
    }

    /// What must not change: the victim's view of its board, workspace, notifications,
    /// stars and tokens, and its own account (profile, preferences, saved searches, ...).
    async fn snapshot(&self) -> (String, String) {
        let board = self.id("board");
        let views = [
            format!("/1/boards/{board}?lists=all&cards=all&labels=all&memberships=all&checklists=all&customFields=true&card_customFieldItems=true&card_attachments=true&card_stickers=true&actions=all&actions_limit=1000&fields=all"),
            format!("/1/organizations/{}?memberships=all&boards=all", self.id("org")),
            "/1/members/me/notifications?filter=all&read_filter=all".to_string(),
            "/1/members/me/boardStars".to_string(),
            "/1/members/me/tokens".to_string(),
            format!("/1/members/{}/boards", self.id("member")),
        ];
        let board = self.id("board");
        let account = [
            "/1/members/me?fields=all".to_string(),
            "/1/members/me/savedSearches".to_string(),
            "/1/members/me/customEmoji".to_string(),
            "/1/members/me/customStickers".to_string(),
            "/1/members/me/customBoardBackgrounds".to_string(),
            "/1/members/me/notificationsChannelSettings".to_string(),
            "/1/members/me/oneTimeMessagesDismissed".to_string(),
            format!("/1/boards/{board}/myPrefs"),
        ];
        let mut mine = String::new();
        for view in account {
            let resp = self.observer.get(&view).await;
            mine.push_str(&format!("{view}: {} {}\n", resp.status, resp.text));
        }
        let mut all = String::new();
        for view in views {
            let resp = self.observer.get(&view).await;
            let mut body: Value = serde_json::from_str(&resp.text).unwrap_or(Value::String(resp.text.clone()));
            strip_profiles(&mut body);
            all.push_str(&format!("{view}: {} {body}\n", resp.status));
        }
        (mine, all)
    }

    /// Seeds the webhook again when a caller allowed to delete it did, so the routes
    /// after it still meet a live one.
    async fn reseed_webhook(&self) {
        let id = self.id("webhook");
        if id == ZERO_ID || self.victim.get(&format!("/1/webhooks/{id}")).await.status != 404 {
            return;
        }
        let hook = self
            .victim
            .post("/1/webhooks", json!({"callbackURL": self.callback, "idModel": self.id("board"), "description": self.marker}))
            .await;
        if hook.status == 200 {
            self.ids.lock().unwrap().insert("webhook", s(&hook.json(), "id"));
        }
    }
}

/// Drops member profile fields: the member may change its own profile with any token
/// that has the `account` scope (the narrowed one too); that is not a change to the board.
fn strip_profiles(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in ["fullName", "initials", "bio", "avatarHash", "avatarUrl", "dateLastActive"] {
                map.remove(key);
            }
            map.values_mut().for_each(strip_profiles);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_profiles),
        _ => {}
    }
}

/// The routes that change the member's own account, preferences, stars, tokens and
/// notifications: the `account` scope's domain.
fn account_route(path: &str) -> bool {
    path.starts_with("/1/members/{id}")
        || path.starts_with("/1/notifications")
        || path.starts_with("/1/tokens/{token}")
        || path.starts_with("/1/boards/{id}/myPrefs")
        || path.ends_with("/markAssociatedNotificationsRead")
}

fn open_to(method: &str, path: &str, case: Case) -> Option<&'static str> {
    // Both narrowed tokens are classified as `narrowed`.
    let name = if case == Case::NarrowedOrg { "narrowed" } else { case.name() };
    OPEN.iter().find(|(m, p, cases, _)| *m == method && *p == path && cases.split(',').any(|c| c == name)).map(|(_, _, _, why)| *why)
}

fn refused(status: u16) -> bool {
    matches!(status, 400 | 401 | 403 | 404)
}

async fn seed(server: &Server, callback: String) -> World {
    let marker = format!("zqxsecret{}", std::process::id());
    let victim = server.user("vic").await;
    let reader_full = server.user("rita").await;
    let outsider = server.user("mallory").await;
    let mut ids = BTreeMap::new();
    ids.insert("member", victim.id.clone());
    ids.insert("reader", reader_full.id.clone());
    let org = victim.post("/1/organizations", json!({"displayName": format!("{marker} workspace"), "desc": marker})).await.ok();
    ids.insert("org", s(&org, "id"));
    let board = victim
        .post(
            "/1/boards",
            json!({"name": format!("{marker} board"), "desc": marker, "defaultLists": false, "defaultLabels": false,
                   "idOrganization": s(&org, "id"), "prefs_permissionLevel": "private", "prefs_voting": "members"}),
        )
        .await
        .ok();
    let board_id = s(&board, "id");
    ids.insert("board", board_id.clone());
    let list = victim.post("/1/lists", json!({"name": format!("{marker} list"), "idBoard": board_id})).await.ok();
    ids.insert("list", s(&list, "id"));
    let card = victim.post("/1/cards", json!({"name": format!("{marker} card"), "desc": marker, "idList": s(&list, "id")})).await.ok();
    let card_id = s(&card, "id");
    ids.insert("card", card_id.clone());
    let label = victim.post("/1/labels", json!({"name": format!("{marker} label"), "color": "green", "idBoard": board_id})).await.ok();
    ids.insert("label", s(&label, "id"));
    victim.post(&format!("/1/cards/{card_id}/idLabels"), json!({"value": s(&label, "id")})).await.ok();
    let checklist = victim.post("/1/checklists", json!({"name": format!("{marker} checklist"), "idCard": card_id})).await.ok();
    ids.insert("checklist", s(&checklist, "id"));
    let item =
        victim.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": format!("{marker} item")})).await.ok();
    ids.insert("checkItem", s(&item, "id"));
    let comment = victim.post(&format!("/1/cards/{card_id}/actions/comments"), json!({"text": format!("{marker} comment")})).await.ok();
    ids.insert("action", s(&comment, "id"));
    let reaction = victim.post(&format!("/1/actions/{}/reactions", s(&comment, "id")), json!({"shortName": "thumbsup"})).await;
    if reaction.status == 200 {
        ids.insert("reaction", s(&reaction.json(), "id"));
    } else {
        println!("note: no reaction seeded ({} {})", reaction.status, reaction.text);
    }
    let attachment = victim
        .post(&format!("/1/cards/{card_id}/attachments"), json!({"url": format!("https://example.test/{marker}"), "name": marker}))
        .await
        .ok();
    ids.insert("attachment", s(&attachment, "id"));
    let field = victim
        .post("/1/customFields", json!({"idModel": board_id, "modelType": "board", "name": format!("{marker} field"), "type": "text"}))
        .await
        .ok();
    ids.insert("customField", s(&field, "id"));
    victim.put(&format!("/1/cards/{card_id}/customField/{}/item", s(&field, "id")), json!({"value": {"text": marker}})).await.ok();
    let sticker =
        victim.post(&format!("/1/cards/{card_id}/stickers"), json!({"image": "taco-cool", "top": 0, "left": 0, "zIndex": 1})).await.ok();
    ids.insert("sticker", s(&sticker, "id"));
    let star = victim.post("/1/members/me/boardStars", json!({"idBoard": board_id, "pos": "top"})).await.ok();
    ids.insert("star", s(&star, "id"));
    let search = victim.post("/1/members/me/savedSearches", json!({"name": "mine", "query": "board", "pos": "top"})).await.ok();
    ids.insert("savedSearch", s(&search, "id"));
    // The reader is a normal member of the board, so only its token's scope stops writes.
    victim.put(&format!("/1/boards/{board_id}/members/{}", reader_full.id), json!({"type": "normal"})).await.ok();
    // The reader is also a normal member of the workspace (which gives nothing on a
    // private board), for the workspace membership routes.
    victim.put(&format!("/1/organizations/{}/members/{}", s(&org, "id"), reader_full.id), json!({"type": "normal"})).await.ok();
    let org_memberships = victim.get(&format!("/1/organizations/{}/memberships", s(&org, "id"))).await.ok();
    let org_membership = org_memberships
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["idMember"] == json!(reader_full.id))
        .expect("reader's workspace membership")
        .clone();
    ids.insert("orgMembership", s(&org_membership, "id"));
    let memberships = victim.get(&format!("/1/boards/{board_id}/memberships")).await.ok();
    let membership =
        memberships.as_array().unwrap().iter().find(|m| m["idMember"] == json!(reader_full.id)).expect("reader's membership").clone();
    ids.insert("membership", s(&membership, "id"));
    // A notification for the victim: the reader adds them to the card.
    reader_full.post(&format!("/1/cards/{card_id}/idMembers"), json!({"value": victim.id})).await.ok();
    let notifications = victim.get("/1/members/me/notifications").await.ok();
    let notification = notifications.as_array().and_then(|n| n.first()).expect("a notification for the victim").clone();
    ids.insert("notification", s(&notification, "id"));
    let enterprise = victim.get("/1/members/me/enterprises").await;
    if let Some(id) = enterprise.json().as_array().and_then(|e| e.first()).and_then(|e| e["id"].as_str()) {
        ids.insert("enterprise", id.to_string());
    }
    // A webhook of the victim's token on the board, when webhooks can be created here.
    let hook = victim.post("/1/webhooks", json!({"callbackURL": callback, "idModel": board_id, "description": marker})).await;
    if hook.status == 200 {
        ids.insert("webhook", s(&hook.json(), "id"));
    } else {
        println!("note: no webhook seeded ({} {})", hook.status, hook.text);
    }
    // The victim's own token narrowed to another board.
    let other = victim.board("elsewhere").await;
    let member = server.cork.member_by_username("vic").await.expect("victim");
    let grant = cork_core::accounts::TokenGrant {
        key: None,
        app: "narrow".into(),
        scopes: vec!["read".into(), "write".into(), "account".into()],
        expires: None,
        models: vec![cork_core::model::TokenPermission { id_model: s(&other, "id"), model_type: "Board".into(), read: true, write: true }],
    };
    let issued = server.cork.issue(&member, grant).await.expect("narrowed token");
    let narrowed = Client { key: Some(issued.key), token: Some(issued.token), ..victim.clone() };
    // And one narrowed to another workspace of the victim's (read-write), with a board in it.
    let other_org = victim.post("/1/organizations", json!({"displayName": "Elsewhere"})).await.ok();
    victim.post("/1/boards", json!({"name": "elsewhere too", "idOrganization": other_org["id"], "defaultLists": false})).await.ok();
    let grant = cork_core::accounts::TokenGrant {
        key: None,
        app: "narrow-org".into(),
        scopes: vec!["read".into(), "write".into(), "account".into()],
        expires: None,
        models: vec![cork_core::model::TokenPermission {
            id_model: s(&other_org, "id"),
            model_type: "Organization".into(),
            read: true,
            write: true,
        }],
    };
    let issued = server.cork.issue(&member, grant).await.expect("narrowed token");
    let narrowed_org = Client { key: Some(issued.key), token: Some(issued.token), ..victim.clone() };
    let reader = server.token_for(&reader_full, &["read"]).await;
    let observer = server.token_for(&victim, &["read", "write", "account"]).await;
    let self_read = server.token_for(&victim, &["read"]).await;
    let self_no_account = server.token_for(&victim, &["read", "write"]).await;
    let victim_token = victim.token.clone().expect("victim token");
    World {
        marker,
        ids: std::sync::Mutex::new(ids),
        victim,
        observer,
        victim_token,
        outsider,
        reader,
        narrowed,
        narrowed_org,
        anonymous: server.anonymous(),
        self_read,
        self_no_account,
        callback,
    }
}

/// A receiver that accepts webhooks' HEAD checks and deliveries.
async fn receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
    let address = listener.local_addr().expect("address");
    let app = axum::Router::new().fallback(|| async { "ok" });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}/hook")
}

/// The matrix's requests are probes, not a client's use of the routes: they stay out of
/// the route logs the compatibility table is made from.
fn matrix_config(config: &mut ApiConfig) {
    config.route_log = None;
    if let Ok(list) = cork_api::webhooks::AllowList::parse("127.0.0.1") {
        config.webhooks.allowed_hosts = list;
    }
}

/// Inner answers of a batch must all be refusals.
fn batch_leaks(resp: &Resp) -> Option<String> {
    let items = resp.json();
    let items = items.as_array()?;
    items.iter().find(|item| item.get("200").is_some()).map(|item| format!("inner request answered 200: {item}"))
}

async fn run_matrix(server: Server) {
    let callback = receiver().await;
    let world = seed(&server, callback).await;
    let before = world.snapshot().await;
    assert_eq!(before, world.snapshot().await, "the snapshot is stable under reads");
    assert!(before.1.contains(&world.marker), "the victim sees its own objects");
    let paths = cork_api::route_paths();
    assert!(paths.len() > 200, "the route table lists every route ({})", paths.len());
    let mut passed = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut refused_with_400: Vec<String> = Vec::new();
    // Scope refusals other than 401 (a missing object or an HTML page's 403 first).
    let mut scope_refusals: Vec<String> = Vec::new();
    let mut open_answers = 0usize;
    let mut served = 0usize;
    let mut current = before.clone();
    for path in &paths {
        let target = world.fill(path);
        for method in ["GET", "POST", "PUT", "DELETE"] {
            let writes = method != "GET";
            let mut served_here = false;
            let cases =
                [Case::Anonymous, Case::Outsider, Case::Reader, Case::Narrowed, Case::NarrowedOrg, Case::SelfRead, Case::SelfNoAccount];
            for case in cases {
                let writes_only = matches!(case, Case::Reader | Case::SelfRead | Case::SelfNoAccount);
                if writes_only && !writes || case == Case::SelfNoAccount && !account_route(path) {
                    continue;
                }
                let client = world.client(case);
                let body = if writes { world.body(case, path) } else { Body::None };
                let resp = client.send(method, &target, body).await;
                if resp.status == 404 && resp.text.starts_with(&format!("Cannot {method} ")) {
                    // The path does not take this method (learnt from the first caller).
                    break;
                }
                served_here = true;
                let label = format!("{method} {path} [{}]", case.name());
                let mut problems = Vec::new();
                // The reader is a member of the board: it may read what it cannot change.
                if matches!(case, Case::Outsider | Case::Narrowed | Case::NarrowedOrg | Case::Anonymous)
                    && resp.text.contains(&world.marker)
                {
                    problems.push(format!("answer shows the victim's data: {}", clip(&resp.text)));
                }
                let success = (200..300).contains(&resp.status);
                if success {
                    let narrowed = matches!(case, Case::Narrowed | Case::NarrowedOrg);
                    let allowed = open_to(method, path, case).is_some() || (narrowed && narrowed_self_route(path));
                    if !allowed {
                        problems.push(format!("answered {} instead of refusing: {}", resp.status, clip(&resp.text)));
                    } else {
                        open_answers += 1;
                    }
                    if *path == "/1/batch" {
                        if let Some(leak) = batch_leaks(&resp) {
                            problems.push(leak);
                        }
                    }
                } else if !refused(resp.status) {
                    problems.push(format!("unexpected status {}: {}", resp.status, clip(&resp.text)));
                } else if resp.status == 400 {
                    refused_with_400.push(format!("{label}: {}", resp.text));
                } else if resp.status != 401 && matches!(case, Case::Reader | Case::SelfRead | Case::SelfNoAccount) {
                    scope_refusals.push(format!("{label}: {} {}", resp.status, clip(&resp.text)));
                }
                if writes {
                    let after = world.snapshot().await;
                    // The victim's per-board token may change the victim's own account (its
                    // `account` scope); nothing else may change anything.
                    let own_account_change = matches!(case, Case::Narrowed | Case::NarrowedOrg) && narrowed_self_route(path);
                    if after.1 != current.1 || (after.0 != current.0 && !own_account_change) {
                        problems.push("the victim's objects changed".to_string());
                    }
                    current = after;
                    if success {
                        world.reseed_webhook().await;
                        current = world.snapshot().await;
                    }
                }
                if problems.is_empty() {
                    passed += 1;
                } else {
                    failures.push(format!("{label}: {}", problems.join("; ")));
                }
            }
            if served_here {
                served += 1;
            }
        }
    }
    for failure in &failures {
        println!("FAIL {failure}");
    }
    println!("{} route x method pairs served of {} paths; {} open answers checked", served, paths.len(), open_answers);
    println!("refused with 400 (input checked before access; nothing read or changed): {}", refused_with_400.len());
    for line in &refused_with_400 {
        println!("  400 {line}");
    }
    println!("scope cases refused with another status than 401: {}", scope_refusals.len());
    for line in &scope_refusals {
        println!("  {line}");
    }
    common::report(server.backend(), &format!("security matrix: {} passed, {} failed", passed, failures.len()));
    assert!(failures.is_empty(), "security matrix: {} failed", failures.len());
}

fn clip(text: &str) -> String {
    text.chars().take(160).collect()
}

both_backends!(every_route_refuses_those_without_access, config = matrix_config, |server: Server| async move {
    run_matrix(server).await;
});
