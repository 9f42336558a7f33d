//! The smaller board operations: calendar and email keys, "marked as viewed", tags
//! (workspace collections), invitations by email, a board's stars, and the objects an
//! action refers to.

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::access::{board_role, require, Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, data, record, Refs};
use crate::boards::{board_with_role, touch_board};
use crate::ids::{is_id, random_hex};
use crate::model::*;
use crate::org_extras::OrgTag;
use crate::store_ext::{find, get, insert, save, Stored};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// One per-board (and maybe per-member) value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BoardMemberDatum {
    pub id: String,
    pub id_board: String,
    /// `*` for values of the whole board.
    pub id_member: String,
    pub kind: String,
    pub value: String,
}

impl Stored for BoardMemberDatum {
    const TABLE: Table = Table::BoardMemberData;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("board_id", Arg::text(&self.id_board)), ("member_id", Arg::text(&self.id_member)), ("kind", Arg::text(&self.kind))]
    }
}

async fn put_datum(tx: &mut Tx, board: &str, member: &str, kind: &str, value: String) -> Result<BoardMemberDatum> {
    let datum = BoardMemberDatum {
        id: format!("{board}:{member}:{kind}"),
        id_board: board.into(),
        id_member: member.into(),
        kind: kind.into(),
        value,
    };
    if tx.count(Table::BoardMemberData, &[Cond::eq("id", &datum.id)]).await? > 0 {
        save(tx, &datum).await?;
    } else {
        insert(tx, &datum).await?;
    }
    Ok(datum)
}

/// What an action refers to (`GET /actions/{id}/{board|card|list|member|organization}`).
#[derive(Debug, Clone)]
pub enum ActionTarget {
    Board(Box<Board>),
    Card(Box<Card>),
    List(Box<List>),
    Member(Box<Member>),
    Organization(Box<Organization>),
}

impl Cork {
    /// `POST /boards/{id}/calendarKey/generate`: a new key for the board's calendar feed;
    /// the old one stops working. Admins only.
    pub async fn generate_calendar_key(&self, actor: &Actor, reference: &str) -> Result<String> {
        let mut tx = self.store.write().await?;
        let (mut board, _) = board_with_role(&mut tx, actor, reference, Role::Admin, UNAUTHORIZED).await?;
        let datum = put_datum(&mut tx, &board.id, "*", "calendarKey", random_hex(16)).await?;
        touch_board(&mut tx, &mut board).await?;
        record(
            &mut tx,
            actor,
            "updateBoard",
            data(&[("board", board_ref(&board)), ("old", json!({"calendarKey": "(replaced)"}))]),
            Refs::board(&board),
        )
        .await?;
        tx.commit().await?;
        Ok(datum.value)
    }

    /// `POST /boards/{id}/emailKey/generate`: the member's own key for emailing cards to
    /// the board (a member preference: no action).
    pub async fn generate_email_key(&self, actor: &Actor, reference: &str) -> Result<String> {
        let mut tx = self.store.write().await?;
        let (board, _) = board_with_role(&mut tx, actor, reference, Role::Write, UNAUTHORIZED).await?;
        let member = actor.require_member()?.id.clone();
        let datum = put_datum(&mut tx, &board.id, &member, "emailKey", random_hex(12)).await?;
        tx.commit().await?;
        Ok(datum.value)
    }

    /// `POST /boards/{id}/markedAsViewed`: remembers when the member last looked.
    pub async fn mark_board_viewed(&self, actor: &Actor, reference: &str) -> Result<(Board, String)> {
        let mut tx = self.store.write().await?;
        let (board, _) = board_with_role(&mut tx, actor, reference, Role::Read, UNAUTHORIZED).await?;
        // The member's own state, like myPrefs: it needs a token that may change the account.
        if !actor.may_change_account() && !actor.may_write() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let member = actor.require_member()?.id.clone();
        let datum = put_datum(&mut tx, &board.id, &member, "lastView", now()).await?;
        tx.commit().await?;
        Ok((board, datum.value))
    }

    /// `POST /boards/{id}/idTags`: files the board under a tag of its workspace.
    pub async fn add_board_tag(&self, actor: &Actor, reference: &str, tag_id: &str) -> Result<Vec<String>> {
        if !is_id(tag_id) {
            return Err(DomainError::InvalidValue("value".into()));
        }
        let mut tx = self.store.write().await?;
        let (mut board, _) = board_with_role(&mut tx, actor, reference, Role::Admin, UNAUTHORIZED).await?;
        let tag: OrgTag = get(&mut tx, &tag_id.to_ascii_lowercase()).await?.ok_or(DomainError::InvalidValue("value".into()))?;
        if Some(&tag.id_organization) != board.id_organization.as_ref() {
            return Err(DomainError::InvalidValue("value".into()));
        }
        if !board.id_tags.contains(&tag.id) {
            let old = board.id_tags.clone();
            board.id_tags.push(tag.id.clone());
            touch_board(&mut tx, &mut board).await?;
            record(
                &mut tx,
                actor,
                "updateBoard",
                data(&[("board", board_ref(&board)), ("old", json!({"idTags": old}))]),
                Refs::board(&board),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(board.id_tags)
    }

    /// `PUT /boards/{id}/members` with `email`: adds the member with that email, or
    /// invites a new, unconfirmed member (Trello's "ghost") who can sign up later.
    pub async fn invite_board_member(
        &self,
        actor: &Actor,
        reference: &str,
        email: &str,
        full_name: Option<&str>,
        member_type: &str,
    ) -> Result<Membership> {
        let email = email.trim().to_ascii_lowercase();
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.starts_with('.'));
        if !valid {
            return Err(DomainError::InvalidValue("email".into()));
        }
        if !matches!(member_type, "admin" | "normal" | "observer") {
            return Err(DomainError::InvalidValue("type".into()));
        }
        let existing = {
            let mut tx = self.store.read().await?;
            board_with_role(&mut tx, actor, reference, Role::Admin, UNAUTHORIZED).await?;
            find::<Member>(&mut tx, &[Cond::eq("email", &email)], Order::None, Some(1)).await?.pop()
        };
        let member = match existing {
            Some(member) => member,
            None => {
                let base: String = email
                    .split('@')
                    .next()
                    .unwrap_or("member")
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                let username = format!("{}{}", if base.len() >= 3 { base } else { format!("{base}member") }, &random_hex(3));
                let invited = self.create_member(&username, Some(full_name.unwrap_or(&email)), Some(&email)).await?;
                self.mark_unconfirmed(&invited).await?
            }
        };
        self.set_board_member(actor, reference, &member.id, member_type).await
    }

    async fn mark_unconfirmed(&self, member: &Member) -> Result<Member> {
        let mut tx = self.store.write().await?;
        let mut member = member.clone();
        member.confirmed = false;
        member.member_type = "ghost".into();
        save(&mut tx, &member).await?;
        tx.commit().await?;
        Ok(member)
    }

    /// `GET /boards/{id}/boardStars?filter=mine|none`: the actor's stars on the board.
    pub async fn stars_on_board(&self, actor: &Actor, reference: &str, filter: &str) -> Result<Vec<BoardStar>> {
        let mut tx = self.store.read().await?;
        let (board, _) = board_with_role(&mut tx, actor, reference, Role::Read, UNAUTHORIZED).await?;
        if filter == "none" {
            return Ok(Vec::new());
        }
        let Some(me) = actor.member_id() else { return Ok(Vec::new()) };
        find(&mut tx, &[Cond::eq("board_id", &board.id), Cond::eq("member_id", me)], Order::Asc("pos"), None).await
    }

    /// The object an action names, if the actor may read its board.
    pub async fn action_target(&self, actor: &Actor, id: &str, what: &str) -> Result<ActionTarget> {
        if !is_id(id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.read().await?;
        let doc = tx.doc(Table::Actions, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        let action: Action = serde_json::from_str(&doc)?;
        let board_id = action.data.pointer("/board/id").and_then(Value::as_str).map(str::to_string);
        if let Some(board_id) = &board_id {
            let board: Board = get(&mut tx, board_id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
            require(board_role(&mut tx, actor, &board).await?, Role::Read, UNAUTHORIZED)?;
        } else if Some(action.id_member_creator.as_str()) != actor.member_id() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let pointer_id = |pointer: &str| action.data.pointer(pointer).and_then(Value::as_str).map(str::to_string);
        let missing = || DomainError::NotFound(NOT_FOUND);
        Ok(match what {
            "board" => ActionTarget::Board(Box::new(get(&mut tx, &board_id.ok_or_else(missing)?).await?.ok_or_else(missing)?)),
            "card" => ActionTarget::Card(Box::new(get(&mut tx, &pointer_id("/card/id").ok_or_else(missing)?).await?.ok_or_else(missing)?)),
            "list" => {
                let list_id = pointer_id("/list/id").or_else(|| pointer_id("/listAfter/id"));
                let list_id = match list_id {
                    Some(id) => id,
                    None => {
                        let card: Card = get(&mut tx, &pointer_id("/card/id").ok_or_else(missing)?).await?.ok_or_else(missing)?;
                        card.id_list
                    }
                };
                ActionTarget::List(Box::new(get(&mut tx, &list_id).await?.ok_or_else(missing)?))
            }
            "member" => {
                let member_id =
                    pointer_id("/idMember").or_else(|| pointer_id("/member/id")).unwrap_or_else(|| action.id_member_creator.clone());
                ActionTarget::Member(Box::new(get(&mut tx, &member_id).await?.ok_or_else(missing)?))
            }
            "memberCreator" => ActionTarget::Member(Box::new(get(&mut tx, &action.id_member_creator).await?.ok_or_else(missing)?)),
            "organization" => {
                let org_id = match pointer_id("/organization/id") {
                    Some(id) => id,
                    None => {
                        let board: Board = get(&mut tx, &board_id.ok_or_else(missing)?).await?.ok_or_else(missing)?;
                        board.id_organization.ok_or_else(missing)?
                    }
                };
                ActionTarget::Organization(Box::new(get(&mut tx, &org_id).await?.ok_or_else(missing)?))
            }
            _ => return Err(missing()),
        })
    }
}
