//! The audit export: every action of a board, workspace, member, token or application
//! key over a period, with the stamps the write pipeline puts on each (the command, the
//! token and the key it came through), paged by id so that any size streams in pages.
//! Readable by the admins of what it covers (and by Cork administrators): a board's or
//! workspace's admins, the member themself, the owner of the token or key.

use cork_store::{Arg, Cond, Tx};

use crate::access::{board_role, Actor, Role, UNAUTHORIZED};
use crate::model::{Action, AppKey};
use crate::store_ext::get;
use crate::{Cork, DomainError, Result, NOT_FOUND};

/// What an export covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportScope {
    Board(String),
    Organization(String),
    Member(String),
    Token(String),
    Key(String),
}

/// One exported action and its stamps.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedAction {
    pub action: Action,
    pub id_command: Option<String>,
    pub id_token: Option<String>,
    pub key: Option<String>,
}

/// An export the actor may read: the actions column and value it selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportGrant {
    column: &'static str,
    value: String,
}

async fn is_instance_admin(tx: &mut Tx, actor: &Actor) -> Result<bool> {
    match actor.member_id() {
        Some(id) => Ok(crate::enterprise::standing(tx, id).await?.admin),
        None => Ok(false),
    }
}

fn refuse() -> DomainError {
    DomainError::Unauthorized(UNAUTHORIZED)
}

impl Cork {
    /// Checks that `actor` may export `scope` and resolves it. A token without the
    /// `account`-free `read` scope cannot read anything anyway; narrowed tokens reach
    /// only the boards and workspaces they name.
    pub async fn audit_export_grant(&self, actor: &Actor, scope: &ExportScope) -> Result<ExportGrant> {
        let mut tx = self.store.read().await?;
        let admin = is_instance_admin(&mut tx, actor).await? && !actor.is_narrowed();
        let me = actor.require_member()?.id.clone();
        let grant = match scope {
            ExportScope::Board(reference) => {
                let board = crate::boards::resolve_board(&mut tx, reference).await?;
                if !admin && board_role(&mut tx, actor, &board).await? < Role::Admin {
                    return Err(refuse());
                }
                ExportGrant { column: "board_id", value: board.id }
            }
            ExportScope::Organization(reference) => {
                let org = crate::organizations::resolve_org(&mut tx, reference).await?;
                if !admin {
                    crate::organizations::org_with_role(&mut tx, actor, &org.id, Role::Admin).await?;
                }
                ExportGrant { column: "org_id", value: org.id }
            }
            ExportScope::Member(reference) => {
                let member = crate::members::resolve_member(&mut tx, actor, reference).await?;
                if !admin && member.id != me {
                    return Err(refuse());
                }
                ExportGrant { column: "member_id", value: member.id }
            }
            ExportScope::Token(id) => {
                if !crate::ids::is_id(id) {
                    return Err(DomainError::InvalidId);
                }
                let id = id.to_ascii_lowercase();
                let doc = tx.doc(cork_store::Table::Tokens, &id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
                let record = crate::tokens::TokenRecord::from_doc(&doc)?;
                if !admin && record.token.id_member != me {
                    return Err(refuse());
                }
                ExportGrant { column: "token_id", value: id }
            }
            ExportScope::Key(key) => {
                let app: AppKey = match key.len() == 32 && key.chars().all(|c| c.is_ascii_hexdigit()) {
                    true => get(&mut tx, &key.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?,
                    false => return Err(DomainError::InvalidValue("key".into())),
                };
                if !admin && app.id_member != me {
                    return Err(refuse());
                }
                ExportGrant { column: "app_key", value: app.id }
            }
        };
        Ok(grant)
    }

    /// The grant for the operator at the command line (no actor: every scope, by id).
    pub async fn audit_export_grant_local(&self, scope: &ExportScope) -> Result<ExportGrant> {
        let mut tx = self.store.read().await?;
        Ok(match scope {
            ExportScope::Board(reference) => {
                ExportGrant { column: "board_id", value: crate::boards::resolve_board(&mut tx, reference).await?.id }
            }
            ExportScope::Organization(reference) => {
                ExportGrant { column: "org_id", value: crate::organizations::resolve_org(&mut tx, reference).await?.id }
            }
            ExportScope::Member(reference) => {
                let member = crate::members::resolve_member(&mut tx, &Actor::anonymous(), reference).await?;
                ExportGrant { column: "member_id", value: member.id }
            }
            ExportScope::Token(id) => ExportGrant { column: "token_id", value: id.to_ascii_lowercase() },
            ExportScope::Key(key) => ExportGrant { column: "app_key", value: key.to_ascii_lowercase() },
        })
    }

    /// Up to `limit` actions of the grant, oldest first, with ids after `after` (the
    /// last id of the previous page) and before `before`.
    pub async fn audit_export_page(
        &self,
        grant: &ExportGrant,
        after: Option<&str>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ExportedAction>> {
        let mut tx = self.store.read().await?;
        let mut conds = vec![Cond::eq(grant.column, &grant.value)];
        if let Some(after) = after {
            conds.push(Cond::Gt("id", Arg::text(after)));
        }
        if let Some(before) = before {
            conds.push(Cond::Lt("id", Arg::text(before)));
        }
        let rows = tx.stamped_actions(&conds, limit.clamp(1, 10_000)).await?;
        rows.into_iter()
            .map(|row| {
                let mut action: Action = serde_json::from_str(&row.doc)?;
                // The removed object a deletion keeps (for undo) is Cork's and never shown.
                if let Some(data) = action.data.as_object_mut() {
                    data.remove("deleted");
                }
                Ok(ExportedAction { action, id_command: row.command_id, id_token: row.token_id, key: row.app_key })
            })
            .collect()
    }
}
