"""The Ledger emulator, driven by ledgereth's real encoding and decoding (nothing mocked).

Every expectation is computed independently with eth_account / eth_keys from the same
mnemonic and path, so a wrong key, a wrong hash or a wrong v encoding fails here.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import struct
import subprocess
import sys

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_keys import keys
from eth_utils import keccak, to_checksum_address
from ledgerblue.commException import CommException
from ledgereth import create_transaction, get_account_by_path, sign_message, sign_typed_data_draft
from ledgereth.comms import dongle_send_data
from ledgereth.exceptions import LedgerInvalid

from guardian.testing.ledger_emulator import ANVIL_MNEMONIC, EmulatedDongle, LedgerEmulator, serve

Account.enable_unaudited_hdwallet_features()
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
OTHER_MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"

LEDGER_LIVE = [f"44'/60'/{i}'/0/0" for i in range(3)]
LEGACY = [f"44'/60'/0'/{i}" for i in range(3)]


def expected_account(path: str, mnemonic: str = ANVIL_MNEMONIC):
    return Account.from_mnemonic(mnemonic, account_path=f"m/{path}")


def safe_typed_data(chain_id: int = 31337, nonce: int = 7) -> dict:
    """A real SafeTx (Safe >= 1.3 domain) as EIP-712 typed data."""
    return {
        "types": {
            "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "SafeTx": [
                {"name": "to", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "data", "type": "bytes"},
                {"name": "operation", "type": "uint8"},
                {"name": "safeTxGas", "type": "uint256"},
                {"name": "baseGas", "type": "uint256"},
                {"name": "gasPrice", "type": "uint256"},
                {"name": "gasToken", "type": "address"},
                {"name": "refundReceiver", "type": "address"},
                {"name": "nonce", "type": "uint256"},
            ],
        },
        "primaryType": "SafeTx",
        "domain": {"chainId": chain_id, "verifyingContract": "0x" + "5a" * 20},
        "message": {
            "to": "0x" + "c0" * 20,
            "value": 0,
            "data": bytes.fromhex("8456cb59"),  # pause()
            "operation": 0,
            "safeTxGas": 0,
            "baseGas": 0,
            "gasPrice": 0,
            "gasToken": "0x" + "00" * 20,
            "refundReceiver": "0x" + "00" * 20,
            "nonce": nonce,
        },
    }


def safe_hashes(typed: dict) -> tuple[bytes, bytes, bytes]:
    signable = encode_typed_data(full_message=typed)
    domain_hash, message_hash = bytes(signable.header), bytes(signable.body)
    return domain_hash, message_hash, keccak(b"\x19\x01" + domain_hash + message_hash)


@pytest.fixture
def dongle():
    return EmulatedDongle(LedgerEmulator())


# -- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LEDGER_LIVE + LEGACY + ["44'/60'/0'/0/5"])
def test_address_matches_eth_account(dongle, path):
    account = get_account_by_path(path, dongle=dongle)
    assert account.address == expected_account(path).address


def test_other_mnemonic_gives_other_addresses():
    dongle = EmulatedDongle(LedgerEmulator(mnemonic=OTHER_MNEMONIC))
    account = get_account_by_path(LEDGER_LIVE[0], dongle=dongle)
    assert account.address == expected_account(LEDGER_LIVE[0], OTHER_MNEMONIC).address
    assert account.address != expected_account(LEDGER_LIVE[0]).address


def _get_address_raw(dongle, path: str, p2: int) -> bytes:
    from ledgereth.utils import parse_bip32_path

    encoded = parse_bip32_path(path)
    data = bytes([len(encoded) // 4]) + encoded
    return bytes(dongle.exchange(bytes([0xE0, 0x02, 0x00, p2, len(data)]) + data))


def test_get_address_returns_public_key_address_and_chain_code(dongle):
    parent_path, child_path = "44'/60'/0'/0", "44'/60'/0'/0/0"
    without = _get_address_raw(dongle, child_path, 0x00)
    assert without[0] == 65 and without[1] == 0x04 and without[66] == 40 and len(without) == 1 + 65 + 1 + 40
    child = expected_account(child_path)
    assert without[2:66] == keys.PrivateKey(child.key).public_key.to_bytes()
    assert to_checksum_address("0x" + without[67:107].decode()) == child.address

    # The chain code is right iff public BIP-32 derivation from the parent reaches the child.
    answer = _get_address_raw(dongle, parent_path, 0x01)
    assert len(answer) == 1 + 65 + 1 + 40 + 32
    parent_public, chain_code = answer[2:66], answer[107:]
    x, y = parent_public[:32], parent_public[32:]
    compressed = bytes([2 + (y[-1] & 1)]) + x
    digest = hmac.new(chain_code, compressed + struct.pack(">I", 0), hashlib.sha512).digest()
    parent_key = int.from_bytes(expected_account(parent_path).key, "big")
    child_key = (int.from_bytes(digest[:32], "big") + parent_key) % SECP256K1_N
    assert keys.PrivateKey(child_key.to_bytes(32, "big")).public_key.to_checksum_address() == child.address


def test_app_configuration_reports_version_and_blind_signing():
    on = EmulatedDongle(LedgerEmulator())
    off = EmulatedDongle(LedgerEmulator(blind_signing=False))
    assert bytes(on.exchange(bytes.fromhex("e006000000"))) == bytes([0x01, 1, 10, 3])
    assert bytes(off.exchange(bytes.fromhex("e006000000")))[0] & 0x01 == 0


# -- EIP-712 by hashes --------------------------------------------------------------------------


def test_eip712_signature_of_a_safe_tx_equals_eth_account_and_recovers(dongle):
    typed = safe_typed_data()
    domain_hash, message_hash, safe_tx_hash = safe_hashes(typed)
    owner = expected_account(LEDGER_LIVE[1])

    signed = sign_typed_data_draft(domain_hash, message_hash, LEDGER_LIVE[1], dongle=dongle)

    assert signed.v in (27, 28)
    device_signature = bytes.fromhex(signed.signature[2:])
    assert device_signature == bytes(Account.unsafe_sign_hash(safe_tx_hash, owner.key).signature)
    assert device_signature == bytes(Account.sign_message(encode_typed_data(full_message=typed), owner.key).signature)
    assert Account._recover_hash(safe_tx_hash, signature=device_signature) == owner.address
    screen = dongle.emulator.screens[-1]
    assert screen == {
        "kind": "eip712_hashed",
        "path": LEDGER_LIVE[1],
        "domain_hash": "0x" + domain_hash.hex(),
        "message_hash": "0x" + message_hash.hex(),
        "approved": True,
    }
    assert dongle.emulator.apdus[-1][:4] == bytes.fromhex("e00c0000")


def test_eip712_refused_without_blind_signing():
    dongle = EmulatedDongle(LedgerEmulator(blind_signing=False))
    domain_hash, message_hash, _ = safe_hashes(safe_typed_data())
    with pytest.raises(Exception) as caught:
        sign_typed_data_draft(domain_hash, message_hash, LEDGER_LIVE[0], dongle=dongle)
    assert caught.value.__cause__.sw == 0x6A80
    assert dongle.emulator.screens == []


# -- personal messages (the Safe's eth_sign form) -------------------------------------------------


def test_personal_message_of_safe_tx_hash_recovers_under_the_safe_rule(dongle):
    _, _, safe_tx_hash = safe_hashes(safe_typed_data())
    owner = expected_account(LEDGER_LIVE[0])
    signed = sign_message(safe_tx_hash, LEDGER_LIVE[0], dongle=dongle)
    assert signed.v in (27, 28)
    # The Safe, for v > 30: ecrecover(keccak("\x19Ethereum Signed Message:\n32" || hash), v - 4, r, s)
    personal = keccak(b"\x19Ethereum Signed Message:\n32" + safe_tx_hash)
    signature = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
    assert Account._recover_hash(personal, signature=signature) == owner.address
    assert Account.recover_message(encode_defunct(primitive=safe_tx_hash), signature=signature) == owner.address
    assert dongle.emulator.screens[-1]["message"] == "0x" + safe_tx_hash.hex()


def test_long_personal_message_is_chunked_and_signed_whole(dongle):
    message = bytes(range(256)) * 3  # 768 bytes: four APDUs
    signed = sign_message(message, LEDGER_LIVE[2], dongle=dongle)
    signature = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
    assert Account.recover_message(encode_defunct(primitive=message), signature=signature) == expected_account(LEDGER_LIVE[2]).address
    assert [apdu[2] for apdu in dongle.emulator.apdus] == [0x00, 0x80, 0x80, 0x80]


# -- transactions ---------------------------------------------------------------------------------


def test_eip1559_transaction_decodes_to_the_right_sender(dongle):
    from eth_account.typed_transactions import TypedTransaction
    from hexbytes import HexBytes

    signed = create_transaction(
        destination="0x" + "c0" * 20,
        amount=12345,
        gas=90_000,
        nonce=3,
        data=bytes.fromhex("8456cb59") + b"\x01" * 400,  # long enough to need several chunks
        max_fee_per_gas=2 * 10**9,
        max_priority_fee_per_gas=10**9,
        chain_id=31337,
        sender_path=LEDGER_LIVE[1],
        dongle=dongle,
    )
    raw = bytes.fromhex(signed.raw_transaction()[2:])
    assert raw[0] == 2
    assert Account.recover_transaction(raw) == expected_account(LEDGER_LIVE[1]).address
    decoded = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    assert decoded["nonce"] == 3 and decoded["value"] == 12345 and decoded["chainId"] == 31337
    assert dongle.emulator.screens[-1]["to"] == "0x" + "c0" * 20
    assert len([a for a in dongle.emulator.apdus if a[1] == 0x04]) >= 2


def test_legacy_eip155_transaction_decodes_to_the_right_sender(dongle):
    signed = create_transaction(
        destination="0x" + "c0" * 20, amount=1, gas=21_000, nonce=0, gas_price=10**9, chain_id=31337,
        sender_path=LEGACY[2], dongle=dongle,
    )
    raw = bytes.fromhex(signed.raw_transaction()[2:])
    assert signed.v in (31337 * 2 + 35, 31337 * 2 + 36)
    assert Account.recover_transaction(raw) == expected_account(LEGACY[2]).address


def test_eip2930_transaction_decodes_to_the_right_sender(dongle):
    signed = create_transaction(
        destination="0x" + "c0" * 20, amount=0, gas=50_000, nonce=9, gas_price=10**9, chain_id=1,
        access_list=[("0x" + "c0" * 20, ["0x" + "00" * 31 + "01"])], sender_path=LEDGER_LIVE[0], dongle=dongle,
    )
    raw = bytes.fromhex(signed.raw_transaction()[2:])
    assert raw[0] == 1
    assert Account.recover_transaction(raw) == expected_account(LEDGER_LIVE[0]).address


def test_contract_data_without_blind_signing_is_refused_but_plain_transfer_is_signed():
    dongle = EmulatedDongle(LedgerEmulator(blind_signing=False))
    common = dict(destination="0x" + "c0" * 20, amount=1, gas=60_000, nonce=0, max_fee_per_gas=2, max_priority_fee_per_gas=1, chain_id=31337, dongle=dongle)
    with pytest.raises(Exception) as caught:
        create_transaction(data=bytes.fromhex("8456cb59"), **common)
    assert caught.value.__cause__.sw == 0x6A80
    signed = create_transaction(**common)
    assert Account.recover_transaction(signed.raw_transaction()) == expected_account(LEDGER_LIVE[0]).address


# -- state switches, with the real status words ----------------------------------------------------


@pytest.mark.parametrize(
    ("state", "status_word"),
    [({"locked": True}, 0x5515), ({"app_open": False}, 0x6E00), ({"app_open": False, "app_closed_status": 0x6511}, 0x6511)],
)
def test_states_answer_every_command_with_their_status_word(state, status_word):
    dongle = EmulatedDongle(LedgerEmulator(**state))
    with pytest.raises(CommException) as caught:
        dongle.exchange(bytes.fromhex("e006000000"))
    assert caught.value.sw == status_word


def test_reject_next_rejects_once_then_approves(dongle):
    domain_hash, message_hash, _ = safe_hashes(safe_typed_data())
    dongle.emulator.reject_next = True
    with pytest.raises(Exception) as caught:
        sign_typed_data_draft(domain_hash, message_hash, LEDGER_LIVE[0], dongle=dongle)
    assert caught.value.__cause__.sw == 0x6985
    assert dongle.emulator.screens[-1]["approved"] is False
    assert sign_typed_data_draft(domain_hash, message_hash, LEDGER_LIVE[0], dongle=dongle).v in (27, 28)
    assert dongle.emulator.screens[-1]["approved"] is True


def test_reject_all_rejects_every_signature_but_still_gives_addresses():
    dongle = EmulatedDongle(LedgerEmulator(reject_all=True))
    assert get_account_by_path(LEDGER_LIVE[0], dongle=dongle).address == expected_account(LEDGER_LIVE[0]).address
    for _ in range(2):
        with pytest.raises(Exception) as caught:
            sign_message(b"hello", LEDGER_LIVE[0], dongle=dongle)
        assert caught.value.__cause__.sw == 0x6985


def test_malformed_apdus_get_the_app_status_words(dongle):
    for apdu, status_word in [
        ("b0060000 00", 0x6E00),  # wrong CLA
        ("e0ff0000 00", 0x6D00),  # unknown INS
        ("e0048000 0100", 0x6B00),  # a secondary tx chunk with nothing before it
        ("e00c0000 06 01 8000002c", 0x6700),  # Lc says 6, 5 bytes follow
    ]:
        with pytest.raises(CommException) as caught:
            dongle.exchange(bytes.fromhex(apdu.replace(" ", "")))
        assert caught.value.sw == status_word, apdu
    with pytest.raises(LedgerInvalid) as caught:  # hashes of 10 bytes instead of 2 x 32
        dongle_send_data(dongle, "SIGN_TYPED_DATA", b"\x01\x80\x00\x00\x2c" + b"\x00" * 10)
    assert caught.value.__cause__.sw == 0x6A80


# -- Speculos-compatible TCP ------------------------------------------------------------------------


def test_tcp_server_speaks_speculos_framing():
    server, port = serve()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            apdu = bytes.fromhex("e006000000")
            client.sendall(struct.pack(">I", len(apdu)) + apdu)
            (length,) = struct.unpack(">I", client.recv(4))
            data = client.recv(length)
            (status_word,) = struct.unpack(">H", client.recv(2))
        assert (length, data, status_word) == (4, bytes([1, 1, 10, 3]), 0x9000)

        server.emulator.locked = True
        from ledgerblue.commTCP import getDongle

        dongle = getDongle("127.0.0.1", port)
        with pytest.raises(CommException) as caught:
            dongle.exchange(apdu)
        assert caught.value.sw == 0x5515
        server.emulator.locked = False
        assert get_account_by_path(LEGACY[1], dongle=dongle).address == expected_account(LEGACY[1]).address
        dongle.close()
    finally:
        server.stop()


def test_module_entry_point_serves_with_its_switches(tmp_path):
    log = tmp_path / "screens.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "guardian.testing.ledger_emulator", "--port", "0", "--reject", "--log", str(log)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("ledger emulator listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        from ledgerblue.commTCP import getDongle

        dongle = getDongle("127.0.0.1", port)
        assert get_account_by_path(LEDGER_LIVE[0], dongle=dongle).address == expected_account(LEDGER_LIVE[0]).address
        with pytest.raises(Exception) as caught:
            sign_message(b"drill", LEDGER_LIVE[0], dongle=dongle)
        assert caught.value.__cause__.sw == 0x6985
        dongle.close()
        assert '"approved": false' in log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=10)
