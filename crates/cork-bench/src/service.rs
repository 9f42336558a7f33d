//! `cork-bench service`: what running Cork as a service costs, on PostgreSQL. The rate
//! limiter per request (off, counted in each node's memory, shared in Redis), in requests
//! per second and in instructions per request, and the throughput of one node against
//! three nodes on one database, with the machine's ceiling measured in the same run.
//! Written between its own markers of the report, so the main run's part stays.

use super::*;

const BEGIN: &str = "<!-- cork-bench-service:begin -->";
const END: &str = "<!-- cork-bench-service:end -->";

/// Budgets no load of this benchmark reaches: the limiter counts every request and
/// refuses none, so what is measured is the counting.
const HIGH: [&str; 6] = ["--rate-key-max", "1000000000", "--rate-token-max", "1000000000", "--rate-member-max", "1000000000"];

pub(crate) async fn run(bench: &Bench, redis: &str) -> Result<()> {
    let Some(server) = bench.cli.postgres.clone() else { bail!("cork-bench service needs --postgres postgres://user@host:port") };
    let binary = bench.cork_binary()?;
    let scratch = std::env::temp_dir().join(format!("cork-bench-service-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let (cork_db, ceiling_db) =
        (format!("cork_bench_service_{}", std::process::id()), format!("cork_bench_service_{}_c", std::process::id()));
    for db in [&cork_db, &ceiling_db] {
        admin(&server, &format!("CREATE DATABASE {db}")).await?;
    }
    let url = |db: &str| format!("{}/{db}", server.trim_end_matches('/'));
    let outcome = measure(bench, binary, &scratch, url(&cork_db), url(&ceiling_db), redis).await;
    for db in [&cork_db, &ceiling_db] {
        let _ = admin(&server, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await;
    }
    let report = outcome?;
    write_part(&bench.cli.out, BEGIN, END, &report)?;
    println!("{report}");
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

async fn measure(bench: &Bench, binary: PathBuf, scratch: &Path, database: String, ceiling_db: String, redis: &str) -> Result<String> {
    let data = scratch.join("data");
    std::fs::create_dir_all(&data)?;
    let cork = Cork { binary, data, database, label: "PostgreSQL" };
    cork.cli(&["user", "create", "bench"])?;
    let issued: Value = serde_json::from_str(&cork.cli(&["token", "create", "--user", "bench"])?)?;
    let (key, token) = (issued["key"].as_str().unwrap_or_default().to_string(), issued["token"].as_str().unwrap_or_default().to_string());
    let auth = format!("key={key}&token={token}");

    let shared: Vec<&str> = HIGH.iter().copied().chain(["--rate-store", redis]).collect();
    let settings: [(&str, Vec<&str>); 3] = [
        ("rate limits off", vec!["--rate-limits-off"]),
        ("counted in each node's memory", HIGH.to_vec()),
        ("shared in Redis", shared.clone()),
    ];

    eprintln!("service: seeding a board of 200 cards and 8 empty boards");
    let (seeder, addr) = cork.serve_with(&[], &settings[0].1).await?;
    let api = Api::new(addr, &key, &token);
    let board = seed_board(&api, "Service", 200, &[]).await?;
    // Each node count creates into boards of its own, so the three-node run does not
    // start on lists the one-node run has already filled.
    let mut boards: Vec<Vec<Vec<String>>> = Vec::new();
    for nodes in [1, 3] {
        let mut set = Vec::new();
        for n in 0..8 {
            set.push(seed_board(&api, &format!("Writes {n} ({nodes} nodes)"), 0, &[]).await?.lists);
        }
        boards.push(set);
    }
    drop(seeder);

    let card_get: Workload = {
        let (cards, auth) = (Arc::new(board.cards.clone()), auth.clone());
        Arc::new(move |client, n| Call::get(with_auth(&format!("/1/cards/{}", cards[(client * 7919 + n as usize) % cards.len()]), &auth)))
    };
    let creates = |boards: Vec<Vec<String>>| card_creates(boards, &auth, "Service");

    let mut out = String::new();
    out.push_str(&format!(
        "## Running as a service (issue 13)\n\nRun of {} (git {}), {} cores, release build, PostgreSQL 127.0.0.1:5432, Redis \
         127.0.0.1:6379, the load generator pinned to core {}. Command: `scripts/bench-service`. On this machine every node, \
         PostgreSQL, Redis and the load generator share its {} cores: the three-node rows measure what coordination costs, \
         not what more machines would add.\n\n",
        today(),
        git_head(),
        bench.cores,
        bench.cores.saturating_sub(1),
        bench.cores,
    ));

    // The rate limiter: one node, card GETs (the cheapest request, where a fixed cost
    // shows most), each way of counting.
    out.push_str(
        "### The rate limiter, per request\n\n`GET /1/cards/{id}` on one node, 16 connections; instructions are the whole \
                  server process under callgrind, 300 requests one after another after a warm-up.\n\n\
                  | rate limits | throughput | instructions per request |\n|---|---|---|\n",
    );
    let mut base_instructions = None;
    for (name, flags) in &settings {
        eprintln!("service: card GET, rate limits {name}");
        let (node, addr) = cork.serve_with(&[], flags).await?;
        let stats = bench.load(addr, 16, bench.phase(), card_get.clone()).await;
        drop(node);
        let instructions = if bench.cli.no_callgrind {
            "(not counted)".to_string()
        } else {
            let dumps = cork.data.join(format!("callgrind-{}", name.split_whitespace().next().unwrap_or("x")));
            std::fs::create_dir_all(&dumps)?;
            let wrapper =
                vec!["valgrind".to_string(), "--tool=callgrind".to_string(), format!("--callgrind-out-file={}/cg.%p", dumps.display())];
            let (node, addr) = cork.serve_with(&wrapper, flags).await?;
            let counted = bench.instructions(&node, &dumps, addr, 300, card_get.clone()).await?;
            drop(node);
            let base = *base_instructions.get_or_insert(counted);
            if (counted - base).abs() < 1.0 {
                format!("{counted:.0}")
            } else {
                format!("{counted:.0} ({:+.0} against off)", counted - base)
            }
        };
        out.push_str(&format!("| {name} | {} | {instructions} |\n", throughput(&stats)));
    }

    // One node against three, with the limits shared in Redis as a deployment runs them.
    out.push_str(
        "\n### One node and three nodes on one database\n\nRate limits shared in Redis. Clients spread over the nodes \
                  (client i on node i mod n), 48 connections in all; creates go to 8 empty boards (a client keeps to one; each node count has boards of its own).\n\n\
                  | load | 1 node | 3 nodes |\n|---|---|---|\n",
    );
    let mut figures: Vec<(&str, Vec<String>)> = vec![("`GET /1/cards/{id}`", Vec::new()), ("card create, 8 boards", Vec::new())];
    for (nodes, boards) in [1usize, 3].into_iter().zip(boards) {
        let mut running = Vec::new();
        let mut addrs = Vec::new();
        for _ in 0..nodes {
            let (node, addr) = cork.serve_with(&[], &shared).await?;
            running.push(node);
            addrs.push(addr);
        }
        for (n, workload) in [card_get.clone(), creates(boards)].into_iter().enumerate() {
            eprintln!("service: {} on {nodes} node(s)", figures[n].0);
            let (spread, length) = (addrs.clone(), bench.phase());
            let stats = bench.on_generator(move |g| g.run_spread(spread, 48, length, workload)).await;
            if let Some(error) = &stats.first_error {
                eprintln!("  (first error: {})", error.chars().take(300).collect::<String>());
            }
            figures[n].1.push(throughput(&stats));
        }
        drop(running);
    }
    for (load, cells) in figures {
        out.push_str(&format!("| {load} | {} |\n", cells.join(" | ")));
    }

    // The machine's ceiling in the same run: a trivial handler and a two-row insert.
    let mut table = Table::default();
    bench.ceiling(scratch, Some(ceiling_db), &mut table).await?;
    out.push_str("\n### The machine's ceiling, same run\n\n");
    for (measure, figures) in &table.rows {
        for (column, figure) in figures {
            if column == "ceiling" {
                out.push_str(&format!("- {measure}: {figure}\n"));
            }
        }
    }
    Ok(out)
}
