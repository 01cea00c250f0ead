"""Migration 0012's indexes serve the console's searches and counts, and the answers stay the same."""
import pytest
from sqlalchemy import func, select, text

from oxnack_admin.extensions import db
from oxnack_admin.models import User
from oxnack_admin.services import paging
from oxnack_admin.services.accounts import duplicates
from oxnack_admin.services.fleet import pool
from oxnack_admin.services.paging import ListParams
from tests.console.conftest import HTMX
from tests.support.factories import make_server, make_user


def plan(sql: str) -> str:
    """The plan PostgreSQL would pick were sequential scans ruled out (the test tables are tiny)."""
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    lines = db.session.execute(text(f"EXPLAIN {sql}")).scalars().all()
    db.session.rollback()
    return "\n".join(lines)


def shown_servers(client, query: str) -> list[int]:
    body = client.get(f"/console/servers?{query}", headers=HTMX).get_data(as_text=True)
    return sorted({vmid for vmid in range(600, 700) if f'/console/servers/{vmid}"' in body})


def test_the_server_search_finds_partial_public_and_lan_addresses(app, client, as_role):
    as_role("support")
    make_server(601, ips=["198.51.100.61"], lan_ip="10.20.0.61")
    make_server(602, ips=["203.0.113.7", "198.51.100.62"], lan_ip="10.20.0.62")  # the second address
    make_server(603, ips=[None, " 192.0.2.63"], lan_ip=None)  # legacy array: a NULL and a space
    assert shown_servers(client, "q=51.100.6") == [601, 602]
    assert shown_servers(client, "q=198.51.100.62") == [602]
    assert shown_servers(client, "q=10.20.0.61") == [601]  # LAN
    assert shown_servers(client, "q=2.63") == [603]
    assert shown_servers(client, "q=NULL") == [603]  # as before: the array's text form is searched
    assert shown_servers(client, "q=203.0.113.7,198") == [602]


def test_the_ips_text_function_is_the_arrays_text_and_the_index_serves_it(app):
    for ips in (["198.51.100.1"], ["a b", None, 'q"uote', ""], [], None):
        assert db.session.scalar(text("SELECT servers_ips_text(CAST(:ips AS text[])) IS NOT DISTINCT FROM "
                                      "CAST(:ips AS text[])::text"), {"ips": ips}), ips
    assert "ix_servers_ips_trgm" in plan("SELECT id FROM servers WHERE servers_ips_text(ips) ILIKE '%10.1.3%'")


def test_server_search_pages_are_in_order_and_large_results_are_estimated(app, monkeypatch):
    for vmid in range(640, 660):  # addresses in the opposite order to the ids
        make_server(vmid, ips=[f"198.51.100.{700 - vmid}"], lan_ip=None)
    everything = [row[0].id for row in pool.search(ListParams(q="198.51.100.", sort="id", per_page=200)).items]
    assert everything == list(range(640, 660))
    last = pool.search(ListParams(q="198.51.100.", sort="id", direction="desc", page=4, per_page=6))
    assert [row[0].id for row in last.items] == [641, 640] and last.exact and last.total == 20
    monkeypatch.setattr(paging, "EXACT_COUNT_LIMIT", 5)
    estimated = pool.search(ListParams(q="198.51.100.", sort="id"))
    assert not estimated.exact and estimated.total >= 6


def test_the_user_search_reads_the_moved_aside_addresses_by_index(app):
    user = make_user("moved@example.com")
    user.mail, user.legacy_mail, user.legacy_username = None, "moved@example.com", "old-name"
    db.session.commit()
    from oxnack_admin.services.accounts.admin import search_users
    assert [u.id for u in search_users(ListParams(q="moved@exa", sort="id")).items] == [user.id]
    assert [u.id for u in search_users(ListParams(q="old-na", sort="id")).items] == [user.id]
    for column in ("legacy_mail", "legacy_username"):
        assert f"ix_users_{column}_trgm" in plan(f"SELECT id FROM users WHERE {column} ILIKE '%moved%'")


@pytest.mark.parametrize("accounts, shared", [
    ([("a@example.com", False), ("A@example.com ", True)], 1),  # the usual pair: one signs in
    ([("b@example.com", True), ("B@example.com", True)], 1),  # both flagged, none signs in
    ([("c@example.com", True)], 0),  # flagged but alone now (the other changed address)
    ([("d@example.com", False), ("e@example.com", False)], 0),
    ([("  ", True), (" ", True)], 0),  # blank addresses are not shared addresses
])
def test_shared_addresses_are_counted_from_the_flagged_accounts(app, accounts, shared):
    for mail, flagged in accounts:
        make_user(mail, duplicate_mail=flagged)
    by_grouping_everyone = db.session.scalar(select(func.count()).select_from(
        select(func.lower(func.btrim(User.mail))).where(func.btrim(User.mail) != "")
        .group_by(func.lower(func.btrim(User.mail))).having(func.count() > 1).subquery()))
    assert duplicates.count_groups() == by_grouping_everyone == shared
    assert len(duplicates.groups()) == shared
    assert "ix_users_duplicate_mail_key" in plan(
        "SELECT 1 FROM users WHERE duplicate_mail AND lower(btrim(mail)) = 'a@example.com'")


def test_the_listing_by_mail_walks_an_index_both_ways(app):
    for direction in ("ASC NULLS LAST, id ASC", "DESC NULLS LAST, id DESC", "ASC NULLS FIRST, id ASC"):
        walk = plan(f"SELECT id FROM users ORDER BY mail {direction} LIMIT 25")
        assert "ix_users_mail" in walk and "Sort" not in walk, direction
