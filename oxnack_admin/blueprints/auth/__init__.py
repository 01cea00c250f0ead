"""Classic auth calls (legacy port 7004): register, confirm the e-mailed code, log in.

Errors answer {"error": "<message>"} with the legacy messages.
"""
from flask import jsonify, request

from oxnack_admin.services.accounts import customers
from ...web.classic import ClassicBlueprint, ClassicError, error_message, json_object, mail_in_body, rate_limited, \
    set_session_cookie, text

bp = ClassicBlueprint("auth", __name__, shape=error_message, messages={
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
    413: "Request too large", 429: "Too many requests", 500: "Internal server error"})

# Why a registration or sign-in was refused -> the legacy status and message.
REFUSALS = {
    customers.InvalidEmail: (400, "Invalid email format"),
    customers.WeakPassword: (400, "Password too weak"),
    customers.UserExists: (409, "User already exists"),
    customers.UnknownUser: (401, "User not found"),
    customers.WrongPassword: (401, "Invalid password"),
    customers.NotVerified: (403, "Email not verified"),
    customers.AccountBlocked: (403, "Account blocked"),
    customers.CodeMissing: (404, "Code not found or expired"),
    customers.WrongCode: (422, "Invalid code"),
}


@bp.errorhandler(customers.CustomerError)
def refuse(error: customers.CustomerError):
    return bp.error_response(*REFUSALS[type(error)])


def _credentials() -> tuple[str, str]:
    body = json_object() or {}
    mail, password = text(body.get("mail")), text(body.get("passwd"))
    if mail is None or password is None:
        raise ClassicError(400, "Email and password required")
    return mail, password


@bp.post("/register")
@rate_limited("RATELIMIT_REGISTER", account=mail_in_body)
def register():
    customers.register(*_credentials())
    return {"message": "Confirmation code sent to email"}


@bp.post("/register/code")
@rate_limited("RATELIMIT_CODE", account=mail_in_body)
def confirm_code():
    body = json_object() or {}
    mail, code = text(body.get("mail")), body.get("code")
    if mail is None or code is None:
        raise ClassicError(400, "Email and code required")
    code = _code(code)
    if code is None:
        raise ClassicError(400, "Email and code required")
    if not code.isdigit() or not code.isascii():
        raise ClassicError(400, "Code must be numeric")
    customers.confirm_registration(mail, code)
    return {"message": "Email confirmed"}


def _code(value) -> str | None:
    """The code as text, None when missing; the site sends a string, a JSON integer is taken as six digits."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return f"{value:06d}"
    if isinstance(value, str):
        return value.strip() or None
    raise ClassicError(400, "Code must be numeric")


@bp.post("/login")
@rate_limited("RATELIMIT_LOGIN", account=mail_in_body)
def login():
    mail, password = _credentials()
    token = customers.sign_in(mail, password, ip=request.remote_addr, user_agent=request.user_agent.string)
    return set_session_cookie(jsonify({"message": "Authentication successful"}), token)
