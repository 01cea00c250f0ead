"""No key that can spend is anywhere outside the tests: the demo xpub is public-only, no mnemonic, no xprv."""
import re
from pathlib import Path

from oxnack_admin.cli.simulators import DEMO_CRYPTO_XPUB
from oxnack_admin.services.crypto import addresses
from oxnack_admin.settings import holds_private_key
from tests.crypto.test_derivation import ETH_ADDRESSES, account

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["oxnack_admin", "jobs", "bench", "migrations", "config.example.py", "wsgi.py", "gunicorn.conf.py",
           "Makefile", "README.md"]
# Twelve or more BIP-39 words in a row would be a mnemonic; the demo's is public, but only tests may spell it out.
MNEMONIC = re.compile(r"\b(abandon|zoo|legal|letter)(\s+\1){10,}\b")


def test_the_demo_xpub_is_public_only_at_the_account_level_of_the_test_mnemonic():
    assert not holds_private_key(DEMO_CRYPTO_XPUB) and DEMO_CRYPTO_XPUB.startswith("xpub")
    key = addresses.account_key(DEMO_CRYPTO_XPUB)
    assert key.IsPublicOnly() and key.Depth().ToInt() == 3
    assert DEMO_CRYPTO_XPUB == account().PublicKey().ToExtended()
    assert [addresses.address_at(DEMO_CRYPTO_XPUB, i) for i in range(3)] == ETH_ADDRESSES


def shipped_files():
    for name in SHIPPED:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        for file in files:
            if file.is_file() and file.suffix not in {".png", ".ico", ".woff", ".woff2", ".gz", ".pyc"}:
                yield file


def test_no_shipped_file_holds_an_extended_private_key_or_a_mnemonic():
    found = []
    for file in shipped_files():
        text = file.read_text(errors="ignore")
        if holds_private_key(text) or MNEMONIC.search(text):
            found.append(str(file.relative_to(ROOT)))
    assert found == []
