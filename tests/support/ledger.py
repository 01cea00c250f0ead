"""The ledger invariant every test ends with (see tests/conftest.py clean_state)."""
from sqlalchemy import text

# For every customer: balance (a legacy NULL is 0) == the sum of its CONFIRMED ledger rows.
LEDGER_MISMATCHES = text("""
    SELECT u.id, u.mail, coalesce(u.balance, 0) AS balance, coalesce(t.total, 0) AS ledger
    FROM users u LEFT JOIN (SELECT user_id, sum(amount) AS total FROM transactions
                            WHERE status = 'CONFIRMED' AND user_id IS NOT NULL GROUP BY user_id) t ON t.user_id = u.id
    WHERE coalesce(u.balance, 0) <> coalesce(t.total, 0)
    ORDER BY u.id
""")


def ledger_mismatches(connection) -> list:
    """(id, mail, balance, ledger) of every user whose balance is not its confirmed ledger."""
    return connection.execute(LEDGER_MISMATCHES).all()
