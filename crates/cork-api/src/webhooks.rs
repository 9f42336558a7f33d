//! The webhook sender: the HEAD check at registration, the delivery worker that drains
//! the outbox, signatures, and the address policy that keeps callbacks from reaching
//! inside the operator's network.
//!
//! Address policy: a callback may not reach loopback, private (RFC 1918, fc00::/7),
//! link-local (169.254/16, fe80::/10, which holds the cloud metadata address), CGNAT,
//! unspecified, multicast or reserved addresses unless the operator allow-lists the
//! host or a range (`--webhook-allowed-hosts`). Host names are checked after DNS
//! resolution, by the HTTP client's own resolver ([`CheckedResolver`]), so the
//! connection goes to exactly the addresses that were checked: a name that resolves
//! to a public address when checked and to a private one a moment later (DNS
//! rebinding) cannot slip between check and connect. Literal IP callbacks never reach
//! a resolver and are checked before the request. Redirects are not followed.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use cork_core::boards::BoardInclude;
use cork_core::webhooks::{Attempt, Delivery, DeliveryJob, DeliveryPolicy, Outcome, Webhook};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use tokio::sync::{Notify, Semaphore};

use crate::App;

/// Where deliveries may go and how hard Cork tries.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Hosts and ranges exempt from the address policy (tests, local receivers).
    pub allowed_hosts: AllowList,
    /// Retries, backoff and the failure period before a webhook is disabled.
    pub policy: DeliveryPolicy,
    /// How long one HEAD check or delivery may take (Trello: 30 s).
    pub timeout: Duration,
    /// Deliveries in flight to one host at a time.
    pub per_host: usize,
    /// Deliveries in flight in this process.
    pub max_in_flight: usize,
    /// Bytes of a receiver's answer that are read (and kept in the log).
    pub response_limit: usize,
    /// How often an idle worker looks for work written by other nodes.
    pub poll: Duration,
    /// Runs the delivery worker with the server (off: registration only, e.g. a node
    /// that should not send).
    pub worker: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allowed_hosts: AllowList::default(),
            policy: DeliveryPolicy::default(),
            timeout: Duration::from_secs(30),
            per_host: 4,
            max_in_flight: 64,
            response_limit: 1024,
            poll: Duration::from_secs(1),
            worker: true,
        }
    }
}

/// The operator's exemptions: host names (exact, case-insensitive) and address ranges.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowList {
    hosts: Vec<String>,
    ranges: Vec<(IpAddr, u8)>,
}

impl AllowList {
    /// Parses `host,10.0.0.0/8,::1,...`; a bare address is a range of one.
    pub fn parse(text: &str) -> Result<AllowList, String> {
        let mut list = AllowList::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (address, prefix) = match entry.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (entry, None),
            };
            let address = address.trim_start_matches('[').trim_end_matches(']');
            match (address.parse::<IpAddr>(), prefix) {
                (Ok(ip), prefix) => {
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    let bits = match prefix {
                        Some(p) => p.parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(|| format!("bad range {entry}"))?,
                        None => max,
                    };
                    list.ranges.push((ip, bits));
                }
                (Err(_), None) if entry.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') => {
                    list.hosts.push(entry.to_ascii_lowercase());
                }
                _ => return Err(format!("not a host or address range: {entry}")),
            }
        }
        Ok(list)
    }

    fn host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host.trim_end_matches('.')))
    }

    fn address(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|(net, bits)| in_range(canonical(ip), *net, *bits))
    }

    /// True when `ip`, reached through `host`, may be called.
    pub fn permits(&self, host: &str, ip: IpAddr) -> bool {
        self.host(host) || self.address(ip) || forbidden_kind(ip).is_none()
    }
}

/// IPv4-mapped IPv6 addresses are their IPv4 selves.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, canonical(net)) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Why an address may not be called by default, or `None` for a public address.
pub fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let table: [(IpAddr, u8, &str); 13] = [
        (v4(169, 254, 169, 254), 32, "a cloud metadata address"),
        (v4(100, 100, 100, 200), 32, "a cloud metadata address"),
        (v4(0, 0, 0, 0), 8, "an unspecified address"),
        (v4(127, 0, 0, 0), 8, "a loopback address"),
        (v4(10, 0, 0, 0), 8, "a private address"),
        (v4(172, 16, 0, 0), 12, "a private address"),
        (v4(192, 168, 0, 0), 16, "a private address"),
        (v4(169, 254, 0, 0), 16, "a link-local address"),
        (v4(100, 64, 0, 0), 10, "a shared (CGNAT) address"),
        (v4(192, 0, 0, 0), 24, "a reserved address"),
        (v4(198, 18, 0, 0), 15, "a reserved address"),
        (v4(224, 0, 0, 0), 4, "a multicast address"),
        (v4(240, 0, 0, 0), 4, "a reserved address"),
    ];
    table.iter().find(|(net, bits, _)| in_range(IpAddr::V4(ip), *net, *bits)).map(|(_, _, kind)| *kind)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if segments == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] {
        return Some("a cloud metadata address");
    }
    let net = |first: u16, bits: u8| in_range(IpAddr::V6(ip), IpAddr::V6(Ipv6Addr::new(first, 0, 0, 0, 0, 0, 0, 0)), bits);
    if net(0xfc00, 7) {
        return Some("a private address");
    }
    if net(0xfe80, 10) || net(0xfec0, 10) {
        return Some("a link-local address");
    }
    if net(0xff00, 8) {
        return Some("a multicast address");
    }
    // NAT64 (64:ff9b::/96) and IPv4-compatible forms carry an IPv4 address inside.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || segments[..6] == [0, 0, 0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    None
}

/// A callback refused by the address policy.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refusal(host: &str, ip: IpAddr, kind: &str) -> Refused {
    let target = if host.parse::<IpAddr>().is_ok() || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
        format!("{ip}")
    } else {
        format!("{host} ({ip})")
    };
    Refused(format!(
        "callbackURL points to {target}, {kind}: webhooks may not call loopback, private, link-local or metadata addresses (an operator can allow hosts with --webhook-allowed-hosts)"
    ))
}

/// The HTTP client's resolver: resolves, then refuses any name with a forbidden
/// address, so the client connects only to addresses that passed the policy.
struct CheckedResolver {
    allow: Arc<AllowList>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for address in &found {
                if let Some(kind) = forbidden_kind(address.ip()).filter(|_| !allow.permits(&host, address.ip())) {
                    return Err(Box::new(refusal(&host, address.ip(), kind)) as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Sends HEAD checks and deliveries under the address policy.
pub struct Sender {
    client: reqwest::Client,
    config: WebhookConfig,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("config", &self.config).finish()
    }
}

/// What a receiver answered.
struct Answer {
    status: u16,
    body: String,
}

impl Sender {
    /// A sender for `config`: no redirects, its timeout, the checking resolver.
    pub fn new(config: WebhookConfig) -> Sender {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("Cork-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(CheckedResolver { allow: Arc::new(config.allowed_hosts.clone()) }))
            // A proxy would resolve the callback's name itself, past the address policy.
            .no_proxy()
            .build()
            // Only a TLS backend that cannot start fails here; a default client would lack
            // the address policy and follow redirects, so there is no fallback.
            .expect("the webhook HTTP client");
        Sender { client, config, hosts: Mutex::new(HashMap::new()) }
    }

    /// The settings it runs with.
    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// Checks the callback's form and, for a literal address, the policy.
    fn check_url(&self, callback: &str) -> Result<reqwest::Url, String> {
        let url = reqwest::Url::parse(callback).map_err(|_| "invalid value for callbackURL".to_string())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err("invalid value for callbackURL".into());
        }
        if url.scheme() == "https" && !cfg!(feature = "https") {
            return Err("this Cork was built without https webhook support (feature `https`)".into());
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
        if let Some(ip) = literal {
            if let Some(kind) = forbidden_kind(ip).filter(|_| !self.config.allowed_hosts.permits(&host, ip)) {
                return Err(refusal(&host, ip, kind).0);
            }
        }
        Ok(url)
    }

    /// The first error in the chain that says something useful to a client.
    fn explain(error: &reqwest::Error) -> String {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(current) = source {
            if let Some(refused) = current.downcast_ref::<Refused>() {
                return refused.0.clone();
            }
            source = current.source();
        }
        if error.is_timeout() {
            "timed out".into()
        } else if error.is_connect() {
            "could not connect".into()
        } else {
            let mut text = error.to_string();
            text.truncate(200);
            text
        }
    }

    fn host_slot(&self, url: &reqwest::Url) -> Arc<Semaphore> {
        let key = format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0));
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.entry(key).or_insert_with(|| Arc::new(Semaphore::new(self.config.per_host.max(1)))).clone()
    }

    async fn read_limited(&self, mut response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while body.len() < self.config.response_limit {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
        body.truncate(self.config.response_limit);
        Answer { status, body: String::from_utf8_lossy(&body).into_owned() }
    }

    /// Trello's check before a webhook is stored: a HEAD to the callback that must
    /// answer 200. The error is the text the client gets with a 400.
    pub async fn verify(&self, callback: &str) -> Result<(), String> {
        let url = self.check_url(callback)?;
        let slot = self.host_slot(&url);
        let _permit = slot.acquire().await.map_err(|_| "shutting down".to_string())?;
        let response =
            self.client.head(url).send().await.map_err(|e| format!("URL ({callback}) could not be reached: {}", Self::explain(&e)))?;
        let answer = self.read_limited(response).await;
        if answer.status == 200 {
            Ok(())
        } else {
            Err(format!("URL ({callback}) did not return 200 status code, got {}", answer.status))
        }
    }

    /// Posts one signed body and reports the attempt.
    pub async fn post(&self, callback: &str, body: Vec<u8>, signature: &str) -> Attempt {
        let started = Instant::now();
        let date = cork_core::now();
        let failed = |error: String, started: Instant| Attempt {
            date: date.clone(),
            status: None,
            error: Some(error),
            latency_ms: started.elapsed().as_millis() as u64,
            response: String::new(),
        };
        let url = match self.check_url(callback) {
            Ok(url) => url,
            Err(error) => return failed(error, started),
        };
        let slot = self.host_slot(&url);
        let Ok(_permit) = slot.acquire().await else { return failed("shutting down".into(), started) };
        let started = Instant::now();
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Trello-Webhook", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let answer = tokio::time::timeout(self.config.timeout, self.read_limited(response)).await;
                let answer = answer.unwrap_or(Answer { status: 0, body: String::new() });
                if answer.status == 0 {
                    return failed("timed out reading the answer".into(), started);
                }
                Attempt {
                    date,
                    status: Some(answer.status),
                    error: None,
                    latency_ms: started.elapsed().as_millis() as u64,
                    response: answer.body,
                }
            }
            Err(error) => failed(Self::explain(&error), started),
        }
    }
}

/// `X-Trello-Webhook`: base64(HMAC-SHA1(secret, body + callbackURL)).
pub fn signature(secret: &str, body: &[u8], callback: &str) -> String {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.update(callback.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Trello's webhook object.
/// Cork's `cork.filter` appears only on webhooks that have one.
pub fn webhook_json(hook: &Webhook) -> Value {
    let mut out = json!({
        "id": hook.id,
        "description": hook.description,
        "idModel": hook.id_model,
        "callbackURL": hook.callback_url,
        "active": hook.active,
        "consecutiveFailures": hook.consecutive_failures,
        "firstConsecutiveFailDate": hook.first_consecutive_fail_date,
    });
    if let Some(filter) = &hook.filter {
        out["cork"] = json!({ "filter": filter });
    }
    out
}

/// A delivery as the log shows it (the action by id; the attempts in full).
pub fn delivery_json(delivery: &Delivery) -> Value {
    json!({
        "id": delivery.id,
        "idWebhook": delivery.id_webhook,
        "idAction": delivery.id_action,
        "actionType": delivery.action.kind,
        "dateCreated": delivery.date_created,
        "state": delivery.state,
        "reason": delivery.reason,
        "redeliveryOf": delivery.redelivery_of,
        "attempts": delivery.attempts,
    })
}

/// The model as the webhook's token sees it now; when it is gone (the action deleted
/// it) or unreadable, what the action says of it.
async fn model_json(app: &App, job: &DeliveryJob) -> Value {
    let (cork, render, actor, id) = (&app.cork, &app.render, &job.actor, job.webhook.id_model.as_str());
    let rendered = match job.webhook.model_type.as_str() {
        "Board" => {
            let include = BoardInclude { labels: true, memberships: true, ..Default::default() };
            cork.board_view(actor, id, &include).await.ok().map(|v| render.board(&v.board, &v.labels, Some(&v.memberships), false))
        }
        "List" => cork.list_view(actor, id, None).await.ok().map(|v| render.list(&v.list)),
        "Card" => cork.card_view(actor, id, &Default::default()).await.ok().map(|v| render.card(&v.card, &v.labels)),
        "Member" => cork.member_view(actor, id).await.ok().map(|v| render.member(&v.member, v.is_self)),
        "Organization" => cork.org_view(actor, id).await.ok().map(|v| render.organization(&v.org, None, Some(&v.memberships))),
        _ => None,
    };
    rendered.unwrap_or_else(|| {
        let data = &job.delivery.action.data;
        ["board", "list", "card", "organization", "member"]
            .iter()
            .filter_map(|key| data.get(*key))
            .find(|v| v.get("id").and_then(Value::as_str) == Some(id))
            .cloned()
            .unwrap_or_else(|| json!({"id": id}))
    })
}

/// The body Trello sends: `{action, model, webhook}`, with `model` rendered already
/// (once for a claimed queue: it is the model as the webhook's token sees it now).
pub fn payload(app: &App, job: &DeliveryJob, model: &Value) -> Vec<u8> {
    let mut action = app.render.action(&job.delivery.action, &job.creators);
    action["display"] = app.render.action_display(&job.delivery.action, &job.creators);
    let body = json!({"action": action, "model": model, "webhook": webhook_json(&job.webhook)});
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Stops the worker (after its in-flight deliveries finish) and waits for it.
pub struct WorkerHandle {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Asks the worker to stop claiming and waits until what it holds is settled.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the delivery worker for `app`.
pub fn spawn_worker(app: App) -> WorkerHandle {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(run_worker(app, stopped));
    WorkerHandle { stop, task }
}

async fn run_worker(app: App, mut stopped: tokio::sync::watch::Receiver<bool>) {
    app.node.worker.store(true, std::sync::atomic::Ordering::Relaxed);
    work(&app, &mut stopped).await;
    app.node.worker.store(false, std::sync::atomic::Ordering::Relaxed);
}

async fn work(app: &App, stopped: &mut tokio::sync::watch::Receiver<bool>) {
    let owner = cork_core::ids::new_id();
    let config = app.webhooks.config().clone();
    // A lease outlives any attempt (the timeout bounds connect, send and read); a queue's
    // holder renews it after each delivery.
    let lease = config.timeout * 3 + Duration::from_secs(5);
    let notify: Arc<Notify> = app.outbox.clone();
    let mut in_flight = tokio::task::JoinSet::new();
    loop {
        if *stopped.borrow() {
            break;
        }
        let room = config.max_in_flight.saturating_sub(in_flight.len());
        if room > 0 {
            let claiming = app.cork.claim_webhook_deliveries(&owner, lease, room as i64, QUEUE_BATCH * room as i64);
            match cork_store::lane::background(claiming).await {
                Ok(claim) if !claim.deliveries.is_empty() => {
                    // One task per webhook sends its queue in order.
                    let mut queues: Vec<(String, Vec<Delivery>)> = Vec::new();
                    for delivery in claim.deliveries {
                        match queues.iter_mut().find(|(id, _)| *id == delivery.id_webhook) {
                            Some((_, queue)) => queue.push(delivery),
                            None => queues.push((delivery.id_webhook.clone(), vec![delivery])),
                        }
                    }
                    for (_, queue) in queues {
                        let held = Held { owner: owner.clone(), lease, until: claim.until, stopped: stopped.clone() };
                        in_flight.spawn(cork_store::lane::background(deliver_queue(app.clone(), held, queue)));
                    }
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "claiming webhook deliveries"),
            }
        }
        let wait = match cork_store::lane::background(app.cork.next_webhook_delivery_due()).await {
            Ok(Some(due)) => Duration::from_millis((due - chrono::Utc::now().timestamp_millis()).clamp(0, i64::MAX) as u64),
            _ => config.poll,
        }
        .clamp(Duration::from_millis(5), config.poll);
        tokio::select! {
            _ = notify.notified() => {}
            _ = stopped.changed() => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// Deliveries of one webhook claimed at once, at most.
const QUEUE_BATCH: i64 = 50;

/// What a queue's sender holds: its worker's name in the leases, the lease's length,
/// when it runs out (epoch ms), and the node's stop signal.
struct Held {
    owner: String,
    lease: Duration,
    until: i64,
    stopped: tokio::sync::watch::Receiver<bool>,
}

/// Sends one webhook's claimed queue in order. The queue is prepared in one read
/// snapshot and its model rendered once; the 2xx answers are recorded together, in
/// one write, when the queue ends, when an attempt fails or when the lease is renewed
/// (a node that dies before that sends them again: delivery is at least once, in
/// order). It stops at a delivery that must be retried later (the rest was let go by
/// `finish_delivery` and waits behind it), when the webhook is gone, when the lease
/// could not be kept (nothing is sent on a lease that may have run out: another worker
/// may hold those rows now), and when the node stops (the rest is let go at once, for
/// the other nodes).
async fn deliver_queue(app: App, mut held: Held, queue: Vec<Delivery>) {
    let lease_ms = held.lease.as_millis() as i64;
    let Some(webhook_id) = queue.first().map(|d| d.id_webhook.clone()) else { return };
    let jobs = match app.cork.prepare_deliveries(&queue).await {
        Ok(jobs) => jobs,
        Err(error) => {
            // The leases run out and the queue is claimed again.
            tracing::warn!(%error, "preparing webhook deliveries");
            return;
        }
    };
    let jobs: Vec<DeliveryJob> = jobs.into_iter().flatten().collect();
    let mut model: Option<Value> = None;
    let mut sent = Vec::new();
    let mut stopping = false;
    for (index, job) in jobs.iter().enumerate() {
        if *held.stopped.borrow() {
            stopping = true;
            break;
        }
        if model.is_none() {
            model = Some(model_json(&app, job).await);
        }
        // Each attempt starts with at least half a lease ahead of it, which outlasts the
        // attempt's timeout; the sends so far are recorded with the renewal.
        if chrono::Utc::now().timestamp_millis() > held.until - lease_ms / 2 {
            settle(&app, std::mem::take(&mut sent)).await;
            match app.cork.renew_webhook_leases(&held.owner, &webhook_id, held.lease).await {
                Ok((until, renewed)) if renewed as usize >= jobs.len() - index => held.until = until,
                Ok((_, renewed)) => {
                    tracing::warn!(
                        renewed,
                        expected = jobs.len() - index,
                        "webhook delivery leases ran out before renewal; left to be claimed again"
                    );
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "renewing webhook delivery leases");
                    break;
                }
            }
            if chrono::Utc::now().timestamp_millis() > held.until - lease_ms / 2 {
                tracing::warn!("renewing webhook delivery leases took half a lease; the queue is left to be claimed again");
                break;
            }
        }
        let body = payload(&app, job, model.as_ref().unwrap_or(&Value::Null));
        let signed = signature(&job.secret, &body, &job.webhook.callback_url);
        let attempt = app.webhooks.post(&job.webhook.callback_url, body, &signed).await;
        if attempt.succeeded() {
            metrics::counter!("cork_webhook_attempts_total", "outcome" => "sent").increment(1);
            sent.push((job.delivery.id.clone(), attempt));
            continue;
        }
        settle(&app, std::mem::take(&mut sent)).await;
        let policy = &app.webhooks.config().policy;
        let finished = app.cork.finish_delivery(&job.delivery.id, attempt, policy, &held.owner).await;
        let outcome = match &finished {
            Ok(Outcome::Sent) => "sent",
            Ok(Outcome::Failed) => "failed",
            Ok(Outcome::Retry) => "retry",
            Ok(Outcome::WebhookDeleted) => "webhook_deleted",
            Err(_) => "unrecorded",
        };
        metrics::counter!("cork_webhook_attempts_total", "outcome" => outcome).increment(1);
        match finished {
            Ok(Outcome::Sent | Outcome::Failed) => {}
            // A retry waits behind its backoff, and the queue behind it.
            Ok(Outcome::Retry | Outcome::WebhookDeleted) => break,
            // An error keeps this delivery's lease (and the queue's) until it runs out;
            // going on would send the next one first.
            Err(error) => {
                tracing::warn!(%error, delivery = %job.delivery.id, "recording a webhook delivery");
                break;
            }
        }
    }
    settle(&app, sent).await;
    if stopping {
        if let Err(error) = app.cork.release_webhook_leases(&held.owner, &webhook_id).await {
            tracing::warn!(%error, "letting go of webhook delivery leases; they run out in {} s", held.lease.as_secs());
        }
    }
}

/// Records a run of 2xx attempts; on a store error their leases run out and they are
/// sent again (at least once).
async fn settle(app: &App, sent: Vec<(String, cork_core::webhooks::Attempt)>) {
    if let Err(error) = app.cork.settle_sent(sent).await {
        tracing::warn!(%error, "recording webhook deliveries");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn internal_addresses_are_refused_by_default() {
        for refused in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "fd00:ec2::254",
        ] {
            assert!(forbidden_kind(ip(refused)).is_some(), "{refused}");
        }
        for allowed in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert!(forbidden_kind(ip(allowed)).is_none(), "{allowed}");
        }
        assert_eq!(forbidden_kind(ip("169.254.169.254")), Some("a cloud metadata address"));
    }

    #[test]
    fn the_allow_list_takes_hosts_and_ranges() {
        let list = AllowList::parse("localhost, 127.0.0.1,10.1.0.0/16,[::1]").expect("parses");
        assert!(list.permits("localhost", ip("127.0.0.2")));
        assert!(list.permits("x", ip("127.0.0.1")));
        assert!(list.permits("x", ip("10.1.200.3")));
        assert!(!list.permits("x", ip("10.2.0.1")));
        assert!(list.permits("x", ip("::1")));
        assert!(AllowList::parse("10.0.0.0/40").is_err());
        assert!(AllowList::parse("a b").is_err());
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        use reqwest::dns::Resolve;
        let strict = CheckedResolver { allow: Arc::new(AllowList::default()) };
        let error = strict.resolve("localhost".parse().expect("name")).await.err().expect("localhost is refused");
        assert!(error.to_string().starts_with("callbackURL points to localhost ("), "{error}");
        let allowed = CheckedResolver { allow: Arc::new(AllowList::parse("localhost").expect("parses")) };
        assert!(allowed.resolve("localhost".parse().expect("name")).await.is_ok());
        // The client refuses the same name when it connects, with the policy's words.
        let sender = Sender::new(WebhookConfig::default());
        let refused = sender.verify("http://localhost:9/hook").await.expect_err("refused");
        assert!(refused.contains("a loopback address"), "{refused}");
    }

    #[test]
    fn signatures_are_hmac_sha1_of_body_and_callback() {
        // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog"), a published vector.
        assert_eq!(signature("key", b"The quick brown fox ", "jumps over the lazy dog"), "3nybhbi3iqa8ino29wqQcBydtNk=");
    }
}
