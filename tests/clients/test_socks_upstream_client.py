"""The upstream client against the loopback simulator: raw-token header, paging, typed errors, careful retries."""
import secrets
import socket

import pytest

from oxnack_admin.clients.socks_upstream import (NotRefundable, ProxyGone, ProxyServerFailed, SocksUpstreamClient,
                                                 UpstreamBalanceTooLow, UpstreamError, UpstreamUnavailable)
from oxnack_admin.simulator.socks_upstream import SocksUpstreamSimulator

TOKEN = secrets.token_hex(16)  # made per run: the upstream's raw token, sent as the whole header


@pytest.fixture
def upstream():
    simulator = SocksUpstreamSimulator(token=TOKEN).start()
    yield simulator
    simulator.stop()


def client_of(simulator, **options) -> SocksUpstreamClient:
    return SocksUpstreamClient(simulator.api_url, simulator.token, **{"timeout": 2, "backoff": 0, **options})


def test_listing_sends_the_raw_token_and_pages_with_filters(upstream):
    upstream.seed(40)
    client = client_of(upstream)
    page = client.list_proxies(0, 10, country_code="DE")
    assert all(p["country_code"] == "DE" and p["status"] == 1 for p in page.proxies)
    assert page.total is not None and page.total <= 10  # the simulator's total counts pages, like the real one
    assert len(client.list_proxies(0, 10).proxies) == 10
    with pytest.raises(UpstreamError, match="rejected our token"):
        SocksUpstreamClient(upstream.api_url, f"Bearer {TOKEN}", timeout=2).list_proxies()
    only_mobile = client.list_proxies(0, 100, residential=False, hosting=False)
    assert only_mobile.proxies and all(p["mobile"] for p in only_mobile.proxies)


def test_buy_refusals_become_typed_errors(upstream):
    proxy = upstream.add_proxy("US")["proxy_id"]
    client = client_of(upstream)
    upstream.fail_next("GET", r"/proxy/buy$", 403)
    with pytest.raises(UpstreamBalanceTooLow):
        client.buy(proxy)
    upstream.fail_next("GET", r"/proxy/buy$", 503)
    with pytest.raises(ProxyServerFailed):
        client.buy(proxy)
    with pytest.raises(ProxyGone):
        client.buy(999)
    bought = client.buy(proxy)
    assert bought.proxy_id == proxy and bought.password and "password" not in repr(bought)
    assert bought.expires_at is not None and bought.server_port
    with pytest.raises(ProxyGone):
        client.buy(proxy)  # sold: gone for everyone else
    assert [b["credentials_id"] for b in client.all_bought(page_size=1)] == [bought.credentials_id]
    assert client.check_refundable(bought.credentials_id) == (False, "proxy is online")
    with pytest.raises(NotRefundable):
        client.refund(bought.credentials_id)
    upstream.set_status(proxy, 0)
    assert client.lookup(proxy)["status"] == 0
    client.refund(bought.credentials_id)
    assert upstream.purchases()[0]["refunded"] is True


def test_reads_are_retried_on_transient_failures_but_a_buy_is_not(upstream):
    proxy = upstream.add_proxy("US")["proxy_id"]
    client = client_of(upstream, retries=2)
    upstream.fail_next("GET", r"/proxy$", 502, times=2)
    assert len(client.list_proxies().proxies) == 1
    assert len(upstream.calls_to("GET", r"/proxy$")) == 3

    upstream.fail_next("GET", r"/proxy/buy$", 500)
    with pytest.raises(UpstreamUnavailable) as failure:
        client.buy(proxy)
    assert failure.value.sent and len(upstream.calls_to("GET", r"/proxy/buy$")) == 1

    slow = client_of(upstream, timeout=0.3, retries=2)
    upstream.delay_next(r"/proxy/buy$", 0.8)
    with pytest.raises(UpstreamUnavailable, match="did not answer in time"):
        slow.buy(proxy)
    assert len(upstream.calls_to("GET", r"/proxy/buy$")) == 2  # never repeated: it may have bought


def test_a_refused_connection_is_retried_even_for_a_buy_and_named_clearly():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    client = SocksUpstreamClient(f"http://127.0.0.1:{port}/api/v1/authorized", "t", timeout=1, retries=1, backoff=0)
    with pytest.raises(UpstreamUnavailable, match="cannot reach") as failure:
        client.buy(1)
    assert failure.value.sent is False
