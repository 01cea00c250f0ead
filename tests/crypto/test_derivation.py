"""Watch-only derivation against published vectors, and the refusal of any extended private key."""
import pytest
from bip_utils import Bip32Secp256k1, Bip39SeedGenerator, Bip44, Bip44Coins

from oxnack_admin import create_app
from oxnack_admin.services.crypto import addresses
from oxnack_admin.settings import ConfigurationError
from tests.conftest import make_test_config

# BIP-39 test mnemonic; its Ethereum addresses m/44'/60'/0'/0/i are published by every wallet's test suite.
MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
ETH_ADDRESSES = ["0x9858EfFD232B4033E47d90003D41EC34EcaEda94", "0x6Fac4D18c912343BF86fa7049364Dd4E424Ab9C0",
                 "0xb6716976A3ebe8D39aCEB04372f22Ff8e6802D7A"]
# BIP-32 test vector 1: the xpub of m/0H/1/2H/2 and of its public child /1000000000.
BIP32_PARENT = ("xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5J"
                "nJ7dh8zL4fiyLHV")
BIP32_CHILD = ("xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPam"
               "hGW6cFJodrTHy")


def account(mnemonic: str = MNEMONIC):
    """TESTS ONLY: private derivation from a test mnemonic to the account level m/44'/60'/0'."""
    seed = Bip39SeedGenerator(mnemonic).Generate()
    return Bip44.FromSeed(seed, Bip44Coins.ETHEREUM).Purpose().Coin().Account(0)


def test_public_derivation_matches_the_published_ethereum_addresses():
    xpub = account().PublicKey().ToExtended()
    assert [addresses.address_at(xpub, i) for i in range(3)] == ETH_ADDRESSES


def test_public_child_derivation_matches_bip32_vector_1():
    child = Bip32Secp256k1.FromExtendedKey(BIP32_PARENT).ChildKey(1000000000)
    assert child.PublicKey().ToExtended() == BIP32_CHILD


def test_an_xprv_or_a_key_not_at_the_account_level_is_refused():
    xprv = account().PrivateKey().ToExtended()
    for bad, why in ((xprv, "PRIVATE"), (BIP32_PARENT, "depth 4"), ("xpub-nonsense", "not a valid"), ("", "empty")):
        with pytest.raises(addresses.BadXpub, match=why) as caught:
            addresses.account_key(bad)
        assert xprv not in str(caught.value)


@pytest.mark.parametrize("setting", ["CRYPTO_XPUB", "SMTP_PASSWORD", "CORS_ORIGINS"])
def test_the_app_refuses_to_start_with_an_xprv_in_any_setting(database_url, redis_url, setting):
    xprv = account().PrivateKey().ToExtended()
    value = [xprv] if setting == "CORS_ORIGINS" else f"note {xprv}"
    with pytest.raises(ConfigurationError, match=setting) as caught:
        create_app(make_test_config(database_url, redis_url, **{setting: value}))
    assert xprv not in str(caught.value)


def test_the_app_starts_with_an_xpub(database_url, redis_url):
    xpub = account().PublicKey().ToExtended()
    assert create_app(make_test_config(database_url, redis_url, CRYPTO_XPUB=xpub)).config["CRYPTO_XPUB"] == xpub
