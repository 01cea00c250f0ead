"""GET /metrics: who may scrape it, what it counts, and that the figures cover every gunicorn worker."""
import re
import signal
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from jobs.worker import redis_connection
from oxnack_admin import create_app
from oxnack_admin.services.ops import metrics
from tests.conftest import make_test_config
from tests.support.gunicorn import free_port, run_gunicorn

OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of a Prometheus text answer."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def requests_of(found: dict, endpoint: str, status: str = "200") -> float:
    return sum(v for (name, labels), v in found.items() if name == "oxnack_http_requests_total"
               and dict(labels).get("endpoint") == endpoint and dict(labels).get("status") == status)


def test_only_allowed_networks_scrape_it(app, client, database_url, redis_url):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 404
    off = create_app(make_test_config(database_url, redis_url, METRICS_ENABLED=False))
    assert off.test_client().get("/metrics").status_code == 404


def test_requests_hot_reads_included_queues_jobs_and_money_are_counted(app, client):
    before = samples(client.get("/metrics").get_data(as_text=True))
    for _ in range(3):
        assert client.get("/countries").status_code == 200  # answered by the hot reads, before Flask
    assert client.get("/no/such/path").status_code == 404
    Queue("mail", connection=redis_connection(app)).enqueue("jobs.mail.no_such_job")
    metrics.record_job(redis_connection(app), "mail", "failed")
    response = client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain")
    after = samples(response.get_data(as_text=True))
    assert requests_of(after, "orders.countries") - requests_of(before, "orders.countries") == 3
    assert requests_of(after, "unmatched", "404") - requests_of(before, "unmatched", "404") == 1
    assert after[("oxnack_queue_jobs", (("queue", "mail"), ("state", "queued")))] == 1
    assert after[("oxnack_jobs_total", (("outcome", "failed"), ("queue", "mail")))] == 1
    for kind in ("top_up", "renewal", "refund", "proxy_sale"):
        assert ("oxnack_money_transactions_total", (("kind", kind),)) in after
        assert ("oxnack_money_rub_total", (("kind", kind),)) in after
    assert any(name == "oxnack_http_request_duration_seconds_bucket" for name, _ in after)


def test_under_gunicorn_the_figures_cover_every_worker(app, database_url, redis_url, tmp_path):
    """Three workers answer, then a reload (HUP) replaces them all: /metrics still counts every request."""
    port = free_port()
    folder = tmp_path / "metrics"

    def scrape() -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
            return samples(answer.read().decode())

    def get_countries() -> None:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/countries", timeout=30).read()

    def pids() -> set[str]:
        return {re.search(r"_(\d+)\.db$", p.name).group(1) for p in folder.glob("counter_*.db")}

    with run_gunicorn(database_url, redis_url, [port], environ={"PROMETHEUS_MULTIPROC_DIR": str(folder)},
                      gunicorn_args=("--workers", "3")) as gunicorn:
        before = requests_of(scrape(), "orders.countries")
        for _ in range(6):
            get_countries()
        sent, old_workers = 6, pids()
        gunicorn.send_signal(signal.SIGHUP)  # new workers; the old ones finish and exit
        deadline = time.monotonic() + 90
        while not pids() - old_workers and time.monotonic() < deadline:
            get_countries()
            sent += 1
        after = requests_of(scrape(), "orders.countries")
        new_workers = pids() - old_workers
    assert new_workers, "no new worker answered after the reload"
    assert after - before == sent
