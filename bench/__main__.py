"""The morning spike, measured (`make bench`, or `python -m bench --help`).

1. A fresh PostgreSQL database (`congvu_bench`) with a tenant of --users employees
   with logins, 20 units, 5 positions and a 40-type catalogue.
2. gunicorn with deploy/gunicorn.conf.py, the app connecting as the non-owner role
   (row-level security in force), exactly as in production.
3. The mix of 07:30–08:30: everyone logs in and loads their position's catalogue;
   then 6 declarations each, sent open-loop at --rate per second; later 6 updates
   each (completed, with a result) at the same rate.
4. The baseline, in the same run (bench/baselines.bare_endpoint): a bare Flask JSON
   endpoint on the same gunicorn configuration, workers and threads, under the same
   open-loop load from the same client — POST at --rate for the writes, GET at --rate
   for the day's list, GET as fast as it answers for the logins and catalogue loads.
   Each phase's p50, p99 and achieved rate are reported as a ratio to it.
5. With --scoring deferred: the freshness of the scores (bench/freshness.py: from each
   declaration's response to its person's month row counting it), the seconds until
   every mark is drained once the load stops, and every month row compared with a full
   recalculation of the month.
6. The figures go to docs/benchmarks.md, one generated section per scenario (and stdout
   as JSON).

Scenarios (issue 16): the spike (everyone, spread over the 20 units); `--units-declaring
1` (only the people of one department, under one leader: with `--client-processes 2
--client-threads 8`, 16 concurrent clients) and `--units-declaring 20` (the same clients
spread over 20 units); `--batch 6` (each request declares six items, the morning plan).

Targets: declaring sustains 300 requests/s with p99 ≤ 150 ms and no errors (issue 4);
freshness p99 ≤ 5 s, every mark drained within 10 s, every month equal to a full
recalculation, and with a batch of 6 at least 1,500 items/s (issue 16).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import inprocess, load
from bench.baselines import bare_endpoint, ratio
from bench.common import replace_section, start_gunicorn, stop_server
from bench.freshness import POLL_S, MonthPoller, equal_to_full_recalculation, freshness
from bench.seed import PASSWORD, SLUG, recreate_database, seed

ROOT = Path(__file__).resolve().parent.parent
TARGET_RPS, TARGET_P99_MS = 300, 150
TARGET_FRESH_P99_S, TARGET_DRAIN_S, TARGET_BATCH_ITEMS_S = 5.0, 10.0, 1500


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=600, help="employees who log in and declare (default 600)")
    p.add_argument("--items", type=int, default=6, help="declarations (and updates) per user (default 6)")
    p.add_argument("--rate", type=float, default=TARGET_RPS, help="declarations/updates per second (default 300)")
    p.add_argument("--pg", default=os.environ.get("CONGVU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server as its owner (default: local postgres)")
    p.add_argument("--database", default="congvu_bench")
    p.add_argument("--app-role", default="congvu_app")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--workers", type=int, default=0, help="gunicorn processes (default: the config's 2×cores+1)")
    p.add_argument("--threads", type=int, default=0, help="threads per gunicorn process (default: the config's)")
    p.add_argument("--client-processes", type=int, default=2)
    p.add_argument("--client-threads", type=int, default=48, help="per client process")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--without-scoring-refresh", action="store_true",
                   help="diagnostic: serve the app without the scoring engine's before-commit refresh")
    p.add_argument("--scoring", choices=("inline", "deferred"), default="inline",
                   help="where scores are refreshed (CONGVU_SCORING): in the write's commit, or by "
                        "`congvu scorer` processes beside gunicorn (core/scoring/scorer.py)")
    p.add_argument("--scorers", type=int, default=1, help="`congvu scorer` processes with --scoring deferred")
    p.add_argument("--scorer-settle", type=float, default=1.0,
                   help="`congvu scorer --settle`: seconds the scorers wait after a pass that took marks "
                        "(default 1.0, as CONGVU_SCORER_SETTLE_MS)")
    p.add_argument("--units-declaring", type=int, default=0,
                   help="only the people of the first K of the 20 units declare (1: one department under "
                        "one leader); 0: everyone (default)")
    p.add_argument("--declarers", type=int, default=0,
                   help="only the first D of those people log in and declare (0: all of them)")
    p.add_argument("--batch", type=int, default=1, help="items per declaration request (`{\"items\": [...]}`)")
    args = p.parse_args()
    if not 1 <= args.batch <= 50 or args.items % args.batch:
        p.error("--batch must be 1–50 and divide --items")
    return args


def section_name(args) -> str:
    """Each scenario keeps its own generated section of docs/benchmarks.md."""
    if args.batch > 1:
        return f"batch-{args.batch}"
    if args.units_declaring:
        return "one-department" if args.units_declaring == 1 else f"units-{args.units_declaring}"
    return "morning-spike"


def start_scorers(args, app_url: str) -> list[subprocess.Popen]:
    """`congvu scorer` loops draining the marks the declarations commit (--scoring deferred)."""
    if args.scoring != "deferred":
        return []
    env = dict(os.environ, CONGVU_DATABASE_URL=app_url, CONGVU_SECRET_KEY=secrets.token_hex(32),
               CONGVU_AUDIT_KEY=secrets.token_hex(32), CONGVU_ENV="production", CONGVU_SCORING="deferred")
    command = [str(Path(sys.executable).parent / "congvu"), "scorer", "--interval", "0.2",
               "--settle", str(args.scorer_settle)]
    log = open("/tmp/congvu-bench-scorer.log", "w")  # noqa: SIM115 - lives as long as the scorers
    return [subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True) for _ in range(args.scorers)]


def wait_drained(owner_url: str, timeout: float = 120.0) -> float | None:
    """Seconds from the end of the load until no scoring mark is left (None: not within timeout)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(owner_url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            with engine.connect() as conn:
                if not conn.execute(text("SELECT count(*) FROM scoring_marks")).scalar():
                    return round(time.perf_counter() - started, 2)
            time.sleep(0.1)
        return None
    finally:
        engine.dispose()


def start_server(args, app_url: str) -> subprocess.Popen:
    env = dict(os.environ, CONGVU_DATABASE_URL=app_url, CONGVU_SECRET_KEY=secrets.token_hex(32),
               CONGVU_AUDIT_KEY=secrets.token_hex(32), CONGVU_ENV="production")
    log = open("/tmp/congvu-bench-gunicorn.log", "w")  # noqa: SIM115 - lives as long as the server
    target = "bench.diagnostic_wsgi:app" if args.without_scoring_refresh else "wsgi:app"
    server = start_gunicorn(target, args.port, env, args.workers, args.threads, log)
    if server is None:
        raise SystemExit("gunicorn did not start; see /tmp/congvu-bench-gunicorn.log")
    return server


def phase(name: str, result: load.Result, rate: float | None) -> dict:
    s = result.summary()
    s["phase"], s["offered_rps"] = name, rate or "max"
    print(json.dumps(s, ensure_ascii=False), flush=True)
    return s


def main() -> None:
    args = parse_args()
    base = f"http://127.0.0.1:{args.port}"
    api = f"/api/v1/tenants/{SLUG}"
    host = args.pg.split("://", 1)[1].split("@", 1)[1]
    print(f"seeding {args.users} employees into {args.database} …", flush=True)
    recreate_database(args.pg, args.database, args.app_role)
    usernames = seed(f"{args.pg}/{args.database}", args.users)
    app_url = f"postgresql+psycopg://{args.app_role}@{host}/{args.database}"
    # The app role cannot read the row-level security key; the processes read it as the owner here.
    os.environ.setdefault("CONGVU_DATABASE_OPS_URL", f"{args.pg}/{args.database}")
    if args.scoring == "deferred":
        os.environ["CONGVU_SCORING"] = "deferred"  # the in-process costs and gunicorn alike
    if args.without_scoring_refresh:
        from bench.diagnostic import remove_scoring_refresh

        remove_scoring_refresh()
    costs = inprocess.measure(app_url, usernames)
    for row in costs:
        print(json.dumps(row, ensure_ascii=False), flush=True)
    load_before = os.getloadavg()
    server = start_server(args, app_url)
    scorers = start_scorers(args, app_url)
    phases = []
    drained = None
    poller: MonthPoller | None = None
    try:
        # Seeded person n is in unit n % 20 (bench/seed.py), so this list goes round the
        # first K units: the first D of it are D people of one unit (K=1) or one per unit.
        chosen = [n for n in range(len(usernames)) if not args.units_declaring or n % 20 < args.units_declaring]
        chosen = chosen[:args.declarers] if args.declarers else chosen

        def login(i):
            who = usernames[chosen[i]]
            return "POST", "/api/v1/auth/token", {"tenant": SLUG, "username": who, "password": PASSWORD}, None

        r = load.run(base, login, len(chosen), 0, args.client_processes, 8, keep_bodies=True)
        phases.append(phase("log in (argon2id)", r, None) | {"bare": "GET max"})
        tokens = {chosen[i]: json.loads(body)["access_token"] for i, status, body in r.bodies if status == 200}
        users = sorted(tokens)

        def catalogue(n):
            return "GET", f"{api}/task-types?mine=true&per_page=100", None, tokens[users[n]]

        r = load.run(base, catalogue, len(users), 0, args.client_processes, 16, keep_bodies=True)
        phases.append(phase("load my catalogue", r, None) | {"bare": "GET max"})
        codes = {users[n]: [t["code"] for t in json.loads(body)] for n, status, body in r.bodies if status == 200}
        # The tenant's today (the seeded tenant keeps the default zone): the host's date is
        # yesterday there from 17:00 UTC on, and declaring for yesterday costs reads the spike has not.
        today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
        declarers = users
        total = len(declarers) * args.items // args.batch

        def one_item(rng: random.Random, user: int) -> dict:
            return {"task_type_code": rng.choice(codes[user]), "work_date": today, "quantity": rng.randint(1, 4),
                    "complexity_level": rng.choice([1, 2, 3]), "priority": 1}

        def declare(n):
            user = declarers[n % len(declarers)]
            rng = random.Random(n)
            # Six random items may plan more than 12 hours; the bench measures declaring,
            # not the 12-hour question, so it answers it as a person who means it would.
            if args.batch > 1:
                body = {"items": [one_item(rng, user) for _ in range(args.batch)], "confirm_long_day": True}
            else:
                body = one_item(rng, user) | {"confirm_long_day": True}
            return "POST", f"{api}/work-items", body, tokens[user]

        poller = MonthPoller(f"{args.pg}/{args.database}", today[:7])
        poller.start()
        r = load.run(base, declare, total, args.rate, args.client_processes, args.client_threads, keep_bodies=True)
        label = f"declare {args.batch} items in one request" if args.batch > 1 else "declare an item"
        declared = phases.append(phase(label, r, args.rate) | {"bare": "POST"}) or phases[-1]
        declared["items_per_s"] = round(declared["throughput_rps"] * args.batch, 1)
        items, commits = [], []
        for n, status, body in r.bodies:
            if status != 201:
                continue
            made = json.loads(body)
            made = made["items"] if args.batch > 1 else [made]
            items += [(n, m["id"]) for m in made]
            commits.append((made[0]["employee_id"], len(made), r.finished[n]))

        def update(k):
            n, item_id = items[k]
            return "PATCH", f"{api}/work-items/{item_id}", {"status": "done", "result_note": "Đã xong"}, \
                tokens[declarers[n % len(declarers)]]

        r = load.run(base, update, len(items), args.rate, args.client_processes, args.client_threads)
        phases.append(phase("update an item (done)", r, args.rate) | {"bare": "POST"})

        def listing(n):
            return "GET", f"{api}/work-items?work_date={today}", None, tokens[users[n % len(users)]]

        r = load.run(base, listing, len(users), args.rate, args.client_processes, args.client_threads)
        phases.append(phase("list my day", r, args.rate) | {"bare": "GET"})
        if scorers:
            drained = wait_drained(f"{args.pg}/{args.database}")
            print(json.dumps({"marks_drained_after_s": drained}), flush=True)
    finally:
        load_after = os.getloadavg()
        for scorer in scorers:
            stop_server(scorer)
        stop_server(server)
        if poller is not None:
            poller.stop()
    fresh = freshness(commits, poller.polls if poller else [])
    print(json.dumps({"freshness": fresh}), flush=True)
    check = equal_to_full_recalculation(f"{args.pg}/{args.database}", SLUG, today[:7])
    print(json.dumps({"full_recalculation": check}), flush=True)
    bare = baselines(args, total, len(users))
    for p in phases:
        b = bare[p["bare"]]
        rps = p["throughput_rps"] / b["throughput_rps"] if b["throughput_rps"] else None
        p["ratio"] = {"p50": ratio(p["p50_ms"], b["p50_ms"]), "p99": ratio(p["p99_ms"], b["p99_ms"]),
                      "rps": None if rps is None else round(rps, 1) if rps >= 1 else round(rps, 3)}
    write_report(args, phases, declared, costs, (load_before, load_after), bare, drained, fresh, check)


def baselines(args, writes: int, reads: int) -> dict[str, dict]:
    """The bare endpoint under the load of each kind of phase, on the same gunicorn settings
    and client; measured after the app's server has stopped, so the two never share the host."""
    out = {}
    for key, method, total, rate, threads in (("POST", "POST", writes, args.rate, args.client_threads),
                                              ("GET", "GET", reads, args.rate, args.client_threads),
                                              ("GET max", "GET", reads, 0, 16)):
        out[key] = bare_endpoint(args.port + 1, total, rate, method, args.workers, args.threads,
                                 args.client_processes, threads)
        out[key]["phase"], out[key]["offered_rps"] = f"bare endpoint, {key}", rate or "max"
        print(json.dumps(out[key], ensure_ascii=False), flush=True)
    return out


def write_report(args, phases: list[dict], declared: dict, costs: list[dict], loads: tuple,
                 bare: dict[str, dict], drained: float | None = None, fresh: dict | None = None,
                 check: dict | None = None) -> None:
    met = declared["failed"] == 0 and declared["errors"] == 0 and declared["p99_ms"] <= TARGET_P99_MS and (
        declared["throughput_rps"] >= 0.97 * TARGET_RPS)
    name = section_name(args)
    titles = {"morning-spike": "Morning spike (issue 4)",
              "one-department": "One department under one leader (issue 16)",
              f"batch-{args.batch}": f"Batch declaration, {args.batch} items a request (issue 16)"}
    scenario = ("" if not args.units_declaring else f" --units-declaring {args.units_declaring}") + (
        f" --declarers {args.declarers}" if args.declarers else "") + (
        f" --batch {args.batch}" if args.batch > 1 else "") + (
        f" --client-processes {args.client_processes} --client-threads {args.client_threads}"
        if (args.client_processes, args.client_threads) != (2, 48) else "")
    declaring = (f"{args.declarers or 'all the'} people of {args.units_declaring} unit(s) log in and declare"
                 if args.units_declaring else f"{args.declarers or 'all the'} people log in and declare")
    cores = len(os.sched_getaffinity(0))
    workers = args.workers or 2 * cores + 1
    lines = [
        "# Benchmarks", "",
        f"## {titles.get(name, f'Clients spread over {args.units_declaring} units (issue 16)')}", "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} with "
        f"`python -m bench --users {args.users} --items {args.items} --rate {args.rate:g}"
        f"{' --without-scoring-refresh' if args.without_scoring_refresh else ''}"
        f"{f' --scoring deferred --scorers {args.scorers}' if args.scoring == 'deferred' else ''}{scenario}`"
        " (`make bench` runs the defaults)."
        + (" **Diagnostic run: the scoring engine's before-commit refresh removed.**"
           if args.without_scoring_refresh else ""), "",
        f"- Machine: {cores} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"PostgreSQL on the same host; gunicorn gthread, {workers} processes × "
        f"{args.threads or 4} threads (deploy/gunicorn.conf.py); the app connects as the non-owner role "
        f"with row-level security in force; the load client runs on the same cores "
        f"({args.client_processes} processes).",
        f"- Data: one tenant, {args.users} employees with logins in 20 units under one agency, 40 task types; "
        "{who}: each loads the catalogue of their position, declares {n} items{b}, then completes them.".format(
            n=args.items, who=declaring[0].upper() + declaring[1:],
            b=f" in requests of {args.batch}" if args.batch > 1 else ""),
        "- Latency is measured open-loop from the moment each request was due, so queueing is included.",
        "- Baseline, measured in the same run once the app's server had stopped: a bare Flask JSON endpoint "
        "(bench/baselines.py: parse the body, answer a small JSON document) on the same gunicorn settings, "
        "under the same load from the same client. The × columns divide each phase's figure by the bare "
        "endpoint's under the same kind of load (writes: POST at the offered rate; the list: GET at that rate; "
        "logins and catalogue: GET as fast as it answers). A phase that falls behind its offered rate "
        "queues, so its latency ratios grow with the length of the run.", "",
        "| phase | offered req/s | achieved req/s | requests | failed | p50 ms | p95 ms | p99 ms | max ms "
        "| p50 × bare | p99 × bare | req/s × bare |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in phases:
        x = p["ratio"]
        lines.append(f"| {p['phase']} | {p['offered_rps']} | {p['throughput_rps']} | {p['requests']} | "
                     f"{p['failed'] + p['errors']} | {p['p50_ms']} | {p['p95_ms']} | {p['p99_ms']} | {p['max_ms']} | "
                     f"{x['p50']}× | {x['p99']}× | {x['rps']}× |")
    for b in bare.values():
        lines.append(f"| {b['phase']} (the baseline) | {b['offered_rps']} | {b['throughput_rps']} | {b['requests']} "
                     f"| {b['failed'] + b['errors']} | {b['p50_ms']} | {b['p95_ms']} | {b['p99_ms']} | {b['max_ms']} "
                     "| 1× | 1× | 1× |")
    if loads[0][0] > cores:
        lines += ["", f"**Loaded host**: a load average of {loads[0][0]:.1f} on {cores} cores before the run (other "
                  "work shared the host). Compare the ratios to the bare endpoint of this run, not the absolute "
                  "figures."]
    lines += ["", "Load average of the host (1, 5, 15 min) before and after the load phases: "
              f"{' / '.join(f'{x:.1f}' for x in loads[0])} → {' / '.join(f'{x:.1f}' for x in loads[1])} "
              f"(on {cores} cores; other processes on the host count too).", ""]
    if args.batch > 1:
        batch_met = declared["items_per_s"] >= TARGET_BATCH_ITEMS_S
        lines += [f"Items declared: {declared['items_per_s']} items/s ({args.batch} a request; target "
                  f"≥ {TARGET_BATCH_ITEMS_S:,} items/s — **{'met' if batch_met else 'not met'}**).", ""]
    if args.scoring == "deferred":
        lines += [f"Scores refreshed beside the requests by {args.scorers} `congvu scorer` process(es) "
                  "(CONGVU_SCORING=deferred): every mark drained "
                  + (f"{drained} s after the load stopped" if drained is not None else "— **not** within 120 s")
                  + f" (target ≤ {TARGET_DRAIN_S:g} s — **"
                  + ("met" if drained is not None and drained <= TARGET_DRAIN_S else "not met") + "**).", ""]
    if fresh and fresh["p99_s"] is not None:
        lines += [f"Freshness (bench/freshness.py: from a declaration's response to the first poll, every "
                  f"{POLL_S:g} s, that saw its person's month row count it): p50 {fresh['p50_s']} s, p99 "
                  f"{fresh['p99_s']} s, max {fresh['max_s']} s over {fresh['declarations']} declarations, "
                  f"{fresh['never_seen']} never seen (target p99 ≤ {TARGET_FRESH_P99_S:g} s — **"
                  + ("met" if fresh["p99_s"] <= TARGET_FRESH_P99_S and not fresh["never_seen"] else "not met")
                  + "**).", ""]
    if check:
        lines += [f"After the run, the {check['months']} month rows compared with a full recalculation of the "
                  f"month: {check['differing']} differ, {check['missed_with_items']} with items missing — **"
                  + ("equal" if check["equal"] else "NOT equal") + "**.", ""]
    lines += [

              "### Cost per request (in-process, one thread, same database)", "",
              "Measured before the load phases through the WSGI test client: no network, no concurrency. "
              "The statement counts do not depend on the host; the times do (taken under the load above).", "",
              "| request | SQL statements | median ms |", "|---|---|---|"]
    lines += [f"| {c['request']} | {c['sql_statements']} | {c['median_ms']} |" for c in costs]
    lines += ["", f"Target: declaring sustains {TARGET_RPS} req/s with p99 ≤ {TARGET_P99_MS} ms and no errors — "
              f"**{'met' if met else 'not met'}** in this run.", ""]
    write_section(Path(args.out), "\n".join(lines[2:]) + "\n", name)
    print(f"wrote {args.out}")


def write_section(path: Path, body: str, name: str = "morning-spike") -> None:
    """Replace the scenario's generated section between its markers; keep what people
    wrote around it."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    replace_section(path, start, end, f"{start}\n{body}{end}\n")


if __name__ == "__main__":
    main()
