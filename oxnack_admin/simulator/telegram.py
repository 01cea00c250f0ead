"""A Telegram Bot API stand-in: the methods the app calls, in the real wire format, and a web chat page.

`POST /bot<token>/<method>` answers `{"ok": true, "result": ...}` or Telegram's error shape, checks
what Telegram checks (callback_data at most 64 bytes, texts at most 4,096 characters, the HTML
subset), and records every call with its time in `calls_made`. Faults: `fail_next` (429 with
retry_after, 403, 400, 500), `hang_next` (hold a call past the client's timeout, with or without
having delivered it), `block` (the user blocked the bot). Updates: `user_message` / `user_press`
build them; with a webhook set they are POSTed to it (with the secret header), else getUpdates
serves them. `/` is a chat page where a person writes as a customer and presses the bot's buttons.
"""
import itertools
import threading
import time
from dataclasses import dataclass
from html.parser import HTMLParser

import requests

from . import LoopbackSimulator, Reply
from .telegram_chat import Page, chat_route

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span",
                "tg-spoiler", "blockquote"}
BOT = {"id": 7000000001, "is_bot": True, "first_name": "Oxnack (simulated)", "username": "oxnack_sim_bot"}


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call: method, JSON body, and when it arrived (time.time())."""

    method: str
    body: dict
    at: float


class _HtmlCheck(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.bad: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.bad = tag

    handle_startendtag = handle_starttag


class TelegramSimulator(LoopbackSimulator):
    """Serve a fake Bot API for `token`; `chats[chat_id]` holds the bot's messages as the user sees them."""

    def __init__(self, token: str = "123456:simulated-token", *, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self.token = token
        self.calls_made: list[ApiCall] = []
        self.chats: dict[int, list[dict]] = {}
        self.user_lines: dict[int, list[dict]] = {}  # what each simulated user wrote or pressed
        self.blocked: set[int] = set()
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_answers: list[int | None] = []
        self.sent_at: dict[int, float] = {}  # message_id -> time.time(): `date` is whole seconds, too coarse to order a chat
        self.answered_callbacks: set[str] = set()
        self.sent_callbacks: list[str] = []
        self._faults: list[list] = []  # [method, status, times left, retry_after, description]
        self._hangs: list[list] = []  # [method, seconds, deliver]
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._new_update = threading.Condition(self._lock)

    # --- for tests and the demo -----------------------------------------------------------------

    def fail_next(self, method: str, status: int = 500, times: int = 1, *, retry_after: int | None = None,
                  description: str | None = None) -> None:
        """Answer the next `times` calls of `method` ("*" any) with Telegram's error `status`."""
        with self._lock:
            self._faults.append([method, status, times, retry_after, description])

    def hang_next(self, method: str, seconds: float, *, deliver: bool = False) -> None:
        """Hold the next call of `method` for `seconds`; with `deliver` the message reaches the chat first."""
        with self._lock:
            self._hangs.append([method, seconds, deliver])

    def block(self, chat_id: int) -> None:
        with self._lock:
            self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self.blocked.discard(chat_id)

    def api_calls(self, method: str | None = None) -> list[ApiCall]:
        with self._lock:
            return [call for call in self.calls_made if method is None or call.method == method]

    def messages(self, chat_id: int) -> list[dict]:
        """The bot's messages in this chat as the user sees them now (deleted ones left out)."""
        with self._lock:
            return [dict(m) for m in self.chats.get(chat_id, []) if not m.get("deleted")]

    def last_message(self, chat_id: int) -> dict:
        return self.messages(chat_id)[-1]

    def buttons(self, message: dict) -> dict[str, str]:
        """{button text: callback_data} of one message."""
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        return {button["text"]: button.get("callback_data") for row in rows for button in row}

    def user_message(self, chat_id: int, text: str, *, username: str | None = "customer",
                     language_code: str = "en") -> dict:
        """An update: the user wrote `text`. Delivered to the webhook if one is set; returned either way."""
        sender = {"id": chat_id, "is_bot": False, "first_name": username or "User", "language_code": language_code}
        if username:
            sender["username"] = username
        message = {"message_id": next(self._message_ids), "from": sender, "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private"}, "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        with self._lock:
            self.user_lines.setdefault(chat_id, []).append({"text": text, "at": time.time()})
        return self._new({"message": message})

    def user_press(self, chat_id: int, message: dict, data: str, *, username: str | None = "customer",
                   language_code: str = "en") -> dict:
        """An update: the user pressed the button with `data` under one of the bot's messages."""
        callback_id = f"cb{next(self._callback_ids)}"
        sender = {"id": chat_id, "is_bot": False, "first_name": username or "User", "language_code": language_code}
        if username:
            sender["username"] = username
        with self._lock:
            self.sent_callbacks.append(callback_id)
        query = {"id": callback_id, "from": sender, "chat_instance": str(chat_id), "data": data,
                 "message": {"message_id": message["message_id"], "chat": {"id": chat_id, "type": "private"},
                             "date": int(time.time()), "text": message.get("text", "")}}
        return self._new({"callback_query": query})

    def press(self, chat_id: int, button_text: str, message: dict | None = None, **sender) -> dict:
        """Press the button labelled `button_text` (case aside) on `message` (default: the last one)."""
        message = message or self.last_message(chat_id)
        for text, data in self.buttons(message).items():
            if text.lower() == button_text.lower():
                return self.user_press(chat_id, message, data, **sender)
        raise LookupError(f"no button {button_text!r} in {list(self.buttons(message))}")

    def unanswered_callbacks(self) -> list[str]:
        with self._lock:
            return [cid for cid in self.sent_callbacks if cid not in self.answered_callbacks]

    # --- updates ---------------------------------------------------------------------------------

    def _new(self, body: dict) -> dict:
        with self._lock:
            update = {"update_id": next(self._update_ids), **body}
            webhook, secret = self.webhook_url, self.webhook_secret
            if not webhook:
                self._updates.append(update)
                self._new_update.notify_all()
        if webhook:
            threading.Thread(target=self._push, args=(webhook, secret, update), daemon=True).start()
        return update

    def _push(self, url: str, secret: str | None, update: dict) -> None:
        try:
            status = requests.post(url, json=update, timeout=10,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": secret or ""}).status_code
        except requests.RequestException:
            status = None
        with self._lock:
            self.webhook_answers.append(status)

    def _get_updates(self, params: dict) -> Reply:
        if self.webhook_url:
            return self._error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset")
        wait = min(float(params.get("timeout") or 0), 50)
        deadline = time.monotonic() + wait
        with self._new_update:
            if isinstance(offset, int):
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._new_update.wait(deadline - time.monotonic())
            return self._ok(list(self._updates))

    # --- HTTP ------------------------------------------------------------------------------------

    def error_reply(self, status: int, message: str) -> Reply:
        return self._error(status, message)

    @staticmethod
    def _ok(result) -> Reply:
        return Reply(200, {"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str, retry_after: int | None = None) -> Reply:
        body = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return Reply(code, body)

    def route(self, method, path, params, headers) -> Reply:
        page = chat_route(self, method, path, params)
        if page is not None:
            return page
        prefix = f"/bot{self.token}/"
        if path.startswith("/file/"):
            file_prefix = f"/file/bot{self.token}/"  # the answer names the file, never the token
            return Reply(200, {"file": path[len(file_prefix):]}) if path.startswith(file_prefix) else \
                self._error(404, "Not Found")
        if not path.startswith(prefix):
            return self._error(401, "Unauthorized")
        api_method = path[len(prefix):]
        with self._lock:
            self.calls_made.append(ApiCall(api_method, dict(params), time.time()))
            fault = self._take(self._faults, api_method)
            hang = self._take(self._hangs, api_method)
        if fault is not None:
            _, status, _, retry_after, description = fault
            return self._error(status, description or _DESCRIPTIONS.get(status, "Internal Server Error"),
                               retry_after if status == 429 else None)
        if hang is not None:
            _, seconds, deliver = hang
            reply = self._handle(api_method, params) if deliver else None
            time.sleep(seconds)
            return reply or self._error(502, "Bad Gateway")
        return self._handle(api_method, params)

    @staticmethod
    def _take(entries: list, method: str):
        for entry in entries:
            if entry[0] in (method, "*"):
                if len(entry) == 5:  # a fault: counted down
                    entry[2] -= 1
                    if entry[2] <= 0:
                        entries.remove(entry)
                    return list(entry)
                entries.remove(entry)
                return entry
        return None

    def _handle(self, api_method: str, params: dict) -> Reply:
        handlers = {"getMe": lambda p: self._ok(BOT), "setWebhook": self._set_webhook,
                    "deleteWebhook": self._delete_webhook, "getUpdates": self._get_updates,
                    "sendMessage": self._send_message, "editMessageText": self._edit_message,
                    "deleteMessage": self._delete_message, "answerCallbackQuery": self._answer_callback,
                    "getFile": lambda p: self._ok({"file_id": p.get("file_id"), "file_path": f"files/{p.get('file_id')}"})}
        handler = handlers.get(api_method)
        return handler(params) if handler else self._error(404, "Not Found: method not found")

    def _set_webhook(self, params: dict) -> Reply:
        with self._lock:
            self.webhook_url, self.webhook_secret = params.get("url") or None, params.get("secret_token")
        return self._ok(True)

    def _delete_webhook(self, params: dict) -> Reply:
        with self._lock:
            self.webhook_url = self.webhook_secret = None
        return self._ok(True)

    def _check_text(self, params: dict) -> Reply | None:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        if params.get("parse_mode") == "HTML":
            check = _HtmlCheck()
            check.feed(text)
            if check.bad or ("<" in text and not _balanced(text)):
                return self._error(400, "Bad Request: can't parse entities: unsupported start tag")
        for row in (params.get("reply_markup") or {}).get("inline_keyboard") or []:
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        return None

    def _send_message(self, params: dict) -> Reply:
        chat_id = params.get("chat_id")
        refused = self._check_text(params)
        if refused:
            return refused
        with self._lock:
            if chat_id in self.blocked:
                return self._error(403, "Forbidden: bot was blocked by the user")
            message = {"message_id": next(self._message_ids), "chat": {"id": chat_id, "type": "private"},
                       "date": int(time.time()), "text": params["text"], "from": BOT,
                       "reply_markup": params.get("reply_markup")}
            self.chats.setdefault(chat_id, []).append(message)
            self.sent_at[message["message_id"]] = time.time()
            return self._ok({key: value for key, value in message.items() if value is not None})

    def _edit_message(self, params: dict) -> Reply:
        refused = self._check_text(params)
        if refused:
            return refused
        with self._lock:
            for message in self.chats.get(params.get("chat_id"), []):
                if message["message_id"] == params.get("message_id") and not message.get("deleted"):
                    message["text"], message["reply_markup"] = params["text"], params.get("reply_markup")
                    return self._ok(dict(message))
        return self._error(400, "Bad Request: message to edit not found")

    def _delete_message(self, params: dict) -> Reply:
        with self._lock:
            for message in self.chats.get(params.get("chat_id"), []):
                if message["message_id"] == params.get("message_id") and not message.get("deleted"):
                    message["deleted"] = True
                    return self._ok(True)
        return self._error(400, "Bad Request: message to delete not found")

    def _answer_callback(self, params: dict) -> Reply:
        with self._lock:
            callback_id = params.get("callback_query_id")
            if callback_id not in self.sent_callbacks:
                return self._error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
            self.answered_callbacks.add(callback_id)
        return self._ok(True)

    @staticmethod
    def _send(handler, reply: Reply) -> None:
        if not isinstance(reply, Page):
            return LoopbackSimulator._send(handler, reply)
        payload = reply.body.encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


_DESCRIPTIONS = {400: "Bad Request", 403: "Forbidden: bot was blocked by the user",
                 429: "Too Many Requests: retry later", 500: "Internal Server Error"}


def _balanced(text: str) -> bool:
    """Every '<' opens a tag (an unescaped '<' in a customer's words is what Telegram refuses)."""
    depth = 0
    for part in text.split("<")[1:]:
        if ">" not in part or not part[:1].strip() or part[0] in " 0123456789=":
            return False
        depth += -1 if part.startswith("/") else 1
    return depth == 0

