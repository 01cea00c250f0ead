"""`make run` simulates only what is not configured: scripts/devstack.py started as an operator starts it."""
import os
import re

import pytest
import redis
import requests

from oxnack_admin import create_app
from oxnack_admin.cli.make_run import (
    given_non_empty,
    simulate_unconfigured,
    unconfigured,
)
from oxnack_admin.settings import ConfigurationError
from oxnack_admin.simulator.platega import PlategaSimulator
from oxnack_admin.simulator.socks_upstream import SocksUpstreamSimulator
from tests.support.make_run import make_run, wait_until
from tests.support.servers import fresh_database

DEMO_CUSTOMER = {"mail": "demo@oxnack.local", "passwd": "DemoPass1"}
BANNERS = {"hypervisor": "Proxmox and pfSense are loopback stand-ins",
           "platega": "The payment gateway is a simulated Platega",
           "socks_upstream": "The proxy upstream is simulated",
           "bsc": "The BNB Smart Chain node and its rates are simulated"}


@pytest.fixture(scope="module")
def make_run_database(postgres_url):
    """One database for this module's runs: the second run migrates and seeds it again, as a restart does."""
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture
def make_run_redis(redis_url):
    yield redis_url
    redis.Redis.from_url(redis_url).flushdb()  # make run's queues and schedules stay out of the next test


@pytest.fixture
def gateway():
    with PlategaSimulator(merchant_id="operators-merchant", secret="operators-secret") as fake:
        yield fake


@pytest.fixture
def upstream():
    fake = SocksUpstreamSimulator(token="operators-socks-token")
    fake.seed(5)
    with fake:
        yield fake


def signed_in(running) -> requests.Session:
    session = requests.Session()
    answer = session.post(f"{running.url}/login", json=DEMO_CUSTOMER, timeout=10)
    assert answer.status_code == 200, answer.text
    return session


def banner(running) -> str:
    page = requests.get(f"{running.url}/console/login", timeout=10).text
    found = re.search(r'<div class="simulator-banner"[^>]*>(.*?)</div>', page, re.DOTALL)
    return found.group(1) if found else ""


def test_configured_gateway_and_upstream_are_used_and_only_the_hypervisor_is_simulated(
        tmp_path, make_run_database, make_run_redis, gateway, upstream):
    with make_run(tmp_path, make_run_database, make_run_redis,
                  OXNACK_PLATEGA_URL=gateway.url, OXNACK_PLATEGA_MERCHANT_ID="operators-merchant",
                  OXNACK_PLATEGA_SECRET="operators-secret",
                  OXNACK_SOCKS_API_URL=upstream.api_url, OXNACK_SOCKS_API_TOKEN="operators-socks-token") as running:
        simulated = "Proxmox and pfSense, the Telegram Bot API, the BNB Smart Chain node"
        assert running.logged("simulated systems:") == simulated
        assert "Platega" in running.logged("configured systems, used as given:")
        assert f"Oxnack Admin is up (simulated: {simulated};" in running.log()
        shown = banner(running)
        assert BANNERS["hypervisor"] in shown
        assert BANNERS["platega"] not in shown and BANNERS["socks_upstream"] not in shown

        customer = signed_in(running)
        topup = customer.post(f"{running.url}/create_invoice", json={"amount": 500}, timeout=30)
        assert topup.status_code == 201, topup.text
        created = [call for call in gateway.requests if call["path"] == "/transaction/process"]
        assert len(created) == 1 and created[0]["headers"]["X-MerchantId"] == "operators-merchant"
        assert gateway.transaction(topup.json()["transaction_id"])["paymentDetails"]["amount"] == 500

        # The scheduler's first inventory sync reads the operator's upstream; its proxies go on sale.
        on_sale = wait_until(
            lambda: customer.get(f"{running.url}/api/external-proxy/list", timeout=10).json()["proxies"],
            None, running, "the proxies of the configured upstream to be on sale")
        assert all(upstream.proxy(int(proxy["proxy_id"])) for proxy in on_sale)
        bought = customer.post(f"{running.url}/api/external-proxy/purchase",
                               json={"product_id": on_sale[0]["product_id"]}, timeout=30)
        assert bought.status_code == 200, bought.text
        wait_until(upstream.purchases, None, running, "the purchase at the configured upstream")
        assert upstream.calls_to("GET", r"/proxy/buy$")


def test_with_nothing_configured_every_remote_system_is_simulated_and_named(
        tmp_path, make_run_database, make_run_redis):
    with make_run(tmp_path, make_run_database, make_run_redis) as running:
        assert running.logged("simulated systems:") == ("Proxmox and pfSense, Platega, the proxy upstream, "
                                                        "the Telegram Bot API, the BNB Smart Chain node")
        assert "configured systems" not in running.log()
        shown = banner(running)
        assert all(sentence in shown for sentence in BANNERS.values()), shown

        # The banner links the Telegram simulator's chat page: a newcomer writes there, the simulator posts the
        # update to the app's webhook, the worker handles it and the bot's answer (with buttons) comes back.
        chat = re.search(r'<a href="(http://[^"]+)/"[^>]*>Open the chat page</a>', shown).group(1)
        assert f"chat page {chat}/ talks to the bot" in running.log()
        assert "Simulated Telegram" in requests.get(f"{chat}/", timeout=10).text
        newcomer = {"chat_id": 700001, "username": "newcomer", "language_code": "en"}
        assert requests.post(f"{chat}/chat/api/send", json={**newcomer, "text": "/start"}, timeout=10).ok

        def bot_said(fragment: str):
            conversation = requests.get(f"{chat}/chat/api/messages", params={"chat_id": 700001}, timeout=10).json()
            return next((m for m in conversation["messages"] if m["who"] == "bot" and fragment in m["text"]), None)

        welcome = wait_until(lambda: bot_said("open a new one"), None, running, "the bot's welcome in the chat")
        buttons = {b["text"]: b["data"] for row in welcome["buttons"] for b in row}
        assert {"Link account", "New account"} <= set(buttons)
        assert requests.post(f"{chat}/chat/api/press", timeout=10, json={
            **newcomer, "message_id": welcome["message_id"], "data": buttons["New account"]}).ok
        wait_until(lambda: bot_said("Your account is open"), None, running, "the new account's answer")

        simulated_platega = re.search(r"simulated Platega at (http://\S+):", running.log()).group(1)
        customer = signed_in(running)
        topup = customer.post(f"{running.url}/create_invoice", json={"amount": 500}, timeout=30)
        assert topup.status_code == 201, topup.text
        assert topup.json()["redirect"].startswith(simulated_platega)

        # A crypto top-up paid on the simulated chain's page is credited once its block is confirmed.
        chain = re.search(r"BNB Smart Chain node at (http://\S+) ", running.log()).group(1)
        crypto = customer.post(f"{running.url}/create_crypto_invoice", json={"amount": 925, "asset": "USDT"}, timeout=30)
        assert crypto.status_code == 201, crypto.text
        paid = requests.post(f"{chain}/pay", data={"to": crypto.json()["address"], "asset": "USDT", "amount": "10"},
                             allow_redirects=False, timeout=10)
        assert paid.status_code == 303
        invoice_url = f"{running.url}/crypto_invoice?invoice_id={crypto.json()['invoice_id']}"
        wait_until(lambda: customer.get(invoice_url, timeout=10).json()["credited"] == "925.00", None, running,
                   "the crypto top-up to be credited", timeout=120)


def operator_app(monkeypatch, tmp_path, instance: str = "", **environment: str):
    """An app configured as an operator configures one: an instance config file, then OXNACK_* variables."""
    for name in [name for name in os.environ if name.startswith("OXNACK_")]:
        monkeypatch.delenv(name)
    config = tmp_path / "config.py"
    config.write_text('OXNACK_ENV = "development"\n' + instance)
    monkeypatch.setenv("OXNACK_CONFIG", str(config))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return create_app()


def simulated_keys(app) -> list[str]:
    return [system.key for system in unconfigured(given_non_empty(app))]


def test_a_system_named_in_the_instance_config_file_is_configured_as_one_named_in_the_environment(
        monkeypatch, tmp_path):
    app = operator_app(monkeypatch, tmp_path, 'PLATEGA_URL = "https://pay.example"\nHYPERVISOR = "simulator"\n',
                       OXNACK_SOCKS_API_URL="https://proxies.example/api/v1/authorized")
    assert simulated_keys(app) == ["hypervisor", "telegram", "bsc"]


def test_a_configured_bot_api_is_used_and_not_simulated(monkeypatch, tmp_path):
    app = operator_app(monkeypatch, tmp_path, OXNACK_TELEGRAM_API_URL="https://api.telegram.org")
    assert "telegram" not in simulated_keys(app)


def test_the_environment_names_the_real_hypervisor_over_the_files_simulator(monkeypatch, tmp_path):
    app = operator_app(monkeypatch, tmp_path, 'HYPERVISOR = "simulator"\n', OXNACK_HYPERVISOR="proxmox")
    assert simulated_keys(app) == ["platega", "socks_upstream", "telegram", "bsc"]


def test_a_default_or_an_empty_value_configures_nothing(monkeypatch, tmp_path):
    app = operator_app(monkeypatch, tmp_path, OXNACK_PLATEGA_URL="", OXNACK_SOCKS_API_URL="")
    assert app.config["PLATEGA_URL"] == "" and simulated_keys(app) == ["hypervisor", "platega", "socks_upstream",
                                                                                "telegram", "bsc"]


def test_a_stand_in_never_replaces_a_configured_value(monkeypatch, tmp_path):
    app = operator_app(monkeypatch, tmp_path, OXNACK_HYPERVISOR="proxmox", OXNACK_PLATEGA_SECRET="operators-secret")
    with app.app_context(), pytest.raises(ConfigurationError) as refused:
        simulate_unconfigured(app, site_url="http://127.0.0.1:9")
    message = str(refused.value)
    assert "Platega" in message and "PLATEGA_SECRET" in message and "OXNACK_PLATEGA_URL" in message
    assert "operators-secret" not in message
