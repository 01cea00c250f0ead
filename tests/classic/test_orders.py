"""POST /create_machine: validation, the one-transaction sale, promocodes, and concurrent orders."""
import re
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, Promocode, PromocodeUse, Server, Transaction, User
from oxnack_admin.models.enums import PROVISIONING_STEPS, RunState, TransactionType
from tests.classic.conftest import queued_jobs
from tests.support.customers import login_cookie, sign_in
from tests.support.factories import make_pool, make_promocode, make_server, make_user

SMALL = {"core": 1, "ram": 1, "hdd": 15, "promo": "NOT", "os": "ubuntu"}  # costs 170
MISSING = {"status": "error", "message": "not any confs: core, ram, hdd, promo, os"}
OUT_OF_RANGE = {"status": "error", "message": "unlogin or more max parameters"}


def order(client, **changes):
    return client.post("/create_machine", json={**SMALL, **changes})


def ledger(user_id: int) -> list[Transaction]:
    return list(db.session.scalars(select(Transaction).where(Transaction.user_id == user_id,
                                                             Transaction.type == TransactionType.ORDER)))


def balance(user_id: int) -> Decimal:
    db.session.expire_all()
    return db.session.scalar(select(User.balance).where(User.id == user_id))


def test_order_sells_a_pool_vm_and_queues_provisioning(client, app):
    user = make_user(balance=500)
    make_pool(2, "ubuntu", first_vmid=500)
    make_server(600, "debian")
    login_cookie(client, user)
    response = order(client, core=2, ram=3, hdd=20)  # 20 + 30 + 200 = 250
    assert response.status_code == 201
    assert response.json == {"status": "created", "message": "Server started creating, server_id: 500"}

    assert balance(user.id) == Decimal(250)
    [debit] = ledger(user.id)
    assert debit.amount == Decimal(-250) and debit.server_id == 500 and debit.username == user.username
    server = db.session.get(Server, 500)
    assert server.busy is True and server.username == user.username
    assert (server.cores, server.ram, server.hdd) == (2, 3, 20)
    assert server.discription == "promocode: NOT" and server.name == f"500-{user.username}"
    assert re.fullmatch(r"52:54:00(:[0-9a-f]{2}){3}", server.mac)
    assert server.country == "russia" and server.rented_at is not None
    assert (server.paid_until - server.rented_at).days == app.config["RENTAL_DAYS"]
    assert db.session.get(Server, 501).busy is False

    run = db.session.scalar(select(ProvisioningRun))
    assert (run.server_id, run.user_id, run.cores, run.ram, run.hdd, run.os) == (500, user.id, 2, 3, 20, "ubuntu")
    assert run.price == Decimal(250) and run.promo is None and run.order_transaction_id == debit.id
    assert run.state == RunState.PENDING and [s.name for s in run.steps] == list(PROVISIONING_STEPS)
    [job] = queued_jobs("provisioning")
    assert job.func_name == "jobs.provisioning.provision_server" and job.args == (run.id,)


def test_order_with_a_promocode_charges_the_discount_and_counts_the_use(client):
    user = make_user(balance=500)
    make_pool(2, "ubuntu")
    make_promocode("SAVE15", 15)
    login_cookie(client, user)
    assert order(client, promo="SAVE15").status_code == 201  # 170 - 15 % = 144.5 -> 144
    assert balance(user.id) == Decimal(356)
    server = db.session.scalar(select(Server).where(Server.busy.is_(True)))
    assert server.discription == "promocode: SAVE15"
    use = db.session.scalar(select(PromocodeUse))
    assert (use.promo, use.user_id, use.server_id, use.discount) == ("SAVE15", user.id, server.id, 15)
    assert use.transaction_id == ledger(user.id)[0].id
    assert db.session.get(Promocode, "SAVE15").uses == 1
    assert db.session.scalar(select(ProvisioningRun.promo)) == "SAVE15"

    # One use per customer: the second order pays full price.
    assert order(client, promo="SAVE15").status_code == 201
    assert balance(user.id) == Decimal(186)
    assert db.session.scalar(select(func.count()).select_from(PromocodeUse)) == 1


def test_order_with_an_unknown_promo_is_full_price(client):
    user = make_user(balance=170)
    make_pool(1, "ubuntu")
    login_cookie(client, user)
    assert order(client, promo="NOSUCHCODE").status_code == 201
    assert balance(user.id) == 0
    assert db.session.scalar(select(Server.discription).where(Server.busy.is_(True))) == "promocode: NOSUCHCODE"


@pytest.mark.parametrize("promo", ["absent", None])
def test_order_without_promo_is_missing_a_field(client, promo):
    """The contract lists promo among the required fields (the site always sends "NOT")."""
    user = make_user(balance=170)
    make_pool(1, "ubuntu")
    login_cookie(client, user)
    body = {key: value for key, value in SMALL.items() if key != "promo"}
    if promo is None:
        body["promo"] = None
    response = client.post("/create_machine", json=body)
    assert response.status_code == 422 and response.json == MISSING
    assert balance(user.id) == 170 and not ledger(user.id)


def test_order_needs_a_session(client):
    make_pool(1, "ubuntu")
    response = order(client)
    assert response.status_code == 401 and response.json == {"status": "error", "message": "unlogin"}


@pytest.mark.parametrize("body", [{}, {"core": 1, "ram": 1, "hdd": 15}, {**SMALL, "os": None},
                                  {**SMALL, "core": None}, {"ram": 1, "hdd": 15, "os": "ubuntu"}])
def test_order_missing_fields(signed_in, body):
    response = signed_in.post("/create_machine", json=body)
    assert response.status_code == 422 and response.json == MISSING


@pytest.mark.parametrize("data", [b"not json", b"[]", b"12", b""])
def test_order_body_not_a_json_object(signed_in, data):
    response = signed_in.post("/create_machine", data=data, content_type="application/json")
    assert response.status_code == 422 and response.json == MISSING


@pytest.mark.parametrize("changes", [
    {"core": "2"}, {"ram": "1"}, {"hdd": 15.0}, {"core": True}, {"ram": 1e9}, {"core": [1]}, {"hdd": {"v": 15}},
    {"core": -1}, {"core": 0}, {"core": 6}, {"ram": 6}, {"hdd": 14}, {"hdd": 31}, {"core": 10 ** 30},
    {"promo": 5}, {"promo": ["NOT"]},
])
def test_order_wrong_types_and_out_of_range(signed_in, customer, changes):
    make_pool(1, "ubuntu")
    response = order(signed_in, **changes)
    assert response.status_code == 400 and response.json == OUT_OF_RANGE
    assert balance(customer.id) == 100 and not ledger(customer.id)


@pytest.mark.parametrize("os_name", ["windows", "Ubuntu", "", 7, ["ubuntu"]])
def test_order_unknown_os(signed_in, os_name):
    make_pool(1, "ubuntu")
    response = order(signed_in, os=os_name)
    assert response.status_code == 400 and response.json == {"status": "error", "message": "bad os"}


def test_order_unknown_country(signed_in):
    make_pool(1, "ubuntu")
    response = order(signed_in, country="atlantis")
    assert response.status_code == 400 and response.json == {"status": "error", "message": "bad country"}


def test_order_small_balance_moves_nothing(client):
    user = make_user(balance=169)
    make_pool(1, "ubuntu")
    login_cookie(client, user)
    response = order(client)
    assert response.status_code == 402 and response.json == {"status": "error", "message": "small balance"}
    assert balance(user.id) == 169 and not ledger(user.id)
    assert db.session.scalar(select(func.count()).select_from(Server).where(Server.busy.is_(True))) == 0
    assert db.session.scalar(select(func.count()).select_from(ProvisioningRun)) == 0 and not queued_jobs("provisioning")


def test_order_with_an_empty_pool_moves_no_money(client):
    user = make_user(balance=1000)
    make_server(600, "debian")
    make_server(501, "ubuntu", busy=True, username="someone")
    make_server(502, "ubuntu", attention="disk check failed")
    login_cookie(client, user)
    response = order(client)
    assert response.status_code == 501 and response.json == {"status": "error", "message": "not server now"}
    assert balance(user.id) == 1000 and not ledger(user.id)
    assert db.session.get(Server, 502).busy is False and not queued_jobs("provisioning")


def test_small_balance_is_decided_before_an_empty_pool(client):
    user = make_user(balance=10)
    login_cookie(client, user)
    assert order(client).status_code == 402


def test_order_takes_a_vm_of_the_requested_country(client, app_with):
    shop = app_with(COUNTRIES=["russia", "finland"])
    with shop.app_context():
        user = make_user(balance=1000)
        make_server(700, "ubuntu", country="russia")
        make_server(701, "ubuntu", country="finland")
        token = sign_in(user)
    shop_client = shop.test_client()
    shop_client.set_cookie("session_id", token)
    response = shop_client.post("/create_machine", json={**SMALL, "country": "finland"})
    assert response.json["message"].endswith("server_id: 701")


def test_twenty_concurrent_orders_from_a_customer_who_can_afford_one(app):
    user = make_user(balance=170)
    make_pool(5, "ubuntu")
    token = sign_in(user)
    barrier, statuses = threading.Barrier(20), []

    def place():
        client = app.test_client()
        client.set_cookie("session_id", token)
        barrier.wait()
        statuses.append(order(client).status_code)

    threads = [threading.Thread(target=place) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [402] * 19
    assert balance(user.id) == 0
    assert len(ledger(user.id)) == 1
    assert db.session.scalar(select(func.count()).select_from(Server).where(Server.busy.is_(True))) == 1
    assert db.session.scalar(select(func.count()).select_from(ProvisioningRun)) == 1
    assert len(queued_jobs("provisioning")) == 1


def test_concurrent_orders_of_many_customers_share_a_small_pool(app):
    users = [make_user(balance=1000) for _ in range(8)]
    make_pool(3, "ubuntu")
    tokens = [sign_in(user) for user in users]
    barrier, statuses = threading.Barrier(8), []

    def place(token):
        client = app.test_client()
        client.set_cookie("session_id", token)
        barrier.wait()
        statuses.append(order(client).status_code)

    threads = [threading.Thread(target=place, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 3 + [501] * 5
    owners = db.session.scalars(select(Server.username).where(Server.busy.is_(True))).all()
    assert len(set(owners)) == 3
    assert db.session.scalar(select(func.sum(User.balance))) == 8 * 1000 - 3 * 170


def test_a_promo_with_one_use_left_is_applied_once_under_concurrency(app):
    users = [make_user(balance=1000) for _ in range(6)]
    make_pool(6, "ubuntu")
    make_promocode("LAST", 50, max_uses=1)
    tokens = [sign_in(user) for user in users]
    barrier, statuses = threading.Barrier(6), []

    def place(token):
        client = app.test_client()
        client.set_cookie("session_id", token)
        barrier.wait()
        statuses.append(order(client, promo="LAST").status_code)

    threads = [threading.Thread(target=place, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 6
    db.session.expire_all()
    assert db.session.get(Promocode, "LAST").uses == 1
    assert db.session.scalar(select(func.count()).select_from(PromocodeUse)) == 1
    paid = sorted(-t.amount for t in db.session.scalars(select(Transaction).where(
        Transaction.type == TransactionType.ORDER)))
    assert paid == [85] + [170] * 5


def test_an_order_whose_job_cannot_be_queued_is_still_201_and_the_sweep_resumes_it(app_with, app, caplog):
    """Redis is down right after the commit: the money moved and the order exists, so the answer is 201."""
    from oxnack_admin.services.provisioning import runs as provisioning_runs
    from tests.support.gunicorn import free_port

    user = make_user(balance=500)
    make_pool(1, "ubuntu")
    dead_redis = app_with(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    client = dead_redis.test_client()
    login_cookie(client, user)

    response = client.post("/create_machine", json=SMALL)

    assert response.status_code == 201, response.json
    run = db.session.scalar(select(ProvisioningRun))
    assert response.json == {"status": "created", "message": f"Server started creating, server_id: {run.server_id}"}
    assert balance(user.id) == 330 and len(ledger(user.id)) == 1
    assert run.state == RunState.PENDING and queued_jobs("provisioning") == []
    assert "the sweep will queue it" in caplog.text

    assert provisioning_runs.resume_stuck_runs(older_than_minutes=0) == [run.id]  # the sweep, Redis back
    [job] = queued_jobs("provisioning")
    assert job.args == (run.id,)
