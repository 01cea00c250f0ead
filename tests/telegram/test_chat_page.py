"""The simulator's chat page: the page itself, and a conversation through it over the app's real webhook."""
import time

import requests

from tests.telegram.conftest import SECRET

CHAT = 4501


def _wait_for(condition, what: str):
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _conversation(telegram) -> list[dict]:
    answer = requests.get(f"{telegram.url}/chat/api/messages", params={"chat_id": CHAT}, timeout=5)
    assert answer.status_code == 200
    return answer.json()["messages"]


def test_the_chat_page_shows_the_bot_id_never_the_token_secret(telegram):
    page = requests.get(f"{telegram.url}/", timeout=5)
    bot_id, _, token_secret = telegram.token.partition(":")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert f"Simulated Telegram (bot {bot_id})" in page.text and token_secret not in page.text
    assert requests.get(f"{telegram.url}/chat/api/messages", params={"chat_id": "x"}, timeout=5).status_code == 400
    assert requests.post(f"{telegram.url}/chat/api/send", json={"chat_id": CHAT, "text": " "}, timeout=5).status_code == 404


def test_a_conversation_on_the_chat_page_goes_through_the_webhook(telegram, work, live_server_url):
    telegram.webhook_url, telegram.webhook_secret = f"{live_server_url}/telegram/webhook", SECRET
    who = {"chat_id": CHAT, "username": "pageuser", "language_code": "en"}
    assert requests.post(f"{telegram.url}/chat/api/send", json={**who, "text": "/start"}, timeout=5).ok
    _wait_for(lambda: telegram.webhook_answers, "the webhook's answer")
    assert telegram.webhook_answers == [200]
    work()
    user_line, bot_line = _conversation(telegram)
    assert (user_line["who"], user_line["text"]) == ("user", "/start")
    assert bot_line["who"] == "bot" and "Link it, or open a new one" in bot_line["text"]
    buttons = {b["text"]: b["data"] for row in bot_line["buttons"] for b in row}
    assert requests.post(f"{telegram.url}/chat/api/press", timeout=5, json={
        **who, "message_id": bot_line["message_id"], "data": buttons["New account"]}).ok
    _wait_for(lambda: len(telegram.webhook_answers) == 2, "the press to reach the webhook")
    work()
    assert "Your account is open" in _conversation(telegram)[-1]["text"]
    assert telegram.unanswered_callbacks() == []
