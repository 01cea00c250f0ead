"""One address sequence for both assets, from 0, never reused: also when customers open invoices at once."""
import threading

from sqlalchemy import text

from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoInvoice
from oxnack_admin.services.crypto import addresses
from oxnack_admin.services.crypto import invoices as crypto_invoices
from tests.crypto.conftest import XPUB
from tests.support.factories import make_user

THREADS, EACH = 8, 3


def test_the_sequence_starts_at_0_and_never_cycles():
    start, minimum, cycles = db.session.execute(text(
        "SELECT start_value, min_value, cycle FROM pg_sequences WHERE sequencename = 'crypto_address_index_seq'")).one()
    assert (start, minimum, cycles) == (0, 0, False)


def test_concurrent_invoices_of_both_assets_get_distinct_addresses_in_one_sequence(app, chain):
    users = [make_user(f"rush{n}@example.com").id for n in range(THREADS)]
    barrier, errors = threading.Barrier(THREADS), []

    def open_some(user_id: int, asset: str):
        with app.app_context():
            try:
                barrier.wait()
                for _ in range(EACH):
                    crypto_invoices.open_invoice(user_id, 925, asset)
            except Exception as error:  # reported below: a thread's failure must fail the test
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=open_some, args=(user_id, ("USDT", "BNB")[n % 2]))
               for n, user_id in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = db.session.query(CryptoInvoice.address_index, CryptoInvoice.address, CryptoInvoice.asset).filter(
        CryptoInvoice.user_id.in_(users)).all()
    assert len(rows) == THREADS * EACH and {asset for _, _, asset in rows} == {"USDT", "BNB"}
    indexes = sorted(index for index, _, _ in rows)
    assert len(set(indexes)) == len(indexes)  # never one index twice, whichever the asset
    assert indexes == list(range(indexes[0], indexes[0] + len(indexes)))  # one sequence: no other taker here
    assert all(address == addresses.address_at(XPUB, index) for index, address, _ in rows)
