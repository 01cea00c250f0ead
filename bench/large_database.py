"""Cost as the work grows: the classic endpoints and the console's busiest pages on a large database.

Makes two databases on the same PostgreSQL: a small one (the bench customer only) and a large
one (the same customer plus 10^5 users, 10^6 sessions, 10^5 servers, 10^6 transactions and
10^5 mail rows, generated with set-based INSERT ... SELECT generate_series, about a minute).
Serves ours on both (production rate limits) and prints each classic endpoint's req/s on the
large database as a ratio to the small one, runs interleaved. Then signs a staff member in
and drives the console's users, servers and transactions pages (search, filters, the last
page) with wrk at 4 connections, printing p50/p95. `--explain` prints EXPLAIN ANALYZE of each
page's statements. Asserts nothing.

    .venv/bin/python bench/large_database.py [--quick] [--scale 1.0] [--explain] [--server gunicorn-sync|gunicorn-gthread|granian]
"""
import argparse
import contextlib
import re
import subprocess
import sys

import psycopg2
import requests

from harness import APP_ROOT, app_environment, data_servers, median, run_wrk, serving, log_in
from tests.support.servers import fresh_database

import classic_endpoints as bench

STAFF_MAIL, STAFF_PASSWORD = "bench-owner@example.com", "bench-owner-password"
LAST = "page=999999"  # past the end: the listing shows its last page
CONSOLE_PAGES = [
    ("users: first page", "/console/users"),
    ("users: search", "/console/users?q=customer4242"),
    ("users: search+filter, last", f"/console/users?q=example.net&state=verified&{LAST}"),
    ("users: by mail, last", f"/console/users?sort=mail&{LAST}"),
    ("servers: first page", "/console/servers"),
    ("servers: search", "/console/servers?q=10.1.3"),
    ("servers: filter, last", f"/console/servers?state=sold&os=ubuntu&{LAST}"),
    ("transactions: first", "/console/transactions"),
    ("transactions: search", "/console/transactions?q=customer4242"),
    ("transactions: filters, last", f"/console/transactions?type=buy_server&status=CONFIRMED&since=2025-01-01&{LAST}"),
    ("transactions: last page", f"/console/transactions?{LAST}"),
]

SEED = """
INSERT INTO users (id, username, mail, passwd_hash, is_verified, balance, tg_id, tg_username, created_at, blocked_at,
                   date_start, date_stop)
SELECT 100 + n, to_hex(100 + n), 'customer' || n || '@example.' || (ARRAY['com', 'net', 'org', 'ru'])[1 + n % 4],
       'x', n % 10 <> 0, (n % 5000)::numeric, CASE WHEN n % 3 = 0 THEN 1000000 + n END,
       CASE WHEN n % 3 = 0 THEN 'tg_' || substr(md5(n::text), 1, 10) END,
       now() - (n % 1500) * interval '1 day', CASE WHEN n % 97 = 0 THEN now() END, '01.01.2024', '01.01.2030'
FROM generate_series(1, {users}) AS n;
SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users));

INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, expires_at, ip, user_agent)
SELECT 101 + (n::bigint * 7919) % {users}, encode(sha256(('token' || n)::bytea), 'hex'), now() - (n % 90) * interval '1 day',
       now() - (n % 600) * interval '1 minute',
       now() + CASE WHEN n % 10 = 0 THEN interval '-1 day' ELSE interval '20 days' END, '198.51.100.7', 'Mozilla/5.0'
FROM generate_series(1, {sessions}) AS n;

INSERT INTO servers (id, ram, cores, hdd, ips, lan_ip, os, status, busy, username, country, rented_at, paid_until,
                     name, created_at)
SELECT 100000 + n, 1 + n % 5, 1 + n % 5, 15 + n % 16,
       ARRAY['10.' || (n / 65536) % 256 || '.' || (n / 256) % 256 || '.' || n % 256],
       '172.' || 16 + n / 65536 || '.' || (n / 256) % 256 || '.' || n % 256, (ARRAY['ubuntu', 'debian'])[1 + n % 2],
       (ARRAY['on', 'off'])[1 + n % 2], n % 10 < 7, CASE WHEN n % 10 < 7 THEN to_hex(101 + n % {users}) END, 'russia',
       now() - (n % 300) * interval '1 day', now() + (n % 60) * interval '1 day', (100000 + n) || '-vm',
       now() - (n % 900) * interval '1 day'
FROM generate_series(1, {servers}) AS n;

INSERT INTO transactions (username, type, amount, date, discription, status, user_id, server_id, created_at)
SELECT to_hex(101 + (n * 31) % {users}), (ARRAY['add_balance', 'buy_server', 'refund', 'renewal'])[1 + n % 4],
       CASE WHEN n % 4 IN (1, 3) THEN -(10 + n % 90) ELSE 10 + n % 90 END, '01.01.2025',
       (ARRAY['top-up by card', 'order of a server', 'refund of a failed order', 'renewal'])[1 + n % 4] || ' #' || n,
       (ARRAY['CONFIRMED', 'CONFIRMED', 'CONFIRMED', 'PENDING', 'CANCELED'])[1 + n % 5], 101 + (n * 31) % {users},
       CASE WHEN n % 4 = 1 THEN 100000 + n % {servers} END, now() - n * interval '90 seconds'
FROM generate_series(1, {transactions}) AS n;

INSERT INTO mail_messages (to_email, subject, body, kind, state, attempts, created_at, sent_at)
SELECT 'customer' || n || '@example.com', 'Your server', 'Hello, your server is ready.', 'server_ready',
       (ARRAY['sent', 'sent', 'sent', 'failed', 'queued'])[1 + n % 5], 1, now() - n * interval '5 minutes',
       CASE WHEN n % 5 < 3 THEN now() - n * interval '5 minutes' END
FROM generate_series(1, {mail}) AS n;
"""
# Server addresses are unique (migration 0006's trigger): LAN ones come from 172.16.0.0/12, as
# 192.168.0.0/16 has fewer than 10^5 of them.
SIZES = {"users": 100_000, "sessions": 1_000_000, "servers": 100_000, "transactions": 1_000_000, "mail": 100_000}


def main() -> int:
    options = parse_arguments()
    with data_servers() as (small_url, redis_url), large_database(small_url) as large_url:
        small_env = app_environment(small_url, redis_url, CORS_ORIGINS=bench.ORIGIN, RATELIMIT_ENABLED="1")
        large_env = app_environment(large_url, redis_url, CORS_ORIGINS=bench.ORIGIN, RATELIMIT_ENABLED="1")
        bench.seed_small(small_env)
        bench.seed_small(large_env)
        print(f"seeding the large database ({options.scale:g} x {SIZES})", file=sys.stderr, flush=True)
        seed_large(large_url, options.scale)
        create_staff(large_env)
        if options.explain or options.explain_only:
            explain_console_pages(large_env, large_url)
        if options.explain_only:
            return 0
        with serving(options.server[0], "wsgi:app", small_env, options.workers, options.threads) as small_port, \
                serving(options.server[0], "wsgi:app", large_env, options.workers, options.threads) as large_port:
            if not options.console_only:
                compare_classic(options, small_port, large_port)
            measure_console(options, large_port)
    return 0


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of 2 s runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 10^6/10^5 row counts")
    parser.add_argument("--server", action="append", default=None)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each console page")
    parser.add_argument("--explain-only", action="store_true", help="seed, explain, and stop (no wrk runs)")
    parser.add_argument("--console-only", action="store_true", help="skip the classic endpoints' comparison")
    options = parser.parse_args()
    options.server = options.server or ["gunicorn-sync"]  # the production server
    if options.quick:
        options.rounds, options.duration = 1, 2
    return options


@contextlib.contextmanager
def large_database(small_url: str):
    server_url = re.sub(r"/oxnack_test_[^/?]+", "/postgres", small_url)
    with fresh_database(server_url) as url:
        yield url


def connect(url: str):
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    connection = psycopg2.connect(dbname=parsed.database, user=parsed.username, password=parsed.password,
                                  host=parsed.host or parsed.query.get("host"), port=parsed.port)
    connection.autocommit = True
    return connection


def seed_large(url: str, scale: float) -> None:
    sizes = {name: max(10, int(count * scale)) for name, count in SIZES.items()}
    connection = connect(url)
    with connection.cursor() as cursor:
        cursor.execute(SEED.format(**sizes))
        cursor.execute("VACUUM (ANALYZE)")
    connection.close()


def create_staff(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "create-staff", STAFF_MAIL, "--role", "owner",
                    "--password", STAFF_PASSWORD], env=env, cwd=APP_ROOT, check=True, stdout=subprocess.DEVNULL)


def staff_cookie(port: int) -> str:
    """A console session cookie, signed in through the login form with its CSRF token."""
    browser = requests.Session()
    page = browser.get(f"http://127.0.0.1:{port}/console/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = browser.post(f"http://127.0.0.1:{port}/console/login", allow_redirects=False,
                          data={"email": STAFF_MAIL, "password": STAFF_PASSWORD, "csrf_token": token})
    if answer.status_code != 302:
        raise RuntimeError(f"staff login answered {answer.status_code}")
    return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def compare_classic(options, small_port: int, large_port: int) -> None:
    small_cookie = log_in(small_port, bench.BENCH_MAIL, bench.BENCH_PASSWORD)
    large_cookie = log_in(large_port, bench.BENCH_MAIL, bench.BENCH_PASSWORD)
    results: dict = {}
    for round_number in range(options.rounds):
        print(f"classic round {round_number + 1}/{options.rounds}", file=sys.stderr, flush=True)
        for name, method, path, body, needs_cookie, *_ in bench.ENDPOINTS:
            for size, port, cookie in (("small", small_port, small_cookie), ("large", large_port, large_cookie)):
                results.setdefault((name, size), []).append(run_wrk(
                    port, method, path, body=body, cookie=cookie if needs_cookie else None,
                    connections=options.connections, duration=options.duration, origin=bench.ORIGIN))
    print(f"\nclassic endpoints, {options.server[0]}, {options.connections} connections, "
          f"{options.rounds} x {options.duration:g} s interleaved, rate limits on")
    print(f"{'endpoint':20} {'small req/s':>11} {'large req/s':>11} {'large/small':>11} {'p99 small':>9} "
          f"{'p99 large':>9}  goal: within 10 %")
    for name, *_ in bench.ENDPOINTS:
        small, large = results[name, "small"], results[name, "large"]
        ratio = median([lg["rps"] / sm["rps"] for sm, lg in zip(small, large, strict=True)])
        print(f"{name:20} {median([r['rps'] for r in small]):>11.0f} {median([r['rps'] for r in large]):>11.0f} "
              f"{ratio:>10.2f}x {median([r['p99'] for r in small]):>9.1f} {median([r['p99'] for r in large]):>9.1f}"
              f"  {'met' if ratio >= 0.9 else 'MISSED'}")


def measure_console(options, port: int) -> None:
    cookie = staff_cookie(port)
    print(f"\nconsole pages on the large database, wrk 4 connections, {options.duration:g} s each")
    print(f"{'page':30} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'bad':>4}  goal: p95 < 100 ms")
    for name, path in CONSOLE_PAGES:
        result = run_wrk(port, "GET", path, connections=4, duration=options.duration, raw_cookie=cookie)
        print(f"{name:30} {result['rps']:>7.0f} {result['p50']:>7.1f} {result['p95']:>7.1f} {result['p99']:>7.1f} "
              f"{result['non2xx'] + result['errors']:>4}  {'met' if result['p95'] < 100 else 'MISSED'}", flush=True)


def explain_console_pages(env: dict, url: str) -> None:
    """EXPLAIN ANALYZE of every statement each console page sends, run in process."""
    import os

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    os.environ.update(env)
    sys.path.insert(0, str(APP_ROOT))
    from oxnack_admin import create_app

    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(cursor.mogrify(statement, parameters).decode())

    client = app.test_client()
    form = client.get("/console/login")
    assert form.status_code == 200
    if client.post("/console/login", data={"email": STAFF_MAIL, "password": STAFF_PASSWORD}).status_code != 302:
        raise RuntimeError("staff login failed")
    database = connect(url)
    event.listen(Engine, "before_cursor_execute", record)
    try:
        for name, path in CONSOLE_PAGES:
            seen.clear()
            client.get(path)
            print(f"\n=== {name}: {path}")
            with database.cursor() as cursor:
                for statement in [s for s in seen if "FROM staff" not in s]:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF, SUMMARY ON) " + statement)
                    plan = [row[0] for row in cursor.fetchall()]
                    print("--", statement[:300].replace("\n", " "))
                    print("\n".join(plan))
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        database.close()


if __name__ == "__main__":
    sys.exit(main())
