"""What the bot says, in Russian and English, in the tone of the mails. Every value is HTML-escaped."""
import html

LANGUAGES = ("ru", "en")


class Raw(str):
    """Text already in Telegram's HTML (built from escaped parts): not escaped again."""


TEXTS = {
    "welcome_new": {
        "en": "Hello! This is the Oxnack bot.\n\nDo you already have an Oxnack account? Link it, or open a new one "
              "here (no e-mail needed).",
        "ru": "Здравствуйте! Это бот Oxnack.\n\nУ вас уже есть аккаунт Oxnack? Привяжите его или откройте новый "
              "прямо здесь (без почты).",
    },
    "menu": {
        "en": "Hello, <b>{name}</b>!\nBalance: <b>{balance} ₽</b>\n\n/servers — your servers\n/order — order a server\n"
              "/topup — top up\n/proxies — buy a proxy, /myproxies — your proxies\n/lang — language, "
              "/notify — notices\n/unlink — unlink this Telegram",
        "ru": "Здравствуйте, <b>{name}</b>!\nБаланс: <b>{balance} ₽</b>\n\n/servers — ваши серверы\n/order — заказать "
              "сервер\n/topup — пополнить баланс\n/proxies — купить прокси, /myproxies — ваши прокси\n/lang — язык, "
              "/notify — уведомления\n/unlink — отвязать Telegram",
    },
    "balance": {"en": "Balance: <b>{balance} ₽</b>", "ru": "Баланс: <b>{balance} ₽</b>"},
    "need_account": {"en": "First link your Oxnack account or open a new one.",
                     "ru": "Сначала привяжите аккаунт Oxnack или откройте новый."},
    "ask_mail": {"en": "Send the e-mail of your Oxnack account.", "ru": "Отправьте e-mail вашего аккаунта Oxnack."},
    "code_sent": {"en": "We mailed a 6-digit code to {mail}. Send it here (it lives {minutes} minutes).",
                  "ru": "Мы отправили 6-значный код на {mail}. Пришлите его сюда (он действует {minutes} минут)."},
    "no_such_mail": {"en": "No verified account has this e-mail. Check it, or open a new account.",
                     "ru": "Подтверждённого аккаунта с этим e-mail нет. Проверьте адрес или откройте новый аккаунт."},
    "mail_taken": {"en": "That account is already linked to another Telegram.",
                   "ru": "Этот аккаунт уже привязан к другому Telegram."},
    "wrong_code": {"en": "Wrong code. Try again.", "ru": "Неверный код. Попробуйте ещё раз."},
    "code_gone": {"en": "The code expired or was tried too often. Press Link account again.",
                  "ru": "Код истёк или введён неверно слишком много раз. Нажмите «Привязать аккаунт» снова."},
    "linked": {"en": "Done: this Telegram is linked to your account.", "ru": "Готово: Telegram привязан к аккаунту."},
    "created": {"en": "Your account is open. Top up with /topup and order a server with /order.",
                "ru": "Аккаунт открыт. Пополните баланс (/topup) и закажите сервер (/order)."},
    "already_customer": {"en": "This Telegram is already linked to an account.",
                         "ru": "Этот Telegram уже привязан к аккаунту."},
    "unlinked": {"en": "This Telegram is no longer linked to your account.", "ru": "Telegram отвязан от аккаунта."},
    "unlink_refused": {"en": "Your account has no e-mail: without Telegram you could not reach it. Not unlinked.",
                       "ru": "У аккаунта нет e-mail: без Telegram вы не сможете в него войти. Не отвязан."},
    "no_servers": {"en": "You have no servers yet. Order one: /order", "ru": "Серверов пока нет. Заказать: /order"},
    "server_line": {"en": "<b>Server №{id}</b> {ip}\nState: {state}, power: {power}\nPaid until: {date_stop}, "
                          "auto-renew: {auto}, renewal {price} ₽",
                    "ru": "<b>Сервер №{id}</b> {ip}\nСостояние: {state}, питание: {power}\nОплачен до: {date_stop}, "
                          "автопродление: {auto}, продление {price} ₽"},
    "power_queued": {"en": "Server №{id}: {action} requested.", "ru": "Сервер №{id}: команда «{action}» принята."},
    "renewed": {"en": "Server №{id} renewed until {date_stop}.", "ru": "Сервер №{id} продлён до {date_stop}."},
    "auto_renew": {"en": "Server №{id}: auto-renew {state}.", "ru": "Сервер №{id}: автопродление {state}."},
    "usage": {"en": "Last hour: CPU {cpu}%, RAM {mem} of {maxmem} GB, network ↓{netin} ↑{netout}",
              "ru": "За час: CPU {cpu}%, память {mem} из {maxmem} ГБ, сеть ↓{netin} ↑{netout}"},
    "usage_unavailable": {"en": "Usage is unavailable right now.", "ru": "Нагрузка сейчас недоступна."},
    "reinstall_os": {"en": "Reinstall server №{id}: its disk is wiped. Choose the system:",
                     "ru": "Переустановка сервера №{id}: диск будет стёрт. Выберите систему:"},
    "reinstall_confirm": {"en": "Reinstall server №{id} with {os}? Everything on its disk is erased; a new root "
                                "password comes when it is ready.",
                          "ru": "Переустановить сервер №{id} на {os}? Всё на диске будет стёрто; новый пароль root "
                                "придёт, когда сервер будет готов."},
    "reinstall_started": {"en": "Reinstall of server №{id} with {os} started. We will write when it is ready.",
                          "ru": "Переустановка сервера №{id} на {os} началась. Мы напишем, когда он будет готов."},
    "small_balance": {"en": "Not enough money on the balance. Top up: /topup",
                      "ru": "Недостаточно средств на балансе. Пополнить: /topup"},
    "refused": {"en": "Not possible: {reason}.", "ru": "Невозможно: {reason}."},
    "stale": {"en": "This button is out of date: {reason}.", "ru": "Эта кнопка устарела: {reason}."},
    "order_os": {"en": "Order a server. Choose the system:", "ru": "Заказ сервера. Выберите систему:"},
    "order_cores": {"en": "Cores:", "ru": "Ядра процессора:"},
    "order_ram": {"en": "RAM, GB:", "ru": "Память, ГБ:"},
    "order_hdd": {"en": "Disk, GB:", "ru": "Диск, ГБ:"},
    "order_promo": {"en": "Send a promo code, or press No promo code.",
                    "ru": "Пришлите промокод или нажмите «Без промокода»."},
    "order_summary": {"en": "{os}, {cores} cores, {ram} GB RAM, {hdd} GB disk{promo}\nPrice: <b>{price} ₽</b> for "
                            "{days} days. Confirm?",
                      "ru": "{os}, ядер: {cores}, память {ram} ГБ, диск {hdd} ГБ{promo}\nЦена: <b>{price} ₽</b> за "
                            "{days} дней. Подтвердить?"},
    "order_placed": {"en": "Ordered: server №{id}. We will write here when it is ready.",
                     "ru": "Заказан сервер №{id}. Мы напишем сюда, когда он будет готов."},
    "cancelled": {"en": "Cancelled.", "ru": "Отменено."},
    "topup_ask": {"en": "Top up by how much (roubles, {min}–{max})? Press an amount or send a number.",
                  "ru": "На какую сумму пополнить (₽, {min}–{max})? Нажмите сумму или пришлите число."},
    "topup_link": {"en": "Pay {amount} ₽ here: {url}\nThe balance is credited once the payment goes through.",
                   "ru": "Оплатите {amount} ₽ по ссылке: {url}\nБаланс пополнится, как только платёж пройдёт."},
    "bad_amount": {"en": "The amount must be whole roubles from {min} to {max}.",
                   "ru": "Сумма — целые рубли от {min} до {max}."},
    "gateway_down": {"en": "The payment gateway is unavailable; try again a little later.",
                     "ru": "Платёжный шлюз недоступен; попробуйте чуть позже."},
    "topup_ask_crypto": {"en": "Top up in {asset} by how much (roubles, {min}–{max})? Press an amount or send a number.",
                         "ru": "На какую сумму пополнить в {asset} (₽, {min}–{max})? Нажмите сумму или пришлите число."},
    "crypto_down": {"en": "Crypto top-ups are unavailable right now; try again later or pay by card.",
                    "ru": "Пополнение криптовалютой сейчас недоступно; попробуйте позже или оплатите картой."},
    "crypto_invoice": {"en": "Send exactly <code>{amount_asset}</code> {asset} ({network}) to\n<code>{address}</code>\n"
                             "for {rub} ₽, by {expires}. The balance is credited once the transfer is confirmed.",
                       "ru": "Отправьте ровно <code>{amount_asset}</code> {asset} ({network}) на адрес\n"
                             "<code>{address}</code>\nна {rub} ₽, до {expires}. Баланс пополнится после подтверждения "
                             "перевода."},
    "crypto_waiting": {"en": "Invoice №{id}: waiting for {amount_asset} {asset}; nothing confirmed yet.",
                       "ru": "Счёт №{id}: ждём {amount_asset} {asset}; подтверждённых переводов пока нет."},
    "crypto_partially_paid": {"en": "Invoice №{id}: {received} of {amount_asset} {asset} received; {credited} ₽ "
                                    "credited so far.",
                              "ru": "Счёт №{id}: получено {received} из {amount_asset} {asset}; зачислено {credited} ₽."},
    "crypto_paid": {"en": "Invoice №{id} is paid: {credited} ₽ credited.", "ru": "Счёт №{id} оплачен: зачислено {credited} ₽."},
    "crypto_expired": {"en": "Invoice №{id} expired unpaid; open a new one with /topup.",
                       "ru": "Счёт №{id} истёк неоплаченным; создайте новый: /topup."},
    "proxies_kind": {"en": "Proxies at {price} ₽. Which type? (Or /proxies DE for a country.)",
                     "ru": "Прокси по {price} ₽. Какой тип? (Или /proxies DE — по стране.)"},
    "proxies_none": {"en": "No proxies on sale for this filter now.", "ru": "Сейчас нет прокси по этому фильтру."},
    "proxy_line": {"en": "№{id}: {country} {city}, {kind}, {isp}", "ru": "№{id}: {country} {city}, {kind}, {isp}"},
    "proxy_confirm": {"en": "Buy proxy №{id} ({country}, {kind}) for <b>{price} ₽</b>?",
                      "ru": "Купить прокси №{id} ({country}, {kind}) за <b>{price} ₽</b>?"},
    "proxy_bought": {"en": "Proxy bought (order №{id}):\n<code>{ip}:{port}</code>\nlogin <code>{login}</code>\n"
                           "password <code>{password}</code>\nvalid until {expires}",
                     "ru": "Прокси куплен (заказ №{id}):\n<code>{ip}:{port}</code>\nлогин <code>{login}</code>\n"
                           "пароль <code>{password}</code>\nдействует до {expires}"},
    "proxy_pending": {"en": "The purchase is being confirmed; see /myproxies in a few minutes.",
                      "ru": "Покупка подтверждается; загляните в /myproxies через несколько минут."},
    "no_proxies": {"en": "You have no proxies. Buy one: /proxies", "ru": "Прокси пока нет. Купить: /proxies"},
    "my_proxy": {"en": "Order №{id} ({state}): <code>{ip}:{port}</code> login <code>{login}</code> password "
                       "<code>{password}</code>, until {expires}",
                 "ru": "Заказ №{id} ({state}): <code>{ip}:{port}</code> логин <code>{login}</code> пароль "
                       "<code>{password}</code>, до {expires}"},
    "proxy_refunded": {"en": "Order №{id} refunded: {amount} ₽ back on the balance.",
                       "ru": "Заказ №{id} возвращён: {amount} ₽ на балансе."},
    "lang_ask": {"en": "Language:", "ru": "Язык:"},
    "lang_set": {"en": "I will write in English.", "ru": "Буду писать по-русски."},
    "notify_ask": {"en": "Service notices go by: {current}. Choose:", "ru": "Уведомления приходят: {current}. Выберите:"},
    "notify_set": {"en": "Service notices: {current}.", "ru": "Уведомления: {current}."},
    "support_ask": {"en": "Write your question here (a photo or a document is fine too); support answers in this chat.",
                    "ru": "Напишите вопрос сюда (можно приложить фото или документ); поддержка ответит в этом чате."},
    "support_opened": {"en": "Support request №{id} is open. We answer here as soon as we can.",
                       "ru": "Обращение №{id} в поддержку открыто. Ответим здесь как можно скорее."},
    "support_added": {"en": "Added to your request №{id}.", "ru": "Добавлено к обращению №{id}."},
    "support_replied": {"en": "Support replied: {text}", "ru": "Ответ поддержки: {text}"},
    "newsletters_stopped": {"en": "You will get no more newsletters (service notices still come). /subscribe brings "
                                  "them back.",
                            "ru": "Рассылки больше не придут (служебные уведомления остаются). /subscribe вернёт их."},
    "newsletters_back": {"en": "Newsletters are on again. /stop ends them.",
                         "ru": "Рассылки снова включены. /stop отключит их."},
    "unknown": {"en": "I did not understand. /start shows what I can do.",
                "ru": "Не понял. /start покажет, что я умею."},
    "busy": {"en": "Please wait a moment and press again.", "ru": "Подождите немного и нажмите снова."},
}

BUTTONS = {
    "link": {"en": "Link account", "ru": "Привязать аккаунт"}, "new": {"en": "New account", "ru": "Новый аккаунт"},
    "start": {"en": "Start", "ru": "Запустить"}, "stop": {"en": "Stop", "ru": "Остановить"},
    "restart": {"en": "Restart", "ru": "Перезагрузить"}, "renew": {"en": "Renew", "ru": "Продлить"},
    "auto_renew": {"en": "Auto-renew", "ru": "Автопродление"}, "buy": {"en": "Buy", "ru": "Купить"},
    "refund": {"en": "Refund", "ru": "Вернуть"}, "topup": {"en": "Top up", "ru": "Пополнить"},
    "confirm": {"en": "Confirm", "ru": "Подтвердить"}, "cancel": {"en": "Cancel", "ru": "Отмена"},
    "no_promo": {"en": "No promo code", "ru": "Без промокода"}, "all": {"en": "All", "ru": "Все"},
    "servers": {"en": "Servers", "ru": "Серверы"}, "my_proxies": {"en": "My proxies", "ru": "Мои прокси"},
    "mail": {"en": "Mail", "ru": "Почта"}, "telegram": {"en": "Telegram", "ru": "Telegram"},
    "both": {"en": "Both", "ru": "Оба"},
    "refresh": {"en": "Refresh", "ru": "Обновить"},
    "reinstall": {"en": "Reinstall", "ru": "Переустановить"},
}

WORDS = {"on": {"en": "on", "ru": "вкл."}, "off": {"en": "off", "ru": "выкл."}}

NOTICES = {
    "server_ready": {"en": "Your server №{server_id} is ready: {ip}\nssh root@{ip}{password_line}",
                     "ru": "Ваш сервер №{server_id} готов: {ip}\nssh root@{ip}{password_line}"},
    "server_reinstalled": {"en": "Server №{server_id} is reinstalled with {os}: {ip}\nssh root@{ip}{password_line}",
                           "ru": "Сервер №{server_id} переустановлен ({os}): {ip}\nssh root@{ip}{password_line}"},
    "reinstall_failed": {"en": "The reinstall of server №{server_id} failed; support has been told and will finish it.",
                         "ru": "Переустановка сервера №{server_id} не удалась; поддержка уже знает и завершит её."},
    "password_line": {"en": "\nRoot password: <code>{password}</code>\nThis message is deleted in {minutes} minutes: "
                            "save the password and change it after the first login.",
                      "ru": "\nПароль root: <code>{password}</code>\nЭто сообщение удалится через {minutes} минут: "
                            "сохраните пароль и смените его после первого входа."},
    "top_up_received": {"en": "Top-up credited: {amount}. Balance: {balance}.",
                        "ru": "Баланс пополнен на {amount}. Баланс: {balance}."},
    "lifecycle_reminder": {"en": "Server №{server_id} is paid until {date_stop}. {how}",
                           "ru": "Сервер №{server_id} оплачен до {date_stop}. {how}"},
    "lifecycle_renewed": {"en": "Server №{server_id} renewed until {date_stop}.",
                          "ru": "Аренда сервера №{server_id} продлена до {date_stop}."},
    "lifecycle_suspended": {"en": "Server №{server_id} is suspended: the balance did not cover its renewal. Top up "
                                  "(/topup) and it starts again.",
                            "ru": "Сервер №{server_id} приостановлен: баланса не хватило на продление. Пополните "
                                  "баланс (/topup), и он снова запустится."},
    "lifecycle_terminated": {"en": "Server №{server_id} is terminated and its disk wiped.",
                             "ru": "Сервер №{server_id} удалён, его диск стёрт."},
    "provisioning_failed": {"en": "Server №{server_id} could not be created; {price} ₽ is back on your balance.",
                            "ru": "Сервер №{server_id} создать не удалось; {price} ₽ вернулись на баланс."},
    "proxy_bought": {"en": "Proxy order №{order_id} is active until {expires}. Credentials: /myproxies",
                     "ru": "Прокси (заказ №{order_id}) активен до {expires}. Данные: /myproxies"},
    "proxy_refunded": {"en": "Proxy order №{order_id} refunded: {amount} ₽.",
                       "ru": "Прокси (заказ №{order_id}) возвращён: {amount} ₽."},
}
REMINDER_HOW = {"en": "It renews automatically from the balance; top up with /topup if needed.",
                "ru": "Продление спишется с баланса автоматически; при необходимости пополните: /topup."}


def language_of(code: str | None) -> str:
    """The first guess from Telegram's language_code: Russian for ru/uk/be/kk, else English."""
    return "ru" if (code or "").split("-")[0].lower() in ("ru", "uk", "be", "kk") else "en"


def _fill(template: str, values: dict) -> str:
    return template.format(**{key: value if isinstance(value, Raw) else html.escape(str(value), quote=False)
                              for key, value in values.items()})


def say(lang: str, key: str, **values) -> str:
    entry = TEXTS[key]
    return _fill(entry.get(lang) or entry["en"], values)


def notice(lang: str, kind: str, **values) -> str | None:
    entry = NOTICES.get(kind)
    return _fill(entry.get(lang) or entry["en"], values) if entry else None


def button(lang: str, key: str) -> str:
    return BUTTONS[key].get(lang) or BUTTONS[key]["en"]


def word(lang: str, key: str) -> str:
    return WORDS[key].get(lang) or WORDS[key]["en"]
