"""Proxy resale calls under /api/external-proxy: customers list, buy and refund; staff sync, clean up, count.

Customer calls read the session cookie; staff calls take a staff API token (admin or owner).
Every error answers {"status": "error", "message": "<why>"}.
"""
from flask import request

from oxnack_admin.models import Staff
from oxnack_admin.models.enums import ProxySyncTrigger, RunState
from oxnack_admin.services.proxies import admin, catalogue, purchase as purchases, refund as refunds, sync
from oxnack_admin.services.money.ledger import as_json_number
from ...extensions import db
from ...web.classic import ClassicBlueprint, ClassicError, json_object, rate_limited, require_customer, \
    signed_in_account, status_error
from ...web.staff_api import current_api_staff, staff_token_required
from . import bodies

bp = ClassicBlueprint("proxies", __name__, shape=status_error)
PREFIX = "/api/external-proxy"


@bp.errorhandler(purchases.PurchaseError)
@bp.errorhandler(refunds.RefundError)
def refuse(error: purchases.PurchaseError | refunds.RefundError):
    return bp.error_response(error.status, error.message)


@bp.get(PREFIX + "/list")
def list_proxies():
    require_customer("unlogin")
    return catalogue.on_sale(**bodies.listing_from(request.args))


@bp.post(PREFIX + "/purchase")
@rate_limited("RATELIMIT_PROXY", account=signed_in_account)
def purchase():
    customer = require_customer("unlogin")
    product_id = bodies.positive_id(json_object(), "product_id")
    key = bodies.idempotency_key(request.headers.get("Idempotency-Key"))
    return catalogue.purchase_answer(purchases.purchase(customer.id, product_id, key))


@bp.get(PREFIX + "/orders")
def orders():
    customer = require_customer("unlogin")
    return {"status": "success", "orders": [catalogue.order_view(order) for order in catalogue.orders_of(customer.id)]}


@bp.post(PREFIX + "/refund")
@rate_limited("RATELIMIT_PROXY", account=signed_in_account)
def refund():
    customer = require_customer("unlogin")
    order_id = bodies.positive_id(json_object(), "order_id")
    done = refunds.refund(customer.id, order_id)
    return {"status": "success", "message": "proxy refunded", "refund_amount": as_json_number(done.amount),
            "order_id": done.order.id}


@bp.post(PREFIX + "/sync")
@staff_token_required(min_role="admin")
def sync_inventory():
    country_code, page_size = bodies.sync_from(json_object() if request.get_data() else {})
    staff = current_api_staff()
    try:
        run = sync.sync_now(ProxySyncTrigger.API, staff_id=staff.staff_id, requested_by=staff.email,
                            country_code=country_code, page_size=page_size)
    except sync.SyncBusy as exc:
        raise ClassicError(409, str(exc)) from None
    if run.state != RunState.DONE:
        raise ClassicError(502, f"sync failed: {run.error}")
    return sync.result(run)


@bp.post(PREFIX + "/cleanup")
@staff_token_required(min_role="admin")
def cleanup():
    removed = admin.cleanup(_api_actor())
    db.session.commit()
    return {"status": "success", "removed_count": removed,
            "message": f"Removed {removed} proxies that were off sale from the inventory"}


@bp.get(PREFIX + "/stats")
@staff_token_required(min_role="admin")
def stats():
    return admin.stats()


def _api_actor():
    """The token's staff member as the audit log's actor."""
    return db.session.get(Staff, current_api_staff().staff_id)
