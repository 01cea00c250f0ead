"""The outbox against the simulator: exact calls, 429 with retry_after, 403, 400, 500 and a hang."""
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import TelegramChat, TelegramMessage
from oxnack_admin.models.enums import TelegramMessageState as State
from oxnack_admin.services.telegram import outbox

CHAT = 424242


def _queue(text="Hello <b>there</b>", **options) -> int:
    message = outbox.queue_message(CHAT, text, **options)
    db.session.commit()
    return message.id


def _row(message_id: int) -> TelegramMessage:
    db.session.expire_all()
    return db.session.get(TelegramMessage, message_id)


def test_a_message_is_sent_once_with_the_exact_call(app, telegram, work):
    message_id = _queue(reply_markup={"inline_keyboard": [[{"text": "Buy", "callback_data": "p:b:1"}]]})
    work("telegram")
    [call] = telegram.api_calls("sendMessage")
    assert call.body == {"chat_id": CHAT, "text": "Hello <b>there</b>", "parse_mode": "HTML",
                         "reply_markup": {"inline_keyboard": [[{"text": "Buy", "callback_data": "p:b:1"}]]}}
    row = _row(message_id)
    assert row.state == State.SENT and row.tg_message_id == telegram.last_message(CHAT)["message_id"]
    outbox.deliver(message_id)  # a repeat of the job sends nothing
    assert len(telegram.api_calls("sendMessage")) == 1


def test_429_waits_retry_after_then_sends_the_same_message(app, telegram, work):
    telegram.fail_next("sendMessage", 429, retry_after=1)
    message_id = _queue()
    work("telegram")
    first, second = telegram.api_calls("sendMessage")
    assert first.body == second.body
    assert second.at - first.at >= 1  # it waited retry_after (a lower bound, never an upper one)
    assert _row(message_id).state == State.SENT
    assert len(telegram.messages(CHAT)) == 1


def test_403_marks_the_chat_unreachable_and_later_messages_are_recorded_not_sent(app, telegram, work):
    telegram.block(CHAT)
    first = _queue()
    work("telegram")
    assert _row(first).state == State.UNDELIVERED
    assert db.session.get(TelegramChat, CHAT).blocked_at is not None
    second = _queue("later")
    work("telegram")
    assert _row(second).state == State.UNDELIVERED
    assert len(telegram.api_calls("sendMessage")) == 1  # nothing more went there


def test_400_is_recorded_and_not_retried(app, telegram, work):
    message_id = _queue("<script>not telegram html</script>")
    work("telegram")
    row = _row(message_id)
    assert row.state == State.FAILED and "can't parse entities" in row.last_error
    assert len(telegram.api_calls("sendMessage")) == 1


def test_500_is_retried_until_telegram_takes_it(app, telegram, work):
    telegram.fail_next("sendMessage", 500, times=2)
    message_id = _queue()
    work("telegram")
    assert len(telegram.api_calls("sendMessage")) == 3
    assert _row(message_id).state == State.SENT


def test_telegram_down_for_longer_than_the_retries_keeps_the_message_and_the_sweep_sends_it(app, telegram, work):
    telegram.fail_next("sendMessage", 502, times=3)
    message_id = _queue()
    work("telegram")
    assert _row(message_id).state == State.QUEUED  # never lost
    assert outbox.requeue_stale(older_than_minutes=0)["requeued"] == [message_id]
    work("telegram")
    assert _row(message_id).state == State.SENT
    assert len(telegram.messages(CHAT)) == 1


def test_a_hang_times_out_and_the_message_is_sent_on_the_retry(app, telegram, work):
    telegram.hang_next("sendMessage", 3)  # longer than TELEGRAM_TIMEOUT; the hung call never reached the chat
    message_id = _queue()
    work("telegram")
    assert len(telegram.api_calls("sendMessage")) == 2
    assert _row(message_id).state == State.SENT
    assert len(telegram.messages(CHAT)) == 1


def test_a_row_found_sending_is_never_sent_again(app, telegram, work):
    message_id = _queue()
    row = _row(message_id)
    row.state = State.SENDING  # a worker died after handing it over
    db.session.commit()
    outbox.deliver(message_id)
    assert telegram.api_calls("sendMessage") == []
    assert outbox.requeue_stale(older_than_minutes=0)["uncertain"] == [message_id]
    work("telegram")
    assert telegram.api_calls("sendMessage") == [] and _row(message_id).state == State.UNCERTAIN


def test_a_secret_is_sealed_at_rest_blanked_once_sent_and_deleted_from_the_chat_when_due(app, telegram, work):
    message_id = outbox.queue_message(CHAT, "Root password: <code>s3cret</code>", secret=True,
                                      delete_after_minutes=60).id
    db.session.commit()
    assert "s3cret" not in _row(message_id).text
    work("telegram")
    row = _row(message_id)
    assert row.state == State.SENT and row.text == outbox.REDACTED
    assert "s3cret" in telegram.api_calls("sendMessage")[0].body["text"]
    assert outbox.delete_due_secrets() == []  # not yet
    db.session.execute(TelegramMessage.__table__.update().values(delete_after=row.sent_at))
    db.session.commit()
    assert outbox.delete_due_secrets() == [message_id]
    [call] = telegram.api_calls("deleteMessage")
    assert call.body == {"chat_id": CHAT, "message_id": row.tg_message_id}
    assert telegram.messages(CHAT) == []
    assert db.session.scalar(select(TelegramMessage.deleted_at).where(TelegramMessage.id == message_id))
