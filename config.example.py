# Oxnack Admin settings: every setting, its safe default, and why it exists.
#
# These values ARE the defaults (the app loads this file first). Real values go in
# `instance/config.py` (or the file named by OXNACK_CONFIG), which git ignores, or in
# the environment: every setting here can be set as OXNACK_<NAME> (typed like its default:
# 0/1 for booleans, JSON or comma-separated for lists, JSON for dicts), plus DATABASE_URL,
# REDIS_URL and SECRET_KEY.

from decimal import Decimal

# --- Runtime --------------------------------------------------------------------
OXNACK_ENV = "production"  # "production" refuses default secrets; "development" for local work
JSON_ENCODER = "orjson"  # "orjson" (a few times faster) or "stdlib" (Flask's own); the same JSON either way
HOT_READS_ENABLED = True  # the catalogue, price, balance, mail and services reads skip Flask's request cycle; same answers
LOG_LEVEL = "INFO"  # root log level; every line carries the request id
PROXY_FIX_X_FOR = 0  # reverse proxies in front whose X-Forwarded-For to trust (per-IP limits, logs); 0 = none

# --- Database -------------------------------------------------------------------
SQLALCHEMY_DATABASE_URI = "postgresql://oxnack@127.0.0.1:5432/oxnack"  # env DATABASE_URL or OXNACK_DATABASE_URL
SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10, "max_overflow": 10, "pool_recycle": 1800}  # pooled connections per process
DATABASE_PRE_PING = True  # test each pooled connection on checkout (one round trip) so a PostgreSQL restart costs no 500s; the hot reads' pool reconnects once instead

# --- Redis (jobs, codes, locks, rate limits) -----------------------------------
REDIS_URL = "redis://127.0.0.1:6379/0"  # env REDIS_URL

# --- Secrets and cookies ---------------------------------------------------------
SECRET_KEY = "change-me"  # signs the staff console session; production refuses this value
COOKIE_SECURE = True  # Secure flag on session_id and console cookies; 0 only for plain-http localhost
SESSION_COOKIE_NAME = "oxnack_console"  # the staff console's Flask session cookie
SESSION_COOKIE_HTTPONLY = True  # console cookie never readable by scripts
SESSION_COOKIE_SAMESITE = "Lax"  # console cookie not sent on cross-site posts
CUSTOMER_SESSION_DAYS = 7  # Max-Age of the customer session_id cookie, as the legacy site had
MAX_CONTENT_LENGTH = 1024 * 1024  # request bodies over 1 MiB get 413 (image uploads have their own limit)

# --- CORS: the legacy customer site runs on another origin ------------------------
CORS_ORIGINS = ["http://localhost:8080"]  # exact origins allowed with credentials; never "*"

# --- Pricing and limits (the classic /parametrs answer) ----------------------------
PR_CORE = 10  # price per core
PR_RAM = 10  # price per GB of RAM
PR_HDD = 10  # price per GB of disk
PR_IP = 10  # price per extra IPv4 address (shown on the site)
MIN_CORE = 1  # smallest order
MX_CORE = 5  # largest order
MIN_RAM = 1  # GB
MX_RAM = 5  # GB
MIN_HDD = 15  # GB; pool VMs are made with this disk and grown on order
MX_HDD = 30  # GB
RENTAL_DAYS = 30  # a paid order runs this many days (date_stop on "my services")

# --- Server lifecycle (flask billing-cycle) -------------------------------------------
RENEWAL_REMINDER_DAYS = [3, 1]  # one reminder mail this many days before date_stop, each
SUSPEND_GRACE_DAYS = 7  # a suspended server is terminated (wiped) this many days after date_stop
BILLING_CYCLE_CRON = "17 * * * *"  # when the scheduler runs the pass (UTC): hourly
RENEWAL_AHEAD_MAX_DAYS = 30  # /renew_server refuses while date_stop is further off
RENEWAL_REPEAT_HOURS = 24  # a renewal (customer's or staff's) this soon after the last one is a repeat: refused
LEGACY_DEFAULT_PAID_DAYS = 30  # an adopted server with no date of its own or its owner's runs this long
LIFECYCLE_CLOCK_RATE = 1.0  # the lifecycle's "now" runs this many times faster than real time (the soak only; production refuses anything but 1)
LIFECYCLE_CLOCK_EPOCH = 0.0  # Unix time from which a faster lifecycle clock runs ahead (every host of a soak shares it)

# --- Catalogue ------------------------------------------------------------------
COUNTRIES = ["russia"]  # countries offered on the rent page; pool VMs default to the first
OS_TEMPLATES = {  # OS offered -> the Proxmox template VM its pool VMs were cloned from
    "ubuntu": {"template_vmid": 105, "pool": "ubuntu"},
    "debian": {"template_vmid": 200, "pool": "debian"},
}

# --- Rate limits (Redis-backed) -------------------------------------------------
RATELIMIT_ENABLED = True  # env OXNACK_RATELIMIT_ENABLED=0 turns every limit off (load tests only)
RATELIMIT_LOGIN = "10/minute;100/hour"  # POST /login per IP and per account
RATELIMIT_REGISTER = "5/minute;30/hour"  # POST /register per IP and per account
RATELIMIT_CODE = "10/minute"  # POST /register/code per IP and per account
RATELIMIT_ORDER = "10/minute"  # POST /create_machine per IP and per account
RATELIMIT_PROXY = "30/minute"  # proxy purchases and refunds per IP and per account
RATELIMIT_MAIL_RELAY = "60/minute"  # POST /send_mail per IP
RATELIMIT_STAFF_LOGIN = "10/minute"  # console login per IP

# --- Verification codes -----------------------------------------------------------
CODE_TTL_SECONDS = 600  # a registration code lives 10 minutes
CODE_MAX_TRIES = 5  # wrong guesses before the code is invalidated

# --- Hypervisor -------------------------------------------------------------------
HYPERVISOR = "proxmox"  # "proxmox", or "simulator" (loopback stand-ins for Proxmox and pfSense)
PROXMOX_URL = "https://127.0.0.1:8006"  # Proxmox VE API base (scheme, host, port)
PROXMOX_USER = "root@pam"  # user@realm for ticket auth, or the token's user
PROXMOX_PASSWORD = ""  # ticket auth password (leave empty with a token)
PROXMOX_TOKEN = ""  # API token "user@realm!tokenid=secret" (preferred over a password)
PROXMOX_NODE = "pve"  # node the pool VMs live on
PROXMOX_STORAGE = "local-lvm"  # storage for clones and disks
PROXMOX_BRIDGE = "vmbr1"  # bridge net0 is attached to
PROXMOX_VERIFY_TLS = True  # verify the API's certificate
PROXMOX_TIMEOUT = 15  # seconds per API call
PROXMOX_TASK_DEADLINE = 300  # seconds to wait for a task UPID before giving up (retried later)
PROXMOX_SHUTDOWN_TIMEOUT = 60  # graceful shutdown wait before a hard stop
PROXMOX_POLL_INTERVAL = 2  # seconds between polls of a running task

# --- pfSense (REST API v2) --------------------------------------------------------
PFSENSE_URL = "https://127.0.0.1"  # pfSense base URL
PFSENSE_API_KEY = ""  # X-API-Key; empty skips network steps with an error
PFSENSE_VERIFY_TLS = True  # verify the firewall's certificate
PFSENSE_TIMEOUT = 15  # seconds per API call

# --- Mail -------------------------------------------------------------------------
SMTP_HOST = ""  # empty: mail is not sent, the log names it (never its body) (demo only)
SMTP_PORT = 587  # submission port
SMTP_STARTTLS = True  # upgrade the connection with STARTTLS
SMTP_USER = ""  # SMTP login; empty skips login
SMTP_PASSWORD = ""  # SMTP password
SMTP_TIMEOUT = 20  # seconds per SMTP conversation
MAIL_SENDER = "noreply@oxnack.example"  # From: Oxnack <sender>
MAIL_RELAY_PASSWORD = ""  # api_passwd of POST /send_mail; empty authorizes nothing; production refuses empty

# --- Mail relay listener (POST /send_mail is for internal callers only) ---------------
MAIL_RELAY_BIND = "127.0.0.1:7003"  # the listener /send_mail answers on (bind gunicorn here too); "" = any listener
MAIL_RELAY_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]  # client networks /send_mail serves; others get 404

# --- Background jobs (RQ) ---------------------------------------------------------------
PROVISIONING_RETRY_INTERVALS = [30, 120, 300, 600]  # seconds before each retry of a transient failure; then refund
PROVISIONING_JOB_TIMEOUT = 3600  # seconds one provisioning attempt may run (several Proxmox task deadlines)
PROVISIONING_LOCK_TTL = 3600  # seconds the per-VM lock lives if a worker dies holding it
PROVISIONING_STUCK_MINUTES = 30  # a pending/running run untouched this long is resumed by the sweep
MAIL_RETRY_INTERVALS = [30, 120, 600, 1800]  # seconds before each retry while SMTP is down; then `failed`
MAIL_STUCK_MINUTES = 60  # a queued message with no live job this long is queued again by the sweep
SWEEP_INTERVAL_SECONDS = 300  # how often the scheduler runs the sweep
WORKER_QUEUES = ["mail", "telegram", "default", "provisioning"]  # `flask worker` without arguments: mail and the bot first, never behind VM work
WORKER_MAINTENANCE_INTERVAL = 60  # seconds between a worker's registry clean-ups; also how soon it takes over retries from a dead worker (RQ's default: 600)

# --- Payments (Platega) -----------------------------------------------------------
PAYMENT_GATEWAY = "platega"  # "platega", or "simulator" (make run's loopback Platega; the console says so)
PLATEGA_URL = "https://app.platega.io"  # gateway base URL
PLATEGA_MERCHANT_ID = ""  # X-MerchantId; empty: top-ups answer 502 and every callback 401
PLATEGA_SECRET = ""  # X-Secret; empty: as above (an empty secret never authenticates a callback)
PLATEGA_RETURN_URL = ""  # where the payer returns after paying; empty: our own return page for the invoice
PLATEGA_FAILED_URL = ""  # where the payer returns after a failure; empty: our own return page for the invoice
PLATEGA_PAYMENT_METHOD = 2  # paymentMethod when the caller names none (2 = SBP)
PLATEGA_TIMEOUT = 8  # seconds per gateway call
PLATEGA_RETRIES = 2  # extra tries of a call that failed transiently (connect error, timeout, 5xx)
PLATEGA_RETRY_BACKOFF = 0.3  # seconds before the first retry, doubled for each next one
PLATEGA_CALLBACK_TIMEOUT = 4  # seconds a callback waits for the status re-read; slower ones are left to the poller
TOPUP_MIN = 10  # smallest top-up, whole roubles
TOPUP_MAX = 100000  # largest top-up, whole roubles
TOPUP_PENDING_HOURS = 24  # an unpaid invoice is closed as expired after this long
TOPUP_POLL_BATCH = 200  # pending invoices the poller checks per run (oldest checked first)
TOPUP_SITE_URL = ""  # the return page's link back to the customer site; empty: the first CORS origin
REF_SHARE = 0.0  # share of each top-up credited to the payer's referrer (0.05 = 5%); 0 = none
RATELIMIT_INVOICE = "10/minute;60/hour"  # POST /create_invoice per IP and per account

# --- Proxy resale (SOCKS5 proxies bought from an upstream API) ----------------------
SOCKS_API_URL = ""  # the upstream's base, ending in /api/v1/authorized; empty: proxy resale is off
SOCKS_API_TOKEN = ""  # sent raw in the Authorization header of every upstream call
SOCKS_API_TIMEOUT = 30  # seconds per upstream call before it counts as failed
SOCKS_API_RETRIES = 2  # extra tries of a call that failed transiently (a buy or refund only when it never arrived)
SOCKS_PRICE = Decimal("2.00")  # USD, one price for any proxy
USD_RUB_RATE = Decimal("90.00")  # balances are in roubles: a purchase debits SOCKS_PRICE x this, rounded to kopecks
SOCKS_SYNC_INTERVAL_MINUTES = 5  # how often the scheduler syncs the inventory with the upstream
SOCKS_SYNC_PAGE_SIZE = 100  # proxies per upstream page in the scheduled sync
SOCKS_SYNC_MAX_PAGES = 500  # a listing that never ends (full pages forever) stops the sync with an error
SOCKS_REFUND_MINUTES = 60  # a customer may refund an offline proxy this long after buying it
SOCKS_SETTLE_AFTER_MINUTES = 10  # a purchase still pending this long is settled by the sweep from the bought list

# --- Console ----------------------------------------------------------------------
UPLOAD_FOLDER = "instance/uploads"  # market images are stored here and served under /media
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # largest market image upload
SIMULATED_SYSTEMS = []  # set by `make run`: the remote systems it stands in for (hypervisor, platega, socks_upstream); the banner names them
MEDIA_URL_BASE = ""  # public base of /media links stored in image_link (e.g. https://api.oxnack.example); empty: the console's host

# --- Telegram bot (customers, notices; support and newsletters come next) --------------
TELEGRAM_BOT_TOKEN = ""  # from @BotFather; empty: the bot is off and everything else works
TELEGRAM_API_URL = "https://api.telegram.org"  # a call is POST <url>/bot<token>/<method>; `make run` points it at its simulator
TELEGRAM_WEBHOOK_SECRET = ""  # X-Telegram-Bot-Api-Secret-Token the webhook requires; empty: every webhook call is refused
TELEGRAM_STAFF_CHAT_ID = ""  # staff alerts go to this chat (a group id such as -100...); empty: none
TELEGRAM_BROADCAST_RATE = 25  # newsletter messages in any one second, all workers together (Telegram allows about 30)
TELEGRAM_SECRET_TTL_MINUTES = 60  # a root password sent over Telegram is deleted from the chat after this
TELEGRAM_TIMEOUT = 10  # seconds per Bot API call: a hung Telegram must not hold a worker
TELEGRAM_RETRY_INTERVALS = [5, 30, 120, 600]  # seconds before each retry while Telegram fails (5xx, timeouts); the sweep goes on after
TELEGRAM_INLINE_WAIT_SECONDS = 10  # a 429 retry_after up to this is waited in the job; longer ones are scheduled
TELEGRAM_STUCK_MINUTES = 10  # a queued message with no live job this long is queued again by the sweep
TELEGRAM_MESSAGE_MAX_AGE_HOURS = 24  # a message Telegram could not take for this long is failed (a stale menu helps nobody)
TELEGRAM_POLL_TIMEOUT = 30  # `flask telegram-poll`: seconds getUpdates waits for an update
TELEGRAM_DIALOG_TTL_SECONDS = 1800  # a half-finished dialogue (order, link, top-up) is forgotten after this
TELEGRAM_UPDATE_KEEP_DAYS = 7  # handled updates are kept this long (Telegram never resends older ones)
TELEGRAM_TOPUP_AMOUNTS = [100, 300, 500, 1000]  # /topup's amount buttons, in roubles
TELEGRAM_PUBLIC_URL = "http://localhost:7002"  # this app's public base: the payer's return page after a top-up from the bot

# --- Crypto top-ups (USDT and BNB on BNB Smart Chain, watch-only) --------------------
CRYPTO_RPC_URL = ""  # a BNB Smart Chain JSON-RPC node serving eth_getLogs; empty: crypto top-ups are off (503)
CRYPTO_CHAIN_ID = 56  # eth_chainId must answer this or nothing is credited (56 = BSC mainnet)
CRYPTO_XPUB = ""  # account xpub of m/44'/60'/0'; deposit address i is .../0/i. An xprv anywhere refuses to start
CRYPTO_USDT_CONTRACT = "0x55d398326f99059fF775485246999027B3197955"  # BSC-USD (USDT); decimals() is read from the chain
CRYPTO_CONFIRMATIONS = 3  # a block counts when head - number + 1 >= this
CRYPTO_RATE_URL = ""  # GET -> {"USDT": 92.5, "BNB": 61000.0} roubles per unit; empty: crypto top-ups answer 503
CRYPTO_RATE_MINUTES = 15  # the quoted amount (and its rate) holds this long; the invoice expires then
CRYPTO_WATCH_HOURS = 24  # what reaches an address this long after expiry is still credited (at the current rate)
CRYPTO_POLL_SECONDS = 15  # how often the scheduler runs the watcher
CRYPTO_RPC_TIMEOUT = 10  # seconds per JSON-RPC call
CRYPTO_RPC_RETRIES = 2  # extra tries of a call that failed transiently (connect error, timeout, 5xx, 429)
CRYPTO_RPC_RETRY_BACKOFF = 0.3  # seconds before the first retry, doubled for each next one
CRYPTO_MAX_BLOCK_RANGE = 5000  # blocks per eth_getLogs at most (a -32005 answer halves it for that call)
CRYPTO_RATE_TIMEOUT = 5  # seconds per rate source call

# --- The VM: usage, reinstall, browser console --------------------------------------
STATS_CACHE_SECONDS = 60  # a server's usage graph is read from Proxmox at most this often per timeframe
CONSOLE_LINK_SECONDS = 60  # a console link opens its page once, within this many seconds
CONSOLE_SESSION_SECONDS = 10  # the page's WebSocket must connect this soon (Proxmox's vncticket lives ~10 s)
CONSOLE_MAX_SESSIONS = 200  # open consoles per app process; more are refused (each holds two sockets)
PUBLIC_BASE_URL = ""  # origin of absolute console links (https://api.oxnack.example); empty: the request's host

# --- Staff two-factor sign-in, status and metrics ----------------------------------
STAFF_2FA_REQUIRED_ROLES = ["admin", "owner"]  # roles that must enrol in TOTP before any other console page
STAFF_2FA_ISSUER = "Oxnack Admin"  # the name authenticator apps show beside the account
STAFF_2FA_MAX_FAILURES = 5  # wrong codes in a row that lock a member's 2FA (recovery codes too)
STAFF_2FA_LOCK_MINUTES = 15  # how long that lock lasts
STAFF_2FA_PENDING_MINUTES = 5  # how long a correct password waits for its code before sign-in starts over
STATUS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]  # clients that may read GET /status without a token
STATUS_CHECK_TIMEOUT = 2.0  # seconds each /status check may take before it counts as down
METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]  # clients that may scrape GET /metrics; others get 404
METRICS_ENABLED = True  # off: no request timing and /metrics answers 404 (for measuring its cost)
LOG_FORMAT = "text"  # "json": one JSON object per line (for a log shipper), with the request id

# --- Support inbox, newsletters and staff alerts ------------------------------------
ALERT_REPEAT_MINUTES = 30  # one cause (new ticket, failed run, flagged payment, ...) alerts the staff chat at most this often
ALERT_QUEUE_BACKLOG = 100  # jobs waiting in one queue above this alert staff (checked by the scheduler)
NEWSLETTER_SLICE_SECONDS = 60  # a newsletter job sends this long, then queues its own continuation (no job outlives its timeout)
NEWSLETTER_SENDERS = 2  # jobs sending one newsletter side by side; the shared rate limit holds whatever their number
SUPPORT_POLL_SECONDS = 20  # how often the console's navigation asks for the unread support count
