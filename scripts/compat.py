#!/usr/bin/env python3
"""Generate docs/compatibility.md from what Cork answers and what the tests exercised.

For every operation of the Trello spec (spec/endpoints.tsv) and every older route real
clients still call (spec/endpoints-legacy-only.tsv):

* routed or not: a fresh `cork serve` is probed with the operation (unknown ids); a
  `Cannot METHOD ...` 404 or a 405 means Cork has no route for it;
* tested by: the route logs written while the test suites ran (CORK_ROUTE_LOG_DIR,
  one file per client: cork-tests.log, ha-py-trello.log, ...) name each request that
  got a 200, so a row lists the clients that used it successfully;
* notes: docs/compat-notes.tsv (method, path, note) for known deviations.

--check compares with the committed file instead of writing it, so the table cannot
drift from the code and the tests.
"""

import argparse
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def read_rows(path, legacy):
    rows = []
    with open(path, newline="") as handle:
        for record in csv.DictReader(handle, delimiter="\t"):
            rows.append(
                {
                    "group": record["group"],
                    "method": record["method"],
                    "path": record["path"],
                    "summary": record.get("summary", ""),
                    "legacy": legacy,
                }
            )
    return rows


def segments(path):
    return [s for s in path.split("/") if s]


def row_matches(row_path, concrete):
    """True when a concrete request path (without /1) fits a spec path."""
    spec, real = segments(row_path), segments(concrete)
    if len(spec) != len(real):
        return False
    for want, got in zip(spec, real):
        if want.startswith("{") or want.startswith("${"):  # the spec writes one `${id}`
            continue
        if want.lower() != got.lower():
            return False
    return True


def load_logs(directory):
    """{client: [(method, path)]} for requests answered with 200."""
    seen = {}
    if not directory or not Path(directory).is_dir():
        return seen
    for log in sorted(Path(directory).glob("*.log")):
        client = log.stem
        entries = seen.setdefault(client, set())
        for line in log.read_text(errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) != 4 or parts[3] != "200":
                continue
            method, _route, path, _status = parts
            entries.add((method, path[2:] if path.startswith("/1/") else path))
    return seen


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def probe(binary, rows):
    """{(method, path): routed?} from a fresh server."""
    workdir = tempfile.mkdtemp(prefix="cork-compat-")
    data = ["--data-dir", workdir]
    run([binary, "user", "create", "probe", *data])
    issued = json.loads(run([binary, "token", "create", "--user", "probe", *data]))
    port = free_port()
    env = dict(os.environ)
    env.pop("CORK_ROUTE_LOG", None)
    server = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", *data],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/1/", timeout=1)
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)
        routed = {}
        unknown = "0" * 23 + "1"
        for row in rows:
            path = re.sub(r"\{field\}", "name", row["path"])
            path = re.sub(r"\{filter\}", "all", path)
            path = re.sub(r"\{token\}", issued["token"], path)
            path = re.sub(r"\{[^}]+\}", unknown, path)
            url = f"{base}/1{path}?key={issued['key']}&token={issued['token']}"
            body = b"{}" if row["method"] in ("POST", "PUT") else None
            request = urllib.request.Request(url, data=body, method=row["method"])
            if body is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status, text = response.status, ""
            except urllib.error.HTTPError as error:
                status, text = error.code, error.read().decode(errors="replace")
            unrouted = status == 405 or (status == 404 and text.startswith("Cannot "))
            routed[(row["method"], row["path"])] = not unrouted
        return routed
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def load_conformance(directory):
    """{(method, path): "pass"|"fail"} from tests/spec_conformance.rs."""
    results = {}
    path = Path(directory or "") / "conformance.tsv"
    if directory and path.exists():
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 3:
                results[(parts[0], parts[1])] = parts[2]
    return results


def load_pending():
    pending = {}
    path = ROOT / "spec" / "conformance-pending.tsv"
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and not line.startswith("#"):
                pending[(parts[0], parts[1])] = parts[2]
    return pending


def load_notes():
    notes = {}
    path = ROOT / "docs" / "compat-notes.tsv"
    if path.exists():
        with open(path, newline="") as handle:
            for record in csv.reader(handle, delimiter="\t"):
                if len(record) >= 3 and not record[0].startswith("#"):
                    notes[(record[0], record[1])] = record[2]
    return notes


def render(rows, routed, logs, notes, conformance, pending, errata):
    clients = sorted(logs)
    out = []
    out.append("# Compatibility with the Trello REST API v1")
    out.append("")
    out.append("Generated by `scripts/compat.py` from a probe of `cork serve` and the route logs of")
    out.append("the test suites (`scripts/test`); `scripts/test` fails when this file is stale.")
    out.append("Regenerate with `scripts/test` and `CORK_COMPAT_WRITE=1`.")
    out.append("")
    out.append("- **tested**: a test suite got a 200 from this operation; the column names which.")
    out.append("- **routed**: Cork answers the operation, but no suite has exercised it yet.")
    out.append("- **missing**: Cork has no route for it yet (`Cannot METHOD ...`).")
    out.append("- **schema**: `tests/spec_conformance.rs` called the operation on seeded data and validated the")
    out.append("  answer against the spec's response schema (corrected by the errata below): `valid`, or")
    out.append("  `pending` with the reason in the notes (spec/conformance-pending.tsv).")
    out.append("")
    out.append("Clients: " + ", ".join(f"`{c}`" for c in clients) + "." if clients else "Clients: none logged.")
    out.append("")
    for legacy, title in ((False, "Operations of the official spec"), (True, "Older routes real clients still call")):
        subset = [r for r in rows if r["legacy"] == legacy]
        counts = {"tested": 0, "routed": 0, "missing": 0}
        schema_counts = {"valid": 0, "pending": 0}
        lines = []
        for row in subset:
            key = (row["method"], row["path"])
            users = [c for c in clients if any(m == row["method"] and row_matches(row["path"], p) for m, p in logs[c])]
            if users:
                status = "tested"
            elif routed.get(key):
                status = "routed"
            else:
                status = "missing"
            counts[status] += 1
            note = notes.get(key) or pending.get(key, "")
            verdict = {"pass": "valid", "fail": "pending"}.get(conformance.get(key, ""), "")
            if verdict:
                schema_counts[verdict] += 1
            lines.append(f"| {row['group']} | {row['method']} | `{row['path']}` | {status} | {verdict} | {', '.join(users)} | {note} |")
        out.append(f"## {title}")
        out.append("")
        summary = f"{len(subset)} operations: {counts['tested']} tested, {counts['routed']} routed but untested, {counts['missing']} missing."
        if not legacy:
            summary += f" Spec conformance: {schema_counts['valid']} valid, {schema_counts['pending']} pending."
        out.append(summary)
        out.append("")
        out.append("| group | method | path | status | schema | tested by | notes |")
        out.append("|---|---|---|---|---|---|---|")
        out.extend(lines)
        out.append("")
    out.append("## Errata to the official spec")
    out.append("")
    out.append("Where the official spec contradicts what Trello itself sends, the conformance test validates")
    out.append("against a corrected schema (spec/errata.json). Each correction and its evidence:")
    out.append("")
    out.append("| spec location | correction |")
    out.append("|---|---|")
    for erratum in errata:
        out.append(f"| `{erratum['pointer']}` | {erratum['reason']} |")
    out.append("")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", required=True, help="the cork binary")
    parser.add_argument("--logs", help="directory of route logs (NAME.log per client)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "compatibility.md"))
    parser.add_argument("--check", action="store_true", help="fail if --out differs")
    args = parser.parse_args()
    rows = read_rows(ROOT / "spec" / "endpoints.tsv", False) + read_rows(ROOT / "spec" / "endpoints-legacy-only.tsv", True)
    errata = json.loads((ROOT / "spec" / "errata.json").read_text())["errata"]
    text = render(rows, probe(args.bin, rows), load_logs(args.logs), load_notes(), load_conformance(args.logs), load_pending(), errata)
    target = Path(args.out)
    if args.check:
        current = target.read_text() if target.exists() else ""
        if current != text:
            import difflib

            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True), str(target), "generated"))
            print(f"{target} is stale: run scripts/test with CORK_COMPAT_WRITE=1", file=sys.stderr)
            return 1
        print(f"{target} is current")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
