"""Faults around execution, through the real `guardian execute`: a node that dies between send and
receipt, a competing guardian executing the same nonce, and RPC endpoints that answer garbage or
nothing at all.

The rule under test: `execute` never sends the same Safe transaction twice and never reports a
failure as a success. It writes the transaction hash into the proposal file (status "pending")
BEFORE broadcasting, so after any fault a rerun reconciles by that hash: mined -> report it;
unknown to the node -> send again with the same EVM nonce; used by someone else -> "already
executed by 0x...". Every check counts what really happened on chain: the Safe's nonce, the
executor's EVM nonce and the Safe's ``ExecutionSuccess`` events.

Node restarts use a real anvil that dumps its state on exit (``--dump-state``) and is started
again from it (``--load-state``) on the same port: mined blocks and receipts survive, the
mempool does not -- exactly what a crashed node that comes back looks like. (The node is killed
only once the block with the transaction is mined: anvil stopped within milliseconds of
automining can dump a state whose Safe nonce has moved but whose block lacks the transaction
and its logs; guardian then still sends nothing, but can only say "nonce 0 was already used
by another Safe transaction".)

Faults are injected by ``RpcProxy``, a loopback JSON-RPC server in this file that forwards to
anvil and, for chosen methods, answers garbage, an HTTP error, nothing (hang), or drops the
connection -- before or after forwarding the request.

(The same reconciliation at the workflow level, without restarts, is tests/functional/test_execution.py.)
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from guardian.adapters.anvil import free_port, start_anvil
from guardian.domain.proposal import Proposal
from guardian.testbed import ANVIL_ADDRESSES

from security_support import EXECUTOR, PAUSED, SAFE_NONCE, Guardian, call_uint, evm_nonce, wait_until

EXECUTION_SUCCESS = "0x442e715f626346e8c54381002da614f62bee8d27386535b2521ec8540898556e"  # ExecutionSuccess(bytes32,uint256)
RIVAL_INDEX = 6  # the keeper's account: a second guardian's executor
RIVAL = ANVIL_ADDRESSES[RIVAL_INDEX]


# -- a loopback JSON-RPC proxy whose answers the test scripts ----------------------------------------


@dataclass
class Rule:
    """How the proxy answers one method: ``answer`` after optionally forwarding, and a hook in between."""

    answer: str  # forward | garbage | not-json-rpc | http-500 | bad-result | malformed-error | hang | close
    forward_first: bool = False
    then: Callable[[], None] | None = None  # runs after forwarding, before answering
    before: Callable[[], None] | None = None  # runs before anything (e.g. a barrier)


class RpcProxy:
    def __init__(self, upstream: str | None, rules: dict[str, Rule] | None = None, default: Rule | None = None):
        self.upstream, self.rules, self.default = upstream, dict(rules or {}), default or Rule("forward")
        self.release = threading.Event()
        self.calls: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    request = json.loads(body)
                    method, request_id = request.get("method"), request.get("id")
                except (ValueError, AttributeError):
                    method, request_id = None, None
                proxy.calls.append(method)
                rule = proxy.rules.get(method, proxy.default)
                if rule.before is not None:
                    rule.before()
                upstream_answer = None
                if rule.answer == "forward" or rule.forward_first:
                    upstream_answer = proxy.forward(body)
                if rule.then is not None:
                    rule.then()
                if rule.answer == "forward":
                    return self.reply(200, upstream_answer, "application/json")
                if rule.answer == "garbage":
                    return self.reply(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                if rule.answer == "not-json-rpc":
                    return self.reply(200, b'{"hello": "world"}', "application/json")
                if rule.answer == "http-500":
                    return self.reply(500, b"internal error", "text/plain")
                if rule.answer == "bad-result":
                    return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": request_id, "result": "0xnot-hex"}).encode(), "application/json")
                if rule.answer == "malformed-error":
                    return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": request_id, "error": "boom"}).encode(), "application/json")
                if rule.answer == "hang":
                    proxy.release.wait(30)
                self.close_connection = True  # "close" (and a released "hang"): no answer at all

            def reply(self, status: int, data: bytes, content_type: str):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def forward(self, body: bytes) -> bytes:
        request = urllib.request.Request(self.upstream, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy_factory():
    made = []

    def make(upstream, rules=None, default=None) -> RpcProxy:
        made.append(RpcProxy(upstream, rules, default))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


# -- a node that can die and come back with its state -------------------------------------------------


class RestartableNode:
    """anvil on a fixed port that dumps its state when stopped and is started again from it."""

    def __init__(self, folder: Path, state: Path):
        self.folder, self.port, self.generation = folder, free_port(), 0
        self._start(state)

    def _start(self, state: Path) -> None:
        self.generation += 1
        self.dump = self.folder / f"state-{self.generation}.json"
        args = ["--load-state", str(state), "--dump-state", str(self.dump)]
        self.anvil = start_anvil(port=self.port, log_dir=self.folder, extra_args=args)

    @property
    def url(self) -> str:
        return self.anvil.url

    def rpc(self, method: str, params: list | None = None):
        return self.anvil.rpc(method, params)

    def crash(self) -> None:
        """Stop the node (it writes its state on the way out); the port stops answering."""
        self.anvil.stop()
        assert self.dump.exists(), "anvil did not dump its state"

    def come_back(self) -> None:
        self._start(self.dump)

    def stop(self) -> None:
        self.anvil.stop()


@pytest.fixture(scope="module")
def testbed_state(tmp_path_factory):
    """The testbed deployed once, as an anvil state file: ``(state path, Testbed)``."""
    from guardian.testbed import deploy_testbed

    folder = tmp_path_factory.mktemp("fault-testbed")
    state = folder / "testbed-state.json"
    with start_anvil(log_dir=folder, extra_args=["--dump-state", str(state)]) as node:
        testbed = deploy_testbed(node.url, out_dir=folder / "playbook")
    assert state.exists()
    return state, testbed


@pytest.fixture
def restartable(testbed_state, tmp_path, keys):
    """A fresh node from the testbed state, and the CLI on it; the node is stopped afterwards."""
    state, testbed = testbed_state
    (tmp_path / "node").mkdir()
    node = RestartableNode(tmp_path / "node", state)
    try:
        yield node, Guardian(node, testbed, keys)
    finally:
        node.stop()


def signed_pause(guardian: Guardian, folder: Path, name: str = "pause.json") -> Path:
    return guardian.signed(guardian.propose(folder / name, "pause-vault"))


def successes(node, safe: str) -> list[dict]:
    return node.rpc("eth_getLogs", [{"address": safe, "topics": [EXECUTION_SUCCESS], "fromBlock": "0x0", "toBlock": "latest"}])


def assert_executed_once(node, testbed, safe_tx_hash: str, executor: str = EXECUTOR) -> None:
    """The Safe nonce moved once, one ExecutionSuccess for this safeTxHash, one EVM transaction sent."""
    assert call_uint(node, testbed.safe, SAFE_NONCE) == 1
    events = successes(node, testbed.safe)
    assert [e["topics"][1] for e in events] == [safe_tx_hash]
    assert evm_nonce(node, executor) == 1
    assert call_uint(node, testbed.vault, PAUSED) == 1


def last_line(result) -> str:
    return (result.stdout.strip().splitlines() or [""])[-1]


# -- the node dies between send and receipt ------------------------------------------------------------


def mined_then_crash(node: RestartableNode) -> None:
    """Let anvil finish mining the block it just got (so its state dump is consistent), then kill it."""
    wait_until(lambda: evm_nonce(node, EXECUTOR) == 1 and node.rpc("eth_getTransactionReceipt", [node.rpc("eth_getTransactionByBlockNumberAndIndex", ["latest", "0x0"])["hash"]]), timeout=10, what="the block")
    node.crash()


def test_node_dies_right_after_the_send_then_comes_back_and_the_rerun_reconciles(restartable, proxy_factory, tmp_path):
    node, guardian = restartable
    path = signed_pause(guardian, tmp_path)
    safe_tx_hash = json.loads(path.read_text())["hashes"]["safe_tx"]
    # the transaction reaches anvil and is mined, then anvil dies before anyone hears back
    proxy = proxy_factory(node.url, {"eth_sendRawTransaction": Rule("close", forward_first=True, then=lambda: mined_then_crash(node))})

    died = guardian.run(*guardian.execute_args(path, rpc=proxy.url))
    assert died.exit_code == 1
    assert died.error_line().startswith(f"Error: RPC {proxy.url}: eth_sendRawTransaction: unreachable (")
    pending = json.loads(path.read_text())["execution"]
    assert pending["status"] == "pending" and pending["block"] is None and pending["executor"] == EXECUTOR

    down = guardian.run(*guardian.execute_args(path))  # while the node is down: one line, nothing changes
    assert down.exit_code == 1 and down.error_line().startswith(f"Error: RPC {node.url}: eth_chainId: unreachable (")
    assert json.loads(path.read_text())["execution"] == pending

    node.come_back()
    rerun = guardian.run(*guardian.execute_args(path))
    assert rerun.exit_code == 0, rerun.stderr
    assert f"Transaction {pending['tx_hash']} from an earlier run was mined in block" in rerun.stdout
    assert last_line(rerun).startswith("ALREADY-EXECUTED: ") and f"by {EXECUTOR}" in last_line(rerun)
    assert_executed_once(node, guardian.testbed, safe_tx_hash)
    record = json.loads(path.read_text())["execution"]
    assert (record["status"], record["tx_hash"]) == ("success", pending["tx_hash"])

    before = path.read_bytes()
    again = guardian.run(*guardian.execute_args(path))
    assert again.exit_code == 0 and last_line(again).startswith(f"ALREADY-EXECUTED: already executed by {EXECUTOR}")
    assert path.read_bytes() == before
    assert_executed_once(node, guardian.testbed, safe_tx_hash)


def test_node_dies_with_the_transaction_pending_and_comes_back_without_it(restartable, tmp_path):
    node, guardian = restartable
    path = signed_pause(guardian, tmp_path)
    safe_tx_hash = json.loads(path.read_text())["hashes"]["safe_tx"]
    node.rpc("evm_setAutomine", [False])  # the transaction sits in the mempool

    first = guardian.run(*guardian.execute_args(path, 9, "--receipt-timeout", "0.5"))
    assert first.exit_code == 3
    pending = json.loads(path.read_text())["execution"]
    assert f"PENDING: sent {pending['tx_hash']} but it was not mined within 0.5s; rerun to reconcile (it will not be sent twice)" in first.stderr
    second = guardian.run(*guardian.execute_args(path, 9, "--receipt-timeout", "0.5"))  # still pending: waits, sends nothing
    assert second.exit_code == 3 and f"transaction {pending['tx_hash']} is still pending; rerun later (nothing was resent)" in second.stderr
    assert int(node.rpc("txpool_status")["pending"], 16) == 1 and evm_nonce(node, EXECUTOR, "pending") == 1

    waiting = guardian.spawn(*guardian.execute_args(path, 9, "--receipt-timeout", "60"))
    wait_until(lambda: _printed(waiting, "still pending; waiting up to 60s"), timeout=30, what="the rerun to wait")
    node.crash()  # dies under the waiting guardian, and loses its mempool
    stdout, stderr = waiting.communicate(timeout=30)
    assert waiting.returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(f"Error: RPC {node.url}: eth_getTransactionReceipt: unreachable ("), stderr
    assert json.loads(path.read_text())["execution"] == pending

    node.come_back()
    assert node.rpc("eth_getTransactionByHash", [pending["tx_hash"]]) is None and evm_nonce(node, EXECUTOR, "pending") == 0
    rerun = guardian.run(*guardian.execute_args(path))
    assert rerun.exit_code == 0, rerun.stderr
    assert f"Transaction {pending['tx_hash']} from an earlier run is unknown to the node (dropped); clearing it" in rerun.stdout
    assert last_line(rerun).startswith(f"EXECUTED: executed by {EXECUTOR}")
    assert_executed_once(node, guardian.testbed, safe_tx_hash)  # sent again with the same EVM nonce 0: once in total

    before = path.read_bytes()
    assert last_line(guardian.run(*guardian.execute_args(path))).startswith(f"ALREADY-EXECUTED: already executed by {EXECUTOR}")
    assert path.read_bytes() == before


_OUTPUT: dict[int, list[str]] = {}


def _printed(process, text: str) -> bool:
    """Whether ``process`` has printed a line containing ``text`` on stdout (read by a helper thread)."""
    if process.pid not in _OUTPUT:
        lines: list[str] = []
        _OUTPUT[process.pid] = lines

        def pump():
            for line in process.stdout:
                lines.append(line)

        threading.Thread(target=pump, daemon=True).start()
    return any(text in line for line in _OUTPUT[process.pid])


# -- a competing guardian executes the same nonce -------------------------------------------------------


def test_a_rival_execution_of_the_same_proposal_is_reported_as_already_executed(guardian: Guardian, tmp_path):
    node, testbed = guardian.node, guardian.testbed
    mine = signed_pause(guardian, tmp_path)
    theirs = Path(shutil.copyfile(mine, tmp_path / "their-copy.json"))  # the same signed proposal on another laptop
    safe_tx_hash = json.loads(mine.read_text())["hashes"]["safe_tx"]

    rival = guardian.ok(*guardian.execute_args(theirs, RIVAL_INDEX))
    assert last_line(rival).startswith(f"EXECUTED: executed by {RIVAL}")
    block = json.loads(theirs.read_text())["execution"]["block"]

    late = guardian.run(*guardian.execute_args(mine))
    assert late.exit_code == 0
    assert last_line(late).startswith(f"ALREADY-EXECUTED: already executed by {RIVAL} in block {block} (transaction 0x")
    assert evm_nonce(node, EXECUTOR) == 0  # nothing was sent
    record = json.loads(mine.read_text())["execution"]
    assert (record["status"], record["executor"], record["block"]) == ("success", RIVAL, block)
    assert_executed_once(node, testbed, safe_tx_hash, executor=RIVAL)


def test_two_guardians_execute_the_same_nonce_at_the_same_moment(guardian: Guardian, proxy_factory, tmp_path):
    """Both guardians pass every check and broadcast together (a barrier in the proxy holds each
    eth_sendRawTransaction until both have arrived); both land in one block: one executes, the
    other reverts inside execTransaction (the nonce has moved) and its guardian reports the
    winner instead of an error or a success of its own."""
    node, testbed = guardian.node, guardian.testbed
    mine = signed_pause(guardian, tmp_path)
    theirs = Path(shutil.copyfile(mine, tmp_path / "their-copy.json"))
    safe_tx_hash = json.loads(mine.read_text())["hashes"]["safe_tx"]
    barrier = threading.Barrier(2, timeout=60)
    together = proxy_factory(node.url, {"eth_sendRawTransaction": Rule("forward", before=barrier.wait)})
    node.rpc("evm_setAutomine", [False])
    try:
        processes = {
            EXECUTOR: guardian.spawn(*guardian.execute_args(mine, 9, "--receipt-timeout", "60", rpc=together.url)),
            RIVAL: guardian.spawn(*guardian.execute_args(theirs, RIVAL_INDEX, "--receipt-timeout", "60", rpc=together.url)),
        }
        wait_until(lambda: int(node.rpc("txpool_status")["pending"], 16) == 2 or any(p.poll() is not None for p in processes.values()), timeout=60, what="both transactions")
        node.rpc("evm_mine")
    finally:
        node.rpc("evm_setAutomine", [True])
    outcomes = {}
    for executor, process in processes.items():
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        outcomes[executor] = stdout.strip().splitlines()[-1]
    winner = next(who for who, line in outcomes.items() if line.startswith("EXECUTED: "))
    loser = RIVAL if winner == EXECUTOR else EXECUTOR
    assert outcomes[winner].startswith(f"EXECUTED: executed by {winner}")
    assert outcomes[loser].startswith(f"ALREADY-EXECUTED: already executed by {winner}")
    assert call_uint(node, testbed.safe, SAFE_NONCE) == 1
    assert [e["topics"][1] for e in successes(node, testbed.safe)] == [safe_tx_hash]
    for path in (mine, theirs):
        record = json.loads(path.read_text())["execution"]
        assert (record["status"], record["executor"]) == ("success", winner)


def test_a_guardian_arriving_while_the_rival_transaction_is_pending_sends_nothing(guardian: Guardian, tmp_path):
    """The rival's transaction is in the mempool, not mined: the late guardian must not send a second
    one (it refuses with one line); once the rival's is mined, its rerun names the rival."""
    node, testbed = guardian.node, guardian.testbed
    mine = signed_pause(guardian, tmp_path)
    theirs = Path(shutil.copyfile(mine, tmp_path / "their-copy.json"))
    node.rpc("evm_setAutomine", [False])
    try:
        rival = guardian.run(*guardian.execute_args(theirs, RIVAL_INDEX, "--receipt-timeout", "0.3"))
        assert rival.exit_code == 3  # sent, pending
        before = mine.read_bytes()
        late = guardian.run(*guardian.execute_args(mine))
        assert late.exit_code == 1
        # today the one line is the raw revert of the gas estimate on the pending state (see the report)
        assert "GS026" in late.error_line(), late.error_line()
        assert mine.read_bytes() == before
        assert evm_nonce(node, EXECUTOR, "pending") == 0  # nothing sent
        node.rpc("evm_mine")
    finally:
        node.rpc("evm_setAutomine", [True])
    rerun = guardian.run(*guardian.execute_args(mine))
    assert rerun.exit_code == 0 and last_line(rerun).startswith(f"ALREADY-EXECUTED: already executed by {RIVAL}")
    assert evm_nonce(node, EXECUTOR) == 0
    assert_executed_once(node, testbed, json.loads(mine.read_text())["hashes"]["safe_tx"], executor=RIVAL)


# -- an RPC endpoint that answers garbage, an error, or nothing ------------------------------------------

BAD_ENDPOINTS = {
    "html": (Rule("garbage"), "eth_chainId: answered something that is not JSON"),
    "not-json-rpc": (Rule("not-json-rpc"), "eth_chainId: answered JSON that is not a JSON-RPC response"),
    "http-500": (Rule("http-500"), "eth_chainId: HTTP error 500"),
    "bad-result": (Rule("bad-result"), "eth_chainId: expected a hex quantity, got '0xnot-hex'"),
    "malformed-error": (Rule("malformed-error"), "eth_chainId: answered a malformed JSON-RPC error"),
    "closes": (Rule("close"), "eth_chainId: unreachable ("),
    "hangs": (Rule("hang"), "eth_chainId: no answer within 0.5s (timeout)"),
}


@pytest.mark.parametrize("endpoint", list(BAD_ENDPOINTS))
def test_an_endpoint_answering_garbage_or_nothing_is_one_line_non_zero_and_leaves_the_file(guardian: Guardian, proxy_factory, tmp_path, endpoint):
    rule, problem = BAD_ENDPOINTS[endpoint]
    bad = proxy_factory(None, default=rule)
    path = signed_pause(guardian, tmp_path)
    before = path.read_bytes()
    commands = {
        "execute": [*guardian.execute_args(path, rpc=bad.url), "--rpc-timeout", "0.5"],
        "sign": [*guardian.sign_args(path, 4), "--rpc", bad.url, "--rpc-timeout", "0.5"],
        "approve": ["approve", path, "--signer", guardian.keys[4], "--allow-raw-key", "--playbook", guardian.playbook, "--rpc", bad.url, "--rpc-timeout", "0.5"],
        "status": ["status", path, "--playbook", guardian.playbook, "--rpc", bad.url, "--rpc-timeout", "0.5"],
    }
    if endpoint != "hangs":  # verify has no --rpc-timeout: it would wait its fixed 10 s (see the report)
        commands["verify"] = ["verify", path, "--playbook", guardian.playbook, "--rpc", bad.url]
    for command, args in commands.items():
        result = guardian.run(*args)
        assert result.exit_code == 1, (command, result.stdout, result.stderr)
        line = result.error_line()
        assert line.startswith(f"Error: RPC {bad.url}: {problem}"), (command, line)
        assert line.endswith("(check the node is up and --rpc / the playbook network URL)"), (command, line)
        assert path.read_bytes() == before, command
    assert evm_nonce(guardian.node, EXECUTOR, "pending") == 0


# faults in the middle of an execution, behind a proxy to the real node:
# method -> (rule, expected error, was the transaction broadcast and mined?)
MID_EXECUTION = {
    "preflight-hangs": ("eth_call", Rule("hang"), "eth_call: no answer within 0.5s (timeout)", None),
    "gas-estimate-garbage": ("eth_estimateGas", Rule("garbage"), "eth_estimateGas: answered something that is not JSON", None),
    "send-garbage-not-sent": ("eth_sendRawTransaction", Rule("garbage"), "eth_sendRawTransaction: answered something that is not JSON", False),
    "send-garbage-but-sent": ("eth_sendRawTransaction", Rule("garbage", forward_first=True), "eth_sendRawTransaction: answered something that is not JSON", True),
    "send-times-out-but-sent": ("eth_sendRawTransaction", Rule("hang", forward_first=True), "eth_sendRawTransaction: no answer within 0.5s (timeout)", True),
    "receipt-garbage": ("eth_getTransactionReceipt", Rule("not-json-rpc"), "eth_getTransactionReceipt: answered JSON that is not a JSON-RPC response", True),
}


@pytest.mark.parametrize("fault", list(MID_EXECUTION))
def test_a_fault_mid_execution_never_leads_to_a_second_transaction(guardian: Guardian, proxy_factory, tmp_path, fault):
    """Before the send: the file is untouched and nothing is sent. After the send: the pending
    record is kept on purpose (the transaction may be out there) and the rerun reconciles."""
    node, testbed = guardian.node, guardian.testbed
    method, rule, problem, broadcast = MID_EXECUTION[fault]
    flaky = proxy_factory(node.url, {method: rule})
    path = signed_pause(guardian, tmp_path)
    safe_tx_hash = json.loads(path.read_text())["hashes"]["safe_tx"]
    before = path.read_bytes()

    failed = guardian.run(*guardian.execute_args(path, rpc=flaky.url), "--rpc-timeout", "0.5")
    assert failed.exit_code == 1, failed.stdout
    assert failed.error_line().startswith(f"Error: RPC {flaky.url}: {problem}")
    if broadcast is None:  # refused before anything was signed or recorded
        assert path.read_bytes() == before
        assert evm_nonce(node, EXECUTOR, "pending") == 0
    else:
        pending = Proposal.from_json(path.read_text(), str(path)).execution
        assert pending["status"] == "pending"
        assert evm_nonce(node, EXECUTOR) == (1 if broadcast else 0)

    rerun = guardian.run(*guardian.execute_args(path))  # the node itself, healthy
    assert rerun.exit_code == 0, rerun.stderr
    if broadcast:
        assert last_line(rerun).startswith("ALREADY-EXECUTED: ") and pending["tx_hash"] in last_line(rerun)
    else:
        assert last_line(rerun).startswith(f"EXECUTED: executed by {EXECUTOR}")
    assert_executed_once(node, testbed, safe_tx_hash)


def test_the_fault_proxy_really_forwards(guardian: Guardian, proxy_factory, tmp_path):
    """The control for the tests above: through a proxy with no fault the same execution just works."""
    clean = proxy_factory(guardian.node.url)
    path = signed_pause(guardian, tmp_path)
    executed = guardian.ok(*guardian.execute_args(path, rpc=clean.url))
    assert last_line(executed).startswith(f"EXECUTED: executed by {EXECUTOR}")
    assert {"eth_call", "eth_estimateGas", "eth_sendRawTransaction", "eth_getTransactionReceipt"} <= set(clean.calls)
