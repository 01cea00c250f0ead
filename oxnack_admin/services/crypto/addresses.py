"""Watch-only deposit addresses: address i is m/44'/60'/0'/0/i, derived publicly from CRYPTO_XPUB.

CRYPTO_XPUB is the account-level extended public key (m/44'/60'/0'); the matching private key
stays with the offline wallet that sweeps. bip-utils does the BIP-32 maths and the EIP-55
checksum, so none of that is written here.
"""
from functools import lru_cache

from bip_utils import Bip32KeyError, Bip32Secp256k1, EthAddrEncoder

from oxnack_admin.settings import holds_private_key

EXTERNAL_CHAIN = 0  # the /0 of m/44'/60'/0'/0/i: receiving addresses
ACCOUNT_DEPTH = 3  # m/44'/60'/0' is three levels below the master key


class BadXpub(ValueError):
    """CRYPTO_XPUB is not an account-level extended public key (the message never repeats it)."""


@lru_cache(maxsize=8)
def account_key(xpub: str) -> Bip32Secp256k1:
    """The parsed xpub: public only, at the account level; else BadXpub."""
    xpub = (xpub or "").strip()
    if not xpub:
        raise BadXpub("CRYPTO_XPUB is empty")
    if holds_private_key(xpub):
        raise BadXpub("CRYPTO_XPUB holds an extended PRIVATE key; give the xpub of m/44'/60'/0' instead")
    try:
        key = Bip32Secp256k1.FromExtendedKey(xpub)
    except (Bip32KeyError, ValueError, TypeError):
        raise BadXpub("CRYPTO_XPUB is not a valid extended public key") from None
    if not key.IsPublicOnly():
        raise BadXpub("CRYPTO_XPUB holds a private key; give the xpub of m/44'/60'/0' instead")
    if key.Depth().ToInt() != ACCOUNT_DEPTH:
        raise BadXpub(f"CRYPTO_XPUB is at depth {key.Depth().ToInt()}, not the account level m/44'/60'/0' (3)")
    return key


@lru_cache(maxsize=4096)
def address_at(xpub: str, index: int) -> str:
    """The EIP-55 address of m/44'/60'/0'/0/index."""
    if not 0 <= index < 2 ** 31:
        raise ValueError("address index out of range")
    child = account_key(xpub).ChildKey(EXTERNAL_CHAIN).ChildKey(index)
    return EthAddrEncoder.EncodeKey(child.PublicKey().KeyObject())
