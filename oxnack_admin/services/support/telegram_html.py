"""Telegram's HTML subset: a newsletter is checked before it is saved, and turned into plain text for mail."""
import html
import re
from html.parser import HTMLParser

MAX_TEXT = 4096  # Telegram's limit, counted on the text without its tags
TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span", "tg-spoiler",
        "blockquote"}
ENTITIES = {"lt", "gt", "amp", "quot"}  # the only named ones Telegram knows
_LINK = re.compile(r"^(https?://|tg://|mailto:)\S+$", re.IGNORECASE)
_BARE_LT = re.compile(r"<(?![a-zA-Z/])")


class _Check(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.errors: list[str] = []
        self.open: list[str] = []
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag not in TAGS:
            self.errors.append(f"<{tag}> is not in Telegram's HTML")
        elif tag == "a" and not _LINK.match(attributes.get("href") or ""):
            self.errors.append("a link needs href=\"https://...\" (or tg:// or mailto:)")
        elif tag == "span" and attributes != {"class": "tg-spoiler"}:
            self.errors.append("<span> is only allowed as <span class=\"tg-spoiler\">")
        elif tag == "a" and set(attributes) != {"href"}:
            self.errors.append("<a> takes only href")
        elif tag == "code" and attrs and not (set(attributes) == {"class"}
                                              and re.fullmatch(r"language-[\w+-]+", attributes["class"] or "")):
            self.errors.append("<code> takes only class=\"language-...\"")
        elif tag == "blockquote" and attrs and attributes != {"expandable": None}:
            self.errors.append("<blockquote> takes only expandable")
        elif tag not in ("a", "span", "code", "blockquote") and attrs:
            self.errors.append(f"<{tag}> takes no attributes")
        self.open.append(tag)
        if tag == "a":
            self.links.append(attributes.get("href") or "")

    def handle_startendtag(self, tag, attrs):
        self.errors.append(f"<{tag}/> is not in Telegram's HTML")

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes nothing open (tags must nest)")
            return
        self.open.pop()
        if tag == "a" and self.links:
            self.text.append(f" ({self.links.pop()})")

    def handle_data(self, data):
        self.text.append(data)

    def handle_entityref(self, name):
        if name not in ENTITIES:
            self.errors.append(f"&{name}; is not an entity Telegram knows (use &amp;lt; &amp;gt; &amp;amp; &amp;quot;)")
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name):
        self.text.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data):
        self.errors.append("comments are not allowed")


def problems(body: str) -> list[str]:
    """What Telegram would refuse in this text; empty when it can be sent."""
    if not (body or "").strip():
        return ["The message is empty."]
    check = _Check()
    if _BARE_LT.search(body):
        check.errors.append("a bare < must be written &lt;")
    check.feed(body)
    check.close()
    if check.open:
        check.errors.append(f"<{check.open[-1]}> is never closed")
    length = len("".join(check.text))
    if length > MAX_TEXT:
        check.errors.append(f"{length} characters without tags; Telegram takes at most {MAX_TEXT}")
    return list(dict.fromkeys(check.errors))


def plain_text(body: str) -> str:
    """The same message for mail: tags dropped, entities read, links written out after their words."""
    check = _Check()
    check.feed(body)
    check.close()
    return "".join(check.text).strip()
