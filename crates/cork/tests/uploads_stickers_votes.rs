//! Uploaded files, stickers, emoji, votes, reactions and a member's own settings, as
//! clients see them: multipart uploads come back byte for byte, oversized or refused
//! uploads leave nothing behind (no row, no file), and only the right people get in.

mod common;

use serde_json::{json, Value};

use common::{s, Body, Client, Resp, Server};

const MULTIPART: &str = "multipart/form-data; boundary=cork-test-9f1c2e7a";
const BOUNDARY: &str = "cork-test-9f1c2e7a";

/// A multipart body with text fields and, optionally, one file in the `file` field.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, Option<&str>, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    if let Some((file_name, content_type, bytes)) = file {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n").as_bytes(),
        );
        if let Some(content_type) = content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(client: &Client, path: &str, fields: &[(&str, &str)], file: Option<(&str, Option<&str>, &[u8])>) -> Resp {
    client.send("POST", path, Body::Raw(MULTIPART, multipart(fields, file))).await
}

/// A PNG header of the given size and some filler: Cork reads only the header.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89]);
    bytes.extend((0..200u32).map(|i| (i * 7 % 251) as u8));
    bytes
}

/// Every byte value, over and over: binary content no text path would survive.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 256) as u8).collect()
}

/// Uploaded files kept, attachments and members' pictures, wherever the server keeps
/// them (its disk or an object store).
async fn stored_files(server: &Server) -> usize {
    server.cork.files.keys(false).await.unwrap().len() + server.cork.pictures.keys(false).await.unwrap().len()
}

/// Deleted uploads kept for an undo (not served).
async fn trashed_files(server: &Server) -> usize {
    server.cork.files.keys(true).await.unwrap().len() + server.cork.pictures.keys(true).await.unwrap().len()
}

/// The path of one of the server's own urls.
fn path_of(client: &Client, url: &str) -> String {
    url.strip_prefix(&client.base).unwrap_or_else(|| panic!("{url} is not one of Cork's urls")).to_string()
}

/// A board of alice's with one list and one card; returns (board id, list id, card id).
async fn board_with_card(alice: &Client) -> (String, String, String) {
    let board = s(&alice.board("Uploads").await, "id");
    let list = s(&alice.list(&board, "Doing").await, "id");
    let card = s(&alice.card(&list, "Report").await, "id");
    (board, list, card)
}

async fn action_types(client: &Client, card: &str) -> Vec<String> {
    let actions = client.get(&format!("/1/cards/{card}/actions?filter=all")).await.ok();
    actions.as_array().unwrap().iter().map(|a| s(a, "type")).collect()
}

every_file_store!(uploaded_files_come_back_byte_for_byte, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let (_board, _list, card) = board_with_card(&alice).await;
    let attachments = format!("/1/cards/{card}/attachments");

    // Larger than axum's own 2 MB multipart default, well under Cork's 10 MiB.
    let report = binary(3 << 20);
    let created = upload(&alice, &attachments, &[], Some(("Quarterly report.pdf", Some("application/pdf"), &report))).await.ok();
    let id = s(&created, "id");
    let url = format!("{}/1/cards/{card}/attachments/{id}/download/Quarterly%20report.pdf", alice.base);
    assert_eq!(
        created,
        json!({
            "id": id, "bytes": 3 << 20, "date": created["date"], "edgeColor": null, "idMember": alice.id,
            "isMalicious": false, "isUpload": true, "mimeType": "application/pdf", "name": "Quarterly report.pdf",
            "previews": [], "url": url, "pos": 16384.0, "fileName": "Quarterly report.pdf", "limits": {},
        })
    );
    assert_eq!(stored_files(&server).await, 1);

    let download =
        alice.http.get(format!("{url}?key={}&token={}", alice.key.as_ref().unwrap(), alice.token.as_ref().unwrap())).send().await.unwrap();
    assert_eq!(download.status(), 200);
    let headers = download.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["content-disposition"], "attachment; filename=\"Quarterly report.pdf\"; filename*=UTF-8''Quarterly%20report.pdf");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(download.bytes().await.unwrap() == report, "the download is the upload, byte for byte");

    // An image with a name of its own and setCover: a preview, and the card's cover.
    let picture = png(70, 50);
    let cover =
        upload(&alice, &attachments, &[("name", "Cover art"), ("setCover", "true")], Some(("cover.png", None, &picture))).await.ok();
    let cover_id = s(&cover, "id");
    assert_eq!(
        (cover["name"].clone(), cover["fileName"].clone(), cover["mimeType"].clone()),
        (json!("Cover art"), json!("cover.png"), json!("image/png"))
    );
    let cover_url = s(&cover, "url");
    assert_eq!(
        cover["previews"],
        json!([{"_id": cover_id, "id": cover_id, "scaled": false, "url": cover_url, "bytes": picture.len(), "height": 50, "width": 70}])
    );
    let fetched = alice.get(&path_of(&alice, &cover_url)).await;
    assert_eq!((fetched.status, fetched.content_type.as_str()), (200, "image/png"));
    assert!(fetched.headers["content-disposition"].to_str().unwrap().starts_with("inline; "));
    let card_json = alice.get(&format!("/1/cards/{card}")).await.ok();
    assert_eq!((card_json["idAttachmentCover"].clone(), card_json["badges"]["attachments"].clone()), (json!(cover_id), json!(2)));
    let listed = alice.get(&attachments).await.ok();
    assert_eq!(
        listed.as_array().unwrap().iter().map(|a| (s(a, "id"), a["isUpload"].clone())).collect::<Vec<_>>(),
        vec![(id.clone(), json!(true)), (cover_id.clone(), json!(true))]
    );
    assert_eq!(action_types(&alice, &card).await, vec!["addAttachmentToCard", "addAttachmentToCard", "createCard"]);

    // Only readers of the board download; others are told as for any card read.
    let download_path = path_of(&alice, &url);
    bob.get(&download_path).await.err(401, "unauthorized card permission requested");
    server.anonymous().get(&download_path).await.err(401, "unauthorized card permission requested");
    alice.get(&format!("/1/cards/{card}/attachments/nope/download/x")).await.err(400, "invalid id");
    alice
        .get(&format!("/1/cards/{card}/attachments/5f0000000000000000000000/download/x"))
        .await
        .err(404, "The requested resource was not found.");
    // Nor may they upload: refused before a byte is stored.
    upload(&bob, &attachments, &[], Some(("evil.txt", None, b"nope"))).await.err(401, "unauthorized card permission requested");
    assert_eq!(stored_files(&server).await, 2);

    // Deleting the cover takes its file and the cover with it.
    assert_eq!(alice.delete(&format!("{attachments}/{cover_id}")).await.ok(), json!({"limits": {}}));
    assert_eq!(stored_files(&server).await, 1);
    alice.get(&path_of(&alice, &cover_url)).await.err(404, "The requested resource was not found.");
    let card_json = alice.get(&format!("/1/cards/{card}")).await.ok();
    assert_eq!((card_json["idAttachmentCover"].clone(), card_json["badges"]["attachments"].clone()), (Value::Null, json!(1)));

    // A copy of the card owns a copy of the file: deleting the original keeps it.
    let list = s(&card_json, "idList");
    let copy = alice.post("/1/cards", json!({"idList": list, "idCardSource": card})).await.ok();
    let copied = alice.get(&format!("/1/cards/{}/attachments", s(&copy, "id"))).await.ok();
    assert_eq!(stored_files(&server).await, 2);
    assert_eq!(alice.delete(&format!("/1/cards/{card}")).await.ok(), json!({"limits": {}}));
    assert_eq!(stored_files(&server).await, 1);
    let copied_download = alice.get(&path_of(&alice, &s(&copied[0], "url"))).await;
    assert_eq!((copied_download.status, copied_download.headers["content-length"].to_str().unwrap()), (200, "3145728"));

    // Deleting the board removes what is left.
    let board_id = s(&copy, "idBoard");
    assert_eq!(alice.delete(&format!("/1/boards/{board_id}")).await.ok(), json!({"_value": null}));
    assert_eq!(stored_files(&server).await, 0);
    // Their bytes wait, unserved, for an undo of the deletions.
    assert_eq!(trashed_files(&server).await, 3);
});

every_file_store!(refused_uploads_leave_nothing_behind, |server: Server| async move {
    let alice = server.user("alice").await;
    let (_board, _list, card) = board_with_card(&alice).await;
    let attachments = format!("/1/cards/{card}/attachments");

    // One byte over the 10 MiB limit: 413, no row, no file, no action.
    let too_big = vec![b'x'; (10 << 20) + 1];
    upload(&alice, &attachments, &[], Some(("big.bin", None, &too_big))).await.err(413, "request entity too large");
    upload(&alice, &attachments, &[("mimeType", "not a type")], Some(("a.txt", None, b"hello")))
        .await
        .err(400, "invalid value for mimeType");
    let long_name = "n".repeat(257);
    upload(&alice, &attachments, &[("name", &long_name)], Some(("a.txt", None, b"hello"))).await.err(400, "invalid value for name");
    alice.post(&attachments, json!({"name": "neither a file nor a url"})).await.err(400, "invalid value for url");
    assert_eq!(alice.get(&attachments).await.ok(), json!([]));
    assert_eq!(alice.get(&format!("/1/cards/{card}")).await.ok()["badges"]["attachments"], json!(0));
    assert_eq!(action_types(&alice, &card).await, vec!["createCard"]);
    assert_eq!(stored_files(&server).await, 0);

    // Exactly at the limit is fine; the type comes from the name when none is declared.
    let at_limit = vec![b'y'; 10 << 20];
    let created = upload(&alice, &attachments, &[], Some(("notes.txt", None, &at_limit))).await.ok();
    assert_eq!((created["bytes"].clone(), created["mimeType"].clone()), (json!(10 << 20), json!("text/plain")));
    assert_eq!(stored_files(&server).await, 1);
});

every_file_store!(stickers_sit_on_cards, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let (board, _list, card) = board_with_card(&alice).await;
    let stickers = format!("/1/cards/{card}/stickers");

    let taco = alice.post(&stickers, json!({"image": "taco-cool", "top": 10, "left": "20.5", "zIndex": 1, "rotate": 15})).await.ok();
    let taco_id = s(&taco, "id");
    let image_url = format!("{}/cork/stickers/taco-cool.svg", alice.base);
    assert_eq!(
        taco,
        json!({
            "id": taco_id, "top": 10.0, "left": 20.5, "zIndex": 1, "rotate": 15.0, "image": "taco-cool", "imageUrl": image_url,
            "imageScaled": [{"id": taco_id, "_id": taco_id, "scaled": false, "url": image_url, "bytes": null, "height": 64, "width": 64}],
            "limits": {},
        })
    );
    let drawn = alice.get("/cork/stickers/taco-cool.svg").await;
    assert_eq!((drawn.status, drawn.content_type.as_str()), (200, "image/svg+xml"));

    // Trello's ranges, and nothing written for a refused sticker.
    for (body, error) in [
        (json!({"image": "taco-cool", "top": 101, "left": 0, "zIndex": 1}), "invalid value for top"),
        (json!({"image": "taco-cool", "top": 0, "left": -61, "zIndex": 1}), "invalid value for left"),
        (json!({"image": "taco-cool", "top": 0, "left": 0, "zIndex": 1, "rotate": 361}), "invalid value for rotate"),
        (json!({"image": "taco-cool", "top": 0, "left": 0, "zIndex": 1.5}), "invalid value for zIndex"),
        (json!({"image": "taco-cool", "top": "high", "left": 0, "zIndex": 1}), "invalid value for top"),
        (json!({"image": "taco-cool", "left": 0, "zIndex": 1}), "invalid value for top"),
        (json!({"image": "unicorn", "top": 0, "left": 0, "zIndex": 1}), "invalid value for image"),
        (json!({"top": 0, "left": 0, "zIndex": 1}), "invalid value for image"),
    ] {
        alice.post(&stickers, body).await.err(400, error);
    }
    assert_eq!(alice.get(&stickers).await.ok().as_array().unwrap().len(), 1);

    let moved = alice.put(&format!("{stickers}/{taco_id}"), json!({"top": -60, "zIndex": 3})).await.ok();
    assert_eq!((moved["top"].clone(), moved["left"].clone(), moved["zIndex"].clone()), (json!(-60.0), json!(20.5), json!(3)));
    alice.put(&format!("{stickers}/{taco_id}"), json!({"rotate": -1})).await.err(400, "invalid value for rotate");
    assert_eq!(alice.get(&format!("{stickers}/{taco_id}")).await.ok(), moved);
    assert_eq!(alice.get(&format!("/1/cards/{card}?stickers=true&fields=name")).await.ok()["stickers"], json!([moved]));
    alice.get(&format!("{stickers}/nope")).await.err(400, "invalid id");
    alice.get(&format!("{stickers}/5f0000000000000000000000")).await.err(404, "The requested resource was not found.");

    // Outsiders neither see nor place stickers; observers see but do not place them.
    bob.get(&stickers).await.err(401, "unauthorized card permission requested");
    alice.put(&format!("/1/boards/{board}/members/{}", bob.id), json!({"type": "observer"})).await.ok();
    assert_eq!(bob.get(&stickers).await.ok().as_array().unwrap().len(), 1);
    bob.post(&stickers, json!({"image": "pete-happy", "top": 0, "left": 0, "zIndex": 2}))
        .await
        .err(401, "unauthorized card permission requested");
    bob.delete(&format!("{stickers}/{taco_id}")).await.err(401, "unauthorized card permission requested");

    // A custom sticker: alice's own picture, placed as a copy the card owns.
    let picture = png(120, 90);
    let custom = upload(&alice, "/1/members/me/customStickers", &[], Some(("parrot.png", None, &picture))).await.ok();
    let custom_id = s(&custom, "id");
    let custom_url = s(&custom, "url");
    assert_eq!(
        custom,
        json!({"id": custom_id, "url": custom_url, "scaled": [{"id": custom_id, "_id": custom_id, "scaled": false, "url": custom_url, "bytes": picture.len(), "height": 90, "width": 120}]})
    );
    let served = alice.http.get(&custom_url).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert!(served.bytes().await.unwrap() == picture);
    assert_eq!(alice.get("/1/members/me/customStickers").await.ok(), json!([custom]));
    assert_eq!(alice.get(&format!("/1/members/{}/customStickers/{custom_id}", alice.username)).await.ok(), custom);
    upload(&alice, "/1/members/me/customStickers", &[], Some(("notes.txt", None, b"not a picture")))
        .await
        .err(400, "invalid value for file");
    bob.get(&format!("/1/members/{}/customStickers", alice.id)).await.err(401, "unauthorized permission requested");
    let no_account = server.token_for(&alice, &["read", "write"]).await;
    upload(&no_account, "/1/members/me/customStickers", &[], Some(("b.png", None, &picture)))
        .await
        .err(401, "unauthorized permission requested");

    let placed = alice.post(&stickers, json!({"image": custom_id, "top": 50, "left": 50, "zIndex": 5})).await.ok();
    let placed_url = s(&placed, "imageUrl");
    assert_ne!(placed_url, custom_url, "the card owns a copy");
    assert_eq!((placed["image"].clone(), placed["imageScaled"][0]["width"].clone()), (json!(custom_id), json!(120)));
    // Bob cannot use alice's custom sticker on his own card.
    let (_, _, bobs_card) = board_with_card(&bob).await;
    bob.post(&format!("/1/cards/{bobs_card}/stickers"), json!({"image": custom_id, "top": 0, "left": 0, "zIndex": 1}))
        .await
        .err(400, "invalid value for image");
    assert_eq!(stored_files(&server).await, 2);

    // Deleting the custom sticker keeps the placed copy; removing that takes its file.
    assert_eq!(alice.delete(&format!("/1/members/me/customStickers/{custom_id}")).await.ok(), json!({"_value": null}));
    alice.get(&format!("/1/members/me/customStickers/{custom_id}")).await.err(404, "The requested resource was not found.");
    assert_eq!(alice.http.get(&custom_url).send().await.unwrap().status(), 404);
    assert_eq!(alice.http.get(&placed_url).send().await.unwrap().status(), 200);
    let placed_id = s(&placed, "id");
    assert_eq!(alice.delete(&format!("{stickers}/{placed_id}")).await.ok(), json!({"limits": {}}));
    assert_eq!(alice.http.get(&placed_url).send().await.unwrap().status(), 404);
    assert_eq!(stored_files(&server).await, 0);

    let types = action_types(&alice, &card).await;
    assert_eq!(types, vec!["removeStickerFromCard", "addStickerToCard", "updateStickerOnCard", "addStickerToCard", "createCard"]);
    let update = &alice.get(&format!("/1/cards/{card}/actions?filter=updateStickerOnCard")).await.ok()[0];
    assert_eq!(update["data"]["old"], json!({"top": 10.0, "zIndex": 1}));
});

every_file_store!(emoji_and_custom_emoji, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;

    let emoji = alice.get("/1/emoji").await.ok();
    assert_eq!(emoji.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()), Some(vec!["trello".to_string()]), "Trello's one key");
    let unicode = emoji["trello"].as_array().unwrap();
    assert!(unicode.len() >= 40, "a few dozen emoji");
    for entry in unicode {
        let keys: Vec<&str> = entry.as_object().unwrap().keys().map(String::as_str).filter(|k| *k != "skinVariations").collect();
        assert_eq!(
            keys,
            ["unified", "name", "native", "shortName", "shortNames", "text", "texts", "category", "sheetX", "sheetY", "tts", "keywords"]
        );
        assert!(entry["sheetX"].is_u64() && entry["sheetY"].is_u64() && entry["keywords"].is_array());
    }
    let thumbs = unicode.iter().find(|e| e["shortName"] == "+1").unwrap();
    assert_eq!(
        (thumbs["unified"].clone(), thumbs["native"].clone(), thumbs["name"].clone()),
        (json!("1F44D"), json!("👍"), json!("THUMBS UP SIGN"))
    );
    assert_eq!(thumbs["shortNames"], json!(["+1", "thumbsup"]));
    assert_eq!(thumbs["skinVariations"]["1F3FD"]["native"], json!("👍🏽"));
    let smiley = unicode.iter().find(|e| e["shortName"] == "slightly_frowning_face").unwrap();
    assert_eq!((smiley["text"].clone(), smiley["texts"].clone()), (json!(":("), json!([":("])));

    let picture = png(32, 32);
    let created =
        upload(&alice, "/1/members/me/customEmoji", &[("name", "party_parrot")], Some(("parrot.png", Some("image/png"), &picture)))
            .await
            .ok();
    let id = s(&created, "id");
    assert_eq!(created, json!({"id": id, "name": "party_parrot", "url": created["url"]}));
    assert!(alice.http.get(s(&created, "url")).send().await.unwrap().bytes().await.unwrap() == picture);
    assert_eq!(alice.get("/1/members/me/customEmoji").await.ok(), json!([created]));
    assert_eq!(alice.get(&format!("/1/members/me/customEmoji/{id}?fields=name")).await.ok(), json!({"id": id, "name": "party_parrot"}));

    upload(&alice, "/1/members/me/customEmoji", &[("name", "party_parrot")], Some(("again.png", None, &picture)))
        .await
        .err(400, "invalid value for name");
    upload(&alice, "/1/members/me/customEmoji", &[("name", "x")], Some(("x.png", None, &picture))).await.err(400, "invalid value for name");
    upload(&alice, "/1/members/me/customEmoji", &[("name", "no file")], None).await.err(400, "invalid value for file");
    upload(&alice, "/1/members/me/customEmoji", &[], Some(("x.png", None, &picture))).await.err(400, "invalid value for name");
    bob.get(&format!("/1/members/{}/customEmoji", alice.username)).await.err(401, "unauthorized permission requested");
    bob.get(&format!("/1/members/{}/customEmoji/{id}", alice.id)).await.err(401, "unauthorized permission requested");
    assert_eq!(alice.get("/1/members/me/customEmoji").await.ok().as_array().unwrap().len(), 1);
    assert_eq!(stored_files(&server).await, 1);
});

every_file_store!(votes_follow_the_boards_voting_preference, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (board, _list, card) = board_with_card(&alice).await;
    let voted = format!("/1/cards/{card}/membersVoted");
    alice.put(&format!("/1/boards/{board}/members/{}", bob.id), json!({"type": "observer"})).await.ok();

    // Voting is off by default.
    alice.post(&voted, json!({"value": alice.id})).await.err(401, "unauthorized card permission requested");
    assert_eq!(alice.get(&voted).await.ok(), json!([]));

    alice.put(&format!("/1/boards/{board}"), json!({"prefs/voting": "members"})).await.ok();
    let voters = alice.post(&voted, json!({"value": alice.id})).await.ok();
    assert_eq!(
        voters,
        json!([{"id": alice.id, "avatarHash": voters[0]["avatarHash"], "fullName": "alice Tester", "initials": voters[0]["initials"], "username": "alice"}])
    );
    alice.post(&voted, json!({"value": "me"})).await.err(400, "member has already voted on the card");
    alice.post(&voted, json!({"value": bob.id})).await.err(401, "unauthorized card permission requested");
    alice.post(&voted, json!({"value": ""})).await.err(400, "invalid value for value");
    bob.post(&voted, json!({"value": bob.id})).await.err(401, "unauthorized card permission requested");
    carol.post(&voted, json!({"value": carol.id})).await.err(401, "unauthorized card permission requested");
    let seen = alice.get(&format!("/1/cards/{card}")).await.ok();
    assert_eq!((seen["idMembersVoted"].clone(), seen["badges"]["votes"].clone()), (json!([alice.id]), json!(1)));

    // Observers vote once the board says so.
    alice.put(&format!("/1/boards/{board}"), json!({"prefs/voting": "observers"})).await.ok();
    let voters = bob.post(&voted, json!({"value": bob.username})).await.ok();
    assert_eq!(voters.as_array().unwrap().iter().map(|v| s(v, "id")).collect::<Vec<_>>(), vec![alice.id.clone(), bob.id.clone()]);
    assert_eq!(
        alice.get(&format!("{voted}?fields=username")).await.ok(),
        json!([{"id": alice.id, "username": "alice"}, {"id": bob.id, "username": "bob"}])
    );
    carol.get(&voted).await.err(401, "unauthorized card permission requested");

    // Votes are taken back only by the voter.
    bob.delete(&format!("{voted}/{}", alice.id)).await.err(401, "unauthorized card permission requested");
    let left = alice.delete(&format!("{voted}/{}", alice.id)).await.ok();
    assert_eq!(left.as_array().unwrap().iter().map(|v| s(v, "id")).collect::<Vec<_>>(), vec![bob.id.clone()]);
    alice.delete(&format!("{voted}/{}", alice.id)).await.err(400, "member has not voted on the card");
    let seen = alice.get(&format!("/1/cards/{card}")).await.ok();
    assert_eq!((seen["idMembersVoted"].clone(), seen["badges"]["votes"].clone()), (json!([bob.id]), json!(1)));

    let votes = alice.get(&format!("/1/cards/{card}/actions?filter=voteOnCard")).await.ok();
    let flags: Vec<(Value, String)> =
        votes.as_array().unwrap().iter().map(|a| (a["data"]["voted"].clone(), s(&a["memberCreator"], "id"))).collect();
    assert_eq!(flags, vec![(json!(false), alice.id.clone()), (json!(true), bob.id.clone()), (json!(true), alice.id.clone())]);

    // With hideVotes, only admins see who voted; the count stays.
    alice.put(&format!("/1/boards/{board}"), json!({"prefs/hideVotes": true})).await.ok();
    assert_eq!(alice.get(&voted).await.ok().as_array().unwrap().len(), 1);
    alice.put(&format!("/1/boards/{board}/members/{}", carol.id), json!({"type": "normal"})).await.ok();
    assert_eq!(carol.get(&voted).await.ok(), json!([]));
    assert_eq!(bob.get(&voted).await.ok().as_array().unwrap().len(), 1);
});

every_file_store!(reactions_on_comments, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (board, _list, card) = board_with_card(&alice).await;
    alice.put(&format!("/1/boards/{board}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let comment = alice.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": "Shipped!"})).await.ok();
    let reactions = format!("/1/actions/{}/reactions", s(&comment, "id"));

    let thumbs = alice.post(&reactions, json!({"shortName": "+1"})).await.ok();
    let thumbs_id = s(&thumbs, "id");
    assert_eq!(
        thumbs,
        json!({
            "id": thumbs_id, "idMember": alice.id, "idModel": comment["id"], "idEmoji": "1F44D",
            "member": {"id": alice.id, "username": "alice", "fullName": "alice Tester", "initials": thumbs["member"]["initials"], "avatarHash": thumbs["member"]["avatarHash"], "avatarUrl": thumbs["member"]["avatarUrl"]},
            "emoji": {"unified": "1F44D", "native": "👍", "name": "THUMBS UP SIGN", "shortName": "+1", "skinVariation": null},
        })
    );
    // Once per emoji per member, whatever it is called and whatever the skin tone.
    alice
        .post(&reactions, json!({"shortName": "thumbsup", "skinVariation": "1F3FB"}))
        .await
        .err(400, "member has already reacted with this emoji");
    alice.post(&reactions, json!({"native": "👍"})).await.err(400, "member has already reacted with this emoji");

    let toned = bob.post(&reactions, json!({"native": "👍🏽"})).await.ok();
    assert_eq!(
        toned["emoji"],
        json!({"unified": "1F44D", "native": "👍🏽", "name": "THUMBS UP SIGN", "shortName": "+1", "skinVariation": "1F3FD"})
    );
    let tada = bob.post(&reactions, json!({"unified": "1f389"})).await.ok();
    assert_eq!(tada["idEmoji"], json!("1F389"));

    for (body, error) in [
        (json!({"shortName": "not_an_emoji"}), "invalid value for shortName"),
        (json!({"shortName": "+1", "skinVariation": "1F3FA"}), "invalid value for skinVariation"),
        (json!({"native": "abc"}), "invalid value for native"),
        (json!({"unified": "zz"}), "invalid value for unified"),
        (json!({}), "invalid value for shortName"),
    ] {
        bob.post(&reactions, body).await.err(400, error);
    }
    let listed = alice.get(&format!("{reactions}?member=false")).await.ok();
    assert_eq!(
        listed.as_array().unwrap().iter().map(|r| (s(r, "idEmoji"), r.get("member").is_none())).collect::<Vec<_>>(),
        vec![("1F44D".to_string(), true), ("1F44D".to_string(), true), ("1F389".to_string(), true)]
    );
    assert_eq!(alice.get(&format!("{reactions}/{thumbs_id}")).await.ok(), thumbs);

    let summary = alice.get(&format!("/1/actions/{}/reactionsSummary", s(&comment, "id"))).await.ok();
    let lines: Vec<(Value, Value, Value, Value)> = summary
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["idEmoji"].clone(), l["count"].clone(), l["idModel"].clone(), l["idReaction"].clone()))
        .collect();
    let on = comment["id"].clone();
    assert_eq!(lines, vec![(json!("1F44D"), json!(2), on.clone(), json!(thumbs_id)), (json!("1F389"), json!(1), on, tada["id"].clone())]);
    // When the first reaction of each line was made, as a date (not who made it).
    for line in summary.as_array().unwrap() {
        assert!(line.get("firstReacter").is_none());
        assert!(cork_core::parse_date(line["firstReacted"].as_str().unwrap_or("")).is_some(), "{line}");
    }
    assert_eq!(
        summary[0]["emoji"],
        json!({"unified": "1F44D", "native": "👍", "name": "THUMBS UP SIGN", "shortName": "+1", "skinVariation": null})
    );

    // Outsiders see nothing; nobody removes another member's reaction.
    carol.get(&reactions).await.err(401, "unauthorized permission requested");
    carol.post(&reactions, json!({"shortName": "heart"})).await.err(401, "unauthorized permission requested");
    bob.delete(&format!("{reactions}/{thumbs_id}")).await.err(401, "unauthorized permission requested");
    assert_eq!(alice.delete(&format!("{reactions}/{thumbs_id}")).await.ok(), json!({"_value": null}));
    alice.get(&format!("{reactions}/{thumbs_id}")).await.err(404, "The requested resource was not found.");
    let summary = alice.get(&format!("/1/actions/{}/reactionsSummary", s(&comment, "id"))).await.ok();
    assert_eq!((summary[0]["idEmoji"].clone(), summary[0]["count"].clone()), (json!("1F44D"), json!(1)));
    assert_ne!(summary[0]["idReaction"], json!(thumbs_id), "the first thumbs up left; the next one leads");

    // Only comments take reactions; ids are checked before lookups.
    let created = alice.get(&format!("/1/cards/{card}/actions?filter=createCard")).await.ok();
    alice
        .post(&format!("/1/actions/{}/reactions", s(&created[0], "id")), json!({"shortName": "+1"}))
        .await
        .err(400, "only comments take reactions");
    alice.get("/1/actions/nope/reactions").await.err(400, "invalid id");
    alice.get("/1/actions/5f0000000000000000000000/reactionsSummary").await.err(404, "The requested resource was not found.");
    let logged: Vec<String> = alice
        .get(&format!("/1/boards/{board}/actions?filter=addReaction,deleteReaction"))
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| s(a, "type"))
        .collect();
    assert_eq!(logged, vec!["deleteReaction", "addReaction", "addReaction", "addReaction"]);
});

every_file_store!(board_preferences_are_each_members_own, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (board, list, _card) = board_with_card(&alice).await;
    alice.put(&format!("/1/boards/{board}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let my_prefs = format!("/1/boards/{board}/myPrefs");
    // No `showListGuide` until a member sets it (Trello's myPrefs have no such key).
    let defaults = json!({"showSidebar": true, "showSidebarMembers": true, "showSidebarBoardActions": true, "showSidebarActivity": true, "emailPosition": "bottom", "idEmailList": null});
    assert_eq!(alice.get(&my_prefs).await.ok(), defaults);
    let actions_before = alice.get(&format!("/1/boards/{board}/actions")).await.ok();

    assert_eq!(alice.put(&format!("{my_prefs}/showSidebar"), json!({"value": false})).await.ok()["showSidebar"], json!(false));
    alice.put(&format!("{my_prefs}/emailPosition"), json!({"value": "top"})).await.ok();
    alice.put(&format!("{my_prefs}/showListGuide"), json!({"value": "TRUE"})).await.ok();
    let prefs = alice.put(&format!("{my_prefs}/idEmailList"), json!({"value": list})).await.ok();
    assert_eq!(
        prefs,
        json!({"showSidebar": false, "showSidebarMembers": true, "showSidebarBoardActions": true, "showSidebarActivity": true, "showListGuide": true, "emailPosition": "top", "idEmailList": list})
    );
    assert_eq!(alice.get(&my_prefs).await.ok(), prefs);

    let other_list = s(&alice.list(&s(&alice.board("Elsewhere").await, "id"), "Inbox").await, "id");
    for (pref, value, status, error) in [
        ("showSidebar", json!("maybe"), 400, "invalid value for value"),
        ("emailPosition", json!("middle"), 400, "invalid value for value"),
        ("idEmailList", json!(other_list), 400, "invalid value for value"),
        ("idEmailList", json!("nope"), 400, "invalid value for value"),
        ("sidebarColour", json!("red"), 404, "The requested resource was not found."),
    ] {
        alice.put(&format!("{my_prefs}/{pref}"), json!({"value": value})).await.err(status, error);
    }
    alice.put(&format!("{my_prefs}/showSidebar"), json!({})).await.err(400, "invalid value for value");
    assert_eq!(alice.get(&my_prefs).await.ok(), prefs);

    // Each member has their own; outsiders have none; changes need the account scope.
    assert_eq!(bob.get(&my_prefs).await.ok(), defaults);
    carol.get(&my_prefs).await.err(401, "unauthorized permission requested");
    carol.put(&format!("{my_prefs}/showSidebar"), json!({"value": true})).await.err(401, "unauthorized permission requested");
    let no_account = server.token_for(&bob, &["read", "write"]).await;
    no_account.put(&format!("{my_prefs}/showSidebar"), json!({"value": false})).await.err(401, "unauthorized permission requested");
    assert_eq!(bob.get(&my_prefs).await.ok(), defaults);
    // Preferences are not logged.
    assert_eq!(alice.get(&format!("/1/boards/{board}/actions")).await.ok(), actions_before);
});

every_file_store!(saved_searches_and_board_backgrounds, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let searches = "/1/members/me/savedSearches";

    let mine = alice.post(searches, json!({"name": "My cards", "query": "@me", "pos": "bottom"})).await.ok();
    let mine_id = s(&mine, "id");
    assert_eq!(mine, json!({"id": mine_id, "name": "My cards", "query": "@me", "pos": 16384.0}));
    let urgent = alice.post(searches, json!({"name": "Urgent", "query": "label:red due:week", "pos": "top"})).await.ok();
    assert_eq!(urgent["pos"], json!(8192.0));
    assert_eq!(alice.get(searches).await.ok(), json!([urgent, mine]));
    for (body, error) in [
        (json!({"query": "@me", "pos": "top"}), "invalid value for name"),
        (json!({"name": "x", "pos": "top"}), "invalid value for query"),
        (json!({"name": "x", "query": "@me", "pos": "middle"}), "invalid value for pos"),
        (json!({"name": "x", "query": "@me"}), "invalid value for pos"),
        (json!({"name": "  ", "query": "@me", "pos": 1}), "invalid value for name"),
    ] {
        alice.post(searches, body).await.err(400, error);
    }
    let renamed = alice.put(&format!("{searches}/{mine_id}"), json!({"name": "Assigned to me", "pos": 1})).await.ok();
    assert_eq!(renamed, json!({"id": mine_id, "name": "Assigned to me", "query": "@me", "pos": 1.0}));
    // The legacy per-field form some clients still use.
    let requery = alice.put(&format!("{searches}/{mine_id}/query"), json!({"value": "@me is:open"})).await.ok();
    assert_eq!(requery["query"], json!("@me is:open"));
    alice.put(&format!("{searches}/{mine_id}/query"), json!({"value": " "})).await.err(400, "invalid value for query");
    alice.put(&format!("{searches}/{mine_id}/colour"), json!({"value": "red"})).await.err(404, "The requested resource was not found.");
    let renamed = alice.put(&format!("{searches}/{mine_id}/query"), json!({"value": "@me"})).await.ok();
    assert_eq!(alice.get(&format!("/1/members/{}/savedSearches/{mine_id}", alice.username)).await.ok(), renamed);
    bob.get(&format!("/1/members/{}/savedSearches", alice.id)).await.err(401, "unauthorized permission requested");
    bob.delete(&format!("/1/members/{}/savedSearches/{mine_id}", alice.id)).await.err(401, "unauthorized permission requested");
    let no_account = server.token_for(&alice, &["read", "write"]).await;
    no_account.post(searches, json!({"name": "x", "query": "y", "pos": "top"})).await.err(401, "unauthorized permission requested");
    assert_eq!(no_account.get(searches).await.ok().as_array().unwrap().len(), 2);
    assert_eq!(alice.delete(&format!("{searches}/{mine_id}")).await.ok(), json!({"_value": null}));
    alice.get(&format!("{searches}/{mine_id}")).await.err(404, "The requested resource was not found.");
    alice.get(&format!("{searches}/nope")).await.err(400, "invalid id");

    // Backgrounds: the member's own uploads (Cork has none of Trello's stock photos).
    assert_eq!(alice.get("/1/members/me/boardBackgrounds").await.ok(), json!([]));
    assert_eq!(alice.get("/1/members/me/customBoardBackgrounds").await.ok(), json!([]));
    let picture = png(1920, 1080);
    let custom = upload(&alice, "/1/members/me/customBoardBackgrounds", &[], Some(("mountains.png", None, &picture))).await.ok();
    let custom_id = s(&custom, "id");
    let url = s(&custom, "fullSizeUrl");
    assert_eq!(
        custom,
        json!({"id": custom_id, "type": "custom", "brightness": "unknown", "tile": false, "fullSizeUrl": url, "scaled": [{"width": 1920, "height": 1080, "url": url}], "bottomColor": null, "topColor": null})
    );
    assert_eq!(alice.get("/1/members/me/boardBackgrounds?filter=custom").await.ok(), json!([custom]));
    assert_eq!(alice.get("/1/members/me/boardBackgrounds").await.ok(), json!([custom]));
    assert_eq!(alice.get("/1/members/me/boardBackgrounds?filter=default").await.ok(), json!([]));
    alice.get("/1/members/me/boardBackgrounds/blue").await.err(400, "invalid id");
    let updated = alice.put(&format!("/1/members/me/boardBackgrounds/{custom_id}"), json!({"brightness": "dark", "tile": true})).await.ok();
    assert_eq!((updated["brightness"].clone(), updated["tile"].clone()), (json!("dark"), json!(true)));
    assert_eq!(alice.get(&format!("/1/members/me/customBoardBackgrounds/{custom_id}")).await.ok(), updated);
    alice
        .put(&format!("/1/members/me/customBoardBackgrounds/{custom_id}"), json!({"brightness": "dim"}))
        .await
        .err(400, "invalid value for brightness");
    alice.get("/1/members/me/boardBackgrounds?filter=bogus").await.err(400, "invalid value for filter");
    upload(&alice, "/1/members/me/boardBackgrounds", &[], Some(("notes.txt", None, b"plain text")))
        .await
        .err(400, "invalid value for file");
    bob.get(&format!("/1/members/{}/boardBackgrounds/{custom_id}", alice.id)).await.err(401, "unauthorized permission requested");
    assert_eq!(stored_files(&server).await, 1);
    assert_eq!(alice.delete(&format!("/1/members/me/customBoardBackgrounds/{custom_id}")).await.ok(), json!({"_value": null}));
    assert_eq!(alice.http.get(&url).send().await.unwrap().status(), 404);
    assert_eq!(stored_files(&server).await, 0);
    let logged: Vec<String> = alice.get("/1/members/me/actions").await.ok().as_array().unwrap().iter().map(|a| s(a, "type")).collect();
    assert_eq!(logged, vec!["deleteBoardBackground", "updateBoardBackground", "createBoardBackground"]);
});
