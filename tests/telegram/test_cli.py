"""`flask telegram-webhook set|delete` and `flask telegram-poll`: the exact Bot API calls, a bounded poll."""
import requests
from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import TelegramUpdate
from tests.support.config import config_overrides
from tests.telegram.conftest import SECRET

ALLOWED = ["message", "callback_query"]
URL = "https://api.example.test/telegram/webhook"


def test_the_webhook_is_set_with_the_secret_and_deleted(runner, telegram):
    result = runner.invoke(args=["telegram-webhook", "set", URL])
    assert result.exit_code == 0 and f"webhook set to {URL}" in result.output
    result = runner.invoke(args=["telegram-webhook", "delete"])
    assert result.exit_code == 0 and "webhook deleted" in result.output
    assert [(call.method, call.body) for call in telegram.api_calls()] == [
        ("setWebhook", {"url": URL, "secret_token": SECRET, "allowed_updates": ALLOWED}),
        ("deleteWebhook", {})]
    assert telegram.webhook_url is None


def test_set_refuses_without_a_url_or_a_secret_and_reports_telegrams_refusal(runner, telegram, app):
    assert runner.invoke(args=["telegram-webhook", "set"]).exit_code == 2
    with config_overrides(app, TELEGRAM_WEBHOOK_SECRET=""):
        result = runner.invoke(args=["telegram-webhook", "set", URL])
    assert result.exit_code == 1 and "TELEGRAM_WEBHOOK_SECRET is empty" in result.output
    assert telegram.api_calls() == []
    telegram.fail_next("setWebhook", 400, description="Bad Request: bad webhook: HTTPS url must be provided")
    result = runner.invoke(args=["telegram-webhook", "set", "http://plain.example.test/hook"])
    assert result.exit_code == 1 and "HTTPS url must be provided" in result.output
    assert telegram.webhook_url is None


def test_a_bounded_poll_queues_each_update_once_and_confirms_the_offset(runner, telegram, work, app):
    first, second = telegram.user_message(4401, "/start"), telegram.user_message(4402, "/start")
    with config_overrides(app, TELEGRAM_POLL_TIMEOUT=7):
        result = runner.invoke(args=["telegram-poll", "--max-updates", "2"])
    assert result.exit_code == 0 and "2 updates" in result.output, result.output
    last = second["update_id"]
    assert [(call.method, call.body) for call in telegram.api_calls("getUpdates")] == [
        ("getUpdates", {"timeout": 7, "allowed_updates": ALLOWED}),
        ("getUpdates", {"offset": last + 1, "timeout": 0, "allowed_updates": ALLOWED})]
    assert db.session.scalar(select(func.count()).select_from(TelegramUpdate)) == 2
    work()
    assert "Link account" in telegram.buttons(telegram.last_message(4401))
    assert "Link account" in telegram.buttons(telegram.last_message(4402))
    # Confirmed: the next poller gets nothing again, and nothing is answered twice.
    result = runner.invoke(args=["telegram-poll", "--once"])
    assert result.exit_code == 0 and "0 updates" in result.output
    assert telegram.api_calls("getUpdates")[-1].body == {"timeout": 0, "allowed_updates": ALLOWED}
    work()
    assert len(telegram.api_calls("sendMessage")) == 2 and first["update_id"] < last


def test_poll_with_a_webhook_set_reports_the_conflict(runner, telegram):
    requests.post(f"{telegram.url}/bot{telegram.token}/setWebhook", json={"url": URL}, timeout=5)
    result = runner.invoke(args=["telegram-poll", "--once"])
    assert result.exit_code == 1 and "409" in result.output
