//! Trello's JSON shapes. Stored objects carry the fields Cork keeps; these functions
//! add what Trello derives (urls, labels, badges, limits, memberCreator) and apply
//! `fields=` selection. Nothing here touches the store.

use cork_core::model::*;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::params::Params;

/// Keeps `id` and the chosen fields of a rendered object. `all` (or nothing chosen
/// and no defaults) keeps everything.
pub fn select(value: Value, fields: &Fields) -> Value {
    let Fields::Some(names) = fields else { return value };
    let Value::Object(map) = value else { return value };
    let mut kept = Map::new();
    if let Some(id) = map.get("id") {
        kept.insert("id".into(), id.clone());
    }
    for name in names {
        if let Some(v) = map.get(name) {
            kept.insert(name.clone(), v.clone());
        }
    }
    Value::Object(kept)
}

/// A `fields` choice.
#[derive(Debug, Clone)]
pub enum Fields {
    All,
    Some(Vec<String>),
}

impl Fields {
    /// Reads `key` (e.g. `fields`, `card_fields`), falling back to `defaults`.
    pub fn from(params: &Params, key: &str, defaults: Option<&[&str]>) -> Fields {
        match params.str(key) {
            Some(text) if text == "all" => Fields::All,
            Some(text) => Fields::Some(text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()),
            None => match defaults {
                Some(names) => Fields::Some(names.iter().map(|s| s.to_string()).collect()),
                None => Fields::All,
            },
        }
    }

    /// True when the field will be shown.
    pub fn wants(&self, name: &str) -> bool {
        match self {
            Fields::All => true,
            Fields::Some(names) => names.iter().any(|n| n == name),
        }
    }
}

/// Default fields of `GET /boards/{id}`.
pub const BOARD_DEFAULT_FIELDS: &[&str] =
    &["name", "desc", "descData", "closed", "idOrganization", "pinned", "url", "shortUrl", "prefs", "labelNames"];

/// The lowercase, dash-separated slug Trello puts in urls.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "board".into()
    } else {
        out.chars().take(128).collect()
    }
}

fn limits() -> Value {
    json!({})
}

/// `labelNames`: the first label of each colour names it; the rest are "".
pub fn label_names(labels: &[Label]) -> Value {
    let mut names = Map::new();
    for base in cork_core::boards::LABEL_COLORS {
        for color in [base.to_string(), format!("{base}_dark"), format!("{base}_light")] {
            let name = labels.iter().find(|l| l.color.as_deref() == Some(color.as_str())).map(|l| l.name.clone()).unwrap_or_default();
            names.insert(color, Value::String(name));
        }
    }
    Value::Object(names)
}

fn board_prefs(board: &Board) -> Value {
    let mut prefs = board.prefs.clone();
    let background = prefs.get("background").and_then(Value::as_str).unwrap_or("blue").to_string();
    let color = match background.as_str() {
        "blue" => "#0079BF",
        "orange" => "#D29034",
        "green" => "#519839",
        "red" => "#B04632",
        "purple" => "#89609E",
        "pink" => "#CD5A91",
        "lime" => "#4BBF6B",
        "sky" => "#00AECC",
        _ => "#838C91",
    };
    let level = board.permission_level().to_string();
    for (key, value) in [
        ("backgroundColor", json!(color)),
        ("backgroundTopColor", json!(color)),
        ("backgroundBottomColor", json!(color)),
        ("backgroundImage", Value::Null),
        ("backgroundImageScaled", Value::Null),
        ("backgroundTile", json!(false)),
        ("backgroundBrightness", json!("dark")),
        ("canBePublic", json!(true)),
        ("canBeEnterprise", json!(true)),
        ("canBeOrg", json!(true)),
        ("canBePrivate", json!(true)),
        ("canInvite", json!(true)),
        ("cardCounts", json!(false)),
        ("showCompleteStatus", json!(true)),
        ("hiddenPluginBoardButtons", json!([])),
        ("switcherViews", json!([{"viewType": "Board", "enabled": true}])),
    ] {
        prefs.entry(key.to_string()).or_insert(value);
    }
    prefs.insert("permissionLevel".into(), json!(level));
    Value::Object(prefs)
}

/// Renders base values that need the server's public url.
#[derive(Debug, Clone)]
pub struct Renderer {
    pub base_url: String,
}

impl Renderer {
    /// A board with everything Trello shows (select with [`select`]).
    pub fn board(&self, board: &Board, labels: &[Label], memberships: Option<&[Membership]>, starred: bool) -> Value {
        let url = format!("{}/b/{}/{}", self.base_url, board.short_link, slug(&board.name));
        json!({
            "id": board.id,
            "name": board.name,
            "desc": board.desc,
            "descData": {"emoji": {}},
            "closed": board.closed,
            "dateClosed": board.date_closed,
            // Trello boards always sit in a workspace, so clients read a string here
            // (trello.js rejects null, py-trello indexes the key): "" means none.
            "idOrganization": board.id_organization.clone().unwrap_or_default(),
            "idEnterprise": null,
            "idMemberCreator": board.id_member_creator,
            "pinned": board.pinned,
            "url": url,
            "shortUrl": format!("{}/b/{}", self.base_url, board.short_link),
            "shortLink": board.short_link,
            "prefs": board_prefs(board),
            "labelNames": label_names(labels),
            "limits": limits(),
            "starred": starred,
            "memberships": memberships.map(|m| m.iter().map(membership).collect::<Vec<_>>()).unwrap_or_default(),
            "subscribed": board.subscribed,
            "powerUps": [],
            "dateLastActivity": board.date_last_activity,
            "dateLastView": board.date_last_activity,
            "idTags": board.id_tags,
            "datePluginDisable": null,
            "creationMethod": null,
            "ixUpdate": "0",
            "templateGallery": null,
            "enterpriseOwned": false,
        })
    }

    /// A list.
    pub fn list(&self, list: &List) -> Value {
        json!({
            "id": list.id,
            "name": list.name,
            "closed": list.closed,
            "color": list.color,
            "idBoard": list.id_board,
            "pos": list.pos,
            "subscribed": list.subscribed,
            "softLimit": list.soft_limit,
            "type": null,
            "datasource": {"filter": false},
            "limits": limits(),
        })
    }

    /// A card, with its label objects picked from `labels` (the board's labels).
    pub fn card(&self, card: &Card, labels: &[Label]) -> Value {
        serde_json::to_value(CardJson { renderer: self, card, labels, fields: &Fields::All, extra: Vec::new() }).unwrap_or_default()
    }

    /// A member; private fields only for the member themself.
    pub fn member(&self, member: &Member, is_self: bool) -> Value {
        // An uploaded avatar is a picture; clients append `/{size}.png` to its url.
        let avatar_url = match &member.avatar_hash {
            Some(hash) => format!("{}/cork/pictures/{hash}", self.base_url),
            None => format!("{}/cork/avatars/{}.svg", self.base_url, member.username),
        };
        let mut out = json!({
            "id": member.id,
            "activityBlocked": false,
            // trello.js (zod) rejects null here; "" keeps the key that field lists select.
            "avatarHash": member.avatar_hash.clone().unwrap_or_default(),
            "avatarUrl": avatar_url,
            "avatarSource": if member.avatar_hash.is_some() { "upload" } else { "none" },
            "bio": member.bio,
            "bioData": {"emoji": {}},
            "confirmed": member.confirmed,
            "fullName": member.full_name,
            "idEnterprise": null,
            "idMemberReferrer": null,
            "idPremOrgsAdmin": [],
            "initials": member.initials,
            "memberType": member.member_type,
            "nonPublic": {},
            "nonPublicAvailable": true,
            "products": [],
            "url": format!("{}/{}", self.base_url, member.username),
            "username": member.username,
            "status": "disconnected",
            "email": member.email.clone().unwrap_or_default(),
            "uploadedAvatarHash": member.avatar_hash,
            "loginTypes": ["password"],
            "prefs": member_prefs(member),
            "trophies": [],
            "limits": limits(),
            "dateLastActive": member.date_last_active,
        });
        // Another member's email is private. The key stays (py-trello's Member.fetch
        // reads it unconditionally) as an empty string (trello.js rejects null there).
        if !is_self {
            out["email"] = Value::String(String::new());
        }
        out
    }

    /// A workspace.
    pub fn organization(&self, org: &Organization, boards: Option<&[Board]>, memberships: Option<&[Membership]>) -> Value {
        let mut out = json!({
            "id": org.id,
            "name": org.name,
            "displayName": org.display_name,
            "desc": org.desc,
            "descData": {"emoji": {}},
            "url": format!("{}/w/{}", self.base_url, org.name),
            "website": org.website,
            "teamType": null,
            "logoHash": org.logo_hash,
            "logoUrl": org.logo_hash.as_ref().map(|hash| format!("{}/cork/pictures/{hash}/170.png", self.base_url)),
            "idBoards": boards.map(|b| b.iter().map(|b| b.id.clone()).collect::<Vec<_>>()).unwrap_or_default(),
            "memberships": memberships.map(|m| m.iter().map(membership).collect::<Vec<_>>()).unwrap_or_default(),
            "prefs": org.prefs,
            "powerUps": [],
            "products": [],
            "premiumFeatures": [],
            "dateLastActivity": org.date_last_activity,
            "idEnterprise": null,
            "offering": "trello.free",
            "limits": limits(),
        });
        // A count is a number; when the memberships were not loaded the key is left
        // out (typed clients such as trello.js reject null).
        if let (Some(m), Some(map)) = (memberships, out.as_object_mut()) {
            map.insert("billableMemberCount".into(), json!(m.len()));
        }
        out
    }

    /// An action with its `memberCreator`; Cork's undo data stays out of the wire shape.
    pub fn action(&self, action: &Action, creators: &[Member]) -> Value {
        let mut data = action.data.clone();
        if let Some(map) = data.as_object_mut() {
            map.remove("deleted");
        }
        let creator = creators.iter().find(|m| m.id == action.id_member_creator).map(|m| {
            json!({
                "id": m.id,
                "activityBlocked": false,
                "avatarHash": m.avatar_hash.clone().unwrap_or_default(),
                "avatarUrl": format!("{}/cork/avatars/{}.svg", self.base_url, m.username),
                "fullName": m.full_name,
                "idMemberReferrer": null,
                "initials": m.initials,
                "nonPublic": {},
                "nonPublicAvailable": true,
                "username": m.username,
            })
        });
        json!({
            "id": action.id,
            "idMemberCreator": action.id_member_creator,
            "data": data,
            "appCreator": action.app_creator,
            "type": action.kind,
            "date": action.date,
            "limits": limits(),
            "memberCreator": creator,
        })
    }

    /// Trello's `display` of an action (what webhooks and `GET /actions/{id}` carry):
    /// a translation key naming the event and the entities it mentions.
    pub fn action_display(&self, action: &Action, creators: &[Member]) -> Value {
        let data = &action.data;
        let changed = |key: &str| data.pointer(&format!("/old/{key}")).is_some();
        let key = match action.kind.as_str() {
            "createCard" => "action_create_card".to_string(),
            "createList" => "action_added_list_to_board".to_string(),
            "createBoard" => "action_create_board".to_string(),
            "commentCard" => "action_comment_on_card".to_string(),
            "addLabelToCard" => "action_add_label_to_card".to_string(),
            "removeLabelFromCard" => "action_remove_label_from_card".to_string(),
            "addChecklistToCard" => "action_add_checklist_to_card".to_string(),
            "addMemberToCard" => "action_added_member_to_card".to_string(),
            "updateCheckItemStateOnCard" if data.pointer("/checkItem/state").and_then(Value::as_str) == Some("complete") => {
                "action_completed_checkitem".to_string()
            }
            "updateCheckItemStateOnCard" => "action_marked_checkitem_incomplete".to_string(),
            "updateCard" if data.get("listAfter").is_some() => "action_move_card_from_list_to_list".to_string(),
            "updateCard" if changed("closed") && data.pointer("/card/closed") == Some(&Value::Bool(true)) => {
                "action_archived_card".to_string()
            }
            "updateCard" if changed("closed") => "action_sent_card_to_board".to_string(),
            "updateCard" if changed("name") => "action_renamed_card".to_string(),
            "updateCard" if changed("desc") => "action_changed_description_of_card".to_string(),
            "updateCard" if changed("due") => "action_changed_a_due_date".to_string(),
            "updateCard" if changed("pos") => "action_moved_card_higher".to_string(),
            "updateList" if changed("closed") => "action_archived_list".to_string(),
            "updateList" if changed("name") => "action_renamed_list".to_string(),
            other => {
                let mut snake = String::from("action");
                for c in other.chars() {
                    if c.is_ascii_uppercase() || snake == "action" {
                        snake.push('_');
                    }
                    snake.push(c.to_ascii_lowercase());
                }
                snake
            }
        };
        let mut entities = Map::new();
        // A comment names only what Trello's does: where it is (`contextOn`), the card,
        // the comment and its author.
        let named: &[&str] = if action.kind == "commentCard" {
            entities.insert(
                "contextOn".into(),
                json!({"type": "translatable", "translationKey": "action_on", "hideIfContext": true,
                       "idContext": data.pointer("/card/id").cloned().unwrap_or(Value::Null)}),
            );
            &["card"]
        } else {
            &["card", "list", "listBefore", "listAfter", "board", "organization", "checklist", "checkItem", "label", "member"]
        };
        for &name in named {
            let Some(object) = data.get(name).filter(|o| o.is_object()) else { continue };
            let kind = match name {
                "listBefore" | "listAfter" => "list",
                "checkItem" => "checkitem",
                other => other,
            };
            let text = object.get("name").or_else(|| object.get("fullName")).cloned().unwrap_or(Value::Null);
            let mut entity = json!({"type": kind, "id": object["id"], "text": text});
            if let Some(short_link) = object.get("shortLink") {
                entity["shortLink"] = short_link.clone();
            }
            entities.insert(name.to_string(), entity);
        }
        if action.kind == "commentCard" {
            entities.insert("comment".into(), json!({"type": "comment", "text": data.get("text").cloned().unwrap_or(Value::Null)}));
        }
        if let Some(m) = creators.iter().find(|m| m.id == action.id_member_creator) {
            entities.insert("memberCreator".into(), json!({"type": "member", "id": m.id, "username": m.username, "text": m.full_name}));
        }
        json!({"translationKey": key, "entities": entities})
    }

    /// An attachment: a link, or an upload whose url is Cork's download route, as on
    /// Trello (`/1/cards/{idCard}/attachments/{id}/download/{fileName}`).
    pub fn attachment(&self, attachment: &Attachment) -> Value {
        let (url, file_name, previews) = match &attachment.file {
            Some(file) => {
                let url = format!(
                    "{}/1/cards/{}/attachments/{}/download/{}",
                    self.base_url,
                    attachment.id_card,
                    attachment.id,
                    path_segment(&file.file_name)
                );
                // Images get one preview: the original, at its own size (Cork makes no thumbnails).
                let previews = match (file.width, file.height) {
                    (Some(width), Some(height)) => {
                        json!([{"_id": attachment.id, "id": attachment.id, "scaled": false, "url": url, "bytes": file.bytes, "height": height, "width": width}])
                    }
                    _ => json!([]),
                };
                (url, file.file_name.clone(), previews)
            }
            None => (attachment.url.clone(), attachment.name.clone(), json!([])),
        };
        json!({
            "id": attachment.id,
            "bytes": attachment.bytes,
            "date": attachment.date,
            "edgeColor": null,
            "idMember": attachment.id_member,
            "isMalicious": false,
            "isUpload": attachment.is_upload,
            "mimeType": attachment.mime_type.clone().unwrap_or_default(),
            "name": attachment.name,
            "previews": previews,
            "url": url,
            "pos": attachment.pos,
            "fileName": file_name,
            "limits": limits(),
        })
    }
}

/// Text made safe as one url path segment (file names in download urls).
pub fn path_segment(text: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(text, KEEP).to_string()
}

/// A label.
pub fn label(label: &Label) -> Value {
    json!({"id": label.id, "idBoard": label.id_board, "name": label.name, "color": label.color, "limits": limits()})
}

/// A membership.
pub fn membership(membership: &Membership) -> Value {
    json!({"id": membership.id, "idMember": membership.id_member, "memberType": membership.member_type, "unconfirmed": membership.unconfirmed, "deactivated": membership.deactivated})
}

/// A check item.
pub fn check_item(item: &CheckItem) -> Value {
    json!({"id": item.id, "name": item.name, "nameData": {"emoji": {}}, "pos": item.pos, "state": item.state, "due": item.due, "dueReminder": null, "idMember": item.id_member, "idChecklist": item.id_checklist})
}

/// A checklist with its items.
pub fn checklist(checklist: &Checklist) -> Value {
    json!({
        "id": checklist.id,
        "name": checklist.name,
        "idBoard": checklist.id_board,
        "idCard": checklist.id_card,
        "pos": checklist.pos,
        "checkItems": checklist.check_items.iter().map(check_item).collect::<Vec<_>>(),
        "limits": limits(),
    })
}

/// A board star.
pub fn star(star: &BoardStar) -> Value {
    json!({"id": star.id, "idBoard": star.id_board, "pos": star.pos})
}

/// Trello's member prefs: the defaults, overridden by what the member chose.
fn member_prefs(member: &Member) -> Value {
    let mut prefs = json!({"sendSummaries": false, "minutesBetweenSummaries": -1, "colorBlind": false, "locale": "en-US"});
    for (key, value) in &member.prefs {
        prefs[key] = value.clone();
    }
    prefs
}

/// A value serialized through its `Display` (urls built without an intermediate String).
struct Shown<T>(T);

impl<T: std::fmt::Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// An object of fixed entries (`{"emoji": {}}`, ...) without a map allocated for it.
struct Fixed(&'static [(&'static str, Leaf)]);

enum Leaf {
    Zero,
    Empty,
    Object(Fixed),
}

impl Serialize for Leaf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Leaf::Zero => serializer.serialize_u8(0),
            Leaf::Empty => serializer.serialize_map(Some(0))?.end(),
            Leaf::Object(fixed) => fixed.serialize(serializer),
        }
    }
}

impl Serialize for Fixed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, leaf) in self.0 {
            map.serialize_entry(key, leaf)?;
        }
        map.end()
    }
}

const EMPTY_OBJECT: Leaf = Leaf::Empty;
const DESC_DATA: Fixed = Fixed(&[("emoji", Leaf::Empty)]);
const BY_TYPE: Fixed = Fixed(&[("trello", Leaf::Object(Fixed(&[("board", Leaf::Zero), ("card", Leaf::Zero)])))]);

/// A card's `badges`.
struct Badges<'a>(&'a Card);

impl Serialize for Badges<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let card = self.0;
        let mut map = serializer.serialize_map(Some(16))?;
        map.serialize_entry("attachmentsByType", &BY_TYPE)?;
        map.serialize_entry("externalSource", &())?;
        map.serialize_entry("location", &card.coordinates.is_some())?;
        map.serialize_entry("votes", &card.id_members_voted.len())?;
        map.serialize_entry("viewingMemberVoted", &false)?;
        map.serialize_entry("subscribed", &card.subscribed)?;
        map.serialize_entry("fogbugz", "")?;
        map.serialize_entry("checkItems", &card.counts.check_items)?;
        map.serialize_entry("checkItemsChecked", &card.counts.check_items_checked)?;
        map.serialize_entry("checkItemsEarliestDue", &())?;
        map.serialize_entry("comments", &card.counts.comments)?;
        map.serialize_entry("attachments", &card.counts.attachments)?;
        map.serialize_entry("description", &!card.desc.is_empty())?;
        map.serialize_entry("due", &card.due)?;
        map.serialize_entry("dueComplete", &card.due_complete)?;
        map.serialize_entry("start", &card.start)?;
        map.end()
    }
}

/// A card's `cover`.
struct Cover<'a>(&'a Card);

impl Serialize for Cover<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("idAttachment", &self.0.id_attachment_cover)?;
        map.serialize_entry("color", &())?;
        map.serialize_entry("idUploadedBackground", &())?;
        map.serialize_entry("size", "normal")?;
        map.serialize_entry("brightness", "dark")?;
        map.serialize_entry("idPlugin", &())?;
        map.end()
    }
}

/// The labels a card carries, as full label objects, in the card's order.
struct CardLabels<'a>(&'a Card, &'a [Label]);

impl Serialize for CardLabels<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for id in &self.0.id_labels {
            if let Some(label) = self.1.iter().find(|l| &l.id == id) {
                seq.serialize_element(&LabelJson(label))?;
            }
        }
        seq.end()
    }
}

/// A label, as [`label`] shows it.
struct LabelJson<'a>(&'a Label);

impl Serialize for LabelJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("id", &self.0.id)?;
        map.serialize_entry("idBoard", &self.0.id_board)?;
        map.serialize_entry("name", &self.0.name)?;
        map.serialize_entry("color", &self.0.color)?;
        map.serialize_entry("limits", &EMPTY_OBJECT)?;
        map.end()
    }
}

/// A card as Trello shows it, serialized straight from the stored card: no `Value`
/// tree is built (a board view writes a thousand of them). `fields` picks the keys
/// (`id` always, in Trello's order); `extra` is one more entry (`customFieldItems`).
pub struct CardJson<'a> {
    pub renderer: &'a Renderer,
    pub card: &'a Card,
    pub labels: &'a [Label],
    pub fields: &'a Fields,
    /// Entries written after the card's own fields (nested includes, extensions).
    pub extra: Vec<(&'static str, Value)>,
}

impl Serialize for CardJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (card, base) = (self.card, self.renderer.base_url.as_str());
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &card.id)?;
        macro_rules! put {
            ($key:literal, $value:expr) => {
                if self.fields.wants($key) {
                    map.serialize_entry($key, &$value)?;
                }
            };
        }
        put!("badges", Badges(card));
        put!("checkItemStates", [(); 0]);
        put!("closed", card.closed);
        put!("dueComplete", card.due_complete);
        put!("dateLastActivity", card.date_last_activity);
        put!("desc", card.desc);
        put!("descData", DESC_DATA);
        put!("due", card.due);
        put!("dueReminder", card.due_reminder);
        put!("email", ());
        put!("idBoard", card.id_board);
        put!("idChecklists", card.id_checklists);
        put!("idList", card.id_list);
        put!("idMembers", card.id_members);
        put!("idMembersVoted", card.id_members_voted);
        put!("idShort", card.id_short);
        put!("idAttachmentCover", card.id_attachment_cover);
        put!("labels", CardLabels(card, self.labels));
        put!("idLabels", card.id_labels);
        put!("manualCoverAttachment", false);
        put!("name", card.name);
        put!("pos", card.pos);
        put!("shortLink", card.short_link);
        put!("shortUrl", Shown(format_args!("{base}/c/{}", card.short_link)));
        put!("start", card.start);
        put!("subscribed", card.subscribed);
        if self.fields.wants("url") {
            let slug = slug(&card.name);
            map.serialize_entry("url", &Shown(format_args!("{base}/c/{}/{}-{slug}", card.short_link, card.id_short)))?;
        }
        put!("cover", Cover(card));
        put!("isTemplate", card.is_template);
        put!("cardRole", ());
        put!("address", card.address);
        put!("locationName", card.location_name);
        put!("coordinates", card.coordinates);
        put!("mirrorSourceId", ());
        put!("limits", EMPTY_OBJECT);
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_trello() {
        assert_eq!(slug("My Board: Q1 plans!"), "my-board-q1-plans");
        assert_eq!(slug("!!!"), "board");
    }
}
