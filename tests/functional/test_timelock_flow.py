"""The timelock path through the Safe on the real testbed: schedule, warp past the delay,
execute, check the parameter on chain; a cancel that vetoes a queued operation; and what
``list_operations`` reports at each step.

The follow-up proposals are built by ``guardian propose timelock-execute|timelock-cancel OPID``
with the schedule proposal kept OUTSIDE the playbook's proposals folder, so the operation is
rebuilt from the timelock's own events (``scheduled_operation``).
"""

from __future__ import annotations

import pytest

from guardian.adapters.chain import connect
from guardian.adapters.signers import open_signer
from guardian.config import load_playbook
from guardian.domain.intent import Context
from guardian.domain.values import keccak
from guardian.errors import SafeRevertError
from guardian.testing.ledger_emulator import EmulatedDongle, LedgerEmulator
from support import quiet
from guardian.workflow.execution import execute_proposal
from guardian.workflow.proposals import load_proposal, propose
from guardian.workflow.signing import sign_proposal
from guardian.workflow.timelock import list_operations, scheduled_operation

MAX_LEVERAGE = keccak(b"maxLeverage()")[:4]
MARGIN = keccak(b"maintenanceMarginBps()")[:4]


pytestmark = pytest.mark.usefixtures("anvil_key_env")


def signers():
    """alice on the emulated Ledger (through ledgereth), bob and carol with raw keys."""
    ledger = open_signer("ledger:m/44'/60'/0'/0/1", dongle=EmulatedDongle(LedgerEmulator()), echo=quiet)
    return [ledger] + [open_signer(f"key:GUARDIAN_TEST_KEY_{i}", allow_raw_key=True, echo=quiet) for i in (2, 3)]


@pytest.fixture
def flow(isolated_testbed, tmp_path):
    node, testbed = isolated_testbed
    playbook = load_playbook(testbed.playbook_path)
    chain = connect(node.url)
    executor = open_signer("key:GUARDIAN_TEST_KEY_9", allow_raw_key=True, echo=quiet)
    counter = iter(range(100))

    def prepare(*items):
        """propose -> sign by three owners; returns the file."""
        path = propose(playbook, list(items), rpc_url=node.url, out_path=tmp_path / f"{next(counter):02d}.json", author="test").path
        for signer in signers():
            sign_proposal(path, signer, playbook=playbook, chain=chain, echo=quiet)
        return path

    def execute(path):
        return execute_proposal(path, executor, chain=chain, playbook=playbook, echo=quiet)

    def run(*items):
        """prepare, then execute; returns (proposal, result)."""
        path = prepare(*items)
        return load_proposal(path), execute(path)

    def operations():
        return {op.id: op for op in list_operations(chain, testbed.timelock, Context.from_playbook(playbook).registry)}

    run.prepare, run.execute = prepare, execute
    return testbed, playbook, chain, run, operations


def uint(chain, to, data) -> int:
    return int.from_bytes(chain.call(to, data), "big")


def test_schedule_warp_execute_changes_the_parameter(flow):
    testbed, playbook, chain, run, operations = flow
    before = uint(chain, testbed.market, MAX_LEVERAGE)
    assert before != 5
    schedule, result = run(("set-max-leverage", ["5"]))
    assert result.status == "executed"
    op_id = schedule.timelock["operation_id"]
    assert scheduled_operation(chain, testbed.timelock, op_id) == schedule.timelock  # rebuilt from events alone
    assert scheduled_operation(chain, testbed.timelock, "0x" + "ab" * 32) is None

    (op,) = operations().values()
    assert (op.id, op.state, op.delay) == (op_id, "pending", testbed.timelock_delay)
    assert 0 < op.seconds_until_ready <= testbed.timelock_delay
    assert op.calls[0].description == "market.setMaxLeverage(newMaxLeverage=5)"
    assert uint(chain, testbed.market, MAX_LEVERAGE) == before  # nothing changed yet

    chain.increase_time(testbed.timelock_delay + 1)
    chain.mine()
    assert operations()[op_id].state == "ready" and operations()[op_id].seconds_until_ready == 0

    execute, result = run(("timelock-execute", [op_id]))
    assert result.status == "executed", result.message
    assert execute.timelock["kind"] == "execute" and execute.timelock["operation_id"] == op_id
    assert uint(chain, testbed.market, MAX_LEVERAGE) == 5  # the parameter changed on chain
    done = operations()[op_id]
    assert (done.state, done.ready_at, done.executed_block) == ("done", None, result.block)


def test_cancel_vetoes_a_queued_operation(flow):
    testbed, playbook, chain, run, operations = flow
    before = uint(chain, testbed.market, MARGIN)
    schedule, _ = run(("set-maintenance-margin", [str(before + 100)]))
    kept, _ = run(("set-max-leverage", ["4"]))
    vetoed, kept_id = schedule.timelock["operation_id"], kept.timelock["operation_id"]
    assert {op.state for op in operations().values()} == {"pending"}

    cancel, result = run(("timelock-cancel", [vetoed]))
    assert result.status == "executed" and cancel.intent["actions"][0]["action"] == "timelock-cancel"
    chain.increase_time(testbed.timelock_delay + 1)
    chain.mine()
    states = {op_id: op.state for op_id, op in operations().items()}
    assert states == {vetoed: "cancelled", kept_id: "ready"}
    assert operations()[vetoed].cancelled_block == result.block

    # executing the vetoed operation is now impossible: refused at preflight, nothing sent
    blocked = run.prepare(("timelock-execute", [vetoed]))
    before_bytes = blocked.read_bytes()
    with pytest.raises(SafeRevertError) as error:
        run.execute(blocked)
    assert blocked.read_bytes() == before_bytes
    assert error.value.code == "GS013" and "TimelockUnexpectedOperationState" in error.value.one_line()
    assert uint(chain, testbed.market, MARGIN) == before
    assert operations()[vetoed].state == "cancelled"
