"""Top-up invoices: filter by state and customer, see Platega's last answer, check now, mark paid by hand."""
import json

from flask import abort, request, url_for
from flask_login import current_user

from ...extensions import db
from ...models import Invoice
from ...models.enums import StaffRole
from oxnack_admin.services.payments import admin as payments_admin
from oxnack_admin.services.payments import crediting, invoices as invoice_rules
from ...services.paging import ListParams
from . import bp
from .access import role_required
from .crypto_invoices import crypto_context
from .forms import MarkPaidForm
from .rendering import action_refused, action_result, render, with_toast

DETAIL_PAGE, DETAIL_FRAGMENT = "console/invoices/show.html", "console/invoices/_detail.html"
MESSAGES = {"credited": "Credited.", "closed": "Platega says it is closed; closed here too.",
            "expired": "Unpaid for too long: closed as expired.", "charged_back": "Charged back: the credit is reversed.",
            "unchanged": "Checked: nothing changed.", "attention": "Checked: needs attention (see the note).",
            "unreachable": "Platega could not be asked: {}"}


@bp.get("/invoices")
@role_required(StaffRole.SUPPORT)
def invoices():
    params = ListParams.from_args(request.args, payments_admin.SORTS, "created", "desc", payments_admin.FILTERS)
    return render("console/invoices/page.html", "console/invoices/_table.html", params=params,
                  page=payments_admin.search(params), states=payments_admin.STATES,
                  counts=payments_admin.counts_by_state(), **crypto_context())


@bp.get("/invoices/<int:invoice_id>")
@role_required(StaffRole.SUPPORT)
def invoices_show(invoice_id: int):
    return _detail(_invoice_or_404(invoice_id))


@bp.post("/invoices/<int:invoice_id>/check")
@role_required(StaffRole.SUPPORT)
def invoices_check(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    outcome = crediting.check_invoice(invoice.id, f"check by {current_user.email}")
    level = "error" if outcome.action in ("unreachable", "attention") else "success"
    return _done(invoice, MESSAGES[outcome.action].format(outcome.detail), level)


@bp.post("/invoices/<int:invoice_id>/mark-paid")
@role_required(StaffRole.ADMIN)
def invoices_paid(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    form = MarkPaidForm()
    if not form.validate_on_submit():
        return _detail(invoice, form, status=422, toast="A reason is required to credit by hand.")
    outcome = crediting.mark_paid(invoice.id, current_user, form.cleaned_reason)
    if outcome.action != "credited":
        return action_refused(f"Not credited: {outcome.detail or 'it was credited already'}.", 409,
                              url_for("console.invoices_show", invoice_id=invoice.id))
    return _done(invoice, f"Credited {invoice.amount} by hand.")


def _done(invoice: Invoice, message: str, level: str = "success"):
    # The action committed, which expired `invoice`: it reloads its new state on first use.
    return action_result(message, DETAIL_FRAGMENT, url_for("console.invoices_show", invoice_id=invoice.id),
                         level=level, **_context(invoice, MarkPaidForm(formdata=None)))


def _detail(invoice: Invoice, form: MarkPaidForm | None = None, status: int = 200, toast: str | None = None):
    response = render(DETAIL_PAGE, DETAIL_FRAGMENT, http_status=status,
                      **_context(invoice, form or MarkPaidForm(formdata=None)))
    return with_toast(response, toast, "error") if toast else response


def _context(invoice: Invoice, form: MarkPaidForm) -> dict:
    return {"invoice": invoice, "form": form, "expires_at": invoice_rules.expires_at(invoice),
            "last_answer": json.dumps(invoice.last_answer, indent=2, ensure_ascii=False) if invoice.last_answer else None,
            "can_mark_paid": invoice.state in crediting.CREDITABLE_BY_HAND}


def _invoice_or_404(invoice_id: int) -> Invoice:
    return db.session.get(Invoice, invoice_id) or abort(404)
