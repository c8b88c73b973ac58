"""Execution on real anvil Safes: the M-of-N matrix end to end, idempotent reruns, inner
failures, competing executions, and an RPC that stalls or dies around the send.

Every Safe has the emulated Ledger among its signers, reached through ledgereth's real code
(``EmulatedDongle`` under ledgereth's transport). Faults are injected with real tools: anvil's
own mempool controls and a small HTTP proxy in front of anvil that stops answering.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest
import yaml

from guardian.adapters.anvil import start_anvil
from guardian.adapters.chain import SafeReader, connect
from guardian.config import load_playbook
from guardian.domain.proposal import Proposal
from guardian.domain.values import keccak
from guardian.errors import (
    InnerCallWouldFailError,
    NonceAlreadyUsedError,
    NotEnoughSignaturesError,
    RpcError,
    SafeRevertError,
)
from guardian.testbed import ANVIL_ADDRESSES, deploy_testbed
from guardian.testing.ledger_emulator import EmulatedDongle
from support import reverted, quiet, key_signer, ledger_signer
from guardian.workflow.execution import execute_proposal
from guardian.workflow.proposals import build_proposal, load_proposal, propose
from guardian.workflow.signing import merge_proposals, proposal_status, sign_proposal

MATRIX = [(1, 1), (2, 3), (3, 5)]
EXECUTOR = 9  # anvil account 9: not an owner of any Safe here
PAUSED = keccak(b"paused()")[:4]
MAX_LEVERAGE = keccak(b"maxLeverage()")[:4]


pytestmark = pytest.mark.usefixtures("anvil_key_env")




def owner_signers(threshold: int) -> list:
    """alice on the Ledger, then bob, carol... with raw keys (anvil accounts 2, 3...)."""
    return [ledger_signer(1)] + [key_signer(index) for index in range(2, threshold + 1)]


def call_uint(chain, to: str, data: bytes) -> int:
    return int.from_bytes(chain.call(to, data), "big")


@pytest.fixture(scope="module", params=MATRIX, ids=[f"{m}-of-{n}" for m, n in MATRIX])
def matrix_bed(request, tmp_path_factory):
    threshold, count = request.param
    folder = tmp_path_factory.mktemp(f"safe-{threshold}-of-{count}")
    with start_anvil(log_dir=folder) as node:
        bed = deploy_testbed(node.url, owners=list(ANVIL_ADDRESSES[1 : 1 + count]), threshold=threshold, out_dir=folder / "playbook")
        yield node, bed


@pytest.fixture
def matrix(matrix_bed):
    node, bed = matrix_bed
    with reverted(node):
        yield node, bed, load_playbook(bed.playbook_path), connect(node.url)


@pytest.fixture
def bed(isolated_testbed):
    """The default 3-of-5 testbed (alice..erin), chain state reverted after the test."""
    node, testbed = isolated_testbed
    return node, testbed, load_playbook(testbed.playbook_path), connect(node.url)


def new_proposal(playbook, node, items, path: Path, nonce: int | None = None) -> Path:
    return propose(playbook, items, rpc_url=node.url, nonce=nonce, out_path=path, author="test").path


def sign_all(path: Path, signers, playbook, chain) -> None:
    for signer in signers:
        sign_proposal(path, signer, playbook=playbook, chain=chain, echo=quiet)


# ---- the matrix --------------------------------------------------------------------------------


def test_sign_on_laptops_merge_execute_and_rerun_is_a_noop(matrix, tmp_path):
    node, bed, playbook, chain = matrix
    origin = new_proposal(playbook, node, [("pause-vault", [])], tmp_path / "origin" / "pause.json")
    signers = owner_signers(bed.threshold)
    copies = []
    for index, signer in enumerate(signers):  # each guardian signs a copy on their own laptop
        laptop = tmp_path / f"laptop-{index}"
        laptop.mkdir()
        copy = laptop / "pause.json"
        shutil.copy(origin, copy)
        sign_proposal(copy, signer, playbook=playbook, chain=chain, echo=quiet)
        assert [s.signer for s in load_proposal(copy).signatures] == [signer.address()]
        copies.append(copy)
    before = [c.read_bytes() for c in copies]
    merged_path = tmp_path / "merged.json"
    merged = merge_proposals(copies, merged_path)
    assert [c.read_bytes() for c in copies] == before  # inputs untouched
    assert sorted(merged.signers) == sorted(s.address() for s in signers)

    status = proposal_status(load_proposal(merged_path), chain=chain, playbook=playbook)
    assert (status.threshold, status.collected, status.missing, status.state) == (bed.threshold, bed.threshold, 0, "ready")
    signed = {o.name: o.how for o in status.owners if o.signed}
    assert signed == {name: "eip712" for name in list(bed.owners)[: bed.threshold]}
    assert [o.signed for o in status.owners].count(False) == len(bed.owners) - bed.threshold

    assert call_uint(chain, bed.vault, PAUSED) == 0
    executor = ledger_signer(1) if bed.threshold == 1 else key_signer(EXECUTOR)  # the Ledger also sends a transaction
    result = execute_proposal(merged_path, executor, chain=chain, playbook=playbook, echo=quiet)
    assert result.status == "executed" and result.ok, result.message
    assert call_uint(chain, bed.vault, PAUSED) == 1  # the vault is paused on chain
    assert SafeReader(chain, bed.safe).nonce() == 1
    recorded = load_proposal(merged_path).execution
    assert recorded == {"tx_hash": result.tx_hash, "block": result.block, "status": "success", "executor": executor.address()}
    assert proposal_status(load_proposal(merged_path), chain=chain, playbook=playbook).state == "executed"

    file_bytes, block = merged_path.read_bytes(), chain.block_number()
    again = execute_proposal(merged_path, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet)
    assert again.status == "already-executed" and again.ok
    assert again.message.startswith(f"already executed by {executor.address()}")
    assert f"in block {result.block}" in again.message
    assert chain.block_number() == block  # nothing was sent
    assert merged_path.read_bytes() == file_bytes  # and nothing rewritten

    # a laptop copy that never saw the execution learns it, without sending anything
    late = execute_proposal(copies[0], key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet)
    assert late.status == "already-executed" and late.tx_hash == result.tx_hash
    assert load_proposal(copies[0]).execution == recorded
    assert chain.block_number() == block


# ---- refusals: one error, file unchanged --------------------------------------------------------


def test_too_few_signatures_is_refused(bed, tmp_path):
    node, testbed, playbook, chain = bed
    path = new_proposal(playbook, node, [("pause-vault", [])], tmp_path / "p.json")
    sign_all(path, owner_signers(2), playbook, chain)
    before = path.read_bytes()
    with pytest.raises(NotEnoughSignaturesError) as error:
        execute_proposal(path, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet)
    assert (error.value.expected, error.value.actual) == (3, 2)
    assert "carol" in error.value.one_line() and "\n" not in error.value.one_line()
    assert path.read_bytes() == before
    # an owner executing counts its own approval (msg.sender), which makes 3 of 3
    result = execute_proposal(path, key_signer(3), chain=chain, playbook=playbook, echo=quiet)
    assert result.status == "executed"
    assert call_uint(chain, testbed.vault, PAUSED) == 1


def test_nonce_used_by_another_transaction(bed, tmp_path):
    node, testbed, playbook, chain = bed
    vault = new_proposal(playbook, node, [("pause-vault", [])], tmp_path / "vault.json", nonce=0)
    market = new_proposal(playbook, node, [("pause-market", [])], tmp_path / "market.json", nonce=0)
    for path in (vault, market):
        sign_all(path, owner_signers(3), playbook, chain)
    winner = execute_proposal(market, key_signer(4), chain=chain, playbook=playbook, echo=quiet)
    assert winner.status == "executed"
    before = vault.read_bytes()
    with pytest.raises(NonceAlreadyUsedError) as error:
        execute_proposal(vault, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet)
    market_hash = load_proposal(market).hashes["safe_tx"]
    assert error.value.other_safe_tx_hash == market_hash and error.value.executor == ANVIL_ADDRESSES[4]
    assert f"nonce 0 was used by another transaction {market_hash}" in error.value.one_line()
    assert vault.read_bytes() == before
    assert call_uint(chain, testbed.vault, PAUSED) == 0


def direct_playbook(testbed) -> Path:
    """The testbed playbook plus an action that sets a parameter straight from the Safe, which
    holds no governor role: the inner call reverts (AccessControlUnauthorizedAccount)."""
    data = yaml.safe_load(testbed.playbook_path.read_text())
    action = dict(data["actions"]["set-max-leverage"], route="safe", description="Set the leverage directly (wrong route)")
    data["actions"]["set-max-leverage-direct"] = action
    path = testbed.playbook_path.with_name("guardian-direct.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def raw_proposal(playbook, chain, safe_tx_gas: int, path: Path) -> Path:
    built = build_proposal(playbook, [("set-max-leverage-direct", ["5"])], chain_id=chain.chain_id(), nonce=SafeReader(chain, playbook.safe.address).nonce(), author="test")
    proposal = Proposal.create(dataclasses.replace(built.safe_tx, safe_tx_gas=safe_tx_gas), built.intent, "test", timelock=built.timelock)
    path.write_text(proposal.to_json())
    return path


def test_inner_call_failure_is_refused_then_reported_as_a_failure(bed, tmp_path):
    node, testbed, _, chain = bed
    playbook = load_playbook(direct_playbook(testbed))
    market_leverage = call_uint(chain, testbed.market, MAX_LEVERAGE)

    # safeTxGas 0: the Safe itself reverts (GS013); the inner reason is decoded
    zero = raw_proposal(playbook, chain, 0, tmp_path / "zero.json")
    sign_all(zero, owner_signers(3), playbook, chain)
    before = zero.read_bytes()
    with pytest.raises(SafeRevertError) as error:
        execute_proposal(zero, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet)
    assert error.value.code == "GS013"
    assert "AccessControlUnauthorizedAccount" in error.value.one_line()
    assert zero.read_bytes() == before

    # safeTxGas set: the Safe would mine it and emit ExecutionFailure; refused by default...
    path = raw_proposal(playbook, chain, 150_000, tmp_path / "gas.json")
    sign_all(path, owner_signers(3), playbook, chain)
    before = path.read_bytes()
    with pytest.raises(InnerCallWouldFailError) as refused:
        execute_proposal(path, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet)
    assert "AccessControlUnauthorizedAccount" in refused.value.one_line()
    assert path.read_bytes() == before and SafeReader(chain, testbed.safe).nonce() == 0

    # ... and when forced, reported loudly as a FAILURE, never as a success
    result = execute_proposal(path, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet, accept_risk=True)
    assert result.status == "failed-inside" and not result.ok
    assert "FAILED" in result.message and "did NOT happen" in result.message
    assert load_proposal(path).execution["status"] == "failure"
    assert SafeReader(chain, testbed.safe).nonce() == 1  # the nonce is used
    assert call_uint(chain, testbed.market, MAX_LEVERAGE) == market_leverage  # the action did not happen
    rerun = execute_proposal(path, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet)
    assert rerun.status == "failed-inside" and "already executed" in rerun.message


# ---- faults around the send ---------------------------------------------------------------------


class StallingProxy:
    """An HTTP JSON-RPC proxy in front of anvil that can stop answering.

    ``stall`` = methods never answered (the request is NOT forwarded); ``die_after`` = methods
    forwarded to anvil, after which the proxy answers nothing at all (the node "died").
    """

    def __init__(self, upstream: str, stall=(), die_after=()):
        self.upstream, self.stall, self.die_after = upstream, set(stall), set(die_after)
        self.dead = False
        self.release = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                method = json.loads(body).get("method")
                if proxy.dead or method in proxy.stall:
                    proxy.release.wait(10)
                    return
                request = urllib.request.Request(proxy.upstream, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=10) as response:
                    answer = response.read()
                if method in proxy.die_after:
                    proxy.dead = True
                    proxy.release.wait(10)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def signed_pause(bed, tmp_path):
    node, testbed, playbook, chain = bed
    path = new_proposal(playbook, node, [("pause-vault", [])], tmp_path / "p.json")
    sign_all(path, owner_signers(3), playbook, chain)
    return path


def test_rpc_timeout_before_sending_leaves_the_file_unchanged(bed, signed_pause):
    node, testbed, playbook, chain = bed
    proxy = StallingProxy(node.url, stall={"eth_call"})
    try:
        slow = connect(proxy.url, timeout=0.5)
        before = signed_pause.read_bytes()
        with pytest.raises(RpcError) as error:
            execute_proposal(signed_pause, key_signer(EXECUTOR), chain=slow, playbook=playbook, echo=quiet)
        assert "timeout" in error.value.one_line()
        assert signed_pause.read_bytes() == before
    finally:
        proxy.close()
    assert chain.get_transaction_count(ANVIL_ADDRESSES[EXECUTOR]) == 0


def test_rpc_dies_after_send_then_rerun_reconciles_without_resending(bed, signed_pause):
    node, testbed, playbook, chain = bed
    proxy = StallingProxy(node.url, die_after={"eth_sendRawTransaction"})
    try:
        with pytest.raises(RpcError):
            execute_proposal(signed_pause, key_signer(EXECUTOR), chain=connect(proxy.url, timeout=0.5), playbook=playbook, echo=quiet)
    finally:
        proxy.close()
    pending = load_proposal(signed_pause).execution
    assert pending["status"] == "pending" and pending["block"] is None  # recorded BEFORE the send
    result = execute_proposal(signed_pause, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet)
    assert result.status == "already-executed" and result.tx_hash == pending["tx_hash"]
    assert load_proposal(signed_pause).execution["status"] == "success"
    assert chain.get_transaction_count(ANVIL_ADDRESSES[EXECUTOR]) == 1  # sent exactly once
    assert call_uint(chain, testbed.vault, PAUSED) == 1


def test_pending_transaction_is_waited_for_and_a_dropped_one_resent_with_the_same_nonce(bed, signed_pause):
    node, testbed, playbook, chain = bed
    executor = ANVIL_ADDRESSES[EXECUTOR]
    node.rpc("evm_setAutomine", [False])
    try:
        first = execute_proposal(signed_pause, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet, receipt_timeout=0.3)
        assert first.status == "pending" and not first.ok
        assert load_proposal(signed_pause).execution["status"] == "pending"
        # still in the mempool: the rerun waits and sends nothing new
        second = execute_proposal(signed_pause, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet, receipt_timeout=0.3)
        assert second.status == "pending" and second.tx_hash == first.tx_hash
        assert chain.get_transaction_count(executor, "pending") == 1
        # the node drops it: only now is it sent again, with the same EVM nonce
        node.rpc("anvil_dropTransaction", [first.tx_hash])
        assert chain.get_transaction_count(executor, "pending") == 0
    finally:
        node.rpc("evm_setAutomine", [True])
    third = execute_proposal(signed_pause, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet)
    assert third.status == "executed"  # sent by this run (the same bytes may give the same hash)
    assert chain.get_transaction(bytes.fromhex(third.tx_hash[2:])).nonce == 0
    assert chain.get_transaction_count(executor) == 1
    assert call_uint(chain, testbed.vault, PAUSED) == 1


def test_without_historical_state_the_search_starts_near_the_proposal_time(bed, signed_pause):
    """The fallback of ``nonce_use`` for nodes without archive state: a block found by time."""
    from guardian.workflow.execution import _block_before

    node, testbed, playbook, chain = bed
    result = execute_proposal(signed_pause, key_signer(EXECUTOR), chain=chain, playbook=playbook, echo=quiet)
    latest = chain.block_number()
    assert _block_before(chain, "2000-01-01T00:00:00Z") == 0
    block_time = int(chain.get_block(result.block)["timestamp"], 16)
    from datetime import datetime, timezone

    later = datetime.fromtimestamp(block_time + 2 * 3600, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _block_before(chain, later) == latest
    start = _block_before(chain, load_proposal(signed_pause).created["at"])
    assert start <= result.block
    found = SafeReader(chain, testbed.safe).find_execution(load_proposal(signed_pause).safe_tx_hash, from_block=start)
    assert found is not None and found.block_number == result.block
