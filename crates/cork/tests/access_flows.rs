//! Accounts in the browser and the token-issuing flows, driven like a browser and like an
//! OAuth 1.0a client: sign-up, login, session cookies, CSRF refusals, logout, password
//! change, the app-key and tokens pages, `/1/authorize` (fragment, postMessage, per-board
//! choice, deny, bad input) and the three OAuth 1.0a steps with real signatures.

mod common;

use common::{s, Server};
use cork_core::oauth::{encode, hmac_sha1_sign};
use cork_core::Actor;
use reqwest::header::HeaderMap;
use reqwest::redirect::Policy;
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

/// What a browser request got back (redirects are not followed).
struct Page {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Page {
    fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.text))
            .to_string()
    }

    /// The value of the first `name="NAME" value="..."` field.
    fn field(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.text.find(&needle).unwrap_or_else(|| panic!("no field {name} in: {}", self.text)) + needle.len();
        let end = self.text[start..].find('"').expect("closing quote") + start;
        let value = self.text[start..end].to_string();
        if name == "csrf" {
            common::secret("csrf", &value);
        }
        value
    }

    /// Text of the element with `id="ID"`.
    fn element(&self, id: &str) -> String {
        let needle = format!("id=\"{id}\">");
        let start = self.text.find(&needle).unwrap_or_else(|| panic!("no #{id} in: {}", self.text)) + needle.len();
        let end = self.text[start..].find('<').expect("element end") + start;
        let value = self.text[start..end].to_string();
        // The token page and the OAuth verifier page show a secret in these.
        if matches!(id, "token" | "verifier") {
            common::secret(id, &value);
        }
        value
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect()
    }
}

/// A browser: a cookie jar, no automatic redirects.
struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    fn new(server: &Server) -> Browser {
        let http = reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("client");
        Browser { http, base: server.base.clone() }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn read(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        common::secrets_in_answer(&headers, &text);
        Page { status, headers, text }
    }

    async fn get(&self, path: &str) -> Page {
        Browser::read(self.http.get(self.url(path)).send().await.expect("get")).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_with(path, form, None).await
    }

    async fn post_with(&self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Page {
        let mut request = self.http.post(self.url(path)).form(form);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        Browser::read(request.send().await.expect("post")).await
    }

    /// Logs in through the login page; returns the redirect answer.
    async fn login(&self, username: &str, password: &str, return_to: &str) -> Page {
        let form = self.get(&format!("/login?return_to={}", encode(return_to))).await;
        assert_eq!(form.status, 200, "{}", form.text);
        let csrf = form.field("csrf");
        self.post("/login", &[("csrf", &csrf), ("username", username), ("password", password), ("return_to", return_to)]).await
    }

    /// The CSRF token of the session (from the account page).
    async fn csrf(&self) -> String {
        let page = self.get("/account").await;
        assert_eq!(page.status, 200, "not logged in: {}", page.text);
        page.field("csrf")
    }
}

/// A member with a password.
async fn member(server: &Server, username: &str) -> cork_core::model::Member {
    let member = server.cork.create_member(username, Some(&format!("{username} Example")), None).await.expect("member");
    common::secret("password", PASSWORD);
    server.cork.set_password(&member, PASSWORD).await.expect("password");
    member
}

async fn logged_in(server: &Server, username: &str) -> (Browser, cork_core::model::Member) {
    let member = member(server, username).await;
    let browser = Browser::new(server);
    let answer = browser.login(username, PASSWORD, "/account").await;
    assert_eq!((answer.status, answer.location()), (303, "/account".to_string()));
    (browser, member)
}

async fn live_tokens(server: &Server, member: &cork_core::model::Member) -> usize {
    server.cork.member_tokens(&Actor::member(member.clone()), &member.id).await.expect("tokens").len()
}

both_backends!(signup_is_off_unless_the_operator_allows_it, |server: Server| async move {
    let browser = Browser::new(&server);
    common::secret("password", PASSWORD);
    assert_eq!(browser.get("/signup").await.status, 404);
    let refused = browser.post("/signup", &[("username", "mallory"), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
    assert_eq!(refused.status, 404);
    assert!(server.cork.member_by_username("mallory").await.is_err(), "no member was made");
    assert!(!browser.get("/login").await.text.contains("/signup"), "the login page offers no sign-up");
});

both_backends!(
    signup_when_allowed_makes_a_member_who_can_log_in,
    config = |c: &mut cork_api::ApiConfig| c.allow_signup = true,
    |server: Server| async move {
        let browser = Browser::new(&server);
        let form = browser.get("/signup").await;
        assert_eq!(form.status, 200);
        let csrf = form.field("csrf");
        let mismatch =
            browser.post("/signup", &[("csrf", &csrf), ("username", "carol"), ("password", PASSWORD), ("confirm", "other one!")]).await;
        assert_eq!(mismatch.status, 400);
        let short = browser.post("/signup", &[("csrf", &csrf), ("username", "carol"), ("password", "short"), ("confirm", "short")]).await;
        assert_eq!(short.status, 400);
        assert!(server.cork.member_by_username("carol").await.is_err(), "refused sign-ups make no member");
        let no_csrf = browser.post("/signup", &[("username", "carol"), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
        assert_eq!(no_csrf.status, 403);
        let fields =
            [("csrf", csrf.as_str()), ("username", "carol"), ("fullName", "Carol <b>C</b>"), ("password", PASSWORD), ("confirm", PASSWORD)];
        let made = browser.post("/signup", &fields).await;
        assert_eq!((made.status, made.location()), (303, "/".to_string()));
        let account = browser.get("/account").await;
        assert!(account.text.contains("Carol &lt;b&gt;C&lt;/b&gt;"), "names are escaped: {}", account.text);
        let taken = Browser::new(&server);
        let csrf = taken.get("/signup").await.field("csrf");
        let again = taken.post("/signup", &[("csrf", &csrf), ("username", "carol"), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
        assert_eq!(again.status, 400, "a taken username is refused");
        let other = Browser::new(&server);
        assert_eq!(other.login("carol", PASSWORD, "/account").await.status, 303);
    }
);

both_backends!(login_sets_a_safe_cookie_and_logout_ends_it, |server: Server| async move {
    member(&server, "alice").await;
    let browser = Browser::new(&server);
    let wrong = browser.login("alice", "not the password", "/account").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text.contains("Invalid username or password."));
    let unknown = browser.login("nobody", "not the password", "/account").await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.text.contains("Invalid username or password."), "the same words for an unknown name");
    assert!(wrong.set_cookies().iter().all(|c| !c.starts_with("cork_session=")), "no session on failure");
    assert_eq!(browser.get("/account").await.status, 303, "still logged out");

    let good = browser.login("alice", PASSWORD, "/app-key").await;
    assert_eq!((good.status, good.location()), (303, "/app-key".to_string()));
    let cookie = good.set_cookies().into_iter().find(|c| c.starts_with("cork_session=")).expect("session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http public URL: no Secure flag");
    let account = browser.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.text.contains("alice"));
    assert_eq!(account.headers.get("x-frame-options").unwrap(), "DENY");

    // An open redirect through return_to is not possible.
    let other = Browser::new(&server);
    let offsite = other.login("alice", PASSWORD, "//evil.example/x").await;
    assert_eq!(offsite.location(), "/", "home, not the other site");

    let no_csrf = browser.post("/logout", &[]).await;
    assert_eq!(no_csrf.status, 403);
    assert_eq!(browser.get("/account").await.status, 200, "a forged logout changes nothing");
    let csrf = browser.csrf().await;
    let out = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/login".to_string()));
    let after = browser.get("/account").await;
    assert_eq!((after.status, after.location()), (303, "/login?return_to=%2Faccount".to_string()));
});

both_backends!(
    cookies_are_secure_when_the_public_url_is_https,
    config = |c: &mut cork_api::ApiConfig| c.public_url = "https://cork.example".into(),
    |server: Server| async move {
        member(&server, "alice").await;
        let browser = Browser::new(&server);
        let good = browser.login("alice", PASSWORD, "/account").await;
        let cookie = good.set_cookies().into_iter().find(|c| c.starts_with("cork_session=")).expect("session cookie");
        assert!(cookie.contains("; Secure"), "{cookie}");
    }
);

both_backends!(state_changing_forms_need_the_csrf_token_and_our_origin, |server: Server| async move {
    let (browser, alice) = logged_in(&server, "alice").await;
    let before = server.cork.member_app_keys(&alice).await.unwrap().len();
    assert_eq!(browser.post("/app-key", &[("name", "NoToken")]).await.status, 403);
    assert_eq!(browser.post("/app-key", &[("name", "Wrong"), ("csrf", "0123456789abcdef0123456789abcdef")]).await.status, 403);
    let csrf = browser.csrf().await;
    let cross = browser.post_with("/app-key", &[("name", "Cross"), ("csrf", &csrf)], Some("http://evil.example")).await;
    assert_eq!(cross.status, 403);
    assert_eq!(server.cork.member_app_keys(&alice).await.unwrap().len(), before, "refused forms change nothing");
    let own_origin = server.base.clone();
    let made = browser.post_with("/app-key", &[("name", "Mine <script>"), ("csrf", &csrf)], Some(&own_origin)).await;
    assert_eq!((made.status, made.location()), (303, "/app-key".to_string()));
    assert_eq!(server.cork.member_app_keys(&alice).await.unwrap().len(), before + 1);

    // Login itself is CSRF-protected: a form without the browser's CSRF cookie is refused.
    let stranger = Browser::new(&server);
    let forged = stranger.post("/login", &[("username", "alice"), ("password", PASSWORD), ("csrf", &csrf)]).await;
    assert_eq!(forged.status, 403);
});

both_backends!(password_change_checks_the_old_one_and_ends_other_sessions, |server: Server| async move {
    let (browser, _) = logged_in(&server, "alice").await;
    let other = Browser::new(&server);
    assert_eq!(other.login("alice", PASSWORD, "/account").await.status, 303);
    let csrf = browser.get("/account/password").await.field("csrf");
    let new = "a brand new passphrase";
    common::secret("password", new);
    let wrong =
        browser.post("/account/password", &[("csrf", &csrf), ("current", "nope nope nope"), ("password", new), ("confirm", new)]).await;
    assert_eq!(wrong.status, 401);
    let differ =
        browser.post("/account/password", &[("csrf", &csrf), ("current", PASSWORD), ("password", new), ("confirm", "different!!")]).await;
    assert_eq!(differ.status, 400);
    let forged = browser.post("/account/password", &[("current", PASSWORD), ("password", new), ("confirm", new)]).await;
    assert_eq!(forged.status, 403);
    let done = browser.post("/account/password", &[("csrf", &csrf), ("current", PASSWORD), ("password", new), ("confirm", new)]).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(browser.get("/account").await.status, 200, "this session stays");
    assert_eq!(other.get("/account").await.status, 303, "the other session ended");
    assert_eq!(Browser::new(&server).login("alice", PASSWORD, "/account").await.status, 401);
    assert_eq!(Browser::new(&server).login("alice", new, "/account").await.status, 303);
});

both_backends!(the_app_key_page_lists_keys_and_secrets, |server: Server| async move {
    let (browser, alice) = logged_in(&server, "alice").await;
    // What `cork key create --user alice --name Importer` does.
    let key = server.cork.create_app_key(&alice, "Importer").await.unwrap();
    common::secret("app-secret", &key.secret);
    assert_eq!((key.id.len(), key.secret.len()), (32, 64));
    let page = browser.get("/app-key").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains(&key.id) && page.text.contains(&key.secret) && page.text.contains("Importer"));
    assert!(page.text.contains(&format!("/1/authorize?key={}", key.id)), "offers a token link");
    let anonymous = Browser::new(&server).get("/app-key").await;
    assert_eq!((anonymous.status, anonymous.location()), (303, "/login?return_to=%2Fapp-key".to_string()));
});

/// An application key owned by a developer (not the member who authorizes).
async fn app_key(server: &Server) -> cork_core::model::AppKey {
    let developer = server.cork.create_member("developer", None, None).await.unwrap();
    let key = server.cork.create_app_key(&developer, "Dev App").await.unwrap();
    common::secret("app-secret", &key.secret);
    key
}

both_backends!(authorize_logs_in_asks_and_returns_the_token_in_the_fragment, |server: Server| async move {
    let key = app_key(&server).await;
    let bob = member(&server, "bob").await;
    let browser = Browser::new(&server);
    let path = format!(
        "/1/authorize?key={}&name=Sync%20%3Ci%3E&scope=read,write&expiration=1day&response_type=token&callback_method=fragment&return_url={}",
        key.id,
        encode("https://app.example/done?x=1")
    );
    let detour = browser.get(&path).await;
    assert_eq!(detour.status, 303);
    let login_url = detour.location();
    assert!(login_url.starts_with("/login?return_to=%2F1%2Fauthorize"), "{login_url}");
    let back = browser.login("bob", PASSWORD, &path).await;
    assert_eq!((back.status, back.location()), (303, path.clone()));
    let consent = browser.get(&path).await;
    assert_eq!(consent.status, 200);
    assert!(consent.text.contains("Sync &lt;i&gt;"), "the app name is escaped: {}", consent.text);
    assert!(consent.text.contains("Create and change boards"));
    assert_eq!(live_tokens(&server, &bob).await, 0, "nothing is issued before approval");
    let csrf = consent.field("csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("key", &key.id),
        ("name", "Sync <i>"),
        ("scope", "read,write"),
        ("expiration", "1day"),
        ("response_type", "token"),
        ("callback_method", "fragment"),
        ("return_url", "https://app.example/done?x=1"),
        ("access", "all"),
        ("decision", "approve"),
    ];
    let approved = browser.post("/1/authorize", &form).await;
    assert_eq!(approved.status, 302, "{}", approved.text);
    let location = approved.location();
    let token = location.strip_prefix("https://app.example/done?x=1#token=").unwrap_or_else(|| panic!("{location}")).to_string();
    assert_eq!(token.len(), 64);

    let api = reqwest::Client::new();
    let me: Value =
        api.get(format!("{}/1/members/me?key={}&token={token}", server.base, key.id)).send().await.unwrap().json().await.unwrap();
    assert_eq!(s(&me, "username"), "bob");
    let info: Value =
        api.get(format!("{}/1/tokens/{token}?key={}&token={token}", server.base, key.id)).send().await.unwrap().json().await.unwrap();
    assert_eq!(s(&info, "identifier"), "Sync <i>");
    assert_eq!(s(&info, "idMember"), bob.id);
    assert!(info["dateCreated"].is_string() && info["dateExpires"].is_string(), "{info}");
    let everything =
        info["permissions"].as_array().unwrap().iter().any(|p| p["idModel"] == "*" && p["modelType"] == "Board" && p["write"] == true);
    assert!(everything, "{info}");

    // The tokens page lists it and revokes it.
    let tokens = browser.get("/account/tokens").await;
    assert!(tokens.text.contains("Sync &lt;i&gt;") && tokens.text.contains("all boards (read+write)"), "{}", tokens.text);
    let id_token = tokens.field("idToken");
    assert_eq!(browser.post("/account/tokens/revoke", &[("idToken", &id_token)]).await.status, 403, "revoking needs the CSRF token");
    let csrf = tokens.field("csrf");
    assert_eq!(browser.post("/account/tokens/revoke", &[("csrf", &csrf), ("idToken", &id_token)]).await.status, 200);
    let dead = api.get(format!("{}/1/members/me?key={}&token={token}", server.base, key.id)).send().await.unwrap();
    assert_eq!(dead.status(), 401);
    assert_eq!(dead.text().await.unwrap(), "invalid token");
});

both_backends!(authorize_refuses_bad_parameters_with_clear_errors, |server: Server| async move {
    let key = app_key(&server).await;
    let browser = Browser::new(&server);
    let cases = [
        ("key=0123456789abcdef0123456789abcdef".to_string(), 401, "invalid key"),
        ("key=nothex".to_string(), 401, "invalid key"),
        (format!("key={}&scope=read,admin", key.id), 400, "invalid value for scope"),
        (format!("key={}&expiration=forever", key.id), 400, "invalid value for expiration"),
        (format!("key={}&response_type=code", key.id), 400, "invalid value for response_type"),
        (format!("key={}&callback_method=smoke", key.id), 400, "invalid value for callback_method"),
        (format!("key={}&return_url=javascript:alert(1)", key.id), 400, "invalid value for return_url"),
        (format!("key={}&callback_method=postMessage", key.id), 400, "invalid value for return_url"),
    ];
    for (query, status, text) in cases {
        let answer = browser.get(&format!("/1/authorize?{query}")).await;
        assert_eq!((answer.status, answer.text.as_str()), (status, text), "{query}");
    }
});

/// Opens `path`'s consent page and posts it back with `extra` choices.
async fn approve(browser: &Browser, path: &str, extra: &[(&str, &str)]) -> Page {
    let consent = browser.get(path).await;
    assert_eq!(consent.status, 200, "{}", consent.text);
    let mut form: Vec<(String, String)> = vec![("csrf".into(), consent.field("csrf"))];
    let query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap();
        let value = percent_decode(value);
        form.push((name.to_string(), value));
    }
    form.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let target = path.split_once('?').map(|(p, _)| p).unwrap_or(path);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    browser.post(target, &pairs).await
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

both_backends!(post_message_per_board_choice_and_deny, |server: Server| async move {
    let key = app_key(&server).await;
    let bob = server.user("bob").await;
    let bob_member = server.cork.member_by_username("bob").await.unwrap();
    common::secret("password", PASSWORD);
    server.cork.set_password(&bob_member, PASSWORD).await.unwrap();
    let kept = live_tokens(&server, &bob_member).await;
    let first = bob.board("First").await;
    let second = bob.board("Second").await;
    let browser = Browser::new(&server);
    assert_eq!(browser.login("bob", PASSWORD, "/account").await.status, 303);

    // postMessage: a page whose script posts the token to the opener, targeted at the return_url's origin.
    let path = format!(
        "/1/authorize?key={}&name=Popup&scope=read&expiration=never&callback_method=postMessage&return_url={}",
        key.id,
        encode("https://popup.example:8443/cb")
    );
    let page = approve(&browser, &path, &[("decision", "approve")]).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("postMessage(t,o)") && page.text.contains("\"https://popup.example:8443\""), "{}", page.text);
    let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'nonce-"), "{csp}");
    assert_eq!(live_tokens(&server, &bob_member).await, kept + 1);

    // Per-board: only the first board, read-only, although the scope allows writing.
    let path = format!("/1/authorize?key={}&name=Narrow&scope=read,write&expiration=1hour", key.id);
    let board_field = format!("board.{}", s(&first, "id"));
    let shown = approve(&browser, &path, &[("decision", "approve"), ("access", "boards"), (&board_field, "read")]).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    let token = shown.element("token");
    let info: Value =
        reqwest::get(format!("{}/1/tokens/{token}?key={}&token={token}", server.base, key.id)).await.unwrap().json().await.unwrap();
    let boards: Vec<&Value> = info["permissions"].as_array().unwrap().iter().filter(|p| p["modelType"] == "Board").collect();
    assert_eq!(boards.len(), 1, "{info}");
    assert_eq!(
        (s(boards[0], "idModel"), boards[0]["read"].clone(), boards[0]["write"].clone()),
        (s(&first, "id"), Value::Bool(true), Value::Bool(false))
    );

    // The member puts the token's destructive changes under review: its rename applies,
    // its delete waits for a board admin (202, nothing deleted).
    let consent = browser.get(&path).await;
    assert!(consent.text.contains("name=\"gate\" value=\"destructive\""), "the consent page offers review: {}", consent.text);
    let gated = approve(&browser, &path, &[("decision", "approve"), ("gate", "destructive")]).await;
    assert_eq!(gated.status, 200, "{}", gated.text);
    let gated = gated.element("token");
    let list = s(&bob.list(&s(&first, "id"), "Work").await, "id");
    let card = s(&bob.card(&list, "Kept").await, "id");
    let as_gated = |method: reqwest::Method| {
        reqwest::Client::new().request(method, format!("{}/1/cards/{card}?key={}&token={gated}&name=Renamed", server.base, key.id))
    };
    assert_eq!(as_gated(reqwest::Method::PUT).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(as_gated(reqwest::Method::DELETE).send().await.unwrap().status().as_u16(), 202);
    assert_eq!(s(&bob.get(&format!("/1/cards/{card}")).await.ok(), "name"), "Renamed", "held, not deleted");
    let bad = approve(&browser, &path, &[("decision", "approve"), ("gate", "sometimes")]).await;
    assert_eq!((bad.status, bad.text.as_str()), (400, "invalid value for gate"));

    // A board that is not the member's, or no board at all, is refused and issues nothing.
    let before = live_tokens(&server, &bob_member).await;
    let foreign = "board.0123456789abcdef01234567";
    let refused = approve(&browser, &path, &[("decision", "approve"), ("access", "boards"), (foreign, "write")]).await;
    assert_eq!((refused.status, refused.text.as_str()), (400, "invalid value for idModel"));
    let none = approve(&browser, &path, &[("decision", "approve"), ("access", "boards")]).await;
    assert_eq!(none.status, 400);
    let second_field = format!("board.{}", s(&second, "id"));
    let denied = approve(&browser, &path, &[("decision", "deny"), (&second_field, "write")]).await;
    assert_eq!(denied.status, 200);
    assert!(denied.text.contains("No token was issued"));
    assert_eq!(live_tokens(&server, &bob_member).await, before, "deny and refusals issue nothing");
});

both_backends!(a_workspace_choice_reaches_that_workspaces_boards_only, |server: Server| async move {
    let key = app_key(&server).await;
    let bob = server.user("bob").await;
    let bob_member = server.cork.member_by_username("bob").await.unwrap();
    common::secret("password", PASSWORD);
    server.cork.set_password(&bob_member, PASSWORD).await.unwrap();
    let team = bob.post("/1/organizations", serde_json::json!({"displayName": "Team"})).await.ok();
    let inside = bob.post("/1/boards", serde_json::json!({"name": "Inside", "idOrganization": s(&team, "id")})).await.ok();
    let outside = bob.board("Outside").await;
    let carol = server.user("carol").await;
    let foreign = carol.post("/1/organizations", serde_json::json!({"displayName": "Elsewhere"})).await.ok();
    let browser = Browser::new(&server);
    assert_eq!(browser.login("bob", PASSWORD, "/account").await.status, 303);

    let path = format!("/1/authorize?key={}&name=Team+app&scope=read,write&expiration=1hour", key.id);
    let consent = browser.get(&path).await;
    let org_field = format!("org.{}", s(&team, "id"));
    assert!(consent.text.contains(&format!("name=\"{org_field}\"")) && consent.text.contains("Team"), "{}", consent.text);
    assert!(!consent.text.contains(&s(&foreign, "id")), "only the member's workspaces are offered");

    let shown = approve(&browser, &path, &[("decision", "approve"), ("access", "boards"), (&org_field, "read")]).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    let token = shown.element("token");
    let info: Value =
        reqwest::get(format!("{}/1/tokens/{token}?key={}&token={token}", server.base, key.id)).await.unwrap().json().await.unwrap();
    let models: Vec<&Value> =
        info["permissions"].as_array().unwrap().iter().filter(|p| p["modelType"] == "Organization" || p["modelType"] == "Board").collect();
    assert_eq!(models.len(), 1, "{info}");
    assert_eq!(
        (s(models[0], "modelType"), s(models[0], "idModel"), models[0]["read"].clone(), models[0]["write"].clone()),
        ("Organization".to_string(), s(&team, "id"), Value::Bool(true), Value::Bool(false))
    );
    let read = |board: &Value| format!("{}/1/boards/{}?key={}&token={token}", server.base, s(board, "id"), key.id);
    assert_eq!(reqwest::get(read(&inside)).await.unwrap().status(), 200, "a board of the workspace");
    assert_ne!(reqwest::get(read(&outside)).await.unwrap().status(), 200, "a board outside it");

    // A workspace the member is not in is refused and issues nothing.
    let before = live_tokens(&server, &bob_member).await;
    let foreign_field = format!("org.{}", s(&foreign, "id"));
    let refused = approve(&browser, &path, &[("decision", "approve"), ("access", "boards"), (&foreign_field, "read")]).await;
    assert_eq!((refused.status, refused.text.as_str()), (400, "invalid value for idModel"));
    assert_eq!(live_tokens(&server, &bob_member).await, before);
});

both_backends!(failed_logins_are_throttled_per_username_and_per_address, |server: Server| async move {
    member(&server, "alice").await;
    member(&server, "bob").await;
    let browser = Browser::new(&server);
    for _ in 0..5 {
        assert_eq!(browser.login("alice", "wrong", "/account").await.status, 401);
    }
    let throttled = browser.login("alice", PASSWORD, "/account").await;
    assert_eq!(throttled.status, 429, "{}", throttled.text);
    assert!(throttled.text.contains("Too many failed sign-in attempts; try again later."), "{}", throttled.text);
    assert!(throttled.set_cookies().iter().all(|c| !c.starts_with("cork_session=")), "no session when throttled");
    assert_eq!(browser.get("/account").await.status, 303, "still logged out");

    // Another username from the same address still works (5 of the address's 20 used);
    // a good login resets nothing.
    let other = Browser::new(&server);
    assert_eq!(other.login("bob", PASSWORD, "/account").await.status, 303);
    // Unknown names count the same and are told the same.
    let guesser = Browser::new(&server);
    for name in ["ghost1", "ghost2", "ghost3"] {
        for _ in 0..5 {
            assert_eq!(guesser.login(name, "wrong", "/account").await.status, 401);
        }
    }
    let ghost = guesser.login("ghost1", "wrong", "/account").await;
    assert_eq!(ghost.status, 429);
    assert!(ghost.text.contains("Too many failed sign-in attempts; try again later."));
    // The address has now used its 20: bob is refused too, password unchecked.
    let third = Browser::new(&server);
    let bob_again = third.login("bob", PASSWORD, "/account").await;
    assert_eq!(bob_again.status, 429, "{}", bob_again.text);
    assert!(bob_again.set_cookies().iter().all(|c| !c.starts_with("cork_session=")));

    // The throttled logins are in the access audit (recorded in the background: poll).
    let mut throttled_events = 0;
    for _ in 0..100 {
        let events = server.cork.audit_events_local(1000, None).await.expect("audit");
        throttled_events = events.iter().filter(|e| e["kind"] == "http.429" && e["path"] == "/login").count();
        if throttled_events >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(throttled_events, 3, "each throttled login is audited");
});

both_backends!(a_consent_form_replayed_without_a_valid_session_issues_nothing, |server: Server| async move {
    let key = app_key(&server).await;
    let (browser, bob) = logged_in(&server, "bob").await;
    let path = format!("/1/authorize?key={}&name=Replay&scope=read&expiration=never", key.id);
    let consent = browser.get(&path).await;
    let csrf = consent.field("csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("key", &key.id),
        ("name", "Replay"),
        ("scope", "read"),
        ("expiration", "never"),
        ("decision", "approve"),
    ];
    // Another browser (no session cookie) replays the captured form.
    let replayed = Browser::new(&server).post("/1/authorize", &form).await;
    assert_eq!(replayed.status, 403, "{}", replayed.text);
    // After logout, the old form is worthless in the same browser too.
    let logout_csrf = browser.csrf().await;
    browser.post("/logout", &[("csrf", &logout_csrf)]).await;
    let after_logout = browser.post("/1/authorize", &form).await;
    assert_eq!(after_logout.status, 403);
    // A cross-site page posting with the victim's live session is refused by its Origin.
    let (victim, _) = (Browser::new(&server), ());
    assert_eq!(victim.login("bob", PASSWORD, "/account").await.status, 303);
    let csrf = victim.csrf().await;
    let mut cross = form;
    cross[0] = ("csrf", &csrf);
    assert_eq!(victim.post_with("/1/authorize", &cross, Some("https://evil.example")).await.status, 403);
    assert_eq!(live_tokens(&server, &bob).await, 0, "no token was made");
});

/// A signed OAuth 1.0a request: the Authorization header for `method url` with `params`.
fn oauth_header(method: &str, url: &str, params: &[(&str, &str)], consumer_secret: &str, token_secret: &str) -> String {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(n, v)| (encode(n), encode(v))).collect();
    pairs.sort();
    let normalized = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&");
    let base = format!("{method}&{}&{}", encode(url), encode(&normalized));
    let signature = hmac_sha1_sign(&base, consumer_secret, token_secret);
    let mut fields: Vec<String> = params.iter().map(|(n, v)| format!("{}=\"{}\"", n, encode(v))).collect();
    fields.push(format!("oauth_signature=\"{}\"", encode(&signature)));
    format!("OAuth realm=\"\", {}", fields.join(", "))
}

fn now_secs() -> String {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string()
}

fn form_pairs(text: &str) -> std::collections::HashMap<String, String> {
    text.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), percent_decode(v))).collect()
}

struct OAuthApp {
    key: String,
    secret: String,
    base: String,
    http: reqwest::Client,
}

impl OAuthApp {
    async fn call(&self, path: &str, params: &[(&str, &str)], token_secret: &str) -> (u16, String) {
        let url = format!("{}{path}", self.base);
        let header = oauth_header("POST", &url, params, &self.secret, token_secret);
        self.send(path, header).await
    }

    async fn send(&self, path: &str, header: String) -> (u16, String) {
        let response = self.http.post(format!("{}{path}", self.base)).header("authorization", header).send().await.unwrap();
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let text = response.text().await.unwrap();
        common::secrets_in_answer(&headers, &text);
        (status, text)
    }

    async fn request_token(&self, callback: &str) -> (String, String) {
        let (nonce, ts) = (cork_core::ids::random_hex(8), now_secs());
        let params = [
            ("oauth_consumer_key", self.key.as_str()),
            ("oauth_nonce", &nonce),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", &ts),
            ("oauth_version", "1.0"),
            ("oauth_callback", callback),
        ];
        let (status, text) = self.call("/1/OAuthGetRequestToken", &params, "").await;
        assert_eq!(status, 200, "{text}");
        let pairs = form_pairs(&text);
        assert_eq!(pairs["oauth_callback_confirmed"], "true");
        (pairs["oauth_token"].clone(), pairs["oauth_token_secret"].clone())
    }

    async fn access_token(&self, token: &str, secret: &str, verifier: &str) -> (u16, String) {
        let (nonce, ts) = (cork_core::ids::random_hex(8), now_secs());
        let params = [
            ("oauth_consumer_key", self.key.as_str()),
            ("oauth_nonce", &nonce),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", &ts),
            ("oauth_version", "1.0"),
            ("oauth_token", token),
            ("oauth_verifier", verifier),
        ];
        self.call("/1/OAuthGetAccessToken", &params, secret).await
    }
}

both_backends!(oauth_one_point_oh_a_with_real_signatures, |server: Server| async move {
    let key = app_key(&server).await;
    let app = OAuthApp { key: key.id.clone(), secret: key.secret.clone(), base: server.base.clone(), http: reqwest::Client::new() };
    let (browser, bob) = logged_in(&server, "bob").await;

    // Bad signatures, replayed nonces, stale timestamps and unknown keys are refused.
    let ts = now_secs();
    let params = [
        ("oauth_consumer_key", key.id.as_str()),
        ("oauth_nonce", "fixednonce1"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", ts.as_str()),
        ("oauth_version", "1.0"),
    ];
    let url = format!("{}/1/OAuthGetRequestToken", server.base);
    let wrong_secret = oauth_header("POST", &url, &params, "not-the-secret", "");
    assert_eq!(app.send("/1/OAuthGetRequestToken", wrong_secret).await, (401, "invalid signature".to_string()));
    let empty_secret = oauth_header("POST", &url, &params, "", "");
    assert_eq!(app.send("/1/OAuthGetRequestToken", empty_secret).await, (401, "invalid signature".to_string()));
    let good = oauth_header("POST", &url, &params, &key.secret, "");
    assert_eq!(app.send("/1/OAuthGetRequestToken", good.clone()).await.0, 200);
    assert_eq!(app.send("/1/OAuthGetRequestToken", good).await, (401, "oauth_nonce already used".to_string()));
    let stale = [
        ("oauth_consumer_key", key.id.as_str()),
        ("oauth_nonce", "n2"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1000000000"),
    ];
    assert_eq!(app.call("/1/OAuthGetRequestToken", &stale, "").await, (401, "invalid oauth_timestamp".to_string()));
    let stranger = [
        ("oauth_consumer_key", "0123456789abcdef0123456789abcdef"),
        ("oauth_nonce", "n3"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", ts.as_str()),
    ];
    assert_eq!(app.call("/1/OAuthGetRequestToken", &stranger, "").await, (401, "invalid key".to_string()));
    assert_eq!(
        app.send("/1/OAuthGetRequestToken", "OAuth oauth_consumer_key=unquoted".into()).await,
        (401, "malformed Authorization header".to_string())
    );

    // The out-of-band flow: consent, a PIN, the exchange.
    let (request_token, request_secret) = app.request_token("oob").await;
    let not_yet = app.access_token(&request_token, &request_secret, "guess").await;
    assert_eq!(not_yet, (401, "invalid oauth_verifier".to_string()), "no exchange before approval");
    let path = format!("/1/OAuthAuthorizeToken?oauth_token={request_token}&name=PinApp&scope=read,write&expiration=1hour");
    let anonymous = Browser::new(&server).get(&path).await;
    assert_eq!(anonymous.status, 303, "the consent page needs a login");
    let approved = approve(&browser, &path, &[("decision", "approve")]).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    let verifier = approved.element("verifier");
    let again = approve_raw(&browser, &request_token).await;
    assert_eq!(again.status, 401, "a request token is approved once");
    let wrong_token_secret = app.access_token(&request_token, "0000", &verifier).await;
    assert_eq!(wrong_token_secret, (401, "invalid signature".to_string()));
    let (status, text) = app.access_token(&request_token, &request_secret, &verifier).await;
    assert_eq!(status, 200, "{text}");
    let pairs = form_pairs(&text);
    let token = pairs["oauth_token"].clone();
    assert_eq!(token.len(), 64);
    assert!(!pairs["oauth_token_secret"].is_empty());
    let reused = app.access_token(&request_token, &request_secret, &verifier).await;
    assert_eq!(reused, (401, "invalid oauth_token".to_string()), "a verifier works once");
    let info: Value =
        reqwest::get(format!("{}/1/tokens/{token}?key={}&token={token}", server.base, key.id)).await.unwrap().json().await.unwrap();
    assert_eq!((s(&info, "identifier"), s(&info, "idMember")), ("PinApp".to_string(), bob.id.clone()));
    assert!(info["dateExpires"].is_string());

    // Ordinary API routes take OAuth headers without checking the signature (py-trello signs with an empty secret).
    let header = format!("OAuth oauth_consumer_key=\"{}\", oauth_token=\"{token}\", oauth_signature=\"bogus\"", key.id);
    let me: Value =
        app.http.get(format!("{}/1/members/me", server.base)).header("authorization", header).send().await.unwrap().json().await.unwrap();
    assert_eq!(s(&me, "username"), "bob");

    // A wrong verifier burns the request token.
    let (request_token, request_secret) = app.request_token("oob").await;
    let path = format!("/1/OAuthAuthorizeToken?oauth_token={request_token}&name=PinApp");
    let verifier = approve(&browser, &path, &[("decision", "approve")]).await.element("verifier");
    assert_eq!(app.access_token(&request_token, &request_secret, "0123").await, (401, "invalid oauth_verifier".to_string()));
    assert_eq!(app.access_token(&request_token, &request_secret, &verifier).await, (401, "invalid oauth_token".to_string()));

    // With a callback URL, approval redirects there with the verifier.
    let (request_token, request_secret) = app.request_token("https://consumer.example/cb?state=7").await;
    let path = format!("/1/OAuthAuthorizeToken?oauth_token={request_token}&name=Web&scope=read");
    let redirected = approve(&browser, &path, &[("decision", "approve")]).await;
    assert_eq!(redirected.status, 302, "{}", redirected.text);
    let location = redirected.location();
    let prefix = format!("https://consumer.example/cb?state=7&oauth_token={request_token}&oauth_verifier=");
    let verifier = location.strip_prefix(&prefix).unwrap_or_else(|| panic!("{location}")).to_string();
    assert_eq!(app.access_token(&request_token, &request_secret, &verifier).await.0, 200);
    assert_eq!(app.access_token("f".repeat(64).as_str(), "x", "y").await, (401, "invalid oauth_token".to_string()));
    assert_eq!(live_tokens(&server, &bob).await, 2);
});

/// Posts an approval for a request token that was already decided.
async fn approve_raw(browser: &Browser, request_token: &str) -> Page {
    let csrf = browser.csrf().await;
    browser.post("/1/OAuthAuthorizeToken", &[("csrf", &csrf), ("oauth_token", request_token), ("decision", "approve")]).await
}

both_backends!(an_expired_or_unknown_session_cookie_is_no_session, |server: Server| async move {
    let alice = member(&server, "alice").await;
    let (secret, session) = server.cork.open_session(&alice).await.unwrap();
    common::secret("cookie cork_session", &secret);
    let with_cookie = |value: String| {
        let base = server.base.clone();
        async move {
            let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
            client.get(format!("{base}/account")).header("cookie", format!("cork_session={value}")).send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(with_cookie(secret.clone()).await, 200);
    assert_eq!(with_cookie("f".repeat(64)).await, 303, "an unknown session");
    assert_eq!(with_cookie("not-hex".into()).await, 303, "a malformed cookie");
    // The stored session ran out.
    let mut tx = server.cork.store.write().await.unwrap();
    let doc = tx.doc(cork_store::Table::WebSessions, &session.id).await.unwrap().expect("stored by hash");
    assert!(!doc.contains(&secret), "the cookie value itself is not stored");
    let mut doc: Value = serde_json::from_str(&doc).unwrap();
    doc["dateExpires"] = Value::String("2020-01-01T00:00:00.000Z".into());
    let values = [("doc", cork_store::Arg::Text(doc.to_string()))];
    tx.update(cork_store::Table::WebSessions, &values, &[cork_store::Cond::eq("id", &session.id)]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(with_cookie(secret).await, 303, "an expired session");
});

/// The web board: every page URL asks for a login and comes back; signed in, the page
/// shell carries the session's CSRF token under a strict CSP, and the browser code's
/// `/1` calls are the member's by the session cookie — writes only with the token in
/// `X-Cork-CSRF`, so a cross-site form or a script elsewhere cannot write.
#[tokio::test]
async fn the_web_board_speaks_the_api_through_the_session_cookie() {
    let server = Server::sqlite().await;
    let browser = Browser::new(&server);
    let away = browser.get("/b/AbCdEfGh/some-board").await;
    assert_eq!((away.status, away.location()), (303, "/login?return_to=%2Fb%2FAbCdEfGh%2Fsome-board".to_string()));
    assert_eq!(browser.get("/1/members/me").await.status, 401, "no session, no member");
    let (browser, alice) = logged_in(&server, "alice").await;
    let shell = browser.get("/").await;
    assert_eq!(shell.status, 200, "{}", shell.text);
    let csp = shell.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let meta = |name: &str| {
        let needle = format!("name=\"{name}\" content=\"");
        let start = shell.text.find(&needle).unwrap_or_else(|| panic!("no {name}: {}", shell.text)) + needle.len();
        shell.text[start..start + shell.text[start..].find('"').expect("quote")].to_string()
    };
    let csrf = meta("cork-csrf");
    common::secret("csrf", &csrf);
    assert_eq!(meta("cork-me"), alice.id);
    let me = browser.get("/1/members/me").await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert!(me.text.contains("\"username\":\"alice\""), "{}", me.text);

    let create = |header: Option<&str>| {
        let mut request = browser.http.post(browser.url("/1/boards")).json(&serde_json::json!({"name": "From the browser"}));
        if let Some(value) = header {
            request = request.header("x-cork-csrf", value);
        }
        request.send()
    };
    for refused in [None, Some("0".repeat(64).as_str()), Some("")] {
        let answer = Browser::read(create(refused).await.expect("post")).await;
        assert_eq!((answer.status, answer.text.as_str()), (403, "missing or invalid CSRF token"));
    }
    let boards = browser.get("/1/members/me/boards").await;
    assert_eq!(boards.text, "[]", "a refused write changed nothing");
    let made = Browser::read(create(Some(&csrf)).await.expect("post")).await;
    assert_eq!(made.status, 200, "{}", made.text);
    let board: Value = serde_json::from_str(&made.text).expect("board");
    let actions = browser.get(&format!("/1/boards/{}/actions", s(&board, "id"))).await;
    assert!(actions.text.contains(&format!("\"idMemberCreator\":\"{}\"", alice.id)), "{}", actions.text);

    // A source-of-truth lock refuses a person in the browser too (gates are for tokens).
    let write = |method: reqwest::Method, path: String, body: Value| {
        browser.http.request(method, browser.url(&path)).header("x-cork-csrf", &csrf).json(&body).send()
    };
    let board_id = s(&board, "id");
    let list = write(reqwest::Method::POST, "/1/lists".into(), serde_json::json!({"idBoard": board_id, "name": "L"})).await.expect("list");
    let list: Value = list.json().await.expect("list json");
    let card =
        write(reqwest::Method::POST, "/1/cards".into(), serde_json::json!({"idList": s(&list, "id"), "name": "c"})).await.expect("card");
    let card = s(&card.json::<Value>().await.expect("card json"), "id");
    let policy = serde_json::json!({"owners": [{"name": "Sync bot", "key": "0".repeat(32), "mode": "lock", "cardFields": ["due"]}]});
    let set = write(reqwest::Method::PUT, format!("/cork/boards/{board_id}/policy"), policy).await.expect("policy");
    assert_eq!(set.status(), 200);
    let due =
        write(reqwest::Method::PUT, format!("/1/cards/{card}"), serde_json::json!({"due": "2031-01-01T00:00:00.000Z"})).await.expect("due");
    assert_eq!((due.status().as_u16(), due.text().await.expect("text")), (409, "owned by Sync bot: change it there".to_string()));
    let named = write(reqwest::Method::PUT, format!("/1/cards/{card}"), serde_json::json!({"name": "Not owned"})).await.expect("name");
    assert_eq!(named.status(), 200);

    // The embedded files: gzipped, cached for good under the version the shell names.
    let script = shell.text.split("src=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("module").to_string();
    let asset = browser.http.get(browser.url(&script)).header("accept-encoding", "gzip").send().await.expect("asset");
    assert_eq!(asset.status(), 200);
    assert_eq!(asset.headers().get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
    assert_eq!(asset.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("public, max-age=31536000, immutable"));
    assert_eq!(browser.get("/assets/0/no-such-file.js").await.status, 404);

    // The profile form goes through PUT /1/members/me, with its checks.
    let form_csrf = browser.csrf().await;
    let saved =
        browser.post("/account", &[("csrf", &form_csrf), ("fullName", "Alice <Q>"), ("initials", "AQ"), ("bio", "Runs the launch")]).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert!(saved.text.contains("Alice &lt;Q&gt;") && saved.text.contains("Your profile was saved."), "{}", saved.text);
    let me = browser.get("/1/members/me").await;
    assert!(me.text.contains("\"fullName\":\"Alice <Q>\"") && me.text.contains("\"initials\":\"AQ\""), "{}", me.text);
    let blank = browser.post("/account", &[("csrf", &form_csrf), ("fullName", " ")]).await;
    assert_eq!(blank.status, 400, "{}", blank.text);
    assert!(blank.text.contains("invalid value for fullName"), "{}", blank.text);
    assert_eq!(browser.post("/account", &[("fullName", "No token")]).await.status, 403);

    // Logged out, the cookie is nobody.
    let logout_csrf = browser.csrf().await;
    browser.post("/logout", &[("csrf", &logout_csrf)]).await;
    assert_eq!(browser.get("/1/members/me").await.status, 401);
}
