"""The Telegram simulator's chat page: a person writes as a customer and presses the bot's buttons."""
import html
from dataclasses import dataclass, field

from . import Reply


@dataclass
class Page(Reply):
    """An HTML page for a person's browser."""

    headers: dict = field(default_factory=dict)


def chat_route(simulator, method: str, path: str, params: dict) -> Reply | None:
    """The page and its three JSON calls; None for any other path (the Bot API)."""
    if path in ("/", "/chat") and method == "GET":
        return Page(200, _PAGE.replace("{{BOT}}", html.escape(simulator.token.split(":")[0])))
    if not path.startswith("/chat/api/"):
        return None
    try:
        chat_id = int(params.get("chat_id"))
    except (TypeError, ValueError):
        return Reply(400, {"error": "chat_id must be a number"})
    action = path[len("/chat/api/"):]
    sender = {"username": str(params.get("username") or "customer")[:32],
              "language_code": str(params.get("language_code") or "en")[:8]}
    if action == "messages" and method == "GET":
        return Reply(200, {"messages": _conversation(simulator, chat_id)})
    if action == "send" and method == "POST" and str(params.get("text") or "").strip():
        simulator.user_message(chat_id, str(params["text"])[:4096], **sender)
        return Reply(200, {"ok": True})
    if action == "press" and method == "POST":
        simulator.user_press(chat_id, {"message_id": params.get("message_id")}, str(params.get("data")), **sender)
        return Reply(200, {"ok": True})
    return Reply(404, {"error": "not found"})


def _conversation(simulator, chat_id: int) -> list[dict]:
    bot = [{"who": "bot", "at": simulator.sent_at.get(message["message_id"], message["date"]), "message_id": message["message_id"], "text": message["text"],
            "buttons": [[{"text": b["text"], "data": b.get("callback_data")} for b in row]
                        for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []]}
           for message in simulator.messages(chat_id)]
    with simulator._lock:
        user = [{"who": "user", "at": line["at"], "text": line["text"]} for line in simulator.user_lines.get(chat_id, [])]
    return sorted(bot + user, key=lambda entry: entry["at"])


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Simulated Telegram chat</title>
<style>body{font:15px system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem}
#log{border:1px solid #ccd;border-radius:8px;padding:.5rem;height:60vh;overflow-y:auto;background:#eef3f8}
.m{margin:.4rem 0;padding:.4rem .6rem;border-radius:8px;max-width:85%;white-space:pre-wrap}
.bot{background:#fff}.user{background:#d8f5c8;margin-left:auto}.kb button{margin:.2rem}
.banner{background:#fff1d6;padding:.5rem 1rem;border-radius:6px}form{display:flex;gap:.5rem;margin-top:.5rem}
input[name=text]{flex:1}</style></head><body>
<p class="banner">Simulated Telegram (bot {{BOT}}): you write as a customer; nothing goes to the real Telegram.</p>
<p>Your Telegram id <input id="chat" value="100001" size="10"> username <input id="user" value="customer" size="10">
language <select id="lang"><option>en</option><option>ru</option></select></p>
<div id="log"></div>
<form id="f"><input name="text" placeholder="/start" autocomplete="off"><button>Send</button></form>
<script>
const log=document.getElementById('log'),chat=()=>document.getElementById('chat').value;
const who=()=>({chat_id:chat(),username:document.getElementById('user').value,
  language_code:document.getElementById('lang').value});
async function post(path,body){await fetch(path,{method:'POST',headers:{'Content-Type':'application/json'},
  body:JSON.stringify(Object.assign(who(),body))});setTimeout(load,300)}
async function load(){const r=await fetch('/chat/api/messages?chat_id='+encodeURIComponent(chat()));
  const data=await r.json();log.innerHTML='';
  for(const m of data.messages){const d=document.createElement('div');d.className='m '+m.who;
    d.innerHTML=m.who==='bot'?m.text:'';if(m.who!=='bot')d.textContent=m.text;
    for(const row of (m.buttons||[])){const k=document.createElement('div');k.className='kb';
      for(const b of row){const btn=document.createElement('button');btn.textContent=b.text;
        btn.onclick=()=>post('/chat/api/press',{message_id:m.message_id,data:b.data});k.appendChild(btn)}
      d.appendChild(k)}
    log.appendChild(d)}
  log.scrollTop=log.scrollHeight}
document.getElementById('f').onsubmit=e=>{e.preventDefault();const t=e.target.text;post('/chat/api/send',{text:t.value});t.value=''};
setInterval(load,1500);load();
</script></body></html>"""


