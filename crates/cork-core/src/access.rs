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
    role
}

/// Fails with `message` unless `role` reaches `needed`.
pub(crate) fn require(role: Role, needed: Role, message: &'static str) -> Result<()> {
    if role >= needed {
        Ok(())
    } else {
        Err(DomainError::Unauthorized(message))
    }
}
