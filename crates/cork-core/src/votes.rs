//! Votes on cards. The board's `voting` preference says who may vote; a member votes
//! only as themself, once per card. Voters are kept in the card's `idMembersVoted` and
//! counted in its badges; each vote and unvote is a `voteOnCard` action.

use cork_store::Tx;
use serde_json::{json, Value};

use crate::access::{board_role, memberships_of, Actor, Role, UNAUTHORIZED_CARD};
use crate::actions::{board_ref, card_ref, data, record, Refs};
use crate::boards::touch_board;
use crate::cards::card_with_role;
use crate::model::{Board, Card, Member};
use crate::store_ext::{by_ids, get_for_update, save};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// Whether the actor may vote on the board's cards under its `voting` preference:
/// `members` — its normal members and admins; `observers` — any board member;
/// `org` — board members and members of its workspace; `public` — any member who can
/// read the board; `disabled` (the default) — nobody.
async fn may_vote(tx: &mut Tx, actor: &Actor, board: &Board) -> Result<bool> {
    if actor.member.is_none() || !actor.may_write() {
        return Ok(false);
    }
    let voting = board.prefs.get("voting").and_then(Value::as_str).unwrap_or("disabled");
    let role = board_role(tx, actor, board).await?;
    let mut models = vec![board.id.as_str()];
    if voting == "org" {
        models.extend(board.id_organization.as_deref());
    }
    let member_of = matches!(voting, "observers" | "org") && memberships_of(tx, actor, &models).await?.iter().any(|m| !m.deactivated);
    Ok(match voting {
        "members" => role >= Role::Write,
        "observers" | "org" => role >= Role::Read && member_of,
        "public" => role >= Role::Read,
        _ => false,
    })
}

/// Voters as the actor may see them: with the board's `hideVotes` on, only board admins
/// see who voted; others see their own vote only (the count stays on the card).
async fn visible_voters(tx: &mut Tx, actor: &Actor, card: &Card, board: &Board, role: Role) -> Result<Vec<Member>> {
    let hidden = board.prefs.get("hideVotes").and_then(Value::as_bool).unwrap_or(false) && role < Role::Admin;
    let ids: Vec<&String> = card.id_members_voted.iter().filter(|id| !hidden || Some(id.as_str()) == actor.member_id()).collect();
    let mut members: Vec<Member> = by_ids(tx, &ids).await?;
    members.sort_by_key(|m| card.id_members_voted.iter().position(|id| *id == m.id));
    Ok(members)
}

impl Cork {
    /// `GET /cards/{id}/membersVoted`, in voting order.
    pub async fn card_voters(&self, actor: &Actor, reference: &str) -> Result<Vec<Member>> {
        let mut tx = self.store.read().await?;
        let (card, board, role) = card_with_role(&mut tx, actor, reference, Role::Read).await?;
        visible_voters(&mut tx, actor, &card, &board, role).await
    }

    /// `POST /cards/{id}/membersVoted` with `value`: the member voting, who must be the
    /// actor. Returns the voters.
    pub async fn vote(&self, actor: &Actor, reference: &str, member_ref: &str) -> Result<Vec<Member>> {
        self.set_vote(actor, reference, member_ref, true).await
    }

    /// `DELETE /cards/{id}/membersVoted/{idMember}`: takes back the actor's own vote.
    pub async fn unvote(&self, actor: &Actor, reference: &str, member_ref: &str) -> Result<Vec<Member>> {
        self.set_vote(actor, reference, member_ref, false).await
    }

    async fn set_vote(&self, actor: &Actor, reference: &str, member_ref: &str, voted: bool) -> Result<Vec<Member>> {
        let mut tx = self.store.write().await?;
        let (card, mut board, role) = card_with_role(&mut tx, actor, reference, Role::Read).await?;
        let member = crate::members::resolve_member(&mut tx, actor, member_ref).await.map_err(|e| match e {
            DomainError::InvalidId if voted => DomainError::InvalidValue("value".into()),
            other => other,
        })?;
        // Votes are personal: nobody votes, or takes a vote back, for someone else.
        if actor.member_id() != Some(member.id.as_str()) || !may_vote(&mut tx, actor, &board).await? {
            return Err(DomainError::Unauthorized(UNAUTHORIZED_CARD));
        }
        let mut card: Card = get_for_update(&mut tx, &card.id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        let has_voted = card.id_members_voted.contains(&member.id);
        match (voted, has_voted) {
            (true, true) => return Err(DomainError::BadRequest("member has already voted on the card".into())),
            (false, false) => return Err(DomainError::BadRequest("member has not voted on the card".into())),
            (true, false) => card.id_members_voted.push(member.id.clone()),
            (false, true) => card.id_members_voted.retain(|id| *id != member.id),
        }
        card.counts.votes = card.id_members_voted.len() as i64;
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let context = [("board", board_ref(&board)), ("card", card_ref(&card)), ("voted", json!(voted))];
        record(&mut tx, actor, "voteOnCard", data(&context), Refs::card(&board, &card)).await?;
        let voters = visible_voters(&mut tx, actor, &card, &board, role).await?;
        tx.commit().await?;
        Ok(voters)
    }
}
