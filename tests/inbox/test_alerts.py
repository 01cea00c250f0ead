"""Staff alerts: one per cause per ALERT_REPEAT_MINUTES, to the staff chat, with a link to the page that resolves it."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import TelegramMessage
from oxnack_admin.services.ops import queueing
from oxnack_admin.services.proxies import outcome, purchase as purchases, sync
from oxnack_admin.services.crypto import alerts as crypto_alerts
from oxnack_admin.services.support import alerts
from tests.proxies.conftest import customer, settings, stock, upstream  # noqa: F401
from tests.support.config import config_overrides

TG = 6_800_001


def _alerts(chat_id: int) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(TelegramMessage.text).where(TelegramMessage.chat_id == chat_id,
                                                                      TelegramMessage.kind == "staff_alert")
                                   .order_by(TelegramMessage.id)))


def test_a_new_ticket_alerts_the_staff_chat_once_per_cause(deliver, telegram, staff_chat):
    deliver(telegram.user_message(TG, "my <server> is down", username="anna"))
    deliver(telegram.user_message(TG + 1, "and mine", username="boris"))  # another ticket within the window
    deliver(telegram.user_message(TG, "still down", username="anna"))  # the same ticket: no new one
    [text] = [message["text"] for message in telegram.messages(staff_chat)]
    assert "New support ticket" in text and "@anna: my &lt;server&gt; is down" in text
    assert '<a href="http://localhost:7002/console/support/' in text
    assert 1790 < redis_client.ttl("oxnack:alert:new_ticket") <= 1800  # quiet for ALERT_REPEAT_MINUTES (30)


def test_each_cause_alerts_once_until_its_window_ends(app, telegram, staff_chat):
    assert alerts.alert("payment_flagged", "Invoice 1: odd", ("console.invoices_show", {"invoice_id": 1}))
    assert not alerts.alert("payment_flagged", "Invoice 2: odd too", ("console.invoices_show", {"invoice_id": 2}))
    assert alerts.alert("wipe_failed", "Wipe 3 failed", ("console.servers_show", {"server_id": 3}))
    db.session.commit()
    assert [text.splitlines()[1] for text in _alerts(staff_chat)] == ["Invoice 1: odd", "Wipe 3 failed"]
    redis_client.delete("oxnack:alert:payment_flagged")  # the window is over
    assert alerts.alert("payment_flagged", "Invoice 2: odd too", ("console.invoices_show", {"invoice_id": 2}))
    with config_overrides(app, TELEGRAM_STAFF_CHAT_ID=""):
        redis_client.delete("oxnack:alert:wipe_failed")
        assert not alerts.alert("wipe_failed", "nobody to tell")  # no staff chat: no alerts


def test_the_proxy_sync_failing_three_times_running_alerts(app, telegram, staff_chat, upstream):  # noqa: F811
    upstream.fail_next("GET", r"/proxy$", 503, times=100)
    for _ in range(2):
        sync.sync_now()
    assert _alerts(staff_chat) == []
    sync.sync_now()
    [text] = _alerts(staff_chat)
    assert "failed three times running" in text and "HTTP 503" in text and "/console/proxies" in text


def test_a_backed_up_queue_alerts_from_the_sweep(app, telegram, staff_chat):
    with config_overrides(app, ALERT_QUEUE_BACKLOG=3):
        queue = queueing.get_queue(queueing.MAIL)
        for number in range(4):
            queue.enqueue("jobs.mail.send_message", 10_000 + number)
        assert alerts.check_queue_backlog() == [queueing.MAIL]
        queue.empty()
    [text] = _alerts(staff_chat)
    assert "mail: 4 waiting" in text and "/console/jobs" in text


def test_the_upstreams_403_and_a_flagged_proxy_order_alert_with_their_pages(app, telegram, staff_chat,
                                                                             upstream, stock):  # noqa: F811
    products = stock(2)
    user, _ = customer(Decimal("1000.00"))
    upstream.fail_next("GET", r"/proxy/buy$", 403)  # our balance at the upstream
    with pytest.raises(purchases.UpstreamFailed):
        purchases.purchase(user.id, products[0].id)
    order, _ = purchases.reserve(user.id, products[1].id, None)
    outcome.flag(order.id, "the buy's answer was lost and the bought list is unreadable")
    low, flagged = _alerts(staff_chat)
    assert "our balance there is too low (403)" in low and "/console/proxies" in low
    assert f"Proxy order {order.id}: the buy" in flagged and "/console/proxies/orders" in flagged


def test_a_crypto_node_on_another_chain_reaches_the_staff_chat(app, telegram, staff_chat):
    crypto_alerts.alert_staff(crypto_alerts.CHAIN_MISMATCH, "the node is on chain 97, not CRYPTO_CHAIN_ID 56")
    db.session.commit()
    [text] = _alerts(staff_chat)
    assert "another chain" in text and "chain 97" in text and "/console/invoices/crypto" in text
