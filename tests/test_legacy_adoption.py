"""`flask adopt-legacy` on a nasty old database (tests/data/legacy_messy.sql): every row kept, logins work."""
from decimal import Decimal

import pytest
from flask_migrate import downgrade
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from oxnack_admin.cli.legacy_adoption import LEGACY_TABLES
from tests.support.two_factor import enrol
from tests.test_migrations import LEGACY_SQL, same_values, scratch_app, snapshot  # noqa: F401  (scratch_app: fixture)

MESSY_LOGINS = {"anna@example.com": "Passw0rd1", "dup@example.com": "Dup2NewPass",
                "shared1@example.com": "Shared111A", "shared2@example.com": "Shared222B",
                "ff@example.com": "Hexff000X", "owner-f@example.com": "Ownf000F"}


def load_messy(app) -> None:
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.begin() as connection:
        cursor = connection.connection.cursor()  # the driver's own: the fixture has literal '%' signs
        for name in ("legacy_schema.sql", "legacy_messy.sql"):
            cursor.execute((LEGACY_SQL / name).read_text())
    engine.dispose()


def query(app, sql: str, **params) -> list:
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params).all()
    engine.dispose()
    return rows


@pytest.fixture
def adopted(scratch_app):
    load_messy(scratch_app)
    before = snapshot(scratch_app)
    result = scratch_app.test_cli_runner().invoke(args=["adopt-legacy"])
    assert result.exit_code == 0, result.output
    assert "every legacy row kept" in result.output
    assert "2 e-mail address(es) shared by several accounts" in result.output
    assert "2 user(s) renamed" in result.output and "6 server(s) need attention" in result.output
    return scratch_app, before


def with_original_usernames(app, users: list[dict]) -> list[dict]:
    """Adoption renames shared usernames and keeps the original in legacy_username."""
    originals = dict(query(app, "SELECT id, legacy_username FROM users WHERE legacy_username IS NOT NULL"))
    return [{**row, "username": originals.get(row["id"], row["username"])} for row in users]


def test_messy_adoption_keeps_every_row_value_for_value(adopted):
    app, before = adopted
    after = snapshot(app)
    for table in LEGACY_TABLES:
        assert len(after[table]) == len(before[table]) > 0, table
        rows = with_original_usernames(app, after[table]) if table == "users" else after[table]
        assert same_values(before[table], rows), table
    # The only rewritten values: usernames two users shared, each kept beside its new name.
    renamed = query(app, "SELECT id, username, legacy_username FROM users WHERE legacy_username IS NOT NULL ORDER BY id")
    assert [tuple(r) for r in renamed] == [(9, "shared~9", "shared"), (14, "f~14", "f")]


def test_duplicate_mails_are_flagged_and_the_chosen_one_logs_in(adopted):
    app, _ = adopted
    flagged = [r.id for r in query(app, "SELECT id FROM users WHERE duplicate_mail ORDER BY id")]
    # anna: the verified id 1 over its unverified copy; dup: id 4 moved money last; '' is no address.
    assert flagged == [2, 3, 5]
    client = app.test_client()
    for mail, password in MESSY_LOGINS.items():
        response = client.post("/login", json={"mail": mail, "passwd": password})
        assert response.status_code == 200, (mail, response.json)
    # The old SHA-256 was upgraded on the account that logged in, not on its duplicates.
    hashes = dict(query(app, "SELECT id, passwd_hash FROM users WHERE id IN (3, 4)"))
    assert hashes[4].startswith("$argon2") and len(hashes[3]) == 64
    # The others cannot log in by mail until staff resolve the duplicate.
    assert client.post("/login", json={"mail": "dup@example.com", "passwd": "Dup0ldPass"}).status_code == 401
    assert client.post("/login", json={"mail": "dup@example.com ", "passwd": "Dup3Spaced"}).status_code == 401
    # NULL is_verified is not verified; a broken hash never matches.
    assert client.post("/login", json={"mail": "nullflags@example.com", "passwd": "Flags000N"}).status_code == 403


def test_registration_after_adoption_gets_fresh_ids_and_refuses_taken_mails(adopted):
    app, _ = adopted
    client = app.test_client()
    taken = client.post("/register", json={"mail": "DUP@example.com", "passwd": "Another1A"})
    assert taken.status_code == 409, taken.json
    fresh = client.post("/register", json={"mail": "newcomer@example.com", "passwd": "Newcomer1A"})
    assert fresh.status_code == 200, fresh.json
    (row,) = query(app, "SELECT id, username FROM users WHERE mail = 'newcomer@example.com'")
    assert row.id > 255 and row.username == format(row.id, "x")  # past the legacy 'ff' (hex 255)


def test_addresses_and_owners_that_clash_are_flagged_and_constrained(adopted):
    app, _ = adopted
    claims = {(r.kind, r.address): r.server_id for r in query(app, "SELECT * FROM server_addresses")}
    assert claims[("public", "203.0.113.10")] == 105 and claims[("lan", "192.168.2.105")] == 105  # the sold one
    assert claims[("public", "203.0.113.30")] == 112 and claims[("public", "203.0.113.40")] == 114
    attention = dict(query(app, "SELECT id, attention FROM servers WHERE attention IS NOT NULL"))
    assert set(attention) == {106, 107, 108, 109, 110, 113}
    assert all("no public IPv4 address" in attention[vmid] for vmid in (106, 107, 110))
    assert "203.0.113.10" in attention[109] and "192.168.2.105" in attention[109]
    assert "'shared' was shared by users 8, 9" in attention[108] and "stays with user 15" in attention[113]
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    for statement in ("INSERT INTO servers (id, ips) VALUES (900, ARRAY['203.0.113.18'])",
                      "INSERT INTO servers (id, lan_ip) VALUES (901, ' 192.168.2.108')",
                      "UPDATE servers SET ips = ARRAY['203.0.113.19'] WHERE id = 106",
                      "INSERT INTO users (username) VALUES ('shared')"):
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(statement))
    engine.dispose()


def test_ambiguous_legacy_transactions_link_nobody(adopted):
    app, _ = adopted
    links = dict(query(app, "SELECT id, user_id FROM transactions"))
    assert links[1] == 1 and links[3] == 6 and links[9] == 4 and links[11] == 2
    # Shared usernames ('shared', 'f'), a shared tg_id, a user that never existed.
    assert links[6] is None and links[10] is None and links[7] is None and links[8] is None


def test_second_adoption_only_upgrades(adopted):
    app, _ = adopted
    kept = snapshot(app)
    again = app.test_cli_runner().invoke(args=["adopt-legacy"])
    assert again.exit_code == 0 and "already adopted" in again.output, again.output
    assert snapshot(app) == kept


def test_downgrade_gives_the_legacy_rows_back(adopted):
    app, before = adopted
    with app.app_context():
        downgrade(revision="0001_legacy_baseline")
    after = snapshot(app)
    for table in LEGACY_TABLES:
        assert same_values(before[table], after[table]), table


def test_a_legacy_cookie_two_users_share_signs_nobody_in(adopted):
    app, _ = adopted
    client = app.test_client()
    client.set_cookie("session_id", "shared-legacy-cookie")
    assert client.get("/get_mail").status_code == 401
    client.set_cookie("session_id", "a1b2c3legacycookieanna")
    assert client.get("/get_mail").status_code == 200


def test_null_balance_customer_reads_as_zero(adopted):
    app, _ = adopted
    client = app.test_client()
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.begin() as connection:
        connection.execute(text("UPDATE users SET is_verified = true, cookie = 'null-balance-cookie' WHERE id = 2"))
    engine.dispose()
    client.set_cookie("session_id", "null-balance-cookie")
    response = client.get("/get_balance")
    assert response.status_code == 200 and response.json["balance"] == 0
    assert query(app, "SELECT balance FROM users WHERE id = 2")[0].balance is None  # read, not rewritten
    assert Decimal(query(app, "SELECT balance FROM users WHERE id = 19")[0].balance) == Decimal(2147483647)


def test_every_console_page_and_classic_read_works_on_the_adopted_data(adopted):
    """Staff and customers see the messy rows without a server error (links, NULLs, odd promocodes)."""
    from flask import url_for
    from oxnack_admin.extensions import db
    from oxnack_admin.services.staff.staff import create_staff
    app, _ = adopted
    with app.app_context():
        staff = create_staff("owner@oxnack.test", "owner", "staff-password-1")
        db.session.commit()
        enrol(staff)  # an owner signs in with a second factor
        staff_session_id = staff.get_id()  # "<id>.<session generation>"
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = staff_session_id, True
    users = [r.id for r in query(app, "SELECT id FROM users")]
    servers = [r.id for r in query(app, "SELECT id FROM servers")]
    promos = [r.promo for r in query(app, "SELECT promo FROM promocodes")]
    services = [r.id for r in query(app, "SELECT id FROM services")]
    with app.test_request_context():
        urls = ["/console/", "/console/users", "/console/users?q=%25", "/console/users?sort=balance&dir=desc",
                "/console/users/duplicates", "/console/servers", "/console/servers?state=attention",
                "/console/servers?sort=owner", "/console/promocodes", "/console/market", "/console/transactions",
                "/console/transactions.csv", "/console/audit", "/console/jobs"]
        urls += [url_for("console.users_show", user_id=i) for i in users]
        urls += [url_for("console.servers_show", server_id=i) for i in servers]
        urls += [url_for("console.promocodes_show", promo=p) for p in promos if p]  # "a/b" too
        urls += [url_for("console.market_show", service_id=i) for i in services]
    for url in urls:
        response = client.get(url)
        response.close()
        assert response.status_code == 200, (url, response.status_code)
    promocode_page = client.get("/console/promocodes?per_page=100").get_data(as_text=True)
    assert "ÜNI码" in promocode_page and "quo&#39;te&#34;s" in promocode_page and "100%" in promocode_page
    customer = app.test_client()
    assert customer.post("/login", json={"mail": "anna@example.com", "passwd": "Passw0rd1"}).status_code == 200
    services_answer = customer.get("/user_services")
    assert services_answer.status_code == 200 and [s["id"] for s in services_answer.json["services"]] == [105]
    assert app.test_client().get("/services").status_code == 200
    from oxnack_admin.services.money.promocodes import discount_for
    with app.app_context():
        found = {promo: discount_for(promo) for promo in ("with space", "ÜNI码", "100%", "quo'te\"s", "start10",
                                                          "START10", " lead", "NEG", "BIG", "50%_off")}
    # Exact codes, odd characters and all; a NULL or negative discount gives nothing; at most 100%.
    assert found == {"with space": 5, "ÜNI码": 15, "100%": 100, "quo'te\"s": 20, "start10": 15, "START10": 10,
                     " lead": 0, "NEG": 0, "BIG": 100, "50%_off": 50}
