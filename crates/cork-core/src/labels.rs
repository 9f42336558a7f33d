//! Labels of a board: create, read, rename or recolour, delete (taking the label
//! off every card that carries it).

use cork_store::{Cond, Order, Tx};
use serde_json::{json, Map, Value};

use crate::access::{board_role, require, Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, data, record, Refs};
use crate::boards::{board_with_role, touch_board};
use crate::cards::label_color;
use crate::ids::{is_id, new_id};
use crate::model::{Board, Card, Label};
use crate::store_ext::{find, get, insert, remove, save};
use crate::{Cork, DomainError, Result, NOT_FOUND};

fn label_data(label: &Label) -> Value {
    json!({"id": label.id, "name": label.name, "color": label.color})
}

async fn label_with_role(tx: &mut Tx, actor: &Actor, id: &str, needed: Role) -> Result<(Label, Board)> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    let label: Label = get(tx, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    let board: Board = get(tx, &label.id_board).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    let role = board_role(tx, actor, &board).await?;
    require(role, needed, UNAUTHORIZED)?;
    Ok((label, board))
}

impl Cork {
    /// `POST /labels` and `POST /boards/{id}/labels`.
    pub async fn create_label(&self, actor: &Actor, board_ref_str: &str, name: &str, color: Option<&str>) -> Result<Label> {
        let color = label_color(color)?;
        if name.len() > 16384 {
            return Err(DomainError::InvalidValue("name".into()));
        }
        let mut tx = self.store.write().await?;
        let (mut board, _) = board_with_role(&mut tx, actor, board_ref_str, Role::Write, UNAUTHORIZED).await.map_err(|e| match e {
            DomainError::InvalidId => DomainError::InvalidValue("idBoard".into()),
            other => other,
        })?;
        let label = Label { id: new_id(), id_board: board.id.clone(), name: name.to_string(), color };
        insert(&mut tx, &label).await?;
        touch_board(&mut tx, &mut board).await?;
        record(&mut tx, actor, "createLabel", data(&[("board", board_ref(&board)), ("label", label_data(&label))]), Refs::board(&board))
            .await?;
        tx.commit().await?;
        Ok(label)
    }

    /// `GET /labels/{id}`.
    pub async fn get_label(&self, actor: &Actor, id: &str) -> Result<Label> {
        let mut tx = self.store.read().await?;
        Ok(label_with_role(&mut tx, actor, id, Role::Read).await?.0)
    }

    /// `PUT /labels/{id}` (and `/labels/{id}/name`, `/labels/{id}/color`).
    pub async fn update_label(&self, actor: &Actor, id: &str, name: Option<&str>, color: Option<Option<&str>>) -> Result<Label> {
        let mut tx = self.store.write().await?;
        let (mut label, mut board) = label_with_role(&mut tx, actor, id, Role::Write).await?;
        let mut old = Map::new();
        if let Some(name) = name {
            if name.len() > 16384 {
                return Err(DomainError::InvalidValue("name".into()));
            }
            old.insert("name".into(), json!(label.name));
            label.name = name.to_string();
        }
        if let Some(color) = color {
            let color = label_color(color)?;
            old.insert("color".into(), json!(label.color));
            label.color = color;
        }
        save(&mut tx, &label).await?;
        touch_board(&mut tx, &mut board).await?;
        record(
            &mut tx,
            actor,
            "updateLabel",
            data(&[("board", board_ref(&board)), ("label", label_data(&label)), ("old", Value::Object(old))]),
            Refs::board(&board),
        )
        .await?;
        tx.commit().await?;
        Ok(label)
    }

    /// `DELETE /labels/{id}`: the action records which cards carried it.
    pub async fn delete_label(&self, actor: &Actor, id: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (label, mut board) = label_with_role(&mut tx, actor, id, Role::Write).await?;
        let cards: Vec<Card> = find(&mut tx, &[Cond::eq("board_id", &board.id)], Order::None, None).await?;
        let mut carried = Vec::new();
        for mut card in cards.into_iter().filter(|c| c.id_labels.contains(&label.id)) {
            card.id_labels.retain(|l| *l != label.id);
            save(&mut tx, &card).await?;
            carried.push(card.id);
        }
        remove(&mut tx, &label).await?;
        touch_board(&mut tx, &mut board).await?;
        let deleted = json!({"label": label, "cards": carried});
        record(
            &mut tx,
            actor,
            "deleteLabel",
            data(&[("board", board_ref(&board)), ("label", label_data(&label)), ("deleted", deleted)]),
            Refs::board(&board),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
