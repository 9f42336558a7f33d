//! Who may do what. Every command asks once, here, for the actor's role on the board
//! (or workspace) it touches; the token's scopes can only narrow that role.

use cork_store::{Cond, Order, Tx};

use crate::model::{Board, Member, Membership, Token};
use crate::store_ext::find;
use crate::{DomainError, Result};

/// Trello's text for a refused board, list, label or member request.
pub const UNAUTHORIZED: &str = "unauthorized permission requested";
/// Trello's text for a refused card request.
pub const UNAUTHORIZED_CARD: &str = "unauthorized card permission requested";

/// The member a request acts for, and the token it came with.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub member: Option<Member>,
    pub token: Option<Token>,
}

impl Actor {
    /// No credentials: may read public boards only.
    pub fn anonymous() -> Actor {
        Actor::default()
    }

    /// An actor with full rights of `member` (the CLI, tests of the domain).
    pub fn member(member: Member) -> Actor {
        Actor { member: Some(member), token: None }
    }

    /// The member's id, if any.
    pub fn member_id(&self) -> Option<&str> {
        self.member.as_ref().map(|m| m.id.as_str())
    }

    /// The member, or Trello's 401.
    pub fn require_member(&self) -> Result<&Member> {
        self.member.as_ref().ok_or(DomainError::Unauthorized(UNAUTHORIZED))
    }

    fn has_scope(&self, scope: &str) -> bool {
        match &self.token {
            Some(token) => token.scopes.iter().any(|s| s == scope),
            None => self.member.is_some(),
        }
    }

    /// True when the token may write boards and workspaces.
    pub fn may_write(&self) -> bool {
        self.has_scope("write")
    }

    /// True when the token may change the member's own account.
    pub fn may_change_account(&self) -> bool {
        self.has_scope("account")
    }

    /// True for a per-board token: one whose `permissions` name boards or workspaces
    /// instead of `*`. Such a token reaches nothing else, not even the member's own lists.
    pub fn is_narrowed(&self) -> bool {
        self.token.as_ref().is_some_and(|t| !t.permissions.iter().any(|p| p.id_model == "*" && p.model_type == "Board"))
    }

    /// The most the token allows on a model it names directly or through `*`: `Admin`
    /// (no cap) for a writable grant, `Read` for a read-only one, `None` when not named.
    fn grant_on(&self, model_type: &str, ids: &[&str]) -> Role {
        let Some(token) = &self.token else { return Role::Admin };
        token
            .permissions
            .iter()
            .filter(|p| p.model_type == model_type && (p.id_model == "*" || ids.contains(&p.id_model.as_str())))
            .map(|p| {
                if p.write {
                    Role::Admin
                } else if p.read {
                    Role::Read
                } else {
                    Role::None
                }
            })
            .max()
            .unwrap_or(Role::None)
    }

    /// The cap the token puts on `board`: a per-board token reaches the boards it names
    /// and the boards of the workspaces it names, read-only or read-write per entry.
    pub fn board_cap(&self, board: &Board) -> Role {
        let by_board = self.grant_on("Board", &[board.id.as_str()]);
        let by_org = match &board.id_organization {
            Some(org) if self.is_narrowed() => self.grant_on("Organization", &[org.as_str()]),
            _ => Role::None,
        };
        by_board.max(by_org)
    }

    /// The cap the token puts on the workspace `org_id` (only workspaces it names).
    pub fn org_cap(&self, org_id: &str) -> Role {
        if self.token.is_some() && !self.is_narrowed() {
            return Role::Admin;
        }
        self.grant_on("Organization", &[org_id])
    }
}

/// An actor's standing on one board or workspace, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    None,
    Read,
    Write,
    Admin,
}

/// The actor's memberships on the given models (boards and/or workspaces) in one query.
pub(crate) async fn memberships_of(tx: &mut Tx, actor: &Actor, models: &[&str]) -> Result<Vec<Membership>> {
    let Some(member_id) = actor.member_id() else { return Ok(Vec::new()) };
    find(tx, &[Cond::eq("member_id", member_id), Cond::any_of("model_id", models)], Order::None, None).await
}

/// The role `actor` has on `board`, capped by its token's scopes.
pub(crate) async fn board_role(tx: &mut Tx, actor: &Actor, board: &Board) -> Result<Role> {
    let mut models = vec![board.id.as_str()];
    if let Some(org) = &board.id_organization {
        models.push(org.as_str());
    }
    let memberships = memberships_of(tx, actor, &models).await?;
    Ok(role_from(actor, board, &memberships))
}

/// The role, from memberships already loaded (for lists of boards).
pub(crate) fn role_from(actor: &Actor, board: &Board, memberships: &[Membership]) -> Role {
    let mut role = match board.permission_level() {
        "public" => Role::Read,
        _ => Role::None,
    };
    for membership in memberships {
        if membership.deactivated || Some(membership.id_member.as_str()) != actor.member_id() {
            continue;
        }
        let granted = if membership.id_model == board.id {
            match membership.member_type.as_str() {
                "admin" => Role::Admin,
                "normal" => Role::Write,
                _ => Role::Read,
            }
        } else if Some(&membership.id_model) == board.id_organization.as_ref() {
            match (membership.member_type.as_str(), board.permission_level()) {
                ("admin", _) => Role::Admin,
                (_, "org") | (_, "public") => Role::Read,
                _ => Role::None,
            }
        } else {
            Role::None
        };
        role = role.max(granted);
    }
    if !actor.may_write() {
        role = role.min(Role::Read);
    }
    role.min(actor.board_cap(board))
}

/// For a per-board token, which of `board_ids` it reaches (read at least); `None` for
/// every other actor, whose listings are filtered by membership alone.
pub(crate) async fn reached_boards(tx: &mut Tx, actor: &Actor, board_ids: &[&str]) -> Result<Option<std::collections::HashSet<String>>> {
    if !actor.is_narrowed() {
        return Ok(None);
    }
    let boards: Vec<Board> = crate::store_ext::by_ids(tx, board_ids).await?;
    Ok(Some(boards.into_iter().filter(|b| actor.board_cap(b) >= Role::Read).map(|b| b.id).collect()))
}

/// Refuses a per-board token on a board it does not reach (for member-owned records
/// about a board, such as stars).
pub(crate) async fn require_reach(tx: &mut Tx, actor: &Actor, board_id: &str) -> Result<()> {
    match reached_boards(tx, actor, &[board_id]).await? {
        Some(reached) if !reached.contains(board_id) => Err(DomainError::Unauthorized(UNAUTHORIZED)),
        _ => Ok(()),
    }
}

/// True when the actor is a member of the workspace `org_id` and its token reaches the
/// workspace at `needed` (creating a board in it or moving one there needs `Write`).
pub(crate) async fn in_org(tx: &mut Tx, actor: &Actor, org_id: &str, needed: Role) -> Result<bool> {
    if actor.org_cap(org_id) < needed || (needed > Role::Read && !actor.may_write()) {
        return Ok(false);
    }
    Ok(memberships_of(tx, actor, &[org_id]).await?.iter().any(|m| !m.deactivated))
}

/// Fails with `message` unless `role` reaches `needed`.
pub(crate) fn require(role: Role, needed: Role, message: &'static str) -> Result<()> {
    if role >= needed {
        Ok(())
    } else {
        Err(DomainError::Unauthorized(message))
    }
}
