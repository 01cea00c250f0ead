"""Fixtures of the bot tests: the Bot API simulator over HTTP, the webhook, a real RQ worker."""
import pytest

from oxnack_admin.simulator.telegram import TelegramSimulator
from tests.support.config import config_overrides
# Other suites' loopback systems: a real SMTP server, Platega calling the live app back, the proxy upstream.
from tests.crypto.conftest import chain  # noqa: F401
from tests.jobs.conftest import _keep_signal_handlers, job_config, pfsense, pool, proxmox, smtp, work  # noqa: F401
from tests.lifecycle.conftest import sold, templates  # noqa: F401
from tests.payments.conftest import pay_config, platega  # noqa: F401
from tests.proxies.conftest import settings, stock, upstream  # noqa: F401

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def telegram(app):
    """A Bot API simulator the app's real client talks to."""
    simulator = TelegramSimulator().start()
    with config_overrides(app, TELEGRAM_BOT_TOKEN=simulator.token, TELEGRAM_API_URL=simulator.url,
                          TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_RETRY_INTERVALS=[0, 0], TELEGRAM_TIMEOUT=2,
                          TELEGRAM_INLINE_WAIT_SECONDS=5, MAIL_RETRY_INTERVALS=[0, 0], SMTP_HOST=""):
        yield simulator
    simulator.stop()


@pytest.fixture
def deliver(client, telegram, work):
    """Post an update to the webhook as Telegram does, then let the worker handle it and send the answers."""

    def post(update: dict):
        answer = client.post("/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert answer.status_code == 200 and answer.get_json() == {"ok": True}
        work()
        return answer

    return post
