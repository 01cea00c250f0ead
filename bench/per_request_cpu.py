"""CPU time of one request of each classic endpoint, in process, beside the reference app's.

No server and no wrk: the WSGI app is called directly, so the figure is the Python (and
database round trip) cost the app adds per request, far less noisy on a shared machine than
req/s. Best of several batches. Used to tell what each cut bought (README, "Performance").

    .venv/bin/python bench/per_request_cpu.py [--requests 2000] [--batches 5] [--limits on|off]
"""
import argparse
import io
import json
import os
import sys
import time

from harness import APP_ROOT, app_environment, data_servers

import classic_endpoints as bench


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per batch")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--limits", choices=("on", "off"), default="on")
    options = parser.parse_args()
    with data_servers() as (database_url, redis_url):
        env = app_environment(database_url, redis_url, CORS_ORIGINS=bench.ORIGIN,
                              RATELIMIT_ENABLED="1" if options.limits == "on" else "0")
        bench.seed_small(env)
        os.environ.update(env)
        sys.path.insert(0, str(APP_ROOT))
        from wsgi import app

        sys.path.insert(0, os.path.dirname(__file__))
        from reference_app import app as reference

        cookie = log_in(app)
        reference_us = best_per_request(reference, "GET", "/parametrs", None, None, options)
        print(f"{'endpoint':20} {'µs CPU':>8} {'µs wall':>8} {'x reference':>12}")
        print(f"{'reference /parametrs':20} {reference_us[0]:>8.0f} {reference_us[1]:>8.0f} {1:>11.2f}x")
        for name, method, path, body, needs_cookie, *_ in bench.ENDPOINTS:
            cpu, wall = best_per_request(app, method, path, body, cookie if needs_cookie else None, options)
            print(f"{name:20} {cpu:>8.0f} {wall:>8.0f} {cpu / reference_us[0]:>11.2f}x", flush=True)
    return 0


def log_in(app) -> str:
    answer = app.test_client().post("/login", json={"mail": bench.BENCH_MAIL, "passwd": bench.BENCH_PASSWORD})
    return answer.headers["Set-Cookie"].split("session_id=")[1].split(";")[0]


def environ_for(method: str, path: str, body, cookie: str | None) -> dict:
    data = json.dumps(body).encode() if body is not None else b""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data), "wsgi.errors": sys.stderr,
               "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
               "HTTP_HOST": "127.0.0.1:8000", "HTTP_ORIGIN": bench.ORIGIN, "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": str(len(data))}
    if cookie:
        environ["HTTP_COOKIE"] = f"session_id={cookie}"
    return environ


def best_per_request(app, method, path, body, cookie, options) -> tuple[float, float]:
    """(CPU µs, wall µs) per request, best batch."""
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    best = (float("inf"), float("inf"))
    for _ in range(options.batches):
        environs = [environ_for(method, path, body, cookie) for _ in range(options.requests)]
        cpu, wall = time.process_time(), time.perf_counter()
        for environ in environs:
            answer = app(environ, start_response)
            for _chunk in answer:
                pass
            getattr(answer, "close", lambda: None)()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        best = min(best, (cpu * 1e6 / options.requests, wall * 1e6 / options.requests))
    if not statuses[-1].startswith("2"):
        raise RuntimeError(f"{method} {path} answered {statuses[-1]}")
    return best


if __name__ == "__main__":
    sys.exit(main())
