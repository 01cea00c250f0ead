"""All models, imported here so Alembic and the app see every table."""
from .audit import AuditEvent
from .billing import Promocode, PromocodeUse, Transaction
from .customers import User, UserSession
from .mail import MailMessage
from .market import MarketService
from .proxies import ProxyInventory, ProxyOrder, ProxySyncRun
from .provisioning import ProvisioningRun, ProvisioningStep
from .servers import Server
from .staff import Staff, StaffApiToken

__all__ = [
    "AuditEvent", "MailMessage", "MarketService", "Promocode", "PromocodeUse",
    "ProvisioningRun", "ProvisioningStep", "ProxyInventory", "ProxyOrder", "ProxySyncRun", "Server", "Staff",
    "StaffApiToken", "Transaction", "User", "UserSession",
]
