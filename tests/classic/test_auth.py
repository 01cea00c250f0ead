"""POST /register, /register/code, /login: every documented answer, codes in Redis, legacy passwords."""
import re
import threading

import pytest
from sqlalchemy import func, select

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import MailMessage, User, UserSession
from oxnack_admin.services.accounts import codes, sessions
from oxnack_admin.services.accounts.passwords import verify_password
from tests.classic.conftest import queued_jobs
from tests.support.factories import make_user

PASSWORD = "GoodPass1"


def register(client, mail="new@example.com", passwd=PASSWORD):
    return client.post("/register", json={"mail": mail, "passwd": passwd})


def mailed_code(address: str) -> str:
    """The code in the newest registration mail to `address`."""
    message = db.session.scalars(select(MailMessage).where(MailMessage.to_email == address)
                                 .order_by(MailMessage.id.desc())).first()
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def test_register_creates_unverified_user_named_by_hex_id_and_mails_a_code(client):
    make_user("first@example.com")  # so the new id is not 1: hex and decimal differ from 10 on
    for n in range(9):
        make_user(f"filler{n}@example.com")
    response = register(client)
    assert response.status_code == 200
    assert response.json == {"message": "Confirmation code sent to email"}
    user = db.session.scalar(select(User).where(User.mail == "new@example.com"))
    assert user.id == 11 and user.username == "b" and user.is_verified is False
    assert verify_password(user.passwd_hash, PASSWORD)[0] and user.passwd_hash.startswith("$argon2")
    message = db.session.scalar(select(MailMessage).where(MailMessage.to_email == "new@example.com"))
    assert message.kind == "registration_code"
    assert message.subject == "Код подтверждения регистрации Oxnack"
    assert "10 минут" in message.body
    code = mailed_code("new@example.com")
    assert redis_client.hget(codes.code_key(codes.REGISTRATION, "new@example.com"), "code").decode() == code
    assert 0 < redis_client.ttl(codes.code_key(codes.REGISTRATION, "new@example.com")) <= 600
    assert [job.args for job in queued_jobs("mail")] == [(message.id,)]


@pytest.mark.parametrize("body", [
    {}, {"mail": "a@example.com"}, {"passwd": PASSWORD}, {"mail": "", "passwd": PASSWORD},
    {"mail": 5, "passwd": PASSWORD}, {"mail": "a@example.com", "passwd": None}, {"mail": ["x"], "passwd": PASSWORD},
    {"mail": "a@example.com", "passwd": "Nul\x00Pass1"},
])
def test_register_requires_mail_and_password(client, body):
    response = client.post("/register", json=body)
    assert response.status_code == 400
    assert response.json == {"error": "Email and password required"}


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b'"text"', b"", b"{bad"])
def test_register_with_a_body_that_is_not_a_json_object(client, data):
    response = client.post("/register", data=data, content_type="application/json")
    assert response.status_code == 400
    assert response.json == {"error": "Email and password required"}


@pytest.mark.parametrize("mail", ["plain", "a@b", "two@@example.com", "sp ace@example.com", "a@exa mple.com",
                                  "x" * 250 + "@example.com", "quote'@example.com", "a@-example.com"])
def test_register_rejects_malformed_mail(client, mail):
    response = register(client, mail=mail)
    assert response.status_code == 400 and response.json == {"error": "Invalid email format"}


@pytest.mark.parametrize("passwd", ["Short1a", "alllower1", "ALLUPPER1", "NoDigitsHere", "Quote'Pass1",
                                    'Dquote"Pass1', "Aa1" + "x" * 200])
def test_register_rejects_weak_password(client, passwd):
    response = register(client, passwd=passwd)
    assert response.status_code == 400 and response.json == {"error": "Password too weak"}
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_register_an_existing_verified_user_conflicts(client):
    make_user("taken@example.com", password=PASSWORD)
    response = register(client, mail="TAKEN@example.com")
    assert response.status_code == 409 and response.json == {"error": "User already exists"}


def test_register_again_unverified_with_the_same_password_resends_a_fresh_code(client):
    assert register(client).status_code == 200
    first = mailed_code("new@example.com")
    response = register(client, mail="New@Example.com")
    assert response.status_code == 200 and response.json == {"message": "Confirmation code sent to email"}
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert db.session.scalar(select(func.count()).select_from(MailMessage)) == 2
    second = mailed_code("new@example.com")
    stored = redis_client.hget(codes.code_key(codes.REGISTRATION, "new@example.com"), "code").decode()
    assert stored == second
    if first != second:  # one in a million they coincide
        assert client.post("/register/code", json={"mail": "new@example.com", "code": first}).status_code == 422


def test_register_again_unverified_with_another_password_conflicts(client):
    register(client)
    response = register(client, passwd="OtherPass2")
    assert response.status_code == 409 and response.json == {"error": "User already exists"}
    assert db.session.scalar(select(func.count()).select_from(MailMessage)) == 1


def test_concurrent_registrations_of_one_address_create_one_user(app):
    barrier, statuses = threading.Barrier(8), []

    def attempt():
        with app.test_client() as client:
            barrier.wait()
            statuses.append(register(client, mail="race@example.com").status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert set(statuses) <= {200, 409} and 200 in statuses


def test_code_confirms_the_email_and_the_site_then_logs_in(client):
    register(client)
    response = client.post("/register/code", json={"mail": "new@example.com", "code": mailed_code("new@example.com")})
    assert response.status_code == 200 and response.json == {"message": "Email confirmed"}
    assert db.session.scalar(select(User.is_verified).where(User.mail == "new@example.com")) is True
    login = client.post("/login", json={"mail": "new@example.com", "passwd": PASSWORD})
    assert login.status_code == 200
    # The code is used up.
    again = client.post("/register/code", json={"mail": "new@example.com", "code": mailed_code("new@example.com")})
    assert again.status_code == 404 and again.json == {"error": "Code not found or expired"}


def test_code_as_a_json_number_is_accepted(client):
    register(client)
    code = mailed_code("new@example.com")
    response = client.post("/register/code", json={"mail": "new@example.com", "code": int(code)})
    assert response.status_code == 200


@pytest.mark.parametrize("body", [{}, {"mail": "new@example.com"}, {"code": "123456"}, {"mail": "", "code": "1"},
                                  {"mail": "new@example.com", "code": ""}, {"mail": None, "code": "123456"}])
def test_code_requires_mail_and_code(client, body):
    response = client.post("/register/code", json=body)
    assert response.status_code == 400 and response.json == {"error": "Email and code required"}


@pytest.mark.parametrize("code", ["12a456", "abcdef", "12 34", "１２３４５６", True, 1.5, -3, ["123456"], {"c": 1}])
def test_code_must_be_numeric(client, code):
    register(client)
    response = client.post("/register/code", json={"mail": "new@example.com", "code": code})
    assert response.status_code == 400 and response.json == {"error": "Code must be numeric"}


def test_code_not_issued_is_not_found(client):
    response = client.post("/register/code", json={"mail": "nobody@example.com", "code": "123456"})
    assert response.status_code == 404 and response.json == {"error": "Code not found or expired"}


def test_expired_code_is_not_found(client):
    register(client)
    redis_client.delete(codes.code_key(codes.REGISTRATION, "new@example.com"))  # what the TTL does at 10 minutes
    response = client.post("/register/code", json={"mail": "new@example.com", "code": mailed_code("new@example.com")})
    assert response.status_code == 404


def test_wrong_codes_count_and_the_fifth_invalidates(client, app):
    register(client)
    right = mailed_code("new@example.com")
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    for _ in range(app.config["CODE_MAX_TRIES"]):
        response = client.post("/register/code", json={"mail": "new@example.com", "code": wrong})
        assert response.status_code == 422 and response.json == {"error": "Invalid code"}
    response = client.post("/register/code", json={"mail": "new@example.com", "code": right})
    assert response.status_code == 404 and response.json == {"error": "Code not found or expired"}
    assert db.session.scalar(select(User.is_verified).where(User.mail == "new@example.com")) is False


def test_a_right_code_after_some_wrong_ones_still_works(client):
    register(client)
    right = mailed_code("new@example.com")
    wrong = f"{(int(right) + 7) % 1000000:06d}"
    for _ in range(3):
        assert client.post("/register/code", json={"mail": "new@example.com", "code": wrong}).status_code == 422
    assert client.post("/register/code", json={"mail": "new@example.com", "code": right}).status_code == 200


def test_login_sets_a_strict_httponly_session_cookie_and_a_hashed_session(client, app):
    user = make_user("anna@example.com", password=PASSWORD)
    response = client.post("/login", json={"mail": "Anna@Example.com", "passwd": PASSWORD},
                           headers={"User-Agent": "site-test"})
    assert response.status_code == 200 and response.json == {"message": "Authentication successful"}
    cookie = response.headers["Set-Cookie"]
    token = re.match(r"session_id=([^;]+);", cookie).group(1)
    assert len(token) >= 43
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=604800" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie  # COOKIE_SECURE is off in tests
    stored = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert stored.token_hash == sessions.hash_token(token) and token not in stored.token_hash
    assert stored.user_agent == "site-test"


def test_login_cookie_is_secure_when_configured(app_with):
    secure = app_with(COOKIE_SECURE=True)
    with secure.app_context():
        make_user("sec@example.com", password=PASSWORD)
    response = secure.test_client().post("/login", json={"mail": "sec@example.com", "passwd": PASSWORD})
    assert response.status_code == 200 and "; Secure" in response.headers["Set-Cookie"]


def test_login_on_two_devices_keeps_both_sessions(app, client):
    make_user("two@example.com", password=PASSWORD)
    other = app.test_client()
    for device in (client, other):
        assert device.post("/login", json={"mail": "two@example.com", "passwd": PASSWORD}).status_code == 200
    assert client.get("/get_balance").status_code == 200
    assert other.get("/get_balance").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 2


@pytest.mark.parametrize("body", [{}, {"mail": "a@example.com"}, {"passwd": "x"}, {"mail": 1, "passwd": "x"},
                                  {"mail": "a@example.com", "passwd": 12345678}])
def test_login_requires_mail_and_password(client, body):
    response = client.post("/login", json=body)
    assert response.status_code == 400 and response.json == {"error": "Email and password required"}


@pytest.mark.parametrize("mail", ["plain", "a@b", "two@@example.com", "sp ace@example.com", "x" * 250 + "@example.com"])
def test_login_with_a_malformed_mail_is_400(client, mail):
    response = client.post("/login", json={"mail": mail, "passwd": PASSWORD})
    assert response.status_code == 400 and response.json == {"error": "Invalid email format"}
    assert "Set-Cookie" not in response.headers


def test_an_adopted_account_with_an_address_our_rule_rejects_still_signs_in(client):
    """Legacy rows hold whatever the old code let in; the 400 is for addresses nobody has."""
    user = make_user("anna@example.com", password=PASSWORD)
    user.mail = "anna'o@example.com"
    db.session.commit()
    response = client.post("/login", json={"mail": "anna'o@example.com", "passwd": PASSWORD})
    assert response.status_code == 200, response.json


def test_login_unknown_user(client):
    response = client.post("/login", json={"mail": "ghost@example.com", "passwd": PASSWORD})
    assert response.status_code == 401 and response.json == {"error": "User not found"}
    assert "Set-Cookie" not in response.headers


def test_login_wrong_password(client):
    make_user("anna@example.com", password=PASSWORD)
    for wrong in ("WrongPass1", "x" * 5000):
        response = client.post("/login", json={"mail": "anna@example.com", "passwd": wrong})
        assert response.status_code == 401 and response.json == {"error": "Invalid password"}
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0


def test_login_unverified_after_the_right_password_only(client):
    make_user("unv@example.com", password=PASSWORD, verified=False)
    response = client.post("/login", json={"mail": "unv@example.com", "passwd": PASSWORD})
    assert response.status_code == 403 and response.json == {"error": "Email not verified"}
    wrong = client.post("/login", json={"mail": "unv@example.com", "passwd": "WrongPass1"})
    assert wrong.status_code == 401


def test_blocked_customer_cannot_log_in(client):
    from datetime import datetime, timezone
    make_user("blocked@example.com", password=PASSWORD, blocked_at=datetime.now(timezone.utc))
    response = client.post("/login", json={"mail": "blocked@example.com", "passwd": PASSWORD})
    assert response.status_code == 403 and response.json == {"error": "Account blocked"}


@pytest.mark.legacy_ledger  # the sample's old balances never matched a ledger
@pytest.mark.parametrize("mail, password", [("anna@example.com", "Passw0rd1"), ("boris@example.com", "Legacy123A")])
def test_legacy_sha256_password_logs_in_once_and_is_upgraded(client, legacy_sample, mail, password):
    old_hash = db.session.scalar(select(User.passwd_hash).where(User.mail == mail))
    assert re.fullmatch(r"[0-9a-f]{64}", old_hash)
    response = client.post("/login", json={"mail": mail, "passwd": password})
    assert response.status_code == 200
    db.session.expire_all()
    new_hash = db.session.scalar(select(User.passwd_hash).where(User.mail == mail))
    assert new_hash.startswith("$argon2") and verify_password(new_hash, password) == (True, None)
    assert client.post("/login", json={"mail": mail, "passwd": password}).status_code == 200
    assert client.post("/login", json={"mail": mail, "passwd": password + "x"}).status_code == 401


@pytest.mark.legacy_ledger  # the sample's old balances never matched a ledger
def test_legacy_unverified_user_gets_a_code_by_registering_again(client, legacy_sample):
    assert client.post("/login", json={"mail": "carl@example.com", "passwd": "Oxnack2024x"}).status_code == 403
    response = register(client, mail="carl@example.com", passwd="Oxnack2024x")
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(User.passwd_hash).where(User.mail == "carl@example.com")).startswith("$argon2")
    code = mailed_code("carl@example.com")
    assert client.post("/register/code", json={"mail": "carl@example.com", "code": code}).status_code == 200
    assert client.post("/login", json={"mail": "carl@example.com", "passwd": "Oxnack2024x"}).status_code == 200
