"""GET /metrics counts Telegram messages by outcome, from the job processes that send them (via Redis)."""
from prometheus_client.parser import text_string_to_metric_families

from oxnack_admin.extensions import db
from oxnack_admin.services.telegram import outbox


def _telegram_outcomes(client) -> dict[str, float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {sample.labels["outcome"]: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == "oxnack_telegram_messages_total"}


def test_messages_are_counted_by_outcome(app, client, telegram, work):
    assert _telegram_outcomes(client) == {"sent": 0, "retried": 0, "blocked": 0, "failed": 0, "uncertain": 0}
    telegram.fail_next("sendMessage", 500, times=1)  # one retry, then sent
    outbox.queue_message(5101, "first")
    db.session.commit()
    work("telegram")
    telegram.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    outbox.queue_message(5102, "refused")
    telegram.block(5103)
    outbox.queue_message(5103, "to a user who blocked the bot")
    outbox.queue_message(5103, "and another one: its chat is now known unreachable")
    db.session.commit()
    work("telegram")
    assert _telegram_outcomes(client) == {"sent": 1, "retried": 1, "blocked": 2, "failed": 1, "uncertain": 0}
