//! Review gates and source-of-truth rules.
//!
//! A write is judged by the actions it recorded, once it has run inside the write
//! pipeline and before it commits: a gated one is rolled back and kept as a change
//! request that a board admin approves (the stored request is then run again, as its
//! requester, with `data.approvedBy`) or rejects. What needs review comes from the token
//! (`cork token create --gate destructive|writes`) and from the board's policy
//! (`GET/PUT /cork/boards/{id}/policy`), which also declares which integration owns which
//! part of the board: others' writes there are refused (`lock`) or held (`review`).

use chrono::{Duration, Utc};
use cork_store::pipeline::RecordedAction;
use cork_store::{Arg, Cond, Order, Table, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::access::{board_role, Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, data, record, Refs};
use crate::ids::{is_id, new_id};
use crate::model::{Action, Board, Card};
use crate::store_ext::{get, get_for_update, insert, save, Stored};
use crate::{now, parse_date, Cork, DomainError, Result, NOT_FOUND};

tokio::task_local! {
    /// The admin approving a change: `actions::record` writes it as `data.approvedBy`.
    pub(crate) static APPROVED_BY: String;
}

/// How long a change request waits before it expires.
pub const EXPIRY_DAYS: i64 = 7;

/// What a gate holds: every write, or the destructive ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateKind {
    Destructive,
    Writes,
}

impl GateKind {
    pub fn parse(text: &str) -> Option<GateKind> {
        match text {
            "destructive" => Some(GateKind::Destructive),
            "writes" => Some(GateKind::Writes),
            _ => None,
        }
    }
}

/// A board's review gate: for the tokens and keys it names (none named: every token),
/// writes of `kinds`, or any write touching more than `threshold` objects, need review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateRule {
    pub kinds: Option<GateKind>,
    #[serde(default)]
    pub tokens: Vec<String>,
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub threshold: Option<i64>,
}

/// What an owner's rule does to others' writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerMode {
    Lock,
    Review,
}

/// A part of the board that one integration (an application key or a token) owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRule {
    /// Shown in refusals: `owned by <name>: change it there`.
    pub name: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
    pub mode: OwnerMode,
    /// The whole board: every write to it (a mirror owns the board it keeps in step).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub board: bool,
    /// Cards in these lists, and the lists themselves.
    #[serde(default)]
    pub lists: Vec<String>,
    /// Cards carrying these labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Values of these custom fields.
    #[serde(default)]
    pub custom_fields: Vec<String>,
    /// These fields of every card (`due`, `start`, `dueComplete`, `name`, ...).
    #[serde(default)]
    pub card_fields: Vec<String>,
}

/// A board's policy document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardPolicy {
    #[serde(default)]
    pub gates: Vec<GateRule>,
    #[serde(default)]
    pub owners: Vec<OwnerRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredPolicy {
    id_board: String,
    policy: BoardPolicy,
}

impl Stored for StoredPolicy {
    const TABLE: Table = Table::BoardPolicies;
    fn id(&self) -> &str {
        &self.id_board
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        Vec::new()
    }
}

/// The request a change request holds, as it was sent less its credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldCommand {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub content_type: Option<String>,
    pub body: String,
}

/// A write held for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRequest {
    pub id: String,
    pub id_board: Option<String>,
    /// `pending`, `applied`, `rejected` or `expired`.
    pub state: String,
    pub requester: String,
    pub id_token: Option<String>,
    pub key: Option<String>,
    /// Why it was held.
    pub reason: String,
    pub command: HeldCommand,
    /// The dry run's answer: `status`, `body` and the `actions` it would record.
    pub preview: Value,
    pub date_created: String,
    #[serde(default)]
    pub date_decided: Option<String>,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

impl Stored for ChangeRequest {
    const TABLE: Table = Table::ChangeRequests;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        let created = parse_date(&self.date_created).map(|d| d.timestamp()).unwrap_or_default();
        vec![
            ("board_id", Arg::opt(self.id_board.clone())),
            ("state", Arg::text(&self.state)),
            ("requester_id", Arg::text(&self.requester)),
            ("created_at", Arg::Int(created)),
        ]
    }
}

/// What the guardrails decide about a write.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Refused: `409` with this text.
    Refuse(String),
    /// Held for review on this board, for this reason.
    Hold { board: Option<String>, reason: String },
}

/// Deletions, archiving lists or boards, removing members, permission and visibility
/// changes, and the list-wide `archiveAllCards`/`moveAllCards`.
fn is_destructive(path: &str, action: &Action) -> bool {
    if path.ends_with("/archiveAllCards") || path.ends_with("/moveAllCards") {
        return true;
    }
    let old = action.data.get("old");
    let closing = |model: &str| {
        old.and_then(|o| o.get("closed")) == Some(&json!(false)) && action.data.pointer(&format!("/{model}/closed")) == Some(&json!(true))
    };
    match action.kind.as_str() {
        kind if kind.starts_with("delete") || kind.starts_with("remove") => true,
        "updateList" => closing("list"),
        "updateBoard" => {
            // Who may see, join, comment or vote: the board's permissions and visibility.
            let permissions = ["permissionLevel", "invitations", "selfJoin", "comments", "voting"];
            let prefs = old.and_then(|o| o.get("prefs")).and_then(Value::as_object);
            closing("board")
                || prefs.is_some_and(|p| p.keys().any(|k| permissions.contains(&k.as_str())))
                || old.is_some_and(|o| o.get("idOrganization").is_some())
        }
        "makeNormalMemberOfBoard" | "makeObserverOfBoard" | "disablePlugin" => true,
        _ => false,
    }
}

/// The objects an action changed, for a gate's threshold.
fn touched(action: &Action) -> Vec<String> {
    ["/card/id", "/list/id", "/label/id", "/checklist/id", "/checkItem/id", "/attachment/id"]
        .iter()
        .filter_map(|p| action.data.pointer(p).and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn names(rule_ids: &[String], id: Option<&String>) -> bool {
    id.is_some_and(|id| rule_ids.iter().any(|r| r.eq_ignore_ascii_case(id)))
}

impl OwnerRule {
    fn is_owner(&self, action: &RecordedAction) -> bool {
        let key = self.key.as_ref().is_some_and(|k| action.key.as_ref().is_some_and(|a| a.eq_ignore_ascii_case(k)));
        let token = self.token.as_ref().is_some_and(|t| action.token.as_ref().is_some_and(|a| a.eq_ignore_ascii_case(t)));
        key || token
    }

    /// Whether the action changes what this rule owns (`card_labels`: its card's labels
    /// before and after).
    fn covers(&self, action: &Action, card_labels: &[String]) -> bool {
        let d = &action.data;
        let ids = |pointers: &[&str]| -> Vec<String> {
            pointers.iter().filter_map(|p| d.pointer(p).and_then(Value::as_str).map(str::to_string)).collect()
        };
        let in_list = ids(&["/list/id", "/listBefore/id", "/listAfter/id"]).iter().any(|l| self.lists.contains(l));
        let labelled = ids(&["/label/id"]).iter().chain(card_labels).any(|l| self.labels.contains(l))
            && (d.get("card").is_some() || d.get("label").is_some());
        let field = ids(&["/customField/id", "/customFieldItem/idCustomField"]).iter().any(|f| self.custom_fields.contains(f));
        let card_field = action.kind == "updateCard"
            && d.get("old").and_then(Value::as_object).is_some_and(|old| old.keys().any(|k| self.card_fields.contains(k)));
        self.board || in_list || labelled || field || card_field
    }
}

async fn policies_of(tx: &mut Tx, boards: &[String]) -> Result<Vec<StoredPolicy>> {
    if boards.is_empty() {
        return Ok(Vec::new());
    }
    crate::store_ext::find(tx, &[Cond::any_of("id", boards)], Order::None, None).await
}

/// The application key a mirror's source-of-truth rule names: no token carries it, so the
/// rule refuses every write but the mirror's own (which come through no request).
pub const MIRROR_KEY: &str = "cork-mirror";

/// Gives the board a whole-board lock owned by its mirror, named after the source, in
/// place of any earlier mirror rule; the board's other rules stay.
pub(crate) async fn set_mirror_owner(tx: &mut Tx, board: &str, name: &str) -> Result<()> {
    let mut policy = get::<StoredPolicy>(tx, board).await?.map(|s| s.policy).unwrap_or_default();
    policy.owners.retain(|r| r.key.as_deref() != Some(MIRROR_KEY));
    policy.owners.push(OwnerRule {
        name: name.to_string(),
        key: Some(MIRROR_KEY.into()),
        token: None,
        mode: OwnerMode::Lock,
        board: true,
        lists: Vec::new(),
        labels: Vec::new(),
        custom_fields: Vec::new(),
        card_fields: Vec::new(),
    });
    tx.delete(Table::BoardPolicies, &[Cond::eq("id", board)]).await?;
    insert(tx, &StoredPolicy { id_board: board.to_string(), policy }).await
}

impl Cork {
    /// The source-of-truth rules a board's JSON shows under `cork.owners` (`card`: only
    /// those that reach that card, with what they own of it); `None` without any, so a
    /// board without rules renders exactly as Trello's.
    pub async fn ownership(&self, board_id: &str, card: Option<&Card>) -> Result<Option<Value>> {
        ownership_in(&mut self.store.read().await?, board_id, card).await
    }

    /// Judges a write by the actions it recorded (`path`: the route it came by). A write
    /// made with no token (a browser session) is a person's: only source-of-truth locks
    /// apply to it.
    pub async fn judge_write(&self, path: &str, recorded: &[RecordedAction]) -> Result<Option<Verdict>> {
        let Some(first) = recorded.first() else { return Ok(None) };
        // A write with no token is a person's (the web board's session, the command
        // line): the people are the reviewers, so gates and review-mode rules are for
        // tokens; a source-of-truth lock still refuses them, as it refuses everyone but
        // the owner.
        let person = first.token.is_none();
        let actions: Vec<(Action, &RecordedAction)> =
            recorded.iter().filter_map(|r| serde_json::from_str::<Action>(&r.doc).ok().map(|a| (a, r))).collect();
        let mut boards: Vec<String> = recorded.iter().filter_map(|r| r.board.clone()).collect();
        boards.sort();
        boards.dedup();
        let mut tx = self.store.read().await?;
        let policies = policies_of(&mut tx, &boards).await?;
        let first_board = boards.first().cloned();
        // Source-of-truth rules first: a lock refuses outright.
        for stored in &policies {
            for rule in &stored.policy.owners {
                for (action, meta) in &actions {
                    if meta.board.as_deref() != Some(stored.id_board.as_str())
                        || rule.is_owner(meta)
                        || (person && rule.mode != OwnerMode::Lock)
                    {
                        continue;
                    }
                    let mut card_labels: Vec<String> = Vec::new();
                    if !rule.labels.is_empty() {
                        if let Some(card) = action.data.pointer("/card/id").and_then(Value::as_str) {
                            if let Some(card) = get::<Card>(&mut tx, card).await? {
                                card_labels = card.id_labels;
                            }
                        }
                        if let Some(old) = action.data.pointer("/old/idLabels").and_then(Value::as_array) {
                            card_labels.extend(old.iter().filter_map(Value::as_str).map(str::to_string));
                        }
                    }
                    if rule.covers(action, &card_labels) {
                        let text = format!("owned by {}: change it there", rule.name);
                        return Ok(Some(match rule.mode {
                            OwnerMode::Lock => Verdict::Refuse(text),
                            OwnerMode::Review => Verdict::Hold { board: Some(stored.id_board.clone()), reason: text },
                        }));
                    }
                }
            }
        }
        if person {
            return Ok(None);
        }
        let destructive = actions.iter().any(|(a, _)| is_destructive(path, a));
        // The gate came with the token the request authenticated with: no lookup.
        if let Some(kind) = first.gate.as_deref().and_then(GateKind::parse) {
            if kind == GateKind::Writes || destructive {
                let reason = if destructive { "a destructive change by a gated token" } else { "a write by a gated token" };
                return Ok(Some(Verdict::Hold { board: first_board, reason: reason.into() }));
            }
        }
        for stored in &policies {
            for rule in &stored.policy.gates {
                let applies = (rule.tokens.is_empty() && rule.keys.is_empty())
                    || names(&rule.tokens, first.token.as_ref())
                    || names(&rule.keys, first.key.as_ref());
                if !applies {
                    continue;
                }
                let on_board: Vec<&Action> =
                    actions.iter().filter(|(_, m)| m.board.as_deref() == Some(stored.id_board.as_str())).map(|(a, _)| a).collect();
                let mut objects: Vec<String> = on_board.iter().flat_map(|a| touched(a)).collect();
                objects.sort();
                objects.dedup();
                let reason = match rule.kinds {
                    Some(GateKind::Writes) => Some("the board's policy reviews every write by this integration".to_string()),
                    Some(GateKind::Destructive) if on_board.iter().any(|a| is_destructive(path, a)) => {
                        Some("the board's policy reviews destructive changes".to_string())
                    }
                    _ => rule
                        .threshold
                        .filter(|n| objects.len() as i64 > *n)
                        .map(|n| format!("the change touches {} objects, more than the board's threshold of {n}", objects.len())),
                };
                if let Some(reason) = reason {
                    return Ok(Some(Verdict::Hold { board: Some(stored.id_board.clone()), reason }));
                }
            }
        }
        Ok(None)
    }

    /// Stores a held write as a pending change request.
    pub async fn hold_change(
        &self,
        board: Option<String>,
        reason: String,
        recorded: &[RecordedAction],
        command: HeldCommand,
        preview: Value,
    ) -> Result<ChangeRequest> {
        let first = recorded.first().ok_or_else(|| DomainError::Internal("a change request without actions".into()))?;
        let request = ChangeRequest {
            id: new_id(),
            id_board: board,
            state: "pending".into(),
            requester: first.member.clone(),
            id_token: first.token.clone(),
            key: first.key.clone(),
            reason,
            command,
            preview,
            date_created: now(),
            date_decided: None,
            decided_by: None,
            comment: None,
        };
        let mut tx = self.store.write().await?;
        insert(&mut tx, &request).await?;
        tx.commit().await?;
        Ok(request)
    }

    /// A board's policy (members of the board read it).
    pub async fn board_policy(&self, actor: &Actor, board: &str) -> Result<(Board, BoardPolicy)> {
        let mut tx = self.store.read().await?;
        let (board, _) = crate::boards::board_with_role(&mut tx, actor, board, Role::Write, UNAUTHORIZED).await?;
        let stored: Option<StoredPolicy> = get(&mut tx, &board.id).await?;
        Ok((board, stored.map(|s| s.policy).unwrap_or_default()))
    }

    /// Sets a board's policy (board admins only).
    pub async fn set_board_policy(&self, actor: &Actor, board: &str, policy: BoardPolicy) -> Result<BoardPolicy> {
        for rule in &policy.owners {
            if rule.key.is_none() && rule.token.is_none() || rule.name.trim().is_empty() {
                return Err(DomainError::InvalidValue("owners".into()));
            }
        }
        for rule in &policy.gates {
            if rule.kinds.is_none() && rule.threshold.is_none() || rule.threshold.is_some_and(|n| n < 0) {
                return Err(DomainError::InvalidValue("gates".into()));
            }
        }
        let malformed = policy.owners.iter().any(|r| r.lists.iter().chain(&r.labels).chain(&r.custom_fields).any(|id| !is_id(id)));
        if malformed {
            return Err(DomainError::InvalidValue("owners".into()));
        }
        let mut tx = self.store.write().await?;
        let (board, role) = crate::boards::board_with_role(&mut tx, actor, board, Role::Write, UNAUTHORIZED).await?;
        if role < Role::Admin {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let stored = StoredPolicy { id_board: board.id.clone(), policy: policy.clone() };
        tx.delete(Table::BoardPolicies, &[Cond::eq("id", &board.id)]).await?;
        insert(&mut tx, &stored).await?;
        crate::audit::insert_in(
            &mut tx,
            &crate::audit::AuditEvent::new("board.policy")
                .with("idBoard", board.id.as_str())
                .with("policy", serde_json::to_value(&policy)?),
        )
        .await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// Marks `token_id`'s writes for review (`None`: no gate).
    pub async fn set_token_gate(&self, token_id: &str, gate: Option<GateKind>) -> Result<()> {
        let mut tx = self.store.write().await?;
        let doc = tx.doc(Table::Tokens, token_id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        let mut value: Value = serde_json::from_str(&doc)?;
        if let Some(map) = value.as_object_mut() {
            match gate {
                Some(kind) => map.insert("gate".into(), serde_json::to_value(kind)?),
                None => map.remove("gate"),
            };
        }
        tx.update(Table::Tokens, &[("doc", Arg::Text(value.to_string()))], &[Cond::eq("id", token_id)]).await?;
        // Tokens are not Trello-visible objects: the change is recorded in the access audit.
        let event = crate::audit::AuditEvent::new("token.gate").with("idToken", token_id).with("gate", serde_json::to_value(gate)?);
        crate::audit::insert_in(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Change requests of a board (its admins), newest first, optionally in one state.
    pub async fn change_requests(&self, actor: &Actor, board: Option<&str>, state: Option<&str>) -> Result<Vec<ChangeRequest>> {
        self.expire_change_requests().await?;
        let mut tx = self.store.read().await?;
        let Some(board) = board else {
            // Every board the actor administers (the web board's review queue): the
            // requests in the state asked, kept where the actor is an admin of the board.
            actor.require_member()?;
            let conds: Vec<Cond> = state.map(|state| Cond::eq("state", state)).into_iter().collect();
            let requests: Vec<ChangeRequest> = crate::store_ext::find(&mut tx, &conds, Order::Desc("id"), Some(1000)).await?;
            // The caller's role on every board named, from one read of the boards and one
            // of the caller's memberships (as a member's board list reads them).
            let mut ids: Vec<&str> = requests.iter().filter_map(|r| r.id_board.as_deref()).collect();
            ids.sort_unstable();
            ids.dedup();
            let boards: Vec<Board> = crate::store_ext::by_ids(&mut tx, &ids).await?;
            let mut models: Vec<&str> = boards.iter().map(|b| b.id.as_str()).collect();
            models.extend(boards.iter().filter_map(|b| b.id_organization.as_deref()));
            let own = crate::access::memberships_of(&mut tx, actor, &models).await?;
            let administered: std::collections::HashSet<&str> =
                boards.iter().filter(|b| crate::access::role_from(actor, b, &own) >= Role::Admin).map(|b| b.id.as_str()).collect();
            return Ok(requests.into_iter().filter(|r| r.id_board.as_deref().is_some_and(|b| administered.contains(b))).collect());
        };
        let (board, role) = crate::boards::board_with_role(&mut tx, actor, board, Role::Read, UNAUTHORIZED).await?;
        if role < Role::Admin {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let mut conds = vec![Cond::eq("board_id", &board.id)];
        if let Some(state) = state {
            conds.push(Cond::eq("state", state));
        }
        crate::store_ext::find(&mut tx, &conds, Order::Desc("id"), Some(1000)).await
    }

    /// One change request, for its requester or the admins of its board.
    pub async fn change_request(&self, actor: &Actor, id: &str) -> Result<ChangeRequest> {
        self.expire_change_requests().await?;
        let mut tx = self.store.read().await?;
        let request = load(&mut tx, id, false).await?;
        if actor.member_id() != Some(request.requester.as_str()) {
            require_board_admin(&mut tx, actor, &request).await?;
        }
        Ok(request)
    }

    /// Takes a pending change request for approval: checks the approver, marks it applied
    /// (inside the write pipeline, in the same transaction as the change it then runs)
    /// and returns it with the requester's actor.
    pub async fn begin_approval(&self, actor: &Actor, id: &str, comment: Option<String>) -> Result<(ChangeRequest, Actor)> {
        self.expire_change_requests().await?;
        let mut tx = self.store.write().await?;
        let mut request = load(&mut tx, id, true).await?;
        let approver = require_board_admin(&mut tx, actor, &request).await?;
        if request.state != "pending" {
            return Err(DomainError::Conflict(format!("the change request is {}", request.state)));
        }
        let requester = match &request.id_token {
            Some(token) => crate::tokens::actor_for_token_id(&mut tx, token).await?,
            None => None,
        }
        .ok_or_else(|| DomainError::Conflict("the requester's token no longer works".into()))?;
        request.state = "applied".into();
        request.date_decided = Some(now());
        request.decided_by = Some(approver);
        request.comment = comment;
        save(&mut tx, &request).await?;
        tx.commit().await?;
        Ok((request, requester))
    }

    /// Rejects a pending change request, recording a `rejectChangeRequest` action on its
    /// board (delivered to webhooks like any action).
    pub async fn reject_change(&self, actor: &Actor, id: &str, comment: Option<String>) -> Result<ChangeRequest> {
        self.expire_change_requests().await?;
        let mut tx = self.store.write().await?;
        let mut request = load(&mut tx, id, true).await?;
        let approver = require_board_admin(&mut tx, actor, &request).await?;
        if request.state != "pending" {
            return Err(DomainError::Conflict(format!("the change request is {}", request.state)));
        }
        request.state = "rejected".into();
        request.date_decided = Some(now());
        request.decided_by = Some(approver);
        request.comment = comment.clone();
        save(&mut tx, &request).await?;
        record_decision(&mut tx, actor, &request, "rejectChangeRequest").await?;
        tx.commit().await?;
        Ok(request)
    }

    /// Marks pending change requests older than [`EXPIRY_DAYS`] expired, each with an
    /// `expireChangeRequest` action by its requester.
    pub async fn expire_change_requests(&self) -> Result<usize> {
        let cutoff = (Utc::now() - Duration::days(EXPIRY_DAYS)).timestamp();
        let mut tx = self.store.write().await?;
        let stale: Vec<ChangeRequest> = crate::store_ext::find(
            &mut tx,
            &[Cond::eq("state", "pending"), Cond::Lt("created_at", Arg::Int(cutoff))],
            Order::Asc("id"),
            Some(100),
        )
        .await?;
        for mut request in stale.iter().cloned() {
            request.state = "expired".into();
            request.date_decided = Some(now());
            save(&mut tx, &request).await?;
            let requester: Option<crate::model::Member> = get(&mut tx, &request.requester).await?;
            if let Some(member) = requester {
                record_decision(&mut tx, &Actor::member(member), &request, "expireChangeRequest").await?;
            }
        }
        tx.commit().await?;
        Ok(stale.len())
    }
}

async fn load(tx: &mut Tx, id: &str, lock: bool) -> Result<ChangeRequest> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    let id = id.to_ascii_lowercase();
    let found = if lock { get_for_update(tx, &id).await? } else { get(tx, &id).await? };
    found.ok_or(DomainError::NotFound(NOT_FOUND))
}

/// The approver's member id, if they administer the request's board.
async fn require_board_admin(tx: &mut Tx, actor: &Actor, request: &ChangeRequest) -> Result<String> {
    let member = actor.require_member()?.id.clone();
    let board_id = request.id_board.as_deref().ok_or(DomainError::Unauthorized(UNAUTHORIZED))?;
    let board: Board = get(tx, board_id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    if board_role(tx, actor, &board).await? < Role::Admin {
        return Err(DomainError::Unauthorized(UNAUTHORIZED));
    }
    Ok(member)
}

async fn record_decision(tx: &mut Tx, actor: &Actor, request: &ChangeRequest, kind: &str) -> Result<()> {
    let Some(board_id) = &request.id_board else { return Ok(()) };
    let Some(board) = get::<Board>(tx, board_id).await? else { return Ok(()) };
    let context = [
        ("board", board_ref(&board)),
        ("changeRequest", json!({"id": request.id, "state": request.state, "requester": request.requester})),
        ("comment", json!(request.comment)),
    ];
    record(tx, actor, kind, data(&context), Refs::board(&board)).await?;
    Ok(())
}

/// Runs `fut` (the approved change) with `approver` stamped on the actions it records.
pub async fn approved_by<F: std::future::Future>(approver: String, fut: F) -> F::Output {
    APPROVED_BY.scope(approver, fut).await
}

impl Cork {
    /// A change request by id, without access checks (the pipeline, for its own answer).
    pub async fn change_request_unchecked(&self, id: &str) -> Result<ChangeRequest> {
        let mut tx = self.store.read().await?;
        load(&mut tx, id, false).await
    }
}

/// `cork.owners` for a board, or for one card of it (the rules that reach it), read in `tx`.
pub(crate) async fn ownership_in(tx: &mut Tx, board_id: &str, card: Option<&Card>) -> Result<Option<Value>> {
    let Some(stored) = get::<StoredPolicy>(tx, board_id).await? else { return Ok(None) };
    let shown: Vec<Value> = stored
        .policy
        .owners
        .iter()
        .filter_map(|rule| {
            let Some(card) = card else { return serde_json::to_value(rule).ok() };
            let whole = rule.board || rule.lists.contains(&card.id_list) || card.id_labels.iter().any(|l| rule.labels.contains(l));
            let mut out = json!({"name": rule.name, "mode": rule.mode});
            if whole {
                out["card"] = json!(true);
            } else if !rule.card_fields.is_empty() || !rule.custom_fields.is_empty() {
                out["cardFields"] = json!(rule.card_fields);
                out["customFields"] = json!(rule.custom_fields);
            } else {
                return None;
            }
            Some(out)
        })
        .collect();
    Ok((!shown.is_empty()).then(|| json!({"owners": shown})))
}
