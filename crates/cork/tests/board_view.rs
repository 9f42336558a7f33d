//! The board view costs a fixed number of queries, whatever the number of cards.

mod common;

use serde_json::json;

use common::{s, Server};

both_backends!(board_view_query_budget_is_fixed, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Budget").await;
    let board_id = s(&board, "id");
    let label = alice.post("/1/labels", json!({"idBoard": board_id, "name": "hot", "color": "red"})).await.ok();
    let path = format!("/1/boards/{board_id}?lists=open&cards=open&labels=all&members=all&actions=all");
    let mut costs = Vec::new();
    for round in 0..3 {
        let list = alice.list(&board_id, &format!("List {round}")).await;
        for n in 0..(round * 10 + 1) {
            let card = alice.card(&s(&list, "id"), &format!("Card {round}.{n}")).await;
            alice.post(&format!("/1/cards/{}/idLabels", s(&card, "id")), json!({"value": s(&label, "id")})).await.ok();
            alice.post(&format!("/1/cards/{}/actions/comments", s(&card, "id")), json!({"text": "note"})).await.ok();
        }
        let response = alice.get(&path).await;
        let view = response.ok();
        let cards = view["cards"].as_array().unwrap().len();
        costs.push((cards, response.queries()));
        assert_eq!(view["lists"].as_array().unwrap().len(), round + 1);
        assert!(view["cards"][0]["labels"][0]["name"] == "hot");
    }
    assert_eq!(costs.iter().map(|c| c.0).collect::<Vec<_>>(), vec![1, 12, 33]);
    let first = costs[0].1;
    println!("board view with lists, cards, labels, members and actions: {costs:?} (cards, queries)");
    assert!(costs.iter().all(|c| c.1 == first), "query count changed with the number of cards: {costs:?}");
    // Credentials, the board and each nested collection, and the board's policy (its
    // source-of-truth rules, shown under `cork`).
    assert!(first <= 13, "board view costs {first} queries");
});
