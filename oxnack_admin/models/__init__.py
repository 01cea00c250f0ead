"""All models, imported here so Alembic and the app see every table."""
from .audit import AuditEvent
from .billing import Promocode, PromocodeUse, Transaction
from .crypto import CryptoInvoice, CryptoTransfer, CryptoWatcher
from .customers import User, UserSession
from .mail import MailMessage
from .market import MarketService
from .payments import Invoice
from .proxies import ProxyInventory, ProxyOrder, ProxySyncRun
from .provisioning import ProvisioningRun, ProvisioningStep
from .servers import Server, ServerAddress, ServerEvent, ServerWipe
from .staff import Staff, StaffApiToken
from .support import Newsletter, NewsletterRecipient, SupportEntry, SupportTicket
from .telegram import TelegramChat, TelegramMessage, TelegramUpdate
from .two_factor import StaffRecoveryCode, StaffTwoFactor

__all__ = [
    "AuditEvent", "CryptoInvoice", "CryptoTransfer", "CryptoWatcher", "Invoice", "MailMessage", "MarketService", "Promocode", "PromocodeUse",
    "ProvisioningRun", "ProvisioningStep", "ProxyInventory", "ProxyOrder", "ProxySyncRun",
    "Server", "ServerAddress", "ServerEvent", "ServerWipe", "Staff",
    "StaffApiToken", "Transaction", "User", "UserSession",
    "TelegramChat", "TelegramMessage", "TelegramUpdate",
    "StaffRecoveryCode", "StaffTwoFactor",
    "Newsletter", "NewsletterRecipient", "SupportEntry", "SupportTicket",
]
