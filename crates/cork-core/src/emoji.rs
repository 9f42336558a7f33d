//! Emoji: the table `GET /emoji` serves and reactions are checked against, and the
//! emoji members upload themselves.
//!
//! The table is Cork's own, written by hand: a few dozen emoji that work boards use
//! most (faces, hands, hearts, marks, a few objects), with their Unicode code points
//! and names and the short names chat tools made common. Reactions also accept any other
//! well-formed emoji by its code points or character; only short names must be known.

use cork_store::{Arg, Cond, Order, Table};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::Actor;
use crate::actions::{data, record, Refs};
use crate::files::{FileRef, Upload};
use crate::ids::new_id;
use crate::store_ext::{find, insert, Stored};
use crate::uploads::{image_upload, own_member, own_record, Owned};
use crate::{Cork, DomainError, Result};

/// One emoji of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emoji {
    /// Code points in upper-case hex joined by `-`, as Trello spells them.
    pub unified: &'static str,
    pub native: &'static str,
    /// The Unicode character name.
    pub name: &'static str,
    /// The first is the primary short name (`:+1:` without colons).
    pub short_names: &'static [&'static str],
    /// The ASCII emoticon that turns into it, if any.
    pub text: Option<&'static str>,
    pub category: &'static str,
    /// What a screen reader says.
    pub tts: &'static str,
    pub keywords: &'static [&'static str],
    /// True when it takes a skin tone.
    pub skin_tones: bool,
}

const FACES: &str = "Smileys & People";
const NATURE: &str = "Animals & Nature";
const FOOD: &str = "Food & Drink";
const ACTIVITIES: &str = "Activities";
const TRAVEL: &str = "Travel & Places";
const OBJECTS: &str = "Objects";
const SYMBOLS: &str = "Symbols";

macro_rules! emoji {
    ($unified:literal, $native:literal, $name:literal, [$($short:literal),+], $text:expr, $category:expr, $tts:literal, [$($keyword:literal),*], $skin:literal) => {
        Emoji { unified: $unified, native: $native, name: $name, short_names: &[$($short),+], text: $text, category: $category, tts: $tts, keywords: &[$($keyword),*], skin_tones: $skin }
    };
}

/// Cork's emoji table, in the order `GET /emoji` lists it (one emoji a line, hence no
/// rustfmt).
#[rustfmt::skip]
pub const EMOJI: &[Emoji] = &[
    emoji!("1F600", "😀", "GRINNING FACE", ["grinning"], Some(":D"), FACES, "grinning face", ["face", "grin", "happy"], false),
    emoji!("1F603", "😃", "SMILING FACE WITH OPEN MOUTH", ["smiley"], Some(":)"), FACES, "grinning face with big eyes", ["face", "happy", "joy"], false),
    emoji!("1F604", "😄", "SMILING FACE WITH OPEN MOUTH AND SMILING EYES", ["smile"], None, FACES, "grinning face with smiling eyes", ["face", "happy", "laugh"], false),
    emoji!("1F601", "😁", "GRINNING FACE WITH SMILING EYES", ["grin"], None, FACES, "beaming face with smiling eyes", ["face", "grin", "smile"], false),
    emoji!("1F606", "😆", "SMILING FACE WITH OPEN MOUTH AND TIGHTLY-CLOSED EYES", ["laughing", "satisfied"], None, FACES, "grinning squinting face", ["face", "laugh", "satisfied"], false),
    emoji!("1F602", "😂", "FACE WITH TEARS OF JOY", ["joy"], None, FACES, "face with tears of joy", ["face", "laugh", "tears"], false),
    emoji!("1F642", "🙂", "SLIGHTLY SMILING FACE", ["slightly_smiling_face"], None, FACES, "slightly smiling face", ["face", "smile"], false),
    emoji!("1F609", "😉", "WINKING FACE", ["wink"], Some(";)"), FACES, "winking face", ["face", "wink"], false),
    emoji!("1F60A", "😊", "SMILING FACE WITH SMILING EYES", ["blush"], None, FACES, "smiling face with smiling eyes", ["face", "blush", "smile"], false),
    emoji!("1F60D", "😍", "SMILING FACE WITH HEART-SHAPED EYES", ["heart_eyes"], None, FACES, "smiling face with heart-eyes", ["face", "love", "heart"], false),
    emoji!("1F618", "😘", "FACE THROWING A KISS", ["kissing_heart"], Some(":*"), FACES, "face blowing a kiss", ["face", "kiss"], false),
    emoji!("1F61B", "😛", "FACE WITH STUCK-OUT TONGUE", ["stuck_out_tongue"], Some(":p"), FACES, "face with tongue", ["face", "tongue"], false),
    emoji!("1F60E", "😎", "SMILING FACE WITH SUNGLASSES", ["sunglasses"], Some("8)"), FACES, "smiling face with sunglasses", ["face", "cool", "sunglasses"], false),
    emoji!("1F914", "🤔", "THINKING FACE", ["thinking_face"], None, FACES, "thinking face", ["face", "thinking", "hmm"], false),
    emoji!("1F610", "😐", "NEUTRAL FACE", ["neutral_face"], Some(":|"), FACES, "neutral face", ["face", "neutral", "meh"], false),
    emoji!("1F644", "🙄", "FACE WITH ROLLING EYES", ["face_with_rolling_eyes"], None, FACES, "face with rolling eyes", ["face", "eyes", "rolling"], false),
    emoji!("1F62E", "😮", "FACE WITH OPEN MOUTH", ["open_mouth"], Some(":o"), FACES, "face with open mouth", ["face", "surprise", "wow"], false),
    emoji!("1F622", "😢", "CRYING FACE", ["cry"], Some(":'("), FACES, "crying face", ["face", "sad", "tear"], false),
    emoji!("1F62D", "😭", "LOUDLY CRYING FACE", ["sob"], None, FACES, "loudly crying face", ["face", "sad", "cry"], false),
    emoji!("1F620", "😠", "ANGRY FACE", ["angry"], Some(">:("), FACES, "angry face", ["face", "angry", "mad"], false),
    emoji!("1F61F", "😟", "WORRIED FACE", ["worried"], None, FACES, "worried face", ["face", "worried"], false),
    emoji!("1F641", "🙁", "SLIGHTLY FROWNING FACE", ["slightly_frowning_face"], Some(":("), FACES, "slightly frowning face", ["face", "frown", "sad"], false),
    emoji!("1F631", "😱", "FACE SCREAMING IN FEAR", ["scream"], None, FACES, "face screaming in fear", ["face", "fear", "scream"], false),
    emoji!("1F634", "😴", "SLEEPING FACE", ["sleeping"], None, FACES, "sleeping face", ["face", "sleep", "zzz"], false),
    emoji!("1F648", "🙈", "SEE-NO-EVIL MONKEY", ["see_no_evil"], None, FACES, "see-no-evil monkey", ["monkey", "see", "evil"], false),
    emoji!("1F44D", "👍", "THUMBS UP SIGN", ["+1", "thumbsup"], None, FACES, "thumbs up", ["hand", "yes", "approve"], true),
    emoji!("1F44E", "👎", "THUMBS DOWN SIGN", ["-1", "thumbsdown"], None, FACES, "thumbs down", ["hand", "no", "disapprove"], true),
    emoji!("1F44F", "👏", "CLAPPING HANDS SIGN", ["clap"], None, FACES, "clapping hands", ["hands", "applause", "praise"], true),
    emoji!("1F64C", "🙌", "PERSON RAISING BOTH HANDS IN CELEBRATION", ["raised_hands"], None, FACES, "raising hands", ["hands", "hooray", "celebration"], true),
    emoji!("1F64F", "🙏", "PERSON WITH FOLDED HANDS", ["pray"], None, FACES, "folded hands", ["hands", "please", "thanks"], true),
    emoji!("1F44B", "👋", "WAVING HAND SIGN", ["wave"], None, FACES, "waving hand", ["hand", "hello", "goodbye"], true),
    emoji!("1F4AA", "💪", "FLEXED BICEPS", ["muscle"], None, FACES, "flexed biceps", ["arm", "strong"], true),
    emoji!("1F440", "👀", "EYES", ["eyes"], None, FACES, "eyes", ["eyes", "look", "watching"], false),
    emoji!("2764-FE0F", "❤️", "HEAVY BLACK HEART", ["heart"], Some("<3"), SYMBOLS, "red heart", ["heart", "love"], false),
    emoji!("1F494", "💔", "BROKEN HEART", ["broken_heart"], Some("</3"), SYMBOLS, "broken heart", ["heart", "broken", "sad"], false),
    emoji!("1F4AF", "💯", "HUNDRED POINTS SYMBOL", ["100"], None, SYMBOLS, "hundred points", ["score", "perfect", "hundred"], false),
    emoji!("2705", "✅", "WHITE HEAVY CHECK MARK", ["white_check_mark"], None, SYMBOLS, "check mark button", ["check", "done", "yes"], false),
    emoji!("274C", "❌", "CROSS MARK", ["x"], None, SYMBOLS, "cross mark", ["cross", "no", "cancel"], false),
    emoji!("26A0-FE0F", "⚠️", "WARNING SIGN", ["warning"], None, SYMBOLS, "warning", ["warning", "caution"], false),
    emoji!("2753", "❓", "BLACK QUESTION MARK ORNAMENT", ["question"], None, SYMBOLS, "question mark", ["question", "ask"], false),
    emoji!("1F525", "🔥", "FIRE", ["fire"], None, TRAVEL, "fire", ["fire", "hot", "flame"], false),
    emoji!("2B50", "⭐", "WHITE MEDIUM STAR", ["star"], None, TRAVEL, "star", ["star", "favourite"], false),
    emoji!("2728", "✨", "SPARKLES", ["sparkles"], None, ACTIVITIES, "sparkles", ["sparkle", "new", "shiny"], false),
    emoji!("1F680", "🚀", "ROCKET", ["rocket"], None, TRAVEL, "rocket", ["rocket", "launch", "ship"], false),
    emoji!("1F389", "🎉", "PARTY POPPER", ["tada"], None, ACTIVITIES, "party popper", ["party", "celebration", "tada"], false),
    emoji!("1F3C6", "🏆", "TROPHY", ["trophy"], None, ACTIVITIES, "trophy", ["trophy", "win", "prize"], false),
    emoji!("1F3AF", "🎯", "DIRECT HIT", ["dart"], None, ACTIVITIES, "bullseye", ["target", "goal", "dart"], false),
    emoji!("1F4A1", "💡", "ELECTRIC LIGHT BULB", ["bulb"], None, OBJECTS, "light bulb", ["idea", "light"], false),
    emoji!("1F4CC", "📌", "PUSHPIN", ["pushpin"], None, OBJECTS, "pushpin", ["pin", "important"], false),
    emoji!("1F4C5", "📅", "CALENDAR", ["date"], None, OBJECTS, "calendar", ["calendar", "date", "due"], false),
    emoji!("1F41B", "🐛", "BUG", ["bug"], None, NATURE, "bug", ["bug", "insect", "defect"], false),
    emoji!("1F436", "🐶", "DOG FACE", ["dog"], None, NATURE, "dog face", ["dog", "pet"], false),
    emoji!("2615", "☕", "HOT BEVERAGE", ["coffee"], None, FOOD, "hot beverage", ["coffee", "tea", "break"], false),
    emoji!("1F355", "🍕", "SLICE OF PIZZA", ["pizza"], None, FOOD, "pizza", ["pizza", "food"], false),
    emoji!("1F32E", "🌮", "TACO", ["taco"], None, FOOD, "taco", ["taco", "food"], false),
];

/// The five skin tone modifiers, lightest first.
pub const SKIN_TONES: &[&str] = &["1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF"];

/// `1F44D-1F3FB` → `👍🏻`; `None` when a part is not a code point.
pub fn native_of(unified: &str) -> Option<String> {
    unified.split('-').map(|part| u32::from_str_radix(part, 16).ok().and_then(char::from_u32)).collect()
}

/// `👍🏻` → `1F44D-1F3FB`.
pub fn unified_of(native: &str) -> String {
    native.chars().map(|c| format!("{:X}", u32::from(c))).collect::<Vec<_>>().join("-")
}

fn is_skin_tone(c: char) -> bool {
    ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

/// The emoji of a reaction, as Trello shows it on the reaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReactionEmoji {
    /// The emoji without skin tone: what "one reaction per emoji" compares.
    pub unified: String,
    /// The character as shown, skin tone included.
    pub native: String,
    pub name: String,
    pub short_name: String,
    pub skin_variation: Option<String>,
}

/// Finds the emoji a reaction names by `shortName`, `unified` or `native` (tried in that
/// order, any skin tone split off) with an optional `skinVariation` (`1F3FB`..`1F3FF`).
pub fn reaction_emoji(short_name: Option<&str>, unified: Option<&str>, native: Option<&str>, skin: Option<&str>) -> Result<ReactionEmoji> {
    fn given(value: Option<&str>) -> Option<&str> {
        value.map(str::trim).filter(|v| !v.is_empty())
    }
    let (short_name, unified, native) = (given(short_name).map(|s| s.trim_matches(':')), given(unified), given(native));
    let mut skin_variation = match given(skin) {
        None => None,
        Some(tone) if SKIN_TONES.iter().any(|t| t.eq_ignore_ascii_case(tone)) => Some(tone.to_ascii_uppercase()),
        Some(_) => return Err(DomainError::InvalidValue("skinVariation".into())),
    };
    // The character(s) asked for, whichever way they were named, with any tone split off.
    let chars: Option<String> = match (short_name, unified, native) {
        (Some(short), _, _) => match EMOJI.iter().find(|e| e.short_names.contains(&short)) {
            Some(found) => Some(found.native.to_string()),
            None if unified.is_none() && native.is_none() => return Err(DomainError::InvalidValue("shortName".into())),
            None => None,
        },
        _ => None,
    };
    let chars = match (chars, unified, native) {
        (Some(chars), _, _) => chars,
        (None, Some(code), _) => {
            native_of(code).filter(|n| looks_like_emoji(n)).ok_or_else(|| DomainError::InvalidValue("unified".into()))?
        }
        (None, None, Some(text)) if looks_like_emoji(text) => text.to_string(),
        (None, None, Some(_)) => return Err(DomainError::InvalidValue("native".into())),
        (None, None, None) => return Err(DomainError::InvalidValue("shortName".into())),
    };
    if let Some(tone) = chars.chars().find(|c| is_skin_tone(*c)) {
        skin_variation.get_or_insert_with(|| format!("{:X}", u32::from(tone)));
    }
    let base: String = chars.chars().filter(|c| !is_skin_tone(*c)).collect();
    let without_selector = |s: &str| s.replace('\u{FE0F}', "");
    let known = EMOJI.iter().find(|e| without_selector(e.native) == without_selector(&base));
    let base = known.map(|e| e.native.to_string()).unwrap_or(base);
    let native = match &skin_variation {
        Some(tone) => {
            let mut shown = base.chars();
            let first = shown.next().map(String::from).unwrap_or_default();
            format!("{first}{}{}", native_of(tone).unwrap_or_default(), shown.as_str())
        }
        None => base.clone(),
    };
    Ok(ReactionEmoji {
        unified: known.map(|e| e.unified.to_string()).unwrap_or_else(|| unified_of(&base)),
        native,
        name: known.map(|e| e.name.to_string()).unwrap_or_default(),
        short_name: known
            .map(|e| e.short_names[0].to_string())
            .or(short_name.map(str::to_string))
            .unwrap_or_else(|| unified_of(&base).to_ascii_lowercase()),
        skin_variation,
    })
}

/// A short run of pictographs: no letters, digits, spaces or control characters, and at
/// least one character outside the ASCII and Latin-1 ranges.
fn looks_like_emoji(text: &str) -> bool {
    let count = text.chars().count();
    (1..=12).contains(&count)
        && text.chars().all(|c| !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control())
        && text.chars().any(|c| u32::from(c) >= 0x2000)
}

/// An emoji a member uploaded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomEmoji {
    pub id: String,
    pub id_member: String,
    pub name: String,
    pub file: FileRef,
}

impl Owned for CustomEmoji {
    fn owner(&self) -> &str {
        &self.id_member
    }
}

impl Stored for CustomEmoji {
    const TABLE: Table = Table::CustomEmoji;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("member_id", Arg::text(&self.id_member)), ("name", Arg::text(&self.name))]
    }
}

/// Trello's rule for custom emoji names (2 to 64 characters), kept to the characters
/// that can sit between colons in text: letters, digits, `_` and `-`.
fn check_emoji_name(name: &str) -> Result<()> {
    let valid = (2..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(DomainError::InvalidValue("name".into()))
    }
}

impl Cork {
    /// `GET /members/{id}/customEmoji`: only the member themself.
    pub async fn custom_emoji(&self, actor: &Actor, member_ref: &str) -> Result<Vec<CustomEmoji>> {
        let mut tx = self.store.read().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::Asc("id"), None).await
    }

    /// `GET /members/{id}/customEmoji/{idEmoji}`.
    pub async fn custom_emoji_one(&self, actor: &Actor, member_ref: &str, emoji_id: &str) -> Result<CustomEmoji> {
        let mut tx = self.store.read().await?;
        let (_, emoji): (_, CustomEmoji) = own_record(&mut tx, actor, member_ref, emoji_id, false).await?;
        Ok(emoji)
    }

    /// `POST /members/{id}/customEmoji` with an image file and a name unused by the
    /// member. Logged like other uploads others get to see.
    pub async fn create_custom_emoji(&self, actor: &Actor, member_ref: &str, name: &str, upload: Upload) -> Result<CustomEmoji> {
        check_emoji_name(name)?;
        let mut file = image_upload(&upload)?;
        self.pictures.check_enabled()?;
        // As for attachments: check, write the bytes, then the transaction checks again.
        let name_taken = |member_id: &str| [Cond::eq("member_id", member_id), Cond::eq("name", name)];
        {
            let mut tx = self.store.read().await?;
            let member = own_member(&mut tx, actor, member_ref, true).await?;
            if tx.count(Table::CustomEmoji, &name_taken(&member.id)).await? > 0 {
                return Err(DomainError::InvalidValue("name".into()));
            }
        }
        let mut pending = self.pictures.pending();
        file.key = pending.write(upload.bytes).await?;
        let mut tx = self.store.write().await?;
        let member = own_member(&mut tx, actor, member_ref, true).await?;
        if tx.count(Table::CustomEmoji, &name_taken(&member.id)).await? > 0 {
            return Err(DomainError::InvalidValue("name".into()));
        }
        let emoji = CustomEmoji { id: new_id(), id_member: member.id.clone(), name: name.to_string(), file };
        insert(&mut tx, &emoji).await?;
        record(&mut tx, actor, "createCustomEmoji", data(&[("customEmoji", json!({"id": emoji.id, "name": emoji.name}))]), Refs::default())
            .await?;
        tx.commit().await?;
        pending.keep();
        Ok(emoji)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_consistent() {
        for emoji in EMOJI {
            assert_eq!(native_of(emoji.unified).as_deref(), Some(emoji.native), "{}", emoji.name);
            assert!(!emoji.short_names.is_empty() && !emoji.keywords.is_empty(), "{}", emoji.name);
        }
        let mut names: Vec<&str> = EMOJI.iter().flat_map(|e| e.short_names.iter().copied()).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "short names are unique");
    }

    #[test]
    fn reactions_name_emoji_in_several_ways() {
        let thumbs = reaction_emoji(Some(":+1:"), None, None, None).unwrap();
        assert_eq!((thumbs.unified.as_str(), thumbs.native.as_str(), thumbs.short_name.as_str()), ("1F44D", "👍", "+1"));
        let toned = reaction_emoji(None, None, Some("👍🏽"), None).unwrap();
        assert_eq!((toned.unified.as_str(), toned.native.as_str(), toned.skin_variation.as_deref()), ("1F44D", "👍🏽", Some("1F3FD")));
        let heart = reaction_emoji(None, Some("2764"), None, None).unwrap();
        assert_eq!((heart.unified.as_str(), heart.name.as_str()), ("2764-FE0F", "HEAVY BLACK HEART"));
        let other = reaction_emoji(None, Some("1F996"), None, None).unwrap();
        assert_eq!((other.native.as_str(), other.short_name.as_str()), ("🦖", "1f996"));
        assert_eq!(reaction_emoji(Some("nope"), None, None, None), Err(DomainError::InvalidValue("shortName".into())));
        assert_eq!(reaction_emoji(None, None, Some("abc"), None), Err(DomainError::InvalidValue("native".into())));
        assert_eq!(reaction_emoji(None, Some("41"), None, None), Err(DomainError::InvalidValue("unified".into())));
        assert_eq!(reaction_emoji(Some("+1"), None, None, Some("1F3FA")), Err(DomainError::InvalidValue("skinVariation".into())));
    }
}
