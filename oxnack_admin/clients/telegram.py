"""The Telegram Bot API as the app uses it: `POST <url>/bot<token>/<method>` with a JSON body.

Plain `requests` (as the other clients): the app uses a dozen methods, and a bot library would
bring its own event loop, its own retries and its own update dispatch, all of which the outbox
and the RQ jobs already do. Failures come back typed, so the outbox decides what to do with each.
"""
from dataclasses import dataclass

import requests

from .errors import PermanentRemoteError, short, transport_error

SYSTEM = "Telegram"


class TelegramError(Exception):
    """Base of the Bot API failures; `retryable` tells the job whether to try again."""

    retryable = False

    def __init__(self, message: str, error_code: int | None = None):
        super().__init__(message)
        self.message, self.error_code = message, error_code


class RateLimited(TelegramError):
    """429: wait `retry_after` seconds, then send the same request again."""

    retryable = True

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, 429)
        self.retry_after = retry_after


class Unreachable(TelegramError):
    """403: the user blocked the bot or is deactivated; nothing more goes to that chat."""


class BadRequest(TelegramError):
    """400: the request itself is wrong (a message to edit is gone, a text too long); never retried."""


class Unavailable(TelegramError):
    """5xx, a timeout, a reset: Telegram may take it later."""

    retryable = True


@dataclass
class BotApi:
    url: str
    token: str
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config, timeout: float | None = None) -> "BotApi":
        if not config.get("TELEGRAM_BOT_TOKEN"):
            raise PermanentRemoteError("the Telegram bot is off (TELEGRAM_BOT_TOKEN is empty)")
        return cls(config["TELEGRAM_API_URL"].rstrip("/"), config["TELEGRAM_BOT_TOKEN"],
                   timeout if timeout is not None else float(config["TELEGRAM_TIMEOUT"]))

    def call(self, method: str, body: dict | None = None, timeout: float | None = None):
        """One Bot API call; the `result` on success, a TelegramError subclass otherwise."""
        try:
            answer = requests.post(f"{self.url}/bot{self.token}/{method}", json=body or {},
                                   timeout=timeout or self.timeout)
        except requests.exceptions.RequestException as exc:
            # The token is in the URL: name the method, never the address.
            raise Unavailable(transport_error(exc, SYSTEM, "the Bot API", method).message) from None
        try:
            data = answer.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if answer.status_code == 200 and data.get("ok") is True:
            return data.get("result")
        code = data.get("error_code") or answer.status_code
        text = short(f"{method}: {code} {data.get('description') or answer.reason or ''}", 300)
        if code == 429:
            parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
            retry_after = parameters.get("retry_after")
            raise RateLimited(text, int(retry_after) if isinstance(retry_after, (int, float)) else 1)
        if code == 403:
            raise Unreachable(text, 403)
        if code >= 500 or code in (408, 409) or answer.status_code >= 500:
            raise Unavailable(text, code)
        raise BadRequest(text, code)

    # --- the methods the app uses ----------------------------------------------------------------

    def get_me(self) -> dict:
        return self.call("getMe")

    def set_webhook(self, url: str, secret_token: str, allowed_updates=("message", "callback_query")) -> bool:
        return self.call("setWebhook", {"url": url, "secret_token": secret_token,
                                        "allowed_updates": list(allowed_updates)})

    def delete_webhook(self) -> bool:
        return self.call("deleteWebhook")

    def get_updates(self, offset: int | None, timeout: int, allowed_updates=("message", "callback_query")) -> list:
        body = {"timeout": timeout, "allowed_updates": list(allowed_updates)}
        if offset is not None:
            body["offset"] = offset
        return self.call("getUpdates", body, timeout=timeout + self.timeout)

    def send_message(self, chat_id: int, text: str, reply_markup: dict | None = None) -> dict:
        body = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
        if reply_markup:
            body["reply_markup"] = reply_markup
        return self.call("sendMessage", body)

    def edit_message_text(self, chat_id: int, message_id: int, text: str, reply_markup: dict | None = None):
        body = {"chat_id": chat_id, "message_id": message_id, "text": text, "parse_mode": "HTML"}
        if reply_markup:
            body["reply_markup"] = reply_markup
        return self.call("editMessageText", body)

    def delete_message(self, chat_id: int, message_id: int) -> bool:
        return self.call("deleteMessage", {"chat_id": chat_id, "message_id": message_id})

    def answer_callback_query(self, callback_query_id: str, text: str | None = None) -> bool:
        body = {"callback_query_id": callback_query_id}
        if text:
            body["text"] = text[:200]  # Telegram's limit for a callback answer
        return self.call("answerCallbackQuery", body)

    def get_file(self, file_id: str) -> dict:
        return self.call("getFile", {"file_id": file_id})

    def download_file(self, file_path: str) -> bytes:
        try:
            answer = requests.get(f"{self.url}/file/bot{self.token}/{file_path}", timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise Unavailable(transport_error(exc, SYSTEM, "the Bot API", "file").message) from None
        if answer.status_code != 200:
            raise (Unavailable if answer.status_code >= 500 else BadRequest)(f"file: {answer.status_code}")
        return answer.content

    def open_file(self, file_path: str, chunk_size: int = 64 * 1024):
        """Stream a file getFile named: (chunks, size or None). The URL holds the token: never shown to anyone."""
        try:
            answer = requests.get(f"{self.url}/file/bot{self.token}/{file_path}", timeout=self.timeout, stream=True)
        except requests.exceptions.RequestException as exc:
            raise Unavailable(transport_error(exc, SYSTEM, "the Bot API", "file").message) from None
        if answer.status_code != 200:
            answer.close()
            raise (Unavailable if answer.status_code >= 500 else BadRequest)(f"file: {answer.status_code}")

        def chunks():
            with answer:
                yield from answer.iter_content(chunk_size)

        size = answer.headers.get("Content-Length")
        return chunks(), int(size) if size and size.isdigit() else None
