"""States and kinds stored as text; one place so services, jobs and the console agree."""
from enum import StrEnum


class StaffRole(StrEnum):
    SUPPORT = "support"  # read everything, resend codes, power actions
    ADMIN = "admin"  # everything but staff accounts
    OWNER = "owner"  # everything


class TransactionType(StrEnum):
    TOP_UP = "add_balance"  # legacy name: a payment credited the balance
    ORDER = "buy_server"  # legacy name: a server order debited the balance
    REFUND = "refund"  # money returned, e.g. provisioning failed for good
    ADJUSTMENT = "adjustment"  # staff changed a balance by hand
    RENEWAL = "renewal"  # a rental period extended
    PROXY_PURCHASE = "proxy_purchase"
    PROXY_REFUND = "proxy_refund"
    CHARGEBACK = "chargeback"  # a credited top-up the payer took back through the gateway
    REFERRAL = "referral"  # a referrer's share of a top-up by someone they brought
    REFERRAL_REVERSAL = "referral_reversal"  # that share taken back: the top-up was charged back


class TransactionStatus(StrEnum):
    PENDING = "PENDING"  # an invoice waiting for the gateway (legacy spelling)
    CONFIRMED = "CONFIRMED"  # money moved
    CANCELED = "CANCELED"  # an invoice that will never be paid


class InvoiceState(StrEnum):
    PENDING = "pending"  # waiting for the gateway; its ledger row is PENDING
    PAID = "paid"  # credited once; its ledger row is CONFIRMED
    CANCELED = "canceled"  # the gateway canceled (or failed) it; nothing credited
    EXPIRED = "expired"  # unpaid after TOPUP_PENDING_HOURS; nothing credited
    CHARGED_BACK = "charged_back"  # credited, then reversed by one `chargeback` row


class RunState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ProvisioningStepName(StrEnum):
    STOP_VM = "stop_vm"  # a reinstall's first three steps are the wipe's
    DESTROY_VM = "destroy_vm"
    CLONE_TEMPLATE = "clone_template"
    CONFIGURE_VM = "configure_vm"
    RESIZE_DISK = "resize_disk"
    NETWORK = "network"
    START_VM = "start_vm"
    NOTIFY_OWNER = "notify_owner"


class RunKind(StrEnum):
    ORDER = "order"  # a paid order making a pool VM the customer's
    REINSTALL = "reinstall"  # the owner's VM re-cloned from an OS template; period and price unchanged


PROVISIONING_STEPS = [ProvisioningStepName.CONFIGURE_VM, ProvisioningStepName.RESIZE_DISK, ProvisioningStepName.NETWORK,
                      ProvisioningStepName.START_VM, ProvisioningStepName.NOTIFY_OWNER]
REINSTALL_STEPS = [ProvisioningStepName.STOP_VM, ProvisioningStepName.DESTROY_VM, ProvisioningStepName.CLONE_TEMPLATE,
                   *PROVISIONING_STEPS]
STEPS_OF_KIND = {RunKind.ORDER: PROVISIONING_STEPS, RunKind.REINSTALL: REINSTALL_STEPS}


class MailState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # every retry failed; visible in the console, can be retried


class ServerStatus(StrEnum):
    ON = "on"
    OFF = "off"


class LifecycleState(StrEnum):
    """Where a server is in its life; NULL on pool VMs. The moves between them: services/fleet/states.py."""

    PROVISIONING = "provisioning"  # sold and paid; the provisioning run is making it
    FAILED = "failed"  # provisioning failed for good; flagged until staff retry or release it
    ACTIVE = "active"  # paid up, runs as the customer wants
    SUSPENDED = "suspended"  # VM stopped, power refused; see SuspendReason for who may lift it
    WIPING = "wiping"  # taken from its owner; the wipe returns it to the pool (or flags it for staff)
    REINSTALLING = "reinstalling"  # the owner's VM is being re-cloned; flagged (attention) if that failed


class SuspendReason(StrEnum):
    """Why a server is suspended: it decides who may lift the suspension."""

    UNPAID = "unpaid"  # not renewed at its period end: a renewal (the customer's, or after a top-up) lifts it
    STAFF = "staff"  # staff hold (abuse, a dispute): only staff lift it


class WipeReason(StrEnum):
    TERMINATION = "termination"  # grace period over, or staff "terminate now"
    RELEASE = "release"  # staff released the server to the pool


class WipeStepName(StrEnum):
    STOP = "stop"
    DESTROY = "destroy"
    CLONE = "clone"
    NETWORK = "network"
    RETURN_TO_POOL = "return_to_pool"


WIPE_STEPS = list(WipeStepName)


class ProxyOrderState(StrEnum):
    PENDING = "pending"  # paid and the proxy reserved; the upstream buy has not answered yet
    ACTIVE = "active"  # bought upstream; the customer holds its credentials
    REFUNDING = "refunding"  # a customer refund claimed the order; the upstream refund is under way
    REFUNDED = "refunded"  # refunded to the customer (a proxy_refund row)
    FAILED = "failed"  # the upstream refused or failed the buy; the money went back (a refund row)
    FLAGGED = "flagged"  # the outcome at the upstream is unknown: staff decide


class ProxySyncTrigger(StrEnum):
    SCHEDULE = "schedule"
    API = "api"  # the staff-token call
    CONSOLE = "console"


class TelegramMessageState(StrEnum):
    QUEUED = "queued"  # waiting for its job (or for Telegram to come back)
    SENDING = "sending"  # handed to Telegram; a worker that dies now leaves it here, and it is never sent again
    SENT = "sent"
    FAILED = "failed"  # Telegram refused it (400), or it waited longer than TELEGRAM_MESSAGE_MAX_AGE_HOURS
    UNDELIVERED = "undelivered"  # the chat is unreachable (403): recorded, not sent later
    UNCERTAIN = "uncertain"  # found `sending` by the sweep: Telegram may or may not have it; not resent


class NoticeChannel(StrEnum):
    """Where a linked customer's service notices go (/notify)."""

    MAIL = "mail"
    TELEGRAM = "telegram"
    BOTH = "both"


class TicketState(StrEnum):
    """A support ticket: open (staff's turn), waiting (the customer's turn), closed."""

    OPEN = "open"
    WAITING = "waiting"  # staff replied; a message from the customer opens it again
    CLOSED = "closed"


class TicketEntryKind(StrEnum):
    CUSTOMER = "customer"  # the customer's words (text, photo or document) from the bot
    REPLY = "reply"  # staff's answer, sent to the customer
    NOTE = "note"  # staff's internal note, never sent


class NewsletterState(StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class RecipientState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed; a worker that dies now leaves it here and it is never sent again
    SENT = "sent"
    BLOCKED = "blocked"  # the chat blocked the bot (403) or was known unreachable
    FAILED = "failed"  # refused (400), or the mail could not be queued
    UNSUBSCRIBED = "unsubscribed"  # /stop or the mail's unsubscribe link before its turn came
    UNCERTAIN = "uncertain"  # left `sending` by a dead worker: it may have arrived, so not resent
    SKIPPED = "skipped"  # the newsletter was cancelled before its turn
