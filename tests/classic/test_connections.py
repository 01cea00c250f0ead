"""Keep-alive connections on the real servers: an early answer closes its connection, nothing is dropped.

Against gunicorn as production runs it (gunicorn.conf.py, threads: keep-alive) and the werkzeug
server the browser tests use, over raw sockets so nothing in a client library hides a dropped answer.
"""
import http.client
import json
import socket

import pytest

from tests.conftest import TEST_RELAY_PASSWORD
from tests.support.browser import serve
from tests.support.gunicorn import free_port, run_gunicorn

TEN_MB = 10 * 1024 * 1024
MAIL = {"to_email": "client@example.com", "email_subject": "s", "email_body": "b", "api_passwd": TEST_RELAY_PASSWORD}


@pytest.fixture(scope="module")
def gunicorn_ports(app, database_url, redis_url):
    """(public port, relay port) of one gunicorn serving the migrated test database."""
    public, relay = free_port(), free_port()
    with run_gunicorn(database_url, redis_url, [public, relay], MAIL_RELAY_BIND=f"127.0.0.1:{relay}",
                      MAIL_RELAY_PASSWORD=TEST_RELAY_PASSWORD):
        yield public, relay


@pytest.fixture(params=["gunicorn", "werkzeug"])
def server(request, app):
    """(kind, port) of a real server of the app."""
    if request.param == "gunicorn":
        yield "gunicorn", request.getfixturevalue("gunicorn_ports")[0]
    else:
        with serve(app) as url:
            yield "werkzeug", int(url.rpartition(":")[2])


@pytest.fixture
def port(server):
    return server[1]


def send_head(sock: socket.socket, path: str, length: int, body_part: bytes = b"") -> None:
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {length}\r\n\r\n".encode() + body_part)


def read_response(sock: socket.socket) -> http.client.HTTPResponse:
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.body = response.read()
    return response


def closed_by_server(sock: socket.socket, kind: str) -> bool:
    if kind == "werkzeug":
        # Its development server reads the declared body to the end before it hangs up; a client
        # told "Connection: close" stops sending, which ends that read.
        sock.shutdown(socket.SHUT_WR)
    sock.settimeout(10)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_413_before_the_body_closes_the_connection(server):
    kind, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        send_head(sock, "/create_machine", TEN_MB, b'{"core": "' + b"x" * 65536)
        response = read_response(sock)
        assert response.status == 413
        assert json.loads(response.body) == {"status": "error", "message": "request body too large"}
        assert response.getheader("Connection", "").lower() == "close"
        assert closed_by_server(sock, kind)


def test_an_answer_sent_before_reading_a_small_body_closes_the_connection(server):
    """401 comes before /create_machine reads its body: the unread bytes must not be the next request."""
    kind, port = server
    body = json.dumps({"core": 1, "ram": 1, "hdd": 15, "promo": "NOT", "os": "ubuntu"}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        send_head(sock, "/create_machine", len(body), body)
        response = read_response(sock)
        assert response.status == 401 and json.loads(response.body)["message"] == "unlogin"
        assert response.getheader("Connection", "").lower() == "close"
        assert closed_by_server(sock, kind)


def test_requests_whose_body_was_read_keep_the_connection(gunicorn_ports):
    """The usual case is untouched: several answered requests on one keep-alive connection.

    (Only gunicorn keeps connections; werkzeug's development server closes every one.)
    """
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn_ports[0], timeout=10)
    try:
        for _ in range(3):
            connection.request("POST", "/calc_price", body=json.dumps({"core": 1, "ram": 1, "ssd": 15}),
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["price"] == 170
            assert response.getheader("Connection", "").lower() != "close"
        assert connection.sock is not None  # still the first connection
    finally:
        connection.close()


def test_a_client_that_reconnects_after_the_close_loses_nothing(port):
    """http.client, like a browser, opens a new connection when told to close: every request is answered."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/get_balance", body=b'{"x": 1}', headers={"Content-Type": "application/json"})
        first = connection.getresponse()
        first.read()
        connection.request("GET", "/countries")
        second = connection.getresponse()
        assert second.status == 200 and json.loads(second.read())["countries"]
    finally:
        connection.close()


def test_the_relay_answers_only_on_its_own_listener(gunicorn_ports):
    public, relay = gunicorn_ports
    for target, status, answer in ((public, 404, {"status": "err_not_found"}), (relay, 200, {"status": "sended"})):
        connection = http.client.HTTPConnection("127.0.0.1", target, timeout=10)
        try:
            connection.request("POST", "/send_mail", body=json.dumps(MAIL),
                               headers={"Content-Type": "application/json", "Host": f"localhost:{relay}"})
            response = connection.getresponse()
            assert (response.status, json.loads(response.read())) == (status, answer)
        finally:
            connection.close()
