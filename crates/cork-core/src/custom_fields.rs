//! Custom fields: definitions on boards (`text`, `number`, `date`, `checkbox`, `list`
//! with its dropdown options) and their values on cards ("items"). An item is a row of
//! its own, indexed by the field's board, so that a board view reads the values of all
//! its cards in one statement. Values travel as strings, as on Trello.

use cork_store::{Arg, Cond, Order, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::access::{Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, card_ref, data, record, Refs};
use crate::boards::{board_with_role, touch_board};
use crate::cards::card_with_role;
use crate::ids::{is_id, new_id, sha256_hex};
use crate::model::{Board, Card};
use crate::pos::Pos;
use crate::store_ext::{find, get, get_for_update, insert, remove, save, Stored};
use crate::{format_date, now, parse_date, Cork, DomainError, Result, NOT_FOUND};

/// The kinds of field Trello offers.
pub const FIELD_TYPES: [&str; 5] = ["checkbox", "date", "list", "number", "text"];

/// Colours a dropdown option may take (`none` is Trello's default).
pub const OPTION_COLORS: [&str; 11] = ["none", "green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black"];

/// Trello's answer to a value that does not fit its field.
pub const INVALID_ITEM_VALUE: &str = "Invalid custom field item value.";

/// The longest text value or name Cork keeps.
const MAX_TEXT: usize = 16384;

/// A field definition on a board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomField {
    pub id: String,
    /// The board the field is defined on.
    pub id_model: String,
    pub model_type: String,
    pub field_group: String,
    pub name: String,
    pub pos: f64,
    #[serde(rename = "type")]
    pub kind: String,
    /// `display.cardFront`: whether the value shows on the front of cards.
    pub card_front: bool,
    #[serde(default)]
    pub options: Vec<CustomFieldOption>,
}

/// The text of a dropdown option, nested as Trello nests it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OptionValue {
    pub text: String,
}

/// One choice of a `list` field; stored in Trello's shape.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldOption {
    pub id: String,
    pub id_custom_field: String,
    pub value: OptionValue,
    pub color: String,
    pub pos: f64,
}

/// A field's value on a card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldItem {
    pub id: String,
    pub id_custom_field: String,
    /// The card.
    pub id_model: String,
    pub model_type: String,
    /// `{"text"|"number"|"date"|"checked": "<string>"}` for every type but `list`.
    #[serde(default)]
    pub value: Option<Map<String, Value>>,
    /// The chosen option of a `list` field.
    #[serde(default)]
    pub id_value: Option<String>,
    /// The field's board (Cork's, for reading a board's items at once; not on the wire).
    pub id_board: String,
}

impl Stored for CustomField {
    const TABLE: cork_store::Table = cork_store::Table::CustomFields;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("board_id", Arg::text(&self.id_model)), ("pos", Arg::Float(self.pos))]
    }
}

impl Stored for CustomFieldItem {
    const TABLE: cork_store::Table = cork_store::Table::CustomFieldItems;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("board_id", Arg::text(&self.id_board)),
            ("card_id", Arg::text(&self.id_model)),
            ("field_id", Arg::text(&self.id_custom_field)),
        ]
    }
}

/// A new dropdown option as a client sent it.
#[derive(Debug, Clone, Default)]
pub struct NewOption {
    pub text: String,
    pub color: Option<String>,
    pub pos: Option<Pos>,
}

/// Parameters of `POST /customFields`.
#[derive(Debug, Clone, Default)]
pub struct NewCustomField {
    pub id_model: Option<String>,
    pub model_type: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub pos: Option<Pos>,
    pub card_front: Option<bool>,
    pub options: Vec<NewOption>,
}

/// Parameters of `PUT /customFields/{id}`.
#[derive(Debug, Clone, Default)]
pub struct CustomFieldPatch {
    pub name: Option<String>,
    pub pos: Option<Pos>,
    pub card_front: Option<bool>,
}

/// What a client asks to put in a card's field.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemInput {
    /// `{"value": ""}`, `{"idValue": ""}`: remove the value.
    Clear,
    /// `{"value": {<key>: <text>}}`, checked against the field's type.
    Value { key: String, text: String },
    /// `{"idValue": "<option id>"}` for a `list` field.
    Choice(String),
}

fn invalid_item() -> DomainError {
    DomainError::BadRequest(INVALID_ITEM_VALUE.into())
}

impl ItemInput {
    /// Reads the `value` / `idValue` pair of a request body. `idValue` wins when both
    /// are sent; numbers and booleans count as their text, as clients send either.
    pub fn from_json(value: Option<&Value>, id_value: Option<&Value>) -> Result<ItemInput> {
        if let Some(id_value) = id_value {
            return match id_value {
                Value::Null => Ok(ItemInput::Clear),
                Value::String(s) if s.is_empty() => Ok(ItemInput::Clear),
                Value::String(s) => Ok(ItemInput::Choice(s.clone())),
                _ => Err(invalid_item()),
            };
        }
        match value {
            None => Err(DomainError::InvalidValue("value".into())),
            Some(Value::Null) => Ok(ItemInput::Clear),
            Some(Value::String(s)) if s.is_empty() => Ok(ItemInput::Clear),
            Some(Value::Object(map)) => {
                let mut entries = map.iter();
                let (Some((key, raw)), None) = (entries.next(), entries.next()) else {
                    return if map.is_empty() { Ok(ItemInput::Clear) } else { Err(invalid_item()) };
                };
                let text = match raw {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => String::new(),
                    _ => return Err(invalid_item()),
                };
                // `{"text": ""}` is how several clients clear a field.
                if text.is_empty() {
                    return Ok(ItemInput::Clear);
                }
                Ok(ItemInput::Value { key: key.clone(), text })
            }
            Some(_) => Err(invalid_item()),
        }
    }
}

/// `{id, name, type}` as actions show a field.
pub fn field_ref(field: &CustomField) -> Value {
    json!({"id": field.id, "name": field.name, "type": field.kind})
}

/// An item as Trello shows it, on the wire and inside actions: `value` for every
/// type but `list`, `idValue` for `list`.
pub fn item_json(item: &CustomFieldItem) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(item.id));
    if let Some(value) = &item.value {
        out.insert("value".into(), Value::Object(value.clone()));
    }
    if let Some(id_value) = &item.id_value {
        out.insert("idValue".into(), json!(id_value));
    }
    out.insert("idCustomField".into(), json!(item.id_custom_field));
    out.insert("idModel".into(), json!(item.id_model));
    out.insert("modelType".into(), json!(item.model_type));
    Value::Object(out)
}

/// The fields of a board in `pos` order.
pub(crate) async fn fields_of_board(tx: &mut Tx, board_id: &str) -> Result<Vec<CustomField>> {
    find(tx, &[Cond::eq("board_id", board_id)], Order::Asc("pos"), None).await
}

/// Every item of a board's fields (one statement, whatever the number of cards).
pub(crate) async fn items_of_board(tx: &mut Tx, board_id: &str) -> Result<Vec<CustomFieldItem>> {
    find(tx, &[Cond::eq("board_id", board_id)], Order::Asc("id"), None).await
}

/// The items a card shows: those of fields of the board it is on now.
pub(crate) async fn items_of_card(tx: &mut Tx, card: &Card) -> Result<Vec<CustomFieldItem>> {
    find(tx, &[Cond::eq("card_id", &card.id), Cond::eq("board_id", &card.id_board)], Order::Asc("id"), None).await
}

/// Removes the items of deleted cards; returns them for the deleting action.
pub(crate) async fn remove_card_items(tx: &mut Tx, card_ids: &[String]) -> Result<Vec<CustomFieldItem>> {
    if card_ids.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<CustomFieldItem> = find(tx, &[Cond::any_of("card_id", card_ids)], Order::Asc("id"), None).await?;
    if !items.is_empty() {
        tx.delete(cork_store::Table::CustomFieldItems, &[Cond::any_of("card_id", card_ids)]).await?;
    }
    Ok(items)
}

/// Removes a deleted board's fields with their items, and whatever values its cards
/// still hold for fields of boards they came from; returns both for the action.
pub(crate) async fn remove_board_fields(
    tx: &mut Tx,
    board_id: &str,
    card_ids: &[String],
) -> Result<(Vec<CustomField>, Vec<CustomFieldItem>)> {
    let fields = fields_of_board(tx, board_id).await?;
    let mut items = items_of_board(tx, board_id).await?;
    tx.delete(cork_store::Table::CustomFieldItems, &[Cond::eq("board_id", board_id)]).await?;
    tx.delete(cork_store::Table::CustomFields, &[Cond::eq("board_id", board_id)]).await?;
    items.extend(remove_card_items(tx, card_ids).await?);
    Ok((fields, items))
}

async fn load_field(tx: &mut Tx, id: &str) -> Result<CustomField> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    get(tx, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))
}

/// A field for update, its board and the actor's role there, refusing actors below `needed`.
async fn field_with_role(tx: &mut Tx, actor: &Actor, id: &str, needed: Role) -> Result<(CustomField, Board)> {
    let field = load_field(tx, id).await?;
    let (board, _) = board_with_role(tx, actor, &field.id_model, needed, UNAUTHORIZED).await?;
    let field = if needed >= Role::Write { get_for_update(tx, &field.id).await?.ok_or(DomainError::NotFound(NOT_FOUND))? } else { field };
    Ok((field, board))
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_TEXT {
        return Err(DomainError::InvalidValue("name".into()));
    }
    Ok(name.to_string())
}

/// Builds an option, placed after `options` unless a position is given.
/// `errors` names the parameters to blame for a bad text and a bad colour.
fn make_option(field_id: &str, options: &[CustomFieldOption], input: &NewOption, errors: (&str, &str)) -> Result<CustomFieldOption> {
    let text = input.text.trim();
    if text.is_empty() || text.len() > MAX_TEXT {
        return Err(DomainError::InvalidValue(errors.0.into()));
    }
    let color = input.color.clone().filter(|c| !c.is_empty() && c != "null").unwrap_or_else(|| "none".into());
    if !OPTION_COLORS.contains(&color.as_str()) {
        return Err(DomainError::InvalidValue(errors.1.into()));
    }
    let range = options.iter().map(|o| o.pos).fold(None, |acc: Option<(f64, f64)>, pos| match acc {
        None => Some((pos, pos)),
        Some((low, high)) => Some((low.min(pos), high.max(pos))),
    });
    let pos = input.pos.unwrap_or(Pos::Bottom).resolve(range);
    Ok(CustomFieldOption { id: new_id(), id_custom_field: field_id.to_string(), value: OptionValue { text: text.to_string() }, color, pos })
}

pub(crate) fn sort_options(options: &mut [CustomFieldOption]) {
    options.sort_by(|a, b| a.pos.total_cmp(&b.pos).then(a.id.cmp(&b.id)));
}

/// An item's `value` and `idValue` as stored (both `None` for no value).
type StoredValue = (Option<Map<String, Value>>, Option<String>);

/// Turns a client's input into what is stored for `field`, or Trello's refusal.
fn stored_value(field: &CustomField, input: &ItemInput) -> Result<StoredValue> {
    match input {
        ItemInput::Clear => Ok((None, None)),
        ItemInput::Choice(option_id) => {
            let option_id = option_id.to_ascii_lowercase();
            if field.kind != "list" || !field.options.iter().any(|o| o.id == option_id) {
                return Err(invalid_item());
            }
            Ok((None, Some(option_id)))
        }
        ItemInput::Value { key, text } => {
            let text = match (field.kind.as_str(), key.as_str()) {
                ("text", "text") if text.len() <= MAX_TEXT => text.clone(),
                ("number", "number") => {
                    let trimmed = text.trim();
                    match trimmed.parse::<f64>() {
                        Ok(number) if number.is_finite() => trimmed.to_string(),
                        _ => return Err(invalid_item()),
                    }
                }
                ("date", "date") => parse_date(text).map(format_date).ok_or_else(invalid_item)?,
                ("checkbox", "checked") => match text.to_ascii_lowercase().as_str() {
                    "true" => "true".to_string(),
                    "false" => "false".to_string(),
                    _ => return Err(invalid_item()),
                },
                _ => return Err(invalid_item()),
            };
            let mut value = Map::new();
            value.insert(key.clone(), Value::String(text));
            Ok((Some(value), None))
        }
    }
}

/// Sets one field of a card inside `tx` and records `updateCustomFieldItem`; `None`
/// when the field ends up empty. An unchanged value writes nothing.
#[allow(clippy::too_many_arguments)] // one call's context; a struct would only rename them
async fn put_item(
    tx: &mut Tx,
    actor: &Actor,
    board: &Board,
    card: &Card,
    field: &CustomField,
    existing: Option<CustomFieldItem>,
    input: &ItemInput,
    fresh_id: Option<&str>,
) -> Result<(Option<CustomFieldItem>, bool)> {
    let (value, id_value) = stored_value(field, input)?;
    let cleared = value.is_none() && id_value.is_none();
    let (old, now_item) = match existing {
        None if cleared => return Ok((None, false)),
        None => {
            let item = CustomFieldItem {
                id: fresh_id.map_or_else(new_id, str::to_string),
                id_custom_field: field.id.clone(),
                id_model: card.id.clone(),
                model_type: "card".into(),
                value,
                id_value,
                id_board: field.id_model.clone(),
            };
            insert(tx, &item).await?;
            (None, item)
        }
        Some(item) if item.value == value && item.id_value == id_value => return Ok((Some(item), false)),
        Some(item) if cleared => {
            remove(tx, &item).await?;
            let gone = CustomFieldItem { value: None, id_value: None, ..item.clone() };
            (Some(item), gone)
        }
        Some(item) => {
            let changed = CustomFieldItem { value, id_value, ..item.clone() };
            save(tx, &changed).await?;
            (Some(item), changed)
        }
    };
    let old_data = match (&old, field.kind.as_str()) {
        (Some(old), "list") => json!({"idValue": old.id_value}),
        (Some(old), _) => json!({"value": old.value}),
        (None, "list") => json!({"idValue": null}),
        (None, _) => json!({"value": null}),
    };
    let mut item_data = item_json(&now_item);
    if cleared {
        // Trello shows a cleared item with an empty value of the field's kind.
        let key = if field.kind == "list" { "idValue" } else { "value" };
        item_data[key] = Value::Null;
    }
    let context = [
        ("board", board_ref(board)),
        ("card", card_ref(card)),
        ("customField", field_ref(field)),
        ("customFieldItem", item_data),
        ("old", old_data),
    ];
    record(tx, actor, "updateCustomFieldItem", data(&context), Refs::card(board, card)).await?;
    Ok(((!cleared).then_some(now_item), true))
}

/// Sets one field of `card` inside `tx`; a value that comes back (an undo) may keep the
/// item id it had (`fresh_id`).
pub(crate) async fn set_item_in(
    tx: &mut Tx,
    actor: &Actor,
    card: &Card,
    board: &mut Board,
    field_id: &str,
    input: &ItemInput,
    fresh_id: Option<&str>,
) -> Result<Option<CustomFieldItem>> {
    let field = load_field(tx, field_id).await?;
    if field.id_model != card.id_board {
        return Err(DomainError::InvalidValue("idCustomField".into()));
    }
    let existing: Option<CustomFieldItem> =
        find(tx, &[Cond::eq("card_id", &card.id), Cond::eq("field_id", &field.id)], Order::None, Some(1)).await?.pop();
    let (item, changed) = put_item(tx, actor, board, card, &field, existing, input, fresh_id).await?;
    if changed {
        touch_card(tx, &card.id).await?;
        touch_board(tx, board).await?;
    }
    Ok(item)
}

/// A bulk entry after its field id was checked.
fn field_of<'a>(fields: &'a [CustomField], id: &str) -> Result<&'a CustomField> {
    if !is_id(id) {
        return Err(DomainError::InvalidValue("idCustomField".into()));
    }
    let id = id.to_ascii_lowercase();
    fields.iter().find(|f| f.id == id).ok_or(DomainError::InvalidValue("idCustomField".into()))
}

impl Cork {
    /// `POST /customFields`: board admins and normal members define fields.
    pub async fn create_custom_field(&self, actor: &Actor, input: NewCustomField) -> Result<CustomField> {
        let id_model = input.id_model.clone().unwrap_or_default();
        if !is_id(&id_model) {
            return Err(DomainError::InvalidValue("idModel".into()));
        }
        if input.model_type.as_deref().is_some_and(|t| t != "board") {
            return Err(DomainError::InvalidValue("modelType".into()));
        }
        let name = check_name(input.name.as_deref().unwrap_or_default())?;
        let kind = input.kind.clone().unwrap_or_default();
        if !FIELD_TYPES.contains(&kind.as_str()) {
            return Err(DomainError::InvalidValue("type".into()));
        }
        if kind != "list" && !input.options.is_empty() {
            return Err(DomainError::InvalidValue("options".into()));
        }
        let mut tx = self.store.write().await?;
        let (mut board, _) = board_with_role(&mut tx, actor, &id_model, Role::Write, UNAUTHORIZED).await?;
        let range = tx.pos_range(cork_store::Table::CustomFields, &[Cond::eq("board_id", &board.id)]).await?;
        let id = new_id();
        let mut options: Vec<CustomFieldOption> = Vec::new();
        for option in &input.options {
            let made = make_option(&id, &options, option, ("options", "options"))?;
            options.push(made);
        }
        sort_options(&mut options);
        let field = CustomField {
            // Trello groups copies of one field across boards by this hash; a new field starts its own group.
            field_group: sha256_hex(&id),
            id,
            id_model: board.id.clone(),
            model_type: "board".into(),
            name,
            pos: input.pos.unwrap_or(Pos::Bottom).resolve(range),
            kind,
            card_front: input.card_front.unwrap_or(true),
            options,
        };
        insert(&mut tx, &field).await?;
        touch_board(&mut tx, &mut board).await?;
        record(
            &mut tx,
            actor,
            "createCustomField",
            data(&[("board", board_ref(&board)), ("customField", field_ref(&field))]),
            Refs::board(&board),
        )
        .await?;
        tx.commit().await?;
        Ok(field)
    }

    /// `GET /customFields/{id}`: whoever may read its board.
    pub async fn custom_field(&self, actor: &Actor, id: &str) -> Result<CustomField> {
        let mut tx = self.store.read().await?;
        Ok(field_with_role(&mut tx, actor, id, Role::Read).await?.0)
    }

    /// `GET /boards/{id}/customFields`.
    pub async fn board_custom_fields(&self, actor: &Actor, board_reference: &str) -> Result<Vec<CustomField>> {
        let mut tx = self.store.read().await?;
        let (board, _) = board_with_role(&mut tx, actor, board_reference, Role::Read, UNAUTHORIZED).await?;
        fields_of_board(&mut tx, &board.id).await
    }

    /// `PUT /customFields/{id}`: name, position, `display/cardFront`.
    pub async fn update_custom_field(&self, actor: &Actor, id: &str, patch: CustomFieldPatch) -> Result<CustomField> {
        let mut tx = self.store.write().await?;
        let (mut field, mut board) = field_with_role(&mut tx, actor, id, Role::Write).await?;
        let mut old = Map::new();
        let mut shown = field_ref(&field);
        if let Some(name) = patch.name {
            let name = check_name(&name)?;
            if name != field.name {
                old.insert("name".into(), json!(field.name));
                field.name = name;
                shown["name"] = json!(field.name);
            }
        }
        if let Some(pos) = patch.pos {
            let range = tx.pos_range(cork_store::Table::CustomFields, &[Cond::eq("board_id", &board.id)]).await?;
            let pos = pos.resolve(range);
            if pos != field.pos {
                old.insert("pos".into(), json!(field.pos));
                field.pos = pos;
                shown["pos"] = json!(field.pos);
            }
        }
        if let Some(card_front) = patch.card_front {
            if card_front != field.card_front {
                old.insert("display".into(), json!({"cardFront": field.card_front}));
                field.card_front = card_front;
                shown["display"] = json!({"cardFront": field.card_front});
            }
        }
        if !old.is_empty() {
            save(&mut tx, &field).await?;
            touch_board(&mut tx, &mut board).await?;
            let context = [("board", board_ref(&board)), ("customField", shown), ("old", Value::Object(old))];
            record(&mut tx, actor, "updateCustomField", data(&context), Refs::board(&board)).await?;
        }
        tx.commit().await?;
        Ok(field)
    }

    /// `DELETE /customFields/{id}`: the field goes with its values on every card; the
    /// action keeps both.
    pub async fn delete_custom_field(&self, actor: &Actor, id: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (field, mut board) = field_with_role(&mut tx, actor, id, Role::Write).await?;
        let items: Vec<CustomFieldItem> = find(&mut tx, &[Cond::eq("field_id", &field.id)], Order::Asc("id"), None).await?;
        tx.delete(cork_store::Table::CustomFieldItems, &[Cond::eq("field_id", &field.id)]).await?;
        remove(&mut tx, &field).await?;
        touch_board(&mut tx, &mut board).await?;
        let deleted = json!({"customField": field, "customFieldItems": items});
        let context = [("board", board_ref(&board)), ("customField", field_ref(&field)), ("deleted", deleted)];
        record(&mut tx, actor, "deleteCustomField", data(&context), Refs::board(&board)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /customFields/{id}/options`.
    pub async fn custom_field_options(&self, actor: &Actor, id: &str) -> Result<Vec<CustomFieldOption>> {
        Ok(self.custom_field(actor, id).await?.options)
    }

    /// `GET /customFields/{id}/options/{idCustomFieldOption}`.
    pub async fn custom_field_option(&self, actor: &Actor, id: &str, option_id: &str) -> Result<CustomFieldOption> {
        if !is_id(option_id) {
            return Err(DomainError::InvalidId);
        }
        let field = self.custom_field(actor, id).await?;
        let option_id = option_id.to_ascii_lowercase();
        field.options.into_iter().find(|o| o.id == option_id).ok_or(DomainError::NotFound(NOT_FOUND))
    }

    /// `POST /customFields/{id}/options`: a new choice of a `list` field, recorded as
    /// `updateCustomField` (Trello has no action type of its own for options).
    pub async fn add_custom_field_option(&self, actor: &Actor, id: &str, input: NewOption) -> Result<CustomFieldOption> {
        let mut tx = self.store.write().await?;
        let (mut field, mut board) = field_with_role(&mut tx, actor, id, Role::Write).await?;
        if field.kind != "list" {
            return Err(DomainError::BadRequest("only list custom fields have options".into()));
        }
        let option = make_option(&field.id, &field.options, &input, ("value", "color"))?;
        field.options.push(option.clone());
        sort_options(&mut field.options);
        save(&mut tx, &field).await?;
        touch_board(&mut tx, &mut board).await?;
        let context = [("board", board_ref(&board)), ("customField", field_ref(&field)), ("customFieldOption", json!(option))];
        record(&mut tx, actor, "updateCustomField", data(&context), Refs::board(&board)).await?;
        tx.commit().await?;
        Ok(option)
    }

    /// `DELETE /customFields/{id}/options/{idCustomFieldOption}`: cards that had the
    /// option chosen lose their value; the action keeps the option and those values.
    pub async fn delete_custom_field_option(&self, actor: &Actor, id: &str, option_id: &str) -> Result<()> {
        if !is_id(option_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.write().await?;
        let (mut field, mut board) = field_with_role(&mut tx, actor, id, Role::Write).await?;
        let option_id = option_id.to_ascii_lowercase();
        let Some(index) = field.options.iter().position(|o| o.id == option_id) else {
            return Err(DomainError::NotFound(NOT_FOUND));
        };
        let option = field.options.remove(index);
        let items: Vec<CustomFieldItem> = find(&mut tx, &[Cond::eq("field_id", &field.id)], Order::Asc("id"), None).await?;
        let chosen: Vec<CustomFieldItem> = items.into_iter().filter(|i| i.id_value.as_deref() == Some(option.id.as_str())).collect();
        for item in &chosen {
            remove(&mut tx, item).await?;
        }
        save(&mut tx, &field).await?;
        touch_board(&mut tx, &mut board).await?;
        let deleted = json!({"customFieldOption": option, "customFieldItems": chosen});
        let context = [
            ("board", board_ref(&board)),
            ("customField", field_ref(&field)),
            ("customFieldOption", json!({"id": option.id, "value": option.value, "color": option.color})),
            ("deleted", deleted),
        ];
        record(&mut tx, actor, "updateCustomField", data(&context), Refs::board(&board)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /cards/{id}/customFieldItems`.
    pub async fn card_custom_field_items(&self, actor: &Actor, card_reference: &str) -> Result<Vec<CustomFieldItem>> {
        let mut tx = self.store.read().await?;
        let (card, _, _) = card_with_role(&mut tx, actor, card_reference, Role::Read).await?;
        items_of_card(&mut tx, &card).await
    }

    /// `PUT /cards/{idCard}/customField/{idCustomField}/item`; `None` once cleared.
    pub async fn set_custom_field_item(
        &self,
        actor: &Actor,
        card_reference: &str,
        field_id: &str,
        input: ItemInput,
    ) -> Result<Option<CustomFieldItem>> {
        if !is_id(field_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.write().await?;
        let (card, mut board, _) = card_with_role(&mut tx, actor, card_reference, Role::Write).await?;
        let item = set_item_in(&mut tx, actor, &card, &mut board, field_id, &input, None).await?;
        tx.commit().await?;
        Ok(item)
    }

    /// `PUT /cards/{idCard}/customFields`: several fields at once, all or nothing.
    /// Returns the card's items afterwards.
    pub async fn set_custom_field_items(
        &self,
        actor: &Actor,
        card_reference: &str,
        entries: Vec<(String, ItemInput)>,
    ) -> Result<Vec<CustomFieldItem>> {
        let mut tx = self.store.write().await?;
        let (card, mut board, _) = card_with_role(&mut tx, actor, card_reference, Role::Write).await?;
        let fields = fields_of_board(&mut tx, &card.id_board).await?;
        let mut items = items_of_card(&mut tx, &card).await?;
        // Check every entry before the first write, so that a bad one names itself
        // rather than the rollback of the good ones before it.
        let mut checked: Vec<(&CustomField, &ItemInput)> = Vec::new();
        for (field_id, input) in &entries {
            let field = field_of(&fields, field_id)?;
            if checked.iter().any(|(f, _)| f.id == field.id) {
                return Err(DomainError::InvalidValue("customFieldItems".into()));
            }
            stored_value(field, input)?;
            checked.push((field, input));
        }
        let mut any_change = false;
        for (field, input) in checked {
            let existing = items.iter().position(|i| i.id_custom_field == field.id).map(|at| items.remove(at));
            let (item, changed) = put_item(&mut tx, actor, &board, &card, field, existing, input, None).await?;
            any_change |= changed;
            items.extend(item);
        }
        if any_change {
            touch_card(&mut tx, &card.id).await?;
            touch_board(&mut tx, &mut board).await?;
        }
        tx.commit().await?;
        items.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(items)
    }
}

/// Moves a card's activity date to now (its values changed).
async fn touch_card(tx: &mut Tx, card_id: &str) -> Result<()> {
    let card: Option<Card> = get_for_update(tx, card_id).await?;
    if let Some(mut card) = card {
        card.date_last_activity = now();
        save(tx, &card).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: &str) -> CustomField {
        CustomField {
            id: "a".repeat(24),
            id_model: "b".repeat(24),
            model_type: "board".into(),
            field_group: String::new(),
            name: "f".into(),
            pos: 1.0,
            kind: kind.into(),
            card_front: true,
            options: vec![CustomFieldOption {
                id: "c".repeat(24),
                id_custom_field: "a".repeat(24),
                value: OptionValue { text: "High".into() },
                color: "red".into(),
                pos: 1.0,
            }],
        }
    }

    fn value(key: &str, text: &str) -> ItemInput {
        ItemInput::Value { key: key.into(), text: text.into() }
    }

    #[test]
    fn values_are_checked_against_the_field_type_and_kept_as_strings() {
        assert_eq!(stored_value(&field("number"), &value("number", " 12.5 ")).unwrap().0.unwrap()["number"], "12.5");
        assert_eq!(stored_value(&field("checkbox"), &value("checked", "TRUE")).unwrap().0.unwrap()["checked"], "true");
        assert_eq!(stored_value(&field("date"), &value("date", "2018-03-13")).unwrap().0.unwrap()["date"], "2018-03-13T00:00:00.000Z");
        assert_eq!(stored_value(&field("list"), &ItemInput::Choice("C".repeat(24))).unwrap().1.unwrap(), "c".repeat(24));
        for (kind, input) in [
            ("number", value("number", "twelve")),
            ("checkbox", value("checked", "yes")),
            ("date", value("date", "tomorrow")),
            ("text", value("number", "1")),
            ("list", ItemInput::Choice("d".repeat(24))),
            ("text", ItemInput::Choice("c".repeat(24))),
        ] {
            assert_eq!(stored_value(&field(kind), &input), Err(invalid_item()), "{kind} {input:?}");
        }
    }

    #[test]
    fn request_bodies_become_inputs() {
        assert_eq!(ItemInput::from_json(Some(&json!("")), None).unwrap(), ItemInput::Clear);
        assert_eq!(ItemInput::from_json(None, Some(&json!(""))).unwrap(), ItemInput::Clear);
        assert_eq!(ItemInput::from_json(Some(&json!({"number": 3})), None).unwrap(), value("number", "3"));
        assert_eq!(ItemInput::from_json(Some(&json!({"checked": true})), None).unwrap(), value("checked", "true"));
        assert_eq!(ItemInput::from_json(Some(&json!({"text": ""})), None).unwrap(), ItemInput::Clear);
        assert!(ItemInput::from_json(Some(&json!({"text": "a", "number": "1"})), None).is_err());
        assert!(ItemInput::from_json(Some(&json!("words")), None).is_err());
        assert_eq!(ItemInput::from_json(None, None), Err(DomainError::InvalidValue("value".into())));
    }
}
