"""Signer backends: spec parsing, the Ledger signer through ledgereth + the emulator, device
states as guardian errors, keystores and raw keys (real files, real crypto, nothing mocked)."""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from guardian.adapters.ledger import LedgerSigner, normalize_path
from guardian.adapters.signers import (
    KeystoreSigner,
    Signer,
    describe_hashes,
    device_form,
    open_signer,
    password_from_env,
    password_from_file,
    recover_safe_signer,
)
from guardian.cli import GuardianGroup
from guardian.errors import (
    FileAccessError,
    InputError,
    KeystoreError,
    LedgerAppNotOpenError,
    LedgerBlindSigningError,
    LedgerError,
    LedgerLockedError,
    LedgerNotConnectedError,
    LedgerRejectedError,
    SignatureError,
    SignerError,
)
from guardian.testing.ledger_emulator import EmulatedDongle, LedgerEmulator, serve

from guardian.testing.ledger_emulator import ANVIL_MNEMONIC

Account.enable_unaudited_hdwallet_features()
OTHER_MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"


def expected_account(path: str):
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/{path}")


def safe_hashes() -> tuple[bytes, bytes, bytes]:
    """Domain hash, message hash and safeTxHash of a real SafeTx (Safe >= 1.3), by eth_account."""
    from eth_account.messages import encode_typed_data

    typed = {
        "types": {
            "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "SafeTx": [
                {"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}, {"name": "data", "type": "bytes"},
                {"name": "operation", "type": "uint8"}, {"name": "safeTxGas", "type": "uint256"},
                {"name": "baseGas", "type": "uint256"}, {"name": "gasPrice", "type": "uint256"},
                {"name": "gasToken", "type": "address"}, {"name": "refundReceiver", "type": "address"},
                {"name": "nonce", "type": "uint256"},
            ],
        },
        "primaryType": "SafeTx",
        "domain": {"chainId": 31337, "verifyingContract": "0x" + "5a" * 20},
        "message": {
            "to": "0x" + "c0" * 20, "value": 0, "data": bytes.fromhex("8456cb59"), "operation": 0,
            "safeTxGas": 0, "baseGas": 0, "gasPrice": 0, "gasToken": "0x" + "00" * 20,
            "refundReceiver": "0x" + "00" * 20, "nonce": 7,
        },
    }
    signable = encode_typed_data(full_message=typed)
    return bytes(signable.header), bytes(signable.body), keccak(b"\x19\x01" + signable.header + signable.body)

HASHES = safe_hashes()
DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH = HASHES
RAW_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil account 1
RAW_KEY_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TARGET = to_checksum_address("0x" + "c0" * 20)
EIP1559_TX = {
    "to": TARGET,
    "value": 5,
    "gas": 100_000,
    "nonce": 4,
    "data": "0x8456cb59",
    "chainId": 31337,
    "maxFeePerGas": 3 * 10**9,
    "maxPriorityFeePerGas": 10**9,
}


def ledger(spec: str = "ledger", **state) -> tuple[Signer, LedgerEmulator]:
    emulator = LedgerEmulator(**state)
    messages: list[str] = []
    signer = open_signer(spec, dongle=EmulatedDongle(emulator), echo=messages.append)
    return signer, emulator


def safe_rule_owner(signature: bytes) -> str:
    """What the Safe's checkSignatures recovers, written out independently of guardian."""
    v = signature[64]
    digest = keccak(b"\x19Ethereum Signed Message:\n32" + SAFE_TX_HASH) if v > 30 else SAFE_TX_HASH
    return Account._recover_hash(digest, vrs=(v - 4 if v > 30 else v, signature[:32], signature[32:64]))


# -- specs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ("ledger", "44'/60'/0'/0/0"),
        ("ledger:3", "44'/60'/3'/0/0"),
        ("ledger-legacy", "44'/60'/0'/0"),
        ("ledger-legacy:2", "44'/60'/0'/2"),
        ("ledger:m/44'/60'/0'/0/3", "44'/60'/0'/0/3"),
        ("ledger:44h/60h/1h/0/0", "44'/60'/1'/0/0"),
        ("ledger:m/44'/60'/0'/7", "44'/60'/0'/7"),
    ],
)
def test_ledger_specs_choose_the_path_and_touch_no_device(spec, path):
    signer, emulator = ledger(spec)
    assert isinstance(signer, LedgerSigner) and isinstance(signer, Signer)
    assert signer.path == path and signer.description == f"ledger m/{path}"
    assert emulator.apdus == []  # opened lazily
    assert signer.address() == expected_account(path).address


@pytest.mark.parametrize("spec", ["ledger:m/44'/61'/0'/0/0", "ledger:m/0/1", "ledger:banana"])
def test_bad_ledger_paths_are_refused(spec):
    with pytest.raises(InputError, match="derivation path"):
        open_signer(spec, dongle=EmulatedDongle())


def test_unknown_kind_and_legacy_with_path_are_refused():
    with pytest.raises(SignerError, match="unknown kind 'trezor'"):
        open_signer("trezor:0")
    with pytest.raises(SignerError, match="takes an account index"):
        open_signer("ledger-legacy:m/44'/60'/0'/1")


def test_ledger_by_address_searches_both_conventions():
    wanted = expected_account("44'/60'/0'/3").address
    signer, _ = ledger(f"ledger:{wanted}")
    assert signer.address() == wanted
    assert signer.description == "ledger m/44'/60'/0'/3"


def test_ledger_by_unknown_address_says_so():
    signer, _ = ledger("ledger:0x" + "11" * 20)
    with pytest.raises(SignerError, match="not among the first 10"):
        signer.address()


# -- the Ledger signer -----------------------------------------------------------------------------


def test_ledger_eip712_safe_signature_equals_eth_account_and_matches_the_printed_hashes():
    signer, emulator = ledger("ledger:1")
    owner = expected_account("44'/60'/1'/0/0")
    printed = describe_hashes(*HASHES)

    signature = signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH)

    assert signature == bytes(Account.unsafe_sign_hash(SAFE_TX_HASH, owner.key).signature)
    assert signature[64] in (27, 28)
    assert safe_rule_owner(signature) == owner.address == recover_safe_signer(SAFE_TX_HASH, signature)
    screen = emulator.screens[-1]
    assert screen["kind"] == "eip712_hashed" and screen["approved"]
    # the device displayed exactly the hashes guardian printed
    assert screen["domain_hash"] in printed and screen["message_hash"] in printed
    assert device_form(bytes.fromhex(screen["domain_hash"][2:])) in printed
    assert [apdu[1] for apdu in emulator.apdus] == [0x06, 0x02, 0x0C]  # config, address, EIP-712: no other form
    signer.close()


def test_ledger_eth_sign_form_only_when_asked_and_recovers_under_the_safe_rule():
    signer, emulator = ledger("ledger-legacy:1")
    owner = expected_account("44'/60'/0'/1")
    signature = signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH, eth_sign=True)
    assert signature[64] in (31, 32)
    assert safe_rule_owner(signature) == owner.address
    assert 0x0C not in [apdu[1] for apdu in emulator.apdus]
    assert emulator.screens[-1]["message"] == "0x" + SAFE_TX_HASH.hex()


def test_blind_signing_off_raises_and_never_falls_back_to_another_form():
    signer, emulator = ledger("ledger", blind_signing=False)
    with pytest.raises(LedgerBlindSigningError) as caught:
        signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH)
    assert caught.value.status_word == 0x6A80
    assert "blind signing is disabled" in caught.value.one_line() and "Settings > Blind signing" in caught.value.one_line()
    assert 0x08 not in [apdu[1] for apdu in emulator.apdus]  # no silent eth_sign retry
    assert emulator.screens == []


def test_inconsistent_hashes_are_refused_before_the_device_is_asked():
    signer, emulator = ledger("ledger")
    with pytest.raises(SignerError, match="is not keccak256"):
        signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, keccak(b"another"))
    assert emulator.apdus == []


def test_a_signature_from_another_key_is_caught_by_the_self_check():
    signer, emulator = ledger("ledger")
    signer.address()  # the address of the anvil seed
    emulator.mnemonic = OTHER_MNEMONIC  # the "device" now signs with another seed
    emulator._keys.clear()
    with pytest.raises(SignatureError, match="recovers to"):
        signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH)


def test_ledger_signs_an_eip1559_transaction_for_its_own_address():
    signer, emulator = ledger("ledger:2")
    raw = signer.sign_transaction(dict(EIP1559_TX, **{"from": expected_account("44'/60'/2'/0/0").address}))
    assert raw[0] == 2
    assert Account.recover_transaction(raw) == expected_account("44'/60'/2'/0/0").address
    assert emulator.screens[-1]["data"] == "0x8456cb59"
    with pytest.raises(SignerError, match="transaction is from"):
        signer.sign_transaction(dict(EIP1559_TX, **{"from": RAW_KEY_ADDRESS}))


def test_ledger_signs_legacy_and_access_list_transactions():
    signer, _ = ledger("ledger")
    owner = expected_account("44'/60'/0'/0/0").address
    legacy = {k: v for k, v in EIP1559_TX.items() if not k.startswith("max")} | {"gasPrice": 10**9}
    assert Account.recover_transaction(signer.sign_transaction(legacy)) == owner
    with_list = legacy | {"accessList": [{"address": TARGET, "storageKeys": ["0x" + "00" * 31 + "02"]}]}
    raw = signer.sign_transaction(with_list)
    assert raw[0] == 1 and Account.recover_transaction(raw) == owner


# -- device states -> guardian errors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "error", "status_word", "text"),
    [
        ({"locked": True}, LedgerLockedError, 0x5515, "the device is locked (status 0x5515) (unlock it with your PIN"),
        ({"locked": True, "locked_status": 0x6982}, LedgerLockedError, 0x6982, "locked"),
        ({"app_open": False}, LedgerAppNotOpenError, 0x6E00, "the Ethereum app is not open (status 0x6E00) (open the Ethereum app"),
        ({"app_open": False, "app_closed_status": 0x6511}, LedgerAppNotOpenError, 0x6511, "not open"),
        ({"app_open": False, "app_closed_status": 0x650F}, LedgerAppNotOpenError, 0x650F, "not open"),
        ({"app_open": False, "app_closed_status": 0x6D00}, LedgerAppNotOpenError, 0x6D00, "not open"),
        ({"reject_next": True}, LedgerRejectedError, 0x6985, "signing the EIP-712 hashes was rejected on the device (status 0x6985) (nothing was signed"),
        ({"blind_signing": False}, LedgerBlindSigningError, 0x6A80, "blind signing is disabled (status 0x6A80)"),
    ],
)
def test_device_states_map_to_guardian_errors(state, error, status_word, text):
    signer, _ = ledger("ledger", **state)
    with pytest.raises(error) as caught:
        signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH)
    assert isinstance(caught.value, LedgerError)
    assert caught.value.status_word == status_word
    assert text in caught.value.one_line()
    assert "\n" not in caught.value.one_line()


def test_a_rejected_signature_can_be_retried_on_the_same_signer():
    signer, emulator = ledger("ledger")
    emulator.reject_next = True
    with pytest.raises(LedgerRejectedError):
        signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH)
    assert signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH)[64] in (27, 28)


def test_unlocking_after_a_locked_error_works_on_the_same_signer():
    signer, emulator = ledger("ledger", locked=True)
    with pytest.raises(LedgerLockedError):
        signer.address()
    emulator.locked = False
    assert signer.address() == expected_account("44'/60'/0'/0/0").address


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_nothing_listening_on_the_proxy_port_is_not_connected(monkeypatch):
    monkeypatch.setenv("LEDGER_PROXY_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("LEDGER_PROXY_PORT", str(_free_port()))
    signer = open_signer("ledger:0")  # nothing happens yet
    with pytest.raises(LedgerNotConnectedError, match="no device connected") as caught:
        signer.address()
    assert "LEDGER_PROXY_PORT" in caught.value.one_line()


def test_signer_over_tcp_proxy_and_a_device_that_goes_away(monkeypatch):
    server, port = serve()
    monkeypatch.setenv("LEDGER_PROXY_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("LEDGER_PROXY_PORT", str(port))
    try:
        signer = open_signer("ledger:1", echo=lambda text: None)
        signature = signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH)
        assert safe_rule_owner(signature) == expected_account("44'/60'/1'/0/0").address
        assert server.emulator.screens[-1]["domain_hash"] == "0x" + DOMAIN_HASH.hex()
    finally:
        server.stop()
    signer._device._dongle.socket.shutdown(socket.SHUT_RDWR)  # the cable is pulled
    with pytest.raises(LedgerNotConnectedError, match="connection lost"):
        signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH)
    signer.close()


# -- hashes as shown ------------------------------------------------------------------------------


def test_describe_hashes_shows_all_three_and_the_device_form():
    text = describe_hashes(*HASHES)
    for digest in HASHES:
        assert "0x" + digest.hex() in text
    assert "0x" + DOMAIN_HASH.hex().upper()[:16] + " " in text
    assert describe_hashes("0x" + DOMAIN_HASH.hex(), MESSAGE_HASH, SAFE_TX_HASH) == text


# -- keystores ----------------------------------------------------------------------------------


@pytest.fixture
def keystore(tmp_path):
    path = tmp_path / "bob.json"
    path.write_text(json.dumps(Account.encrypt(RAW_KEY, "correct horse", kdf="pbkdf2", iterations=2000)))
    return path


def test_keystore_with_the_right_password_signs(keystore, tmp_path):
    password_file = tmp_path / "password.txt"
    password_file.write_text("correct horse\n")
    signer = open_signer(f"keystore:{keystore}", password_source=password_from_file(password_file))
    assert signer.description == f"keystore {keystore}"
    assert signer.address() == RAW_KEY_ADDRESS  # from the file, before any password
    signature = signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH)
    assert signature == bytes(Account.unsafe_sign_hash(SAFE_TX_HASH, RAW_KEY).signature)
    eth_sign = signer.sign_safe_tx(DOMAIN_HASH, MESSAGE_HASH, SAFE_TX_HASH, eth_sign=True)
    assert eth_sign[64] in (31, 32) and safe_rule_owner(eth_sign) == RAW_KEY_ADDRESS
    assert Account.recover_transaction(signer.sign_transaction(EIP1559_TX)) == RAW_KEY_ADDRESS
    assert RAW_KEY[2:] not in repr(signer)


def test_keystore_password_from_env(keystore, monkeypatch):
    monkeypatch.setenv("BOB_PASSWORD", "correct horse")
    signer = KeystoreSigner(str(keystore), password_from_env("BOB_PASSWORD"))
    assert safe_rule_owner(signer.sign_safe_tx(*HASHES)) == RAW_KEY_ADDRESS
    monkeypatch.delenv("BOB_PASSWORD")
    with pytest.raises(KeystoreError, match="BOB_PASSWORD is not set"):
        KeystoreSigner(str(keystore), password_from_env("BOB_PASSWORD")).sign_safe_tx(*HASHES)


def test_wrong_keystore_password_is_a_one_line_error_without_traceback(keystore):
    group = GuardianGroup(name="guardian")

    @group.command("sign-drill")
    def sign_drill() -> None:
        signer = open_signer(f"keystore:{keystore}", password_source=lambda path: "wrong horse")
        signer.sign_safe_tx(*HASHES)

    result = CliRunner().invoke(group, ["sign-drill"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: signer keystore {keystore}: wrong password (nothing was signed)"
    assert "Traceback" not in result.output and "wrong horse" not in result.output
    assert isinstance(result.exception, SystemExit)  # the boundary turned it into an exit, not a crash


@pytest.mark.parametrize(
    ("content", "problem"),
    [("not json", "is not JSON"), ('{"address": "00"}', "no 'crypto' section")],
)
def test_broken_keystore_files_are_refused(tmp_path, content, problem):
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(KeystoreError, match=problem):
        open_signer(f"keystore:{path}")
    with pytest.raises(KeystoreError, match="cannot be read"):
        open_signer(f"keystore:{tmp_path / 'missing.json'}")


def test_missing_password_file_is_a_file_error(keystore, tmp_path):
    signer = open_signer(f"keystore:{keystore}", password_source=password_from_file(tmp_path / "nope.txt"))
    with pytest.raises(FileAccessError, match="nope.txt"):
        signer.sign_safe_tx(*HASHES)


# -- raw keys -----------------------------------------------------------------------------------


def test_raw_key_needs_the_opt_in(monkeypatch, tmp_path):
    monkeypatch.setenv("DRILL_KEY", RAW_KEY)
    with pytest.raises(SignerError, match="drills and tests only") as caught:
        open_signer("key:DRILL_KEY")
    assert "--allow-raw-key" in caught.value.one_line()
    key_file = tmp_path / "key.txt"
    key_file.write_text(RAW_KEY)
    with pytest.raises(SignerError):
        open_signer(f"key-file:{key_file}")


def test_raw_key_warns_signs_and_never_prints_the_key(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DRILL_KEY", RAW_KEY)
    key_file = tmp_path / "key.txt"
    key_file.write_text(RAW_KEY + "\n")
    shown: list[str] = []
    for spec in ("key:DRILL_KEY", f"key-file:{key_file}"):
        signer = open_signer(spec, allow_raw_key=True, echo=shown.append)
        assert signer.address() == RAW_KEY_ADDRESS
        signature = signer.sign_safe_tx(*HASHES)
        assert signature == bytes(Account.unsafe_sign_hash(SAFE_TX_HASH, RAW_KEY).signature)
        assert Account.recover_transaction(signer.sign_transaction(EIP1559_TX)) == RAW_KEY_ADDRESS
        shown += [repr(signer), signer.description, str(vars(signer).get("description"))]
        signer.close()
    assert len([line for line in shown if line.startswith("WARNING: signing with a raw private key")]) == 2
    # default echo goes to stderr
    open_signer("key:DRILL_KEY", allow_raw_key=True)
    captured = capsys.readouterr()
    assert "WARNING" in captured.err
    everything = "\n".join(shown) + captured.out + captured.err
    for form in (RAW_KEY, RAW_KEY[2:], RAW_KEY[2:].upper(), RAW_KEY[10:40]):
        assert form not in everything


@pytest.mark.parametrize("bad", ["0x1234", "zz" * 32, "0x" + "00" * 32, RAW_KEY + "00"])
def test_malformed_raw_key_error_does_not_echo_the_content(monkeypatch, bad):
    monkeypatch.setenv("DRILL_KEY", bad)
    signer = open_signer("key:DRILL_KEY", allow_raw_key=True, echo=lambda text: None)
    with pytest.raises(SignerError, match="does not hold a 32-byte hex private key") as caught:
        signer.address()
    assert bad.removeprefix("0x")[:16] not in caught.value.one_line()
    assert caught.value.__context__ is None  # no chained exception carrying the text either


def test_raw_key_from_unset_env_var():
    with pytest.raises(SignerError, match="GUARDIAN_SURELY_UNSET_VAR is not set"):
        open_signer("key:GUARDIAN_SURELY_UNSET_VAR", allow_raw_key=True)


def test_normalize_path_round_trip():
    assert normalize_path("m/44'/60'/0'/0/0") == "44'/60'/0'/0/0"
    with pytest.raises(InputError):
        normalize_path("")


def test_recover_rejects_unknown_v():
    with pytest.raises(SignatureError, match="neither EIP-712"):
        recover_safe_signer(SAFE_TX_HASH, b"\x01" * 64 + b"\x01")


def test_signer_module_is_lazy_about_heavy_imports():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import guardian.adapters.signers, guardian.cli.ledger\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('eth_account', 'ledgereth', 'ledgerblue', 'web3')))\n"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
