from oxnack_admin import create_app
from tests.conftest import make_test_config


def test_health_ok_when_both_servers_answer(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "db": "ok", "redis": "ok"}


def test_health_names_the_unreachable_server(database_url):
    broken = create_app(make_test_config(database_url, "redis://127.0.0.1:1/0"))
    response = broken.test_client().get("/health")
    assert response.status_code == 503
    assert response.json == {"status": "error", "db": "ok", "redis": "unreachable"}
    assert b"Traceback" not in response.data


def test_health_reports_database_down(redis_url):
    broken = create_app(make_test_config("postgresql://nobody@127.0.0.1:1/none", redis_url))
    response = broken.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["db"] == "unreachable" and response.json["redis"] == "ok"


def test_every_response_carries_a_request_id(client):
    response = client.get("/health", headers={"X-Request-ID": "abc123"})
    assert response.headers["X-Request-ID"] == "abc123"
    assert len(client.get("/health").headers["X-Request-ID"]) == 16
