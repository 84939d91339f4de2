"""Node secrets sealed with AES-GCM under a key kept outside the database.

The webhook secret of a node is the HMAC-SHA256 key it signs its batches with.
The database keeps only the sealed form (stockroute.node_secret.sealed):

    sealed = FORMAT (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext and tag

with the node's id bound in as associated data, so a sealed secret copied to
another node's row does not open.  The key is 32 random bytes, written as 64
hex digits in a file that only the console's user can read; its id (the first
16 hex digits of its SHA-256) is stored beside each sealed secret, so a console
given the wrong key file says so instead of refusing every signature.
"""
import hashlib
import os
import secrets
import stat

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = 1
NONCE_BYTES = 12


class SealingError(Exception):
    """A key file or a sealed secret that cannot be used."""


def generate_key_file(path):
    """Write a new random key to path (which must not exist), readable by its owner only."""
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return key_id(key)


def load_key(path):
    """The key in path: 64 hex digits (surrounding white space ignored)."""
    if not path:
        raise SealingError("no key file: set CONSOLE_KEY_FILE (python3 -m console key generate FILE makes one)")
    try:
        st = os.stat(path)
        with open(path) as f:
            text = f.read().strip()
    except OSError as e:
        raise SealingError(f"cannot read key file {path}: {e.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SealingError(f"key file {path} is readable by others: chmod 600 it")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SealingError(f"key file {path} must hold 64 hex digits (32 bytes)")
    return key


def key_id(key):
    return hashlib.sha256(key).hexdigest()[:16]


def _aad(node_id):
    return b"stockroute node secret\0" + node_id.encode("utf-8")


def seal(key, node_id, secret):
    """The sealed form of secret (bytes) for node_id."""
    nonce = os.urandom(NONCE_BYTES)
    return bytes([FORMAT]) + nonce + AESGCM(key).encrypt(nonce, secret, _aad(node_id))


def unseal(key, node_id, sealed):
    """The secret a sealed value holds; SealingError if it is not one this key sealed for node_id."""
    sealed = bytes(sealed)
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[0] != FORMAT:
        raise SealingError(f"the sealed secret of node {node_id!r} is not in a known format")
    nonce, body = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, body, _aad(node_id))
    except InvalidTag:
        raise SealingError(f"the sealed secret of node {node_id!r} does not open with this key") from None


def new_secret():
    """A fresh webhook secret: 32 random bytes as URL-safe text (43 characters)."""
    return secrets.token_urlsafe(32)
