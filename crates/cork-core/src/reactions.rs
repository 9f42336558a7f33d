//! Emoji reactions on comments. A member reacts at most once with each emoji on one
//! comment (the store's unique key backs the check). Reactions are board content, so
//! adding and removing one is logged like any other change.
//!
//! Deleting a comment leaves its reactions in place: they cannot be reached while the
//! comment is gone (every route loads the comment first), and a comment restored from
//! the log's `deleted` data gets them back with it.

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::access::{board_role, Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, check_action_access, data, load_action, record, Refs};
use crate::emoji::{reaction_emoji, ReactionEmoji};
use crate::ids::{is_id, new_id};
use crate::model::{Action, Board, Member};
use crate::store_ext::{by_ids, find, get, insert, remove, Stored};
use crate::{Cork, DomainError, Result, NOT_FOUND};

/// One member's reaction with one emoji on one action.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Reaction {
    pub id: String,
    pub id_member: String,
    /// The action reacted to.
    pub id_model: String,
    /// The emoji without skin tone (its `unified` code).
    pub id_emoji: String,
    pub emoji: ReactionEmoji,
}

impl Stored for Reaction {
    const TABLE: Table = Table::Reactions;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("action_id", Arg::text(&self.id_model)), ("member_id", Arg::text(&self.id_member)), ("emoji", Arg::text(&self.id_emoji))]
    }
}

/// How an emoji is named in `POST /actions/{id}/reactions`.
#[derive(Debug, Clone, Default)]
pub struct EmojiInput {
    pub short_name: Option<String>,
    pub unified: Option<String>,
    pub native: Option<String>,
    pub skin_variation: Option<String>,
}

/// Reactions with the members who made them.
#[derive(Debug, Clone, Default)]
pub struct ReactionPage {
    pub reactions: Vec<Reaction>,
    pub members: Vec<Member>,
}

/// One line of `reactionsSummary`: an emoji, how many reacted with it, and the first.
#[derive(Debug, Clone)]
pub struct ReactionSummary {
    pub emoji: ReactionEmoji,
    pub count: i64,
    /// The earliest reaction with this emoji.
    pub first: Reaction,
}

/// Whether the actor may react on the board: the same rule as commenting (the board's
/// `comments` preference), since a reaction is a small comment.
async fn may_react(tx: &mut Tx, actor: &Actor, board: &Board) -> Result<bool> {
    if actor.member.is_none() || !actor.may_write() {
        return Ok(false);
    }
    let role = board_role(tx, actor, board).await?;
    Ok(match board.prefs.get("comments").and_then(Value::as_str).unwrap_or("members") {
        "disabled" => false,
        "public" | "observers" | "org" => role >= Role::Read,
        _ => role >= Role::Write,
    })
}

/// The comment reacted to, readable by the actor, with its board.
async fn comment(tx: &mut Tx, actor: &Actor, action_id: &str) -> Result<(Action, Board)> {
    let action = load_action(tx, action_id).await?;
    let board = check_action_access(tx, actor, &action, Role::Read).await?;
    Ok((action, board))
}

async fn reactions_of(tx: &mut Tx, action_id: &str) -> Result<Vec<Reaction>> {
    find(tx, &[Cond::eq("action_id", action_id)], Order::Asc("id"), None).await
}

pub(crate) fn reaction_data(reaction: &Reaction) -> Value {
    json!({"id": reaction.id, "idEmoji": reaction.id_emoji, "native": reaction.emoji.native, "shortName": reaction.emoji.short_name})
}

/// The context an action about a comment's reaction carries: the board, the card and
/// the comment.
pub(crate) fn context(board: &Board, action: &Action, reaction: &Reaction) -> Vec<(&'static str, Value)> {
    let mut context = vec![("board", board_ref(board)), ("action", json!({"id": action.id})), ("reaction", reaction_data(reaction))];
    if let Some(card) = action.data.get("card") {
        context.push(("card", card.clone()));
    }
    context
}

pub(crate) fn refs(board: &Board, action: &Action) -> Refs {
    let card = action.data.pointer("/card/id").and_then(Value::as_str).map(str::to_string);
    Refs { card, ..Refs::board(board) }
}

impl Cork {
    /// `GET /actions/{idAction}/reactions`, oldest first.
    pub async fn reactions(&self, actor: &Actor, action_id: &str) -> Result<ReactionPage> {
        let mut tx = self.store.read().await?;
        let (action, _) = comment(&mut tx, actor, action_id).await?;
        let reactions = reactions_of(&mut tx, &action.id).await?;
        let members = reactors(&mut tx, &reactions).await?;
        Ok(ReactionPage { reactions, members })
    }

    /// `GET /actions/{idAction}/reactions/{id}`.
    pub async fn reaction(&self, actor: &Actor, action_id: &str, reaction_id: &str) -> Result<ReactionPage> {
        if !is_id(reaction_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.read().await?;
        let (action, _) = comment(&mut tx, actor, action_id).await?;
        let reaction: Reaction = get(&mut tx, &reaction_id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        if reaction.id_model != action.id {
            return Err(DomainError::NotFound(NOT_FOUND));
        }
        let members = reactors(&mut tx, std::slice::from_ref(&reaction)).await?;
        Ok(ReactionPage { reactions: vec![reaction], members })
    }

    /// `POST /actions/{idAction}/reactions`: reacts to a comment with one emoji.
    pub async fn add_reaction(&self, actor: &Actor, action_id: &str, input: EmojiInput) -> Result<ReactionPage> {
        let emoji = reaction_emoji(
            input.short_name.as_deref(),
            input.unified.as_deref(),
            input.native.as_deref(),
            input.skin_variation.as_deref(),
        )?;
        let mut tx = self.store.write().await?;
        let (action, board) = comment(&mut tx, actor, action_id).await?;
        if action.kind != "commentCard" {
            return Err(DomainError::BadRequest("only comments take reactions".into()));
        }
        if !may_react(&mut tx, actor, &board).await? {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let member_id = actor.require_member()?.id.clone();
        let taken = [Cond::eq("action_id", &action.id), Cond::eq("member_id", &member_id), Cond::eq("emoji", &emoji.unified)];
        if tx.count(Table::Reactions, &taken).await? > 0 {
            return Err(DomainError::BadRequest("member has already reacted with this emoji".into()));
        }
        let reaction = Reaction { id: new_id(), id_member: member_id, id_model: action.id.clone(), id_emoji: emoji.unified.clone(), emoji };
        insert(&mut tx, &reaction).await?;
        record(&mut tx, actor, "addReaction", data(&context(&board, &action, &reaction)), refs(&board, &action)).await?;
        let members = reactors(&mut tx, std::slice::from_ref(&reaction)).await?;
        tx.commit().await?;
        Ok(ReactionPage { reactions: vec![reaction], members })
    }

    /// `DELETE /actions/{idAction}/reactions/{id}`: only the member who reacted.
    pub async fn delete_reaction(&self, actor: &Actor, action_id: &str, reaction_id: &str) -> Result<()> {
        if !is_id(reaction_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.write().await?;
        let (action, board) = comment(&mut tx, actor, action_id).await?;
        let reaction: Reaction = get(&mut tx, &reaction_id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        if reaction.id_model != action.id {
            return Err(DomainError::NotFound(NOT_FOUND));
        }
        if Some(reaction.id_member.as_str()) != actor.member_id() || !actor.may_write() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        remove(&mut tx, &reaction).await?;
        let mut context = context(&board, &action, &reaction);
        context.push(("deleted", json!(reaction)));
        record(&mut tx, actor, "deleteReaction", data(&context), refs(&board, &action)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /actions/{idAction}/reactionsSummary`: one line per emoji, in the order the
    /// emoji were first used.
    pub async fn reactions_summary(&self, actor: &Actor, action_id: &str) -> Result<(Vec<ReactionSummary>, Vec<Member>)> {
        let mut tx = self.store.read().await?;
        let (action, _) = comment(&mut tx, actor, action_id).await?;
        let reactions = reactions_of(&mut tx, &action.id).await?;
        let mut summary: Vec<ReactionSummary> = Vec::new();
        for reaction in &reactions {
            match summary.iter_mut().find(|s| s.first.id_emoji == reaction.id_emoji) {
                Some(line) => line.count += 1,
                None => summary.push(ReactionSummary {
                    emoji: ReactionEmoji {
                        skin_variation: None,
                        native: crate::emoji::native_of(&reaction.id_emoji).unwrap_or_default(),
                        ..reaction.emoji.clone()
                    },
                    count: 1,
                    first: reaction.clone(),
                }),
            }
        }
        let firsts: Vec<Reaction> = summary.iter().map(|s| s.first.clone()).collect();
        let members = reactors(&mut tx, &firsts).await?;
        Ok((summary, members))
    }
}

/// The members behind some reactions, in one query.
async fn reactors(tx: &mut Tx, reactions: &[Reaction]) -> Result<Vec<Member>> {
    let mut ids: Vec<&str> = reactions.iter().map(|r| r.id_member.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    by_ids(tx, &ids).await
}
