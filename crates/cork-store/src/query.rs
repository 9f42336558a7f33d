//! The small statement builder behind [`crate::Tx`]. Table and column names come from
//! code (`&'static str`), never from clients; every value is a bound argument.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

/// The tables of the schema (see migrations/*/0001_core.sql).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Members,
    Organizations,
    Memberships,
    Boards,
    Lists,
    Cards,
    CardMembers,
    Labels,
    Checklists,
    Attachments,
    BoardStars,
    BoardMemberData,
    Actions,
    AppKeys,
    Tokens,
    CustomFields,
    CustomFieldItems,
    Notifications,
    NotificationChannelSettings,
    Stickers,
    CustomStickers,
    CustomEmoji,
    BoardBackgrounds,
    Reactions,
    BoardMyPrefs,
    SavedSearches,
    Settings,
    EnterpriseMembers,
    Plugins,
    PluginListings,
    BoardPlugins,
    OrgExports,
    OrgTags,
    MemberSettings,
    // Webhooks and their delivery outbox (0009).
    Webhooks,
    WebhookDeliveries,
    // Accounts and token issuance (0007).
    MemberPasswords,
    WebSessions,
    OauthRequestTokens,
    OauthNonces,
    /// Access audit events (issue 4, migration 0008).
    AccessAudit,
    /// Stored answers of writes sent with an `Idempotency-Key` (migration 0010).
    IdempotencyKeys,
    /// Review gates and source-of-truth rules per board, and held changes (0011).
    BoardPolicies,
    ChangeRequests,
    /// Boards kept in step with a board on another server (0013).
    Mirrors,
}

impl Table {
    /// Tables whose rows carry a `version` (migration 0010): saves are compare-and-set.
    pub fn versioned(self) -> bool {
        matches!(
            self,
            Table::Members
                | Table::Organizations
                | Table::Boards
                | Table::Lists
                | Table::Cards
                | Table::Labels
                | Table::Checklists
                | Table::Attachments
                | Table::CustomFields
                | Table::CustomFieldItems
                | Table::ChangeRequests
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Table::Members => "members",
            Table::Organizations => "organizations",
            Table::Memberships => "memberships",
            Table::Boards => "boards",
            Table::Lists => "lists",
            Table::Cards => "cards",
            Table::CardMembers => "card_members",
            Table::Labels => "labels",
            Table::Checklists => "checklists",
            Table::Attachments => "attachments",
            Table::BoardStars => "board_stars",
            Table::BoardMemberData => "board_member_data",
            Table::Actions => "actions",
            Table::AppKeys => "app_keys",
            Table::Tokens => "tokens",
            Table::CustomFields => "custom_fields",
            Table::CustomFieldItems => "custom_field_items",
            Table::Notifications => "notifications",
            Table::NotificationChannelSettings => "notification_channel_settings",
            Table::Stickers => "stickers",
            Table::CustomStickers => "custom_stickers",
            Table::CustomEmoji => "custom_emoji",
            Table::BoardBackgrounds => "board_backgrounds",
            Table::Reactions => "reactions",
            Table::BoardMyPrefs => "board_my_prefs",
            Table::SavedSearches => "saved_searches",
            Table::Settings => "settings",
            Table::EnterpriseMembers => "enterprise_members",
            Table::Plugins => "plugins",
            Table::PluginListings => "plugin_listings",
            Table::BoardPlugins => "board_plugins",
            Table::OrgExports => "org_exports",
            Table::OrgTags => "org_tags",
            Table::MemberSettings => "member_settings",
            Table::Webhooks => "webhooks",
            Table::WebhookDeliveries => "webhook_deliveries",
            Table::MemberPasswords => "member_passwords",
            Table::WebSessions => "web_sessions",
            Table::OauthRequestTokens => "oauth_request_tokens",
            Table::OauthNonces => "oauth_nonces",
            Table::AccessAudit => "access_audit",
            Table::IdempotencyKeys => "idempotency_keys",
            Table::BoardPolicies => "board_policies",
            Table::ChangeRequests => "change_requests",
            Table::Mirrors => "mirrors",
        }
    }
}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Int(i64),
    Float(f64),
    Null,
}

impl Arg {
    /// A text value.
    pub fn text(value: impl Into<String>) -> Arg {
        Arg::Text(value.into())
    }

    /// A text value or NULL.
    pub fn opt(value: Option<impl Into<String>>) -> Arg {
        value.map(|v| Arg::Text(v.into())).unwrap_or(Arg::Null)
    }

    /// A flag stored as 0/1, the one boolean form both dialects share.
    pub fn flag(value: bool) -> Arg {
        Arg::Int(i64::from(value))
    }
}

/// One condition of a WHERE clause; conditions are joined with AND.
#[derive(Debug, Clone)]
pub enum Cond {
    Eq(&'static str, Arg),
    In(&'static str, Vec<Arg>),
    Lt(&'static str, Arg),
    Gt(&'static str, Arg),
    IsNull(&'static str),
}

impl Cond {
    /// `column = text`.
    pub fn eq(column: &'static str, value: impl Into<String>) -> Cond {
        Cond::Eq(column, Arg::text(value))
    }

    /// `column IN (texts...)`; an empty set matches nothing.
    pub fn any_of<S: AsRef<str>>(column: &'static str, values: &[S]) -> Cond {
        Cond::In(column, values.iter().map(|v| Arg::text(v.as_ref())).collect())
    }

    /// `closed = 0|1`.
    pub fn closed(value: bool) -> Cond {
        Cond::Eq("closed", Arg::flag(value))
    }
}

/// Row order.
#[derive(Debug, Clone, Copy)]
pub enum Order {
    None,
    Asc(&'static str),
    Desc(&'static str),
}

struct Builder {
    sql: String,
    args: Vec<Arg>,
}

impl Builder {
    fn new(sql: String) -> Builder {
        Builder { sql, args: Vec::new() }
    }

    fn placeholder(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn conds(&mut self, conds: &[Cond]) {
        for (i, cond) in conds.iter().enumerate() {
            self.sql.push_str(if i == 0 { " WHERE " } else { " AND " });
            let clause = match cond {
                Cond::Eq(column, arg) => format!("{column} = {}", self.placeholder(arg.clone())),
                Cond::Lt(column, arg) => format!("{column} < {}", self.placeholder(arg.clone())),
                Cond::Gt(column, arg) => format!("{column} > {}", self.placeholder(arg.clone())),
                Cond::IsNull(column) => format!("{column} IS NULL"),
                Cond::In(_, values) if values.is_empty() => "1 = 0".to_string(),
                Cond::In(column, values) => {
                    let marks: Vec<String> = values.iter().map(|v| self.placeholder(v.clone())).collect();
                    format!("{column} IN ({})", marks.join(", "))
                }
            };
            self.sql.push_str(&clause);
        }
    }
}

pub(crate) fn select(table: Table, what: &str, conds: &[Cond], order: Order, limit: Option<i64>, for_update: bool) -> (String, Vec<Arg>) {
    let mut b = Builder::new(format!("SELECT {what} FROM {}", table.name()));
    b.conds(conds);
    match order {
        Order::None => {}
        Order::Asc(column) => b.sql.push_str(&format!(" ORDER BY {column} ASC, id ASC")),
        Order::Desc(column) => b.sql.push_str(&format!(" ORDER BY {column} DESC, id DESC")),
    }
    if let Some(limit) = limit {
        let mark = b.placeholder(Arg::Int(limit));
        b.sql.push_str(&format!(" LIMIT {mark}"));
    }
    if for_update {
        b.sql.push_str(" FOR UPDATE");
    }
    (b.sql, b.args)
}

pub(crate) fn insert(table: Table, values: &[(&'static str, Arg)]) -> (String, Vec<Arg>) {
    let mut b = Builder::new(String::new());
    let columns: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
    let marks: Vec<String> = values.iter().map(|(_, v)| b.placeholder(v.clone())).collect();
    b.sql = format!("INSERT INTO {} ({}) VALUES ({})", table.name(), columns.join(", "), marks.join(", "));
    (b.sql, b.args)
}

/// One `INSERT` of many rows with the same columns; with `replace`, a row whose `id` is
/// there already is written over (`ON CONFLICT (id) DO UPDATE`, a versioned table's
/// version moving on), which both backends speak alike.
pub(crate) fn insert_many(table: Table, rows: &[Vec<(&'static str, Arg)>], replace: bool) -> (String, Vec<Arg>) {
    let mut b = Builder::new(String::new());
    let columns: Vec<&str> = rows.first().map(|r| r.iter().map(|(c, _)| *c).collect()).unwrap_or_default();
    let tuples: Vec<String> = rows
        .iter()
        .map(|row| {
            let marks: Vec<String> = row.iter().map(|(_, v)| b.placeholder(v.clone())).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let mut sql = format!("INSERT INTO {} ({}) VALUES {}", table.name(), columns.join(", "), tuples.join(", "));
    if replace {
        let mut sets: Vec<String> = columns.iter().filter(|c| **c != "id").map(|c| format!("{c} = excluded.{c}")).collect();
        if table.versioned() {
            sets.push(format!("version = {}.version + 1", table.name()));
        }
        sql.push_str(&format!(" ON CONFLICT (id) DO UPDATE SET {}", sets.join(", ")));
    }
    b.sql = sql;
    (b.sql, b.args)
}

pub(crate) fn update(table: Table, values: &[(&'static str, Arg)], conds: &[Cond]) -> (String, Vec<Arg>) {
    let mut b = Builder::new(String::new());
    let sets: Vec<String> = values.iter().map(|(c, v)| format!("{c} = {}", b.placeholder(v.clone()))).collect();
    b.sql = format!("UPDATE {} SET {}", table.name(), sets.join(", "));
    b.conds(conds);
    (b.sql, b.args)
}

/// `UPDATE t SET ..., version = version + 1 WHERE id = $ [AND version = $]`.
pub(crate) fn update_versioned(table: Table, values: &[(&'static str, Arg)], id: &str, known: Option<i64>) -> (String, Vec<Arg>) {
    let mut b = Builder::new(String::new());
    let mut sets: Vec<String> = values.iter().map(|(c, v)| format!("{c} = {}", b.placeholder(v.clone()))).collect();
    sets.push("version = version + 1".to_string());
    b.sql = format!("UPDATE {} SET {}", table.name(), sets.join(", "));
    let mut conds = vec![Cond::eq("id", id)];
    if let Some(version) = known {
        conds.push(Cond::Eq("version", Arg::Int(version)));
    }
    b.conds(&conds);
    (b.sql, b.args)
}

pub(crate) fn delete(table: Table, conds: &[Cond]) -> (String, Vec<Arg>) {
    let mut b = Builder::new(format!("DELETE FROM {}", table.name()));
    b.conds(conds);
    (b.sql, b.args)
}

pub(crate) fn bind<'q>(mut query: Query<'q, Any, AnyArguments<'q>>, args: Vec<Arg>) -> Query<'q, Any, AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
            Arg::Float(v) => query.bind(v),
            Arg::Null => query.bind(Option::<String>::None),
        };
    }
    query
}
