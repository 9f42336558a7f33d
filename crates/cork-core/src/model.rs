//! The stored form of every Trello object. Field names are Trello's, so a stored
//! document reads like the object a client sees; derived fields (urls, labels,
//! memberships, limits) are added by the wire layer when it renders.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Cork user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub initials: String,
    pub email: Option<String>,
    #[serde(default)]
    pub bio: String,
    #[serde(default = "default_member_type")]
    pub member_type: String,
    #[serde(default)]
    pub confirmed: bool,
    #[serde(default)]
    pub avatar_hash: Option<String>,
    #[serde(default)]
    pub date_last_active: Option<String>,
    /// The member's own choices among Trello's member prefs (`colorBlind`, `locale`,
    /// `minutesBetweenSummaries`); missing ones read as Trello's defaults.
    #[serde(default)]
    pub prefs: Map<String, Value>,
}

fn default_member_type() -> String {
    "normal".into()
}

/// A workspace (Trello's organization).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub display_name: String,
    #[serde(default)]
    pub desc: String,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub prefs: Map<String, Value>,
    pub date_last_activity: String,
    /// The uploaded logo's file key (Trello's `logoHash`).
    #[serde(default)]
    pub logo_hash: Option<String>,
}

/// A member's role on a board or in a workspace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub id: String,
    pub id_model: String,
    pub id_member: String,
    pub member_type: String,
    #[serde(default)]
    pub unconfirmed: bool,
    #[serde(default)]
    pub deactivated: bool,
}

/// A board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Board {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub desc: String,
    pub closed: bool,
    pub id_organization: Option<String>,
    pub id_member_creator: String,
    pub short_link: String,
    #[serde(default)]
    pub pinned: bool,
    pub prefs: Map<String, Value>,
    pub date_last_activity: String,
    #[serde(default)]
    pub date_closed: Option<String>,
    #[serde(default)]
    pub subscribed: bool,
    /// Workspace tags (collections) the board is filed under.
    #[serde(default)]
    pub id_tags: Vec<String>,
}

impl Board {
    /// `private`, `org` or `public`.
    pub fn permission_level(&self) -> &str {
        self.prefs.get("permissionLevel").and_then(Value::as_str).unwrap_or("private")
    }
}

/// A list on a board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct List {
    pub id: String,
    pub name: String,
    pub closed: bool,
    pub id_board: String,
    pub pos: f64,
    #[serde(default)]
    pub subscribed: bool,
    #[serde(default)]
    pub soft_limit: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
}

/// The counters a card shows; kept up to date by every write that changes them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CardCounts {
    pub comments: i64,
    pub attachments: i64,
    pub check_items: i64,
    pub check_items_checked: i64,
    pub votes: i64,
}

/// A card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub desc: String,
    pub closed: bool,
    pub id_board: String,
    pub id_list: String,
    pub id_short: i64,
    pub short_link: String,
    pub pos: f64,
    pub due: Option<String>,
    pub start: Option<String>,
    #[serde(default)]
    pub due_complete: bool,
    #[serde(default)]
    pub due_reminder: Option<i64>,
    #[serde(default)]
    pub id_members: Vec<String>,
    #[serde(default)]
    pub id_labels: Vec<String>,
    #[serde(default)]
    pub id_members_voted: Vec<String>,
    #[serde(default)]
    pub id_checklists: Vec<String>,
    #[serde(default)]
    pub id_attachment_cover: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub location_name: Option<String>,
    #[serde(default)]
    pub coordinates: Option<Value>,
    #[serde(default)]
    pub is_template: bool,
    #[serde(default)]
    pub subscribed: bool,
    pub date_last_activity: String,
    #[serde(default)]
    pub counts: CardCounts,
}

/// A label of a board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    pub id: String,
    pub id_board: String,
    pub name: String,
    pub color: Option<String>,
}

/// A check item, stored inside its checklist.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CheckItem {
    pub id: String,
    pub name: String,
    pub state: String,
    pub pos: f64,
    pub id_checklist: String,
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub id_member: Option<String>,
}

/// A checklist on a card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Checklist {
    pub id: String,
    pub name: String,
    pub id_board: String,
    pub id_card: String,
    pub pos: f64,
    #[serde(default)]
    pub check_items: Vec<CheckItem>,
}

/// A link or an uploaded file attached to a card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: String,
    pub id_card: String,
    pub id_member: String,
    pub name: String,
    pub url: String,
    pub mime_type: Option<String>,
    pub bytes: Option<i64>,
    pub date: String,
    pub is_upload: bool,
    pub pos: f64,
    /// The uploaded file behind an upload (`isUpload`); `None` for links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<crate::files::FileRef>,
}

/// A member's star on a board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BoardStar {
    pub id: String,
    pub id_board: String,
    pub id_member: String,
    pub pos: f64,
}

/// One entry of the action log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub id: String,
    pub id_member_creator: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub date: String,
    pub data: Value,
    /// The application whose token made the change, when there was one.
    #[serde(default)]
    pub app_creator: Option<Value>,
}

/// An application key of a member.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppKey {
    pub id: String,
    pub id_member: String,
    pub name: String,
    /// Stored sealed (`crate::sealed`); in clear in memory.
    #[serde(with = "crate::sealed::field")]
    pub secret: String,
    pub date_created: String,
}

/// A token's grant on one model (`idModel` "*" for everything the member sees).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenPermission {
    pub id_model: String,
    pub model_type: String,
    pub read: bool,
    pub write: bool,
}

/// A token, stored without the token itself (only its hash, in the row).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub id: String,
    pub identifier: String,
    pub id_member: String,
    pub app_key: String,
    pub date_created: String,
    pub date_expires: Option<String>,
    pub scopes: Vec<String>,
    pub permissions: Vec<TokenPermission>,
    /// Cork's review gate on the token's writes (`destructive` or `writes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
}
