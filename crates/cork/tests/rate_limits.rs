//! Trello's rate limits, measured: exact counts under concurrency, headers that count
//! down, windows that open anew, the key limit across tokens, and the member route.
//! Counts are asserted exactly; timings only bound where a window starts and ends.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Client, Resp, Server};
use cork_api::ApiConfig;
use serde_json::json;

fn header(resp: &Resp, name: &str) -> Option<u64> {
    resp.headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

fn limits(config: &mut ApiConfig, window: Duration) {
    config.rate_limits.enabled = true;
    config.rate_limits.window = window;
}

/// Fires `count` requests at once (each on its own task) and returns the answers.
async fn burst(client: &Client, path: &str, count: usize) -> Vec<Resp> {
    let start = Arc::new(tokio::sync::Barrier::new(count));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (client, start, path) = (client.clone(), start.clone(), path.to_string());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            client.get(&path).await
        }));
    }
    let mut answers = Vec::with_capacity(count);
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

fn assert_token_refusal(resp: &Resp) {
    assert_eq!(resp.status, 429, "{}", resp.text);
    assert!(resp.content_type.starts_with("application/json"), "{}", resp.content_type);
    assert_eq!(resp.json(), json!({"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}));
    assert_eq!(header(resp, "x-rate-limit-api-token-remaining"), Some(0));
}

/// Polls (every 100 ms) until `path` answers 200 again; returns when, since `since`.
async fn until_admitted(client: &Client, path: &str, since: Instant, give_up: Duration) -> (Duration, Resp) {
    loop {
        let resp = client.get(path).await;
        if resp.status == 200 {
            return (since.elapsed(), resp);
        }
        assert_eq!(resp.status, 429, "{}", resp.text);
        assert!(since.elapsed() < give_up, "no new window after {give_up:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// Trello's defaults (100 per token per 10 s): 1,000 concurrent attempts on one token give
// exactly 100 successes; the window reopens in the 11th second.
both_backends!(
    thousand_concurrent_attempts_give_exactly_one_hundred,
    config = |c: &mut ApiConfig| limits(c, Duration::from_secs(10)),
    |server: Server| async move {
        let ann = server.user("ann").await;
        let path = "/1/members/me/boards";
        let started = Instant::now();
        let answers = burst(&ann, path, 1000).await;
        let burst_took = started.elapsed();
        assert!(burst_took < Duration::from_secs(10), "the burst must fit in one window (took {burst_took:?})");
        let ok: Vec<&Resp> = answers.iter().filter(|r| r.status == 200).collect();
        let refused: Vec<&Resp> = answers.iter().filter(|r| r.status == 429).collect();
        common::report(
            server.backend(),
            &format!("rate limit: burst of 1000 on one token: {} x 200, {} x 429 in {burst_took:?}", ok.len(), refused.len()),
        );
        assert_eq!((ok.len(), refused.len()), (100, 900));
        refused.iter().for_each(|r| assert_token_refusal(r));
        // Every admitted request saw a remaining count below the one before it took its turn.
        let mut remaining: Vec<u64> = ok.iter().map(|r| header(r, "x-rate-limit-api-token-remaining").expect("remaining")).collect();
        remaining.sort_unstable();
        assert!(remaining.iter().all(|r| *r < 100));
        for resp in &answers {
            assert_eq!(header(resp, "x-rate-limit-api-token-max"), Some(100));
            assert_eq!(header(resp, "x-rate-limit-api-token-interval-ms"), Some(10_000));
            assert_eq!(header(resp, "x-rate-limit-api-key-max"), Some(300));
        }
        // The window opened with the first request, after `started`: a new one opens in the
        // 11th second, not before.
        let (at, resp) = until_admitted(&ann, path, started, Duration::from_secs(14)).await;
        common::report(server.backend(), &format!("rate limit: new window after {at:?}"));
        assert!(at >= Duration::from_secs(10) && at < Duration::from_secs(11), "new window at {at:?}");
        assert_eq!(header(&resp, "x-rate-limit-api-token-remaining"), Some(99));
    }
);

// A short window keeps the sequential checks fast: the remaining count goes 99..0, the
// 101st request is refused, and the next window starts full.
both_backends!(
    remaining_counts_down_and_a_new_window_opens,
    config = |c: &mut ApiConfig| limits(c, Duration::from_secs(2)),
    |server: Server| async move {
        let ann = server.user("ann").await;
        let path = "/1/members/me/boards";
        let started = Instant::now();
        for expected in (0..100u64).rev() {
            let resp = ann.get(path).await;
            assert_eq!(resp.status, 200, "{}", resp.text);
            assert_eq!(header(&resp, "x-rate-limit-api-token-remaining"), Some(expected));
            assert_eq!(header(&resp, "x-rate-limit-api-key-remaining"), Some(200 + expected));
            assert_eq!(header(&resp, "x-rate-limit-api-token-interval-ms"), Some(2000));
        }
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(2), "100 sequential requests must fit in the window (took {elapsed:?})");
        assert_token_refusal(&ann.get(path).await);
        let (at, resp) = until_admitted(&ann, path, started, Duration::from_secs(5)).await;
        assert!(at >= Duration::from_secs(2) && at < Duration::from_secs(3), "new window at {at:?}");
        assert_eq!(header(&resp, "x-rate-limit-api-token-remaining"), Some(99));
        // Credentials in the body count the same as in the query (the limiter sees what the
        // extractor resolves).
        let body_client = Client { key: None, token: None, ..ann.clone() };
        let form = vec![
            ("key".to_string(), ann.key.clone().unwrap()),
            ("token".to_string(), ann.token.clone().unwrap()),
            ("name".to_string(), "counted".to_string()),
        ];
        let resp = body_client.send("POST", "/1/boards", common::Body::Form(form)).await;
        assert_eq!(header(&resp, "x-rate-limit-api-token-remaining"), Some(98), "{} {}", resp.status, resp.text);
    }
);

// The key's 300 per window is shared by all its tokens.
both_backends!(
    key_limit_spans_the_tokens_of_one_key,
    config = |c: &mut ApiConfig| limits(c, Duration::from_secs(10)),
    |server: Server| async move {
        let ann = server.user("ann").await;
        let mut clients = vec![ann.clone()];
        for _ in 0..3 {
            clients.push(server.token_for(&ann, &["read", "write", "account"]).await);
        }
        assert!(clients.iter().all(|c| c.key == ann.key), "one application key");
        let mut tasks = Vec::new();
        for client in &clients {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..100 {
                    answers.push(client.get("/1/members/me/boards").await);
                }
                answers
            }));
        }
        let mut answers = Vec::new();
        for task in tasks {
            answers.extend(task.await.expect("task"));
        }
        let ok = answers.iter().filter(|r| r.status == 200).count();
        let refused: Vec<&Resp> = answers.iter().filter(|r| r.status == 429).collect();
        println!("4 tokens x 100 on one key: {ok} x 200, {} x 429", refused.len());
        assert_eq!((ok, refused.len()), (300, 100));
        for resp in refused {
            assert_eq!(resp.json(), json!({"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}));
            assert_eq!(header(resp, "x-rate-limit-api-key-remaining"), Some(0));
        }
    }
);

// `/1/members/{id}` has its own, longer window; nested member routes are not part of it.
both_backends!(
    member_route_has_its_own_limit,
    config = |c: &mut ApiConfig| {
        limits(c, Duration::from_secs(10));
        c.rate_limits.member_max = 10;
    },
    |server: Server| async move {
        let ann = server.user("ann").await;
        for expected in (0..10u64).rev() {
            let resp = ann.get("/1/members/me").await;
            assert_eq!(resp.status, 200, "{}", resp.text);
            assert_eq!(header(&resp, "x-rate-limit-member-remaining"), Some(expected));
            assert_eq!(header(&resp, "x-rate-limit-member-max"), Some(10));
            assert_eq!(header(&resp, "x-rate-limit-member-interval-ms"), Some(900_000));
        }
        let refused = ann.get("/1/members/me").await;
        assert_eq!(refused.status, 429);
        assert_eq!(refused.json(), json!({"message": "Exceeded rate limit to /1/member", "error": "RATE_LIMIT_EXCEEDED"}));
        let nested = ann.get("/1/members/me/boards").await;
        assert_eq!(nested.status, 200, "nested member routes are not limited by the member window");
        assert!(nested.headers.get("x-rate-limit-member-remaining").is_none());
        assert_eq!(header(&nested, "x-rate-limit-api-token-remaining"), Some(100 - 12));
    }
);

// Every response carries the headers (also errors and anonymous requests), and CORS lets
// browser clients read them.
both_backends!(
    headers_on_every_response_and_exposed,
    config = |c: &mut ApiConfig| limits(c, Duration::from_secs(10)),
    |server: Server| async move {
        let anonymous = server.anonymous();
        for resp in [anonymous.get("/1/boards/000000000000000000000000").await, anonymous.get("/1/nothing/here").await] {
            assert_eq!(header(&resp, "x-rate-limit-api-key-max"), Some(300), "{}", resp.text);
            assert_eq!(header(&resp, "x-rate-limit-api-token-remaining"), Some(100));
        }
        let resp =
            anonymous.http.get(format!("{}/1/emoji", server.base)).header("origin", "https://app.example").send().await.expect("request");
        let exposed = resp.headers().get("access-control-expose-headers").and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        for name in [
            "x-rate-limit-api-key-interval-ms",
            "x-rate-limit-api-key-max",
            "x-rate-limit-api-key-remaining",
            "x-rate-limit-api-token-interval-ms",
            "x-rate-limit-api-token-max",
            "x-rate-limit-api-token-remaining",
        ] {
            assert!(exposed.contains(name), "{name} not in {exposed}");
        }
        // Batch counts once, whatever it holds.
        let ann = server.user("ann").await;
        let resp = ann.get("/1/batch?urls=/members/me,/members/me/boards,/members/me/cards").await;
        assert_eq!(resp.status, 200, "{}", resp.text);
        assert_eq!(header(&resp, "x-rate-limit-api-token-remaining"), Some(99));
    }
);
