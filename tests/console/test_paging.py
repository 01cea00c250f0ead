"""Pages read from the far end (reversed order, flipped back) are the same rows OFFSET would give."""
import pytest
from sqlalchemy import select, text

from oxnack_admin.extensions import db
from oxnack_admin.models import User
from oxnack_admin.services.accounts.admin import SORTS
from oxnack_admin.services.paging import ListParams, paginate


@pytest.fixture
def customers(app):
    # 23 customers, every third without a mail (NULLs sort last both ways), balances with ties.
    db.session.execute(text(
        "INSERT INTO users (mail, balance, username) SELECT CASE WHEN n % 3 = 0 THEN NULL ELSE"
        " 'pager' || (n * 7 % 23) || '@example.com' END, n % 4, 'p' || n FROM generate_series(1, 23) AS n"))
    # Their balances are opening adjustments in the ledger, so the ledger still sums to every balance.
    db.session.execute(text(
        "INSERT INTO transactions (user_id, username, type, amount, status, discription)"
        " SELECT id, username, 'adjustment', balance, 'CONFIRMED', 'test opening balance' FROM users WHERE balance <> 0"))
    db.session.commit()


@pytest.mark.parametrize("sort", sorted(SORTS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_page_is_its_slice_of_the_whole_listing(customers, sort, direction):
    whole = paginate(select(User), ListParams(sort=sort, direction=direction, per_page=200), SORTS).items
    assert len(whole) == 23
    pages = [paginate(select(User), ListParams(sort=sort, direction=direction, page=number, per_page=5), SORTS)
             for number in range(1, 6)]
    assert [user.id for page in pages for user in page.items] == [user.id for user in whole]
    assert [len(page.items) for page in pages] == [5, 5, 5, 5, 3]
    assert pages[-1].page == 5 and pages[-1].total == 23


def test_a_page_past_the_end_is_the_last_page(customers):
    page = paginate(select(User), ListParams(sort="id", direction="desc", page=999999, per_page=10), SORTS)
    assert page.page == 3 and [user.id for user in page.items] == [3, 2, 1]


def test_counts_past_the_limit_are_the_planners_estimate(customers):
    from oxnack_admin.services.paging import count_rows

    assert count_rows(select(User)) == (23, True)
    estimate, exact = count_rows(select(User).where(User.mail.is_not(None)), limit=5)
    assert not exact and estimate >= 6
    assert count_rows(select(User).where(User.id.in_([1, 2, 3])), limit=5) == (3, True)


def test_the_last_page_of_an_estimated_count_is_the_last_rows(customers, monkeypatch):
    from oxnack_admin.services import paging

    monkeypatch.setattr(paging, "EXACT_COUNT_LIMIT", 5)  # a setting-like threshold, so 23 rows are "many"
    page = paging.paginate(select(User), ListParams(sort="id", page=999999, per_page=10), SORTS)
    assert not page.exact and page.page == page.pages
    assert [user.id for user in page.items] == list(range(14, 24))
