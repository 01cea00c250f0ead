"""GET /status: who may read it, and every dependency seen up, then stopped or unreachable."""
import pytest
from rq.cron import CronScheduler

from bench.soak.infra import Redis, free_port
from jobs.worker import redis_connection
from oxnack_admin import create_app
from oxnack_admin.extensions import db
from oxnack_admin.services.staff import api_tokens
from oxnack_admin.simulator.pfsense import PfSenseSimulator
from oxnack_admin.simulator.platega import PlategaSimulator
from oxnack_admin.simulator.proxmox import ProxmoxSimulator
from oxnack_admin.simulator.socks_upstream import SocksUpstreamSimulator
from oxnack_admin.cli.simulators import hypervisor_settings, platega_settings, socks_settings
from tests.conftest import make_test_config
from tests.jobs.conftest import SmtpServer
from tests.support.factories import make_staff

OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}
REMOTE_CHECKS = {"proxmox", "pfsense", "platega", "socks_upstream", "smtp", "telegram", "crypto_rpc"}


@pytest.fixture
def status_app(app, database_url, redis_url):
    """status_app(**settings) → the JSON of GET /status from loopback on an app with those settings."""
    def read(**settings):
        built = create_app(make_test_config(database_url, redis_url, **{"STATUS_CHECK_TIMEOUT": 1.0, **settings}))
        response = built.test_client().get("/status")
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        with built.app_context():
            db.engine.dispose()
        return response.get_json()

    return read


def test_only_loopback_or_an_admin_token_reads_it(app, client):
    assert client.get("/status").status_code == 200
    assert client.get("/status", environ_base=OUTSIDE).status_code == 404
    _, support = api_tokens.issue(make_staff("support"), "s")
    _, admin = api_tokens.issue(make_staff("admin"), "a")
    db.session.commit()
    assert client.get("/status", environ_base=OUTSIDE, headers={"Authorization": f"Bearer {support}"}).status_code == 404
    assert client.get("/status", environ_base=OUTSIDE, headers={"Authorization": "Bearer nonsense"}).status_code == 404
    assert client.get("/status", environ_base=OUTSIDE, headers={"Authorization": f"Bearer {admin}"}).status_code == 200


def test_the_shape_and_unconfigured_systems_left_out(status_app):
    report = status_app()
    assert set(report["checks"]) == {"database", "redis", "queues", "scheduler"}  # nothing remote is configured
    database = report["checks"]["database"]
    assert database["ok"] is True and database["detail"].startswith("PostgreSQL") and database["latency_ms"] >= 0
    assert report["checks"]["redis"]["ok"] is True
    # No worker and no scheduler run in this test: both are down, so the whole is degraded.
    assert report["checks"]["queues"]["ok"] is False and "no worker" in report["checks"]["queues"]["detail"]
    assert report["checks"]["scheduler"]["ok"] is False and report["status"] == "degraded"


def test_a_running_scheduler_is_seen_and_its_death_too(app, status_app):
    scheduler = CronScheduler(connection=redis_connection(app))
    scheduler.register_birth()
    try:
        assert status_app()["checks"]["scheduler"]["ok"] is True
    finally:
        scheduler.register_death()
    assert status_app()["checks"]["scheduler"]["ok"] is False


def test_a_second_redis_stopped(app, status_app, tmp_path):
    server = Redis(tmp_path / "redis", ["127.0.0.1"], free_port())
    server.start()
    try:
        assert status_app(REDIS_URL=server.url())["checks"]["redis"]["ok"] is True
    finally:
        server.stop()
    checks = status_app(REDIS_URL=server.url())["checks"]
    assert checks["redis"]["ok"] is False and "ConnectionError" in checks["redis"]["detail"]
    assert checks["queues"]["ok"] is False and checks["scheduler"]["ok"] is False
    assert checks["database"]["ok"] is True


def test_the_database_unreachable(status_app):
    closed = free_port()
    checks = status_app(SQLALCHEMY_DATABASE_URI=f"postgresql://postgres@127.0.0.1:{closed}/nothing")["checks"]
    assert checks["database"]["ok"] is False and checks["redis"]["ok"] is True


SIMULATED = {
    "platega": (lambda: [PlategaSimulator("merchant", "secret")], lambda sims: platega_settings(*sims), ["platega"]),
    "socks_upstream": (lambda: [SocksUpstreamSimulator()], lambda sims: socks_settings(*sims), ["socks_upstream"]),
    "hypervisor": (lambda: [ProxmoxSimulator(), PfSenseSimulator()], lambda sims: hypervisor_settings(*sims),
                   ["proxmox", "pfsense"]),
}


@pytest.mark.parametrize("system", sorted(SIMULATED))
def test_a_simulator_stopped(status_app, system):
    make, settings_of, names = SIMULATED[system]
    simulators = [simulator.start() for simulator in make()]
    settings = settings_of(simulators)
    try:
        up = status_app(**settings)
        assert all(up["checks"][name]["ok"] for name in names), up
        assert not (set(up["checks"]) & (REMOTE_CHECKS - set(names)))  # only the configured systems
    finally:
        for simulator in simulators:
            simulator.stop()
    down = status_app(**settings)
    assert not any(down["checks"][name]["ok"] for name in names) and down["status"] == "degraded"


def test_smtp_up_then_its_port_closed(status_app):
    server = SmtpServer(0).start()
    try:
        up = status_app(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_PASSWORD="smtp-secret-pw")
        assert up["checks"]["smtp"]["ok"] is True
    finally:
        server.stop()
    down = status_app(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_PASSWORD="smtp-secret-pw")
    assert down["checks"]["smtp"]["ok"] is False and "smtp-secret-pw" not in str(down)
