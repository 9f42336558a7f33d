//! Notifications: what a member is told about changes others made that concern them
//! (added to a card or a board, mentioned in a comment, a due date changed on their
//! card). They are written by the commands that make those changes, in the same
//! transaction, one row per recipient. Whether one has been read, and which keys a
//! channel blocks, are the member's preferences: changing them records no action.

use cork_store::{Arg, Cond, Order, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::access::{board_role, Actor, Role, UNAUTHORIZED};
use crate::actions::LogWindow;
use crate::cards::card_with_role;
use crate::ids::{is_id, new_id};
use crate::members::resolve_member;
use crate::model::{Action, Board, Card, Label, List, Member, Membership, Organization};
use crate::store_ext::{by_ids, find, get, insert, save, Stored};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// The notification types Trello documents; `filter=` accepts any of them.
pub const NOTIFICATION_TYPES: &[&str] = &[
    "addAdminToBoard",
    "addAdminToOrganization",
    "addedAttachmentToCard",
    "addedMemberToCard",
    "addedToBoard",
    "addedToCard",
    "addedToOrganization",
    "cardDueSoon",
    "changeCard",
    "closeBoard",
    "commentCard",
    "createdCard",
    "declinedInvitationToBoard",
    "declinedInvitationToOrganization",
    "invitedToBoard",
    "invitedToOrganization",
    "makeAdminOfBoard",
    "makeAdminOfOrganization",
    "memberJoinedTrello",
    "mentionedOnCard",
    "removedFromBoard",
    "removedFromCard",
    "removedFromOrganization",
    "removedMemberFromCard",
    "unconfirmedInvitedToBoard",
    "unconfirmedInvitedToOrganization",
    "updateCheckItemStateOnCard",
];

/// The delivery channels a member can tune (Trello knows only e-mail).
pub const CHANNELS: &[&str] = &["email"];

/// The keys a channel may block (Trello's `BlockedKey`).
pub const BLOCKED_KEYS: &[&str] = &[
    "notification_comment_card",
    "notification_added_a_due_date",
    "notification_changed_due_date",
    "notification_card_due_soon",
    "notification_removed_from_card",
    "notification_added_attachment_to_card",
    "notification_created_card",
    "notification_moved_card",
    "notification_archived_card",
    "notification_unarchived_card",
];

/// One notification for one member.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    /// The recipient (Cork's; Trello does not show it).
    pub id_member: String,
    pub unread: bool,
    #[serde(rename = "type")]
    pub kind: String,
    pub date: String,
    pub date_read: Option<String>,
    /// Trello's context: `board`, `card`, `list`, `text`, `old`, ...
    pub data: Value,
    pub id_member_creator: Option<String>,
    pub id_action: Option<String>,
}

impl Notification {
    fn linked_id(&self, what: &str) -> Option<&str> {
        self.data.get(what).and_then(|v| v.get("id")).and_then(Value::as_str)
    }
}

impl Stored for Notification {
    const TABLE: cork_store::Table = cork_store::Table::Notifications;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("member_id", Arg::text(&self.id_member)),
            ("type", Arg::text(&self.kind)),
            ("card_id", Arg::opt(self.linked_id("card").map(str::to_string))),
            ("unread", Arg::flag(self.unread)),
        ]
    }
}

/// A member's blocked keys on one channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChannelSettings {
    pub id: String,
    pub id_member: String,
    pub channel: String,
    pub blocked_keys: Vec<String>,
}

impl Stored for ChannelSettings {
    const TABLE: cork_store::Table = cork_store::Table::NotificationChannelSettings;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("member_id", Arg::text(&self.id_member)), ("channel", Arg::text(&self.channel))]
    }
}

/// Which notifications to read, by read state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadFilter {
    #[default]
    All,
    Read,
    Unread,
}

/// Filtering and paging of `GET /members/{id}/notifications`.
#[derive(Debug, Clone)]
pub struct NotificationQuery {
    /// Types to keep; `None` keeps all.
    pub types: Option<Vec<String>>,
    pub read: ReadFilter,
    pub since: Option<String>,
    pub before: Option<String>,
    pub limit: i64,
    pub page: i64,
}

impl Default for NotificationQuery {
    fn default() -> Self {
        NotificationQuery { types: None, read: ReadFilter::All, since: None, before: None, limit: 50, page: 0 }
    }
}

/// Notifications with the members who caused them.
#[derive(Debug, Clone, Default)]
pub struct NotificationPage {
    pub notifications: Vec<Notification>,
    pub creators: Vec<Member>,
}

/// What a notification read includes besides the notification.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotificationInclude {
    pub board: bool,
    pub card: bool,
    pub list: bool,
    pub member: bool,
    pub member_creator: bool,
    pub organization: bool,
}

/// A notification and the objects it points at that the reader may still see.
#[derive(Debug, Clone)]
pub struct NotificationView {
    pub notification: Notification,
    pub board: Option<Board>,
    pub card: Option<Card>,
    /// The labels of `card`, for rendering it.
    pub labels: Vec<Label>,
    pub list: Option<List>,
    /// The member the notification is about (its recipient).
    pub member: Option<Member>,
    pub member_creator: Option<Member>,
    pub organization: Option<Organization>,
}

/// Writes `kind` for each recipient except the actor (nobody is told of their own
/// change), in the command's transaction.
pub(crate) async fn notify(tx: &mut Tx, actor: &Actor, recipients: &[String], kind: &str, data: Value, action: &Action) -> Result<()> {
    let mut done: Vec<&str> = Vec::new();
    for recipient in recipients {
        if actor.member_id() == Some(recipient.as_str()) || done.contains(&recipient.as_str()) {
            continue;
        }
        done.push(recipient);
        let notification = Notification {
            id: new_id(),
            id_member: recipient.clone(),
            unread: true,
            kind: kind.to_string(),
            date: action.date.clone(),
            date_read: None,
            data: data.clone(),
            id_member_creator: Some(action.id_member_creator.clone()),
            id_action: Some(action.id.clone()),
        };
        insert(tx, &notification).await?;
    }
    Ok(())
}

/// Copies the context keys a notification shows from its action's data.
fn context_of(action: &Action, keys: &[&str]) -> Value {
    let mut out = serde_json::Map::new();
    for key in keys {
        if let Some(value) = action.data.get(*key) {
            out.insert((*key).to_string(), value.clone());
        }
    }
    Value::Object(out)
}

/// `addedToCard` for a member put on a card (`addMemberToCard`).
pub(crate) async fn added_to_card(tx: &mut Tx, actor: &Actor, member_id: &str, action: &Action) -> Result<()> {
    notify(tx, actor, &[member_id.to_string()], "addedToCard", context_of(action, &["board", "card", "list"]), action).await
}

/// `addedToBoard` for a new member of a board (`addMemberToBoard`).
pub(crate) async fn added_to_board(tx: &mut Tx, actor: &Actor, member_id: &str, action: &Action) -> Result<()> {
    notify(tx, actor, &[member_id.to_string()], "addedToBoard", context_of(action, &["board"]), action).await
}

/// The usernames written as `@name` in a comment (not inside e-mail addresses).
fn mentioned_usernames(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut names: Vec<String> = Vec::new();
    for (at, _) in text.match_indices('@') {
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let name: String =
            text[at + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>().to_ascii_lowercase();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// `mentionedOnCard` for each board member named as `@username` in a comment.
pub(crate) async fn mentioned_on_card(tx: &mut Tx, actor: &Actor, board: &Board, text: &str, action: &Action) -> Result<()> {
    let names = mentioned_usernames(text);
    if names.is_empty() {
        return Ok(());
    }
    let members: Vec<Member> = find(tx, &[Cond::any_of("username", &names)], Order::None, None).await?;
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let memberships: Vec<Membership> =
        find(tx, &[Cond::eq("model_id", &board.id), Cond::any_of("member_id", &ids)], Order::Asc("id"), None).await?;
    let recipients: Vec<String> = memberships.into_iter().filter(|m| !m.deactivated).map(|m| m.id_member).collect();
    notify(tx, actor, &recipients, "mentionedOnCard", context_of(action, &["text", "board", "card", "list"]), action).await
}

/// After `updateCard`: members newly on the card hear `addedToCard`, and when a due
/// date was set or moved the card's members hear `changeCard` (with `old.due`).
pub(crate) async fn card_updated(tx: &mut Tx, actor: &Actor, before: &Card, after: &Card, action: &Action) -> Result<()> {
    let added: Vec<String> = after.id_members.iter().filter(|m| !before.id_members.contains(m)).cloned().collect();
    for member in &added {
        added_to_card(tx, actor, member, action).await?;
    }
    if after.due.is_some() && after.due != before.due {
        let mut context = context_of(action, &["board", "card", "list"]);
        context["old"] = json!({"due": before.due});
        notify(tx, actor, &after.id_members, "changeCard", context, action).await?;
    }
    Ok(())
}

fn check_self(actor: &Actor, member: &Member) -> Result<()> {
    if actor.member_id() != Some(member.id.as_str()) {
        return Err(DomainError::Unauthorized(UNAUTHORIZED));
    }
    Ok(())
}

/// Read state is the member's own business, and needs a token allowed to change the account.
fn check_may_change(actor: &Actor, notification: &Notification) -> Result<()> {
    if actor.member_id() != Some(notification.id_member.as_str()) || !actor.may_change_account() {
        return Err(DomainError::Unauthorized(UNAUTHORIZED));
    }
    Ok(())
}

/// A per-board token sees only the notifications about the boards it reaches.
async fn keep_reached(tx: &mut Tx, actor: &Actor, notifications: &mut Vec<Notification>) -> Result<()> {
    let ids: Vec<&str> = notifications.iter().filter_map(|n| n.linked_id("board")).collect();
    if let Some(reached) = crate::access::reached_boards(tx, actor, &ids).await? {
        notifications.retain(|n| n.linked_id("board").is_some_and(|b| reached.contains(b)));
    }
    Ok(())
}

async fn load_notification(tx: &mut Tx, actor: &Actor, id: &str) -> Result<Notification> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    actor.require_member()?;
    let notification: Notification = get(tx, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    if actor.member_id() != Some(notification.id_member.as_str()) {
        return Err(DomainError::Unauthorized(UNAUTHORIZED));
    }
    let mut one = vec![notification];
    keep_reached(tx, actor, &mut one).await?;
    one.pop().ok_or(DomainError::Unauthorized(UNAUTHORIZED))
}

fn mark(notification: &mut Notification, unread: bool) -> bool {
    if notification.unread == unread {
        return false;
    }
    notification.unread = unread;
    notification.date_read = if unread { None } else { Some(now()) };
    true
}

/// Loads what `include` asks for, keeping only what the reader may still read: a board
/// they left, and its cards and lists, stay out.
async fn view_of(tx: &mut Tx, actor: &Actor, notification: Notification, include: NotificationInclude) -> Result<NotificationView> {
    let mut view = NotificationView {
        notification,
        board: None,
        card: None,
        labels: Vec::new(),
        list: None,
        member: None,
        member_creator: None,
        organization: None,
    };
    let wants_board_things = include.board || include.card || include.list || include.organization;
    let board: Option<Board> = match view.notification.linked_id("board") {
        Some(board_id) if wants_board_things => get(tx, board_id).await?,
        _ => None,
    };
    if let Some(board) = board {
        if board_role(tx, actor, &board).await? >= Role::Read {
            if include.card {
                if let Some(card_id) = view.notification.linked_id("card") {
                    view.card = get::<Card>(tx, card_id).await?.filter(|c| c.id_board == board.id);
                }
                if let Some(card) = &view.card {
                    view.labels = by_ids(tx, &card.id_labels).await?;
                }
            }
            if include.list {
                if let Some(list_id) = view.notification.linked_id("list") {
                    view.list = get::<List>(tx, list_id).await?.filter(|l| l.id_board == board.id);
                }
            }
            if include.organization {
                if let Some(org_id) = &board.id_organization {
                    view.organization = get(tx, org_id).await?;
                }
            }
            if include.board {
                view.board = Some(board);
            }
        }
    }
    let mut people: Vec<&str> = Vec::new();
    if include.member {
        people.push(&view.notification.id_member);
    }
    if include.member_creator {
        if let Some(creator) = &view.notification.id_member_creator {
            people.push(creator);
        }
    }
    let found: Vec<Member> = by_ids(tx, &people).await?;
    if include.member {
        view.member = found.iter().find(|m| m.id == view.notification.id_member).cloned();
    }
    if include.member_creator {
        view.member_creator = found.iter().find(|m| Some(&m.id) == view.notification.id_member_creator.as_ref()).cloned();
    }
    Ok(view)
}

async fn creators_of_notifications(tx: &mut Tx, notifications: &[Notification]) -> Result<Vec<Member>> {
    let mut ids: Vec<&str> = notifications.iter().filter_map(|n| n.id_member_creator.as_deref()).collect();
    ids.sort_unstable();
    ids.dedup();
    by_ids(tx, &ids).await
}

impl Cork {
    /// `GET /members/{id}/notifications`: the member's own, newest first, one query for
    /// the page and one for their creators.
    pub async fn member_notifications(&self, actor: &Actor, member_reference: &str, query: &NotificationQuery) -> Result<NotificationPage> {
        let mut tx = self.store.read().await?;
        let member = resolve_member(&mut tx, actor, member_reference).await?;
        check_self(actor, &member)?;
        let mut conds = vec![Cond::eq("member_id", &member.id)];
        match query.read {
            ReadFilter::All => {}
            ReadFilter::Read => conds.push(Cond::Eq("unread", Arg::flag(false))),
            ReadFilter::Unread => conds.push(Cond::Eq("unread", Arg::flag(true))),
        }
        let window = LogWindow { types: query.types.as_deref(), since: query.since.as_deref(), before: query.before.as_deref() };
        let Some((skip, limit)) = window.apply(&mut conds, query.limit, query.page) else { return Ok(NotificationPage::default()) };
        let mut notifications: Vec<Notification> = find(&mut tx, &conds, Order::Desc("id"), Some(skip + limit)).await?;
        notifications.drain(..(skip as usize).min(notifications.len()));
        keep_reached(&mut tx, actor, &mut notifications).await?;
        let creators = creators_of_notifications(&mut tx, &notifications).await?;
        Ok(NotificationPage { notifications, creators })
    }

    /// `GET /notifications/{id}` and its sub-objects: the recipient only.
    pub async fn notification_view(&self, actor: &Actor, id: &str, include: NotificationInclude) -> Result<NotificationView> {
        let mut tx = self.store.read().await?;
        let notification = load_notification(&mut tx, actor, id).await?;
        view_of(&mut tx, actor, notification, include).await
    }

    /// `PUT /notifications/{id}` (`unread`) and `PUT /notifications/{id}/unread` (`value`).
    pub async fn set_notification_unread(
        &self,
        actor: &Actor,
        id: &str,
        unread: bool,
        include: NotificationInclude,
    ) -> Result<NotificationView> {
        let mut tx = self.store.write().await?;
        let mut notification = load_notification(&mut tx, actor, id).await?;
        check_may_change(actor, &notification)?;
        if mark(&mut notification, unread) {
            save(&mut tx, &notification).await?;
        }
        let view = view_of(&mut tx, actor, notification, include).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// `POST /notifications/all/read`: every notification of the actor, or those of
    /// `ids`, marked read (or unread with `read=false`). Returns how many changed.
    pub async fn mark_all_notifications(&self, actor: &Actor, read: bool, ids: Option<&[String]>) -> Result<usize> {
        let member = actor.require_member()?.clone();
        if !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let mut conds = vec![Cond::eq("member_id", &member.id), Cond::Eq("unread", Arg::flag(read))];
        if let Some(ids) = ids {
            if ids.iter().any(|id| !is_id(id)) {
                return Err(DomainError::InvalidValue("ids".into()));
            }
            let ids: Vec<String> = ids.iter().map(|id| id.to_ascii_lowercase()).collect();
            conds.push(Cond::any_of("id", &ids));
        }
        let mut tx = self.store.write().await?;
        let changed = mark_matching(&mut tx, actor, &conds, !read).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// `POST /cards/{id}/markAssociatedNotificationsRead`: the actor's notifications
    /// about a card they may read.
    pub async fn mark_card_notifications_read(&self, actor: &Actor, card_reference: &str) -> Result<usize> {
        let member = actor.require_member()?.clone();
        let mut tx = self.store.write().await?;
        let (card, _, _) = card_with_role(&mut tx, actor, card_reference, Role::Read).await?;
        if !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let conds = [Cond::eq("member_id", &member.id), Cond::eq("card_id", &card.id), Cond::Eq("unread", Arg::flag(true))];
        let changed = mark_matching(&mut tx, actor, &conds, false).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// `GET /members/{id}/notificationsChannelSettings`: one entry per channel.
    pub async fn notification_channel_settings(&self, actor: &Actor, member_reference: &str) -> Result<Vec<ChannelSettings>> {
        let mut tx = self.store.read().await?;
        let member = resolve_member(&mut tx, actor, member_reference).await?;
        check_self(actor, &member)?;
        let stored: Vec<ChannelSettings> = find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::None, None).await?;
        Ok(CHANNELS
            .iter()
            .map(|channel| stored.iter().find(|s| s.channel == *channel).cloned().unwrap_or_else(|| default_settings(&member, channel)))
            .collect())
    }

    /// `GET /members/{id}/notificationsChannelSettings/{channel}`.
    pub async fn notification_channel(&self, actor: &Actor, member_reference: &str, channel: &str) -> Result<ChannelSettings> {
        check_channel(channel)?;
        let all = self.notification_channel_settings(actor, member_reference).await?;
        all.into_iter().find(|s| s.channel == channel).ok_or(DomainError::NotFound(NOT_FOUND))
    }

    /// `PUT /members/{id}/notificationsChannelSettings[/{channel}[/{blockedKeys}]]`:
    /// replaces the channel's blocked keys.
    pub async fn set_notification_channel(
        &self,
        actor: &Actor,
        member_reference: &str,
        channel: &str,
        keys: &[String],
    ) -> Result<ChannelSettings> {
        check_channel(channel)?;
        let mut blocked: Vec<String> = Vec::new();
        for key in keys {
            if !BLOCKED_KEYS.contains(&key.as_str()) {
                return Err(DomainError::InvalidValue("blockedKeys".into()));
            }
            if !blocked.contains(key) {
                blocked.push(key.clone());
            }
        }
        let mut tx = self.store.write().await?;
        let member = resolve_member(&mut tx, actor, member_reference).await?;
        check_self(actor, &member)?;
        if !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let existing: Option<ChannelSettings> =
            find(&mut tx, &[Cond::eq("member_id", &member.id), Cond::eq("channel", channel)], Order::None, Some(1)).await?.pop();
        let settings = match existing {
            Some(mut settings) => {
                settings.blocked_keys = blocked;
                save(&mut tx, &settings).await?;
                settings
            }
            None => {
                let settings = ChannelSettings { blocked_keys: blocked, ..default_settings(&member, channel) };
                insert(&mut tx, &settings).await?;
                settings
            }
        };
        tx.commit().await?;
        Ok(settings)
    }
}

/// Marks every notification matching `conds`; each keeps its own document in step.
async fn mark_matching(tx: &mut Tx, actor: &Actor, conds: &[Cond], unread: bool) -> Result<usize> {
    let mut notifications: Vec<Notification> = find(tx, conds, Order::Asc("id"), None).await?;
    keep_reached(tx, actor, &mut notifications).await?;
    let mut changed = 0;
    for notification in &mut notifications {
        if mark(notification, unread) {
            save(tx, notification).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

fn check_channel(channel: &str) -> Result<()> {
    if CHANNELS.contains(&channel) {
        Ok(())
    } else {
        Err(DomainError::InvalidValue("channel".into()))
    }
}

/// Settings nobody changed yet. Their id is the member's: with one channel per member
/// it stays the same before and after the first change, without writing on a read.
fn default_settings(member: &Member, channel: &str) -> ChannelSettings {
    ChannelSettings { id: member.id.clone(), id_member: member.id.clone(), channel: channel.to_string(), blocked_keys: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_usernames_after_an_at_sign() {
        assert_eq!(mentioned_usernames("@bob and @Carol_2, see bob@example.com or @bob again"), vec!["bob", "carol_2"]);
        assert!(mentioned_usernames("no one @ all").is_empty());
    }
}
