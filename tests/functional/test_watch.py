"""`guardian watch` on the real testbed: hostile schedules vetoed, Safe changes, sinks, RPC restarts."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from guardian.adapters.chain import Chain, build_exec_transaction_calldata, connect
from guardian.adapters.signers import open_signer
from guardian.cli import main
from guardian.config import load_playbook
from guardian.domain.abi import abi_decode, encode_call
from guardian.domain.safe_tx import SafeTx, hash_safe_tx
from guardian.domain.signatures import SafeSignature, pack_signatures
from guardian.domain.timelock import encode_schedule, operation_id
from guardian.domain.values import keccak, to_hex, utc_timestamp
from guardian.testbed import signer_env_name
from guardian.workflow.proposals import load_proposal
from guardian.workflow.watch import JsonLinesSink, Watcher

GOVERNOR_ROLE = keccak(b"GOVERNOR_ROLE")
SALT = keccak(b"attacker salt")
ZERO32 = b"\0" * 32


def quiet(text: str) -> None:
    pass


def private_playbook(bed, tmp_path: Path) -> Path:
    """A copy of the testbed playbook (and its ABIs) with its own, empty proposals folder."""
    folder = tmp_path / "playbook"
    shutil.copytree(bed.playbook_path.parent, folder, ignore=shutil.ignore_patterns("proposals", ".guardian-watch-state.json"))
    return folder / bed.playbook_path.name


def owner_signers(bed, monkeypatch, count=None):
    for name, value in bed.signer_env().items():
        monkeypatch.setenv(name, value)
    names = list(bed.owners)[: count or bed.threshold]
    return [open_signer(f"key:{signer_env_name(name)}", allow_raw_key=True, echo=quiet) for name in names]


def exec_safe_transaction(chain, bed, signers, to: str, data: bytes) -> None:
    """A real Safe transaction, signed by ``signers`` (owner keys) and sent by the first of them."""
    from guardian.adapters.chain import SafeReader
    from guardian.workflow.execution import send_transaction

    nonce = SafeReader(chain, bed.safe).nonce()
    tx = SafeTx(safe=bed.safe, chain_id=bed.chain_id, safe_version=bed.safe_version, to=to, value=0, data=data, operation=0, nonce=nonce)
    hashes = hash_safe_tx(tx)
    signatures = [
        SafeSignature.create("eip712", s.sign_safe_tx(hashes.domain_hash, hashes.message_hash, hashes.safe_tx_hash), hashes.safe_tx_hash, utc_timestamp())
        for s in signers
    ]
    calldata = build_exec_transaction_calldata(to=to, value=0, data=data, operation=0, signatures=pack_signatures(signatures))
    _, receipt = send_transaction(chain, signers[0], to=bed.safe, data=calldata)
    assert receipt is not None and receipt.status == 1


def as_safe(chain, bed, to: str, data: bytes) -> None:
    """Send a call from the Safe itself (anvil impersonation): what a module or a hijack could do."""
    chain.impersonate(bed.safe)
    chain.set_balance(bed.safe, 10**18)
    try:
        assert chain.wait_for_receipt(chain.send_unsigned_as(bed.safe, to, data)).status == 1
    finally:
        chain.stop_impersonating(bed.safe)


def hostile_schedule(bed) -> tuple[bytes, bytes]:
    """schedule(market.grantRole(GOVERNOR_ROLE, attacker)): calldata for the timelock, and the operation id."""
    inner = encode_call("grantRole(bytes32,address)", [GOVERNOR_ROLE, bed.actors["attacker"]])
    return encode_schedule(bed.market, 0, inner, ZERO32, SALT, bed.timelock_delay), operation_id(bed.market, 0, inner, ZERO32, SALT)


def is_operation(chain, bed, op_id: bytes) -> bool:
    raw = chain.call(bed.timelock, encode_call("isOperation(bytes32)", [op_id]))
    return abi_decode(("bool",), raw)[0]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run_watch_cli(playbook_path, state, *extra):
    result = CliRunner().invoke(main, ["watch", "--playbook", str(playbook_path), "--once", "--state", str(state), *extra])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_hostile_schedule_is_caught_and_the_drafted_cancel_vetoes_it(isolated_testbed, tmp_path, monkeypatch):
    from guardian.workflow.execution import execute_proposal
    from guardian.workflow.signing import sign_proposal

    node, bed = isolated_testbed
    playbook_path = private_playbook(bed, tmp_path)
    playbook = load_playbook(playbook_path)
    state, jsonl = tmp_path / "state.json", tmp_path / "alerts.jsonl"
    chain = connect(node.url)
    signers = owner_signers(bed, monkeypatch)

    baseline = run_watch_cli(playbook_path, state, "--jsonl", str(jsonl))
    assert "[" not in baseline.stdout and read_jsonl(jsonl) == []  # nothing happened yet

    # Three compromised owner keys queue a hostile operation through a real Safe transaction.
    schedule, op_id = hostile_schedule(bed)
    exec_safe_transaction(chain, bed, signers, bed.timelock, schedule)
    assert is_operation(chain, bed, op_id)

    result = run_watch_cli(playbook_path, state, "--jsonl", str(jsonl))
    assert f"[CRITICAL] timelock-scheduled" in result.stdout
    assert f"grants GOVERNOR_ROLE to {bed.actors['attacker']}" in result.stdout
    alerts = [a for a in read_jsonl(jsonl) if a["kind"] == "timelock-scheduled"]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["severity"] == "critical" and alert["details"]["verdict"] == "hostile"
    assert alert["details"]["operation_id"] == to_hex(op_id) and alert["tx"].startswith("0x") and alert["block"] > 0
    path = Path(alert["details"]["cancel_proposal"])
    assert path.parent == playbook.proposals_dir and path.exists()
    assert f"guardian sign {path}" in result.stdout  # the guardians are told what to run

    cancel = load_proposal(path)
    assert cancel.nonce == 1  # the Safe's nonce after the hostile transaction
    assert cancel.timelock["kind"] == "cancel" and cancel.timelock["operation_id"] == to_hex(op_id)
    assert [a["action"] for a in cancel.intent["actions"]] == ["timelock-cancel"]

    for signer in signers:
        sign_proposal(path, signer, playbook=playbook, chain=chain, echo=quiet)
    assert execute_proposal(path, signers[0], chain=chain, playbook=playbook, echo=quiet).ok
    assert not is_operation(chain, bed, op_id)  # vetoed: the operation is gone
    cancelled = keccak(b"Cancelled(bytes32)")
    assert [log.topics[1] for log in chain.get_logs(bed.timelock, [cancelled], 0, "latest")] == [op_id]

    after = run_watch_cli(playbook_path, state, "--jsonl", str(jsonl))
    assert "[INFO] timelock-cancelled" in after.stdout and to_hex(op_id) in after.stdout
    kinds = [a["kind"] for a in read_jsonl(jsonl)]
    assert kinds.count("timelock-scheduled") == 1 and kinds.count("timelock-cancelled") == 1
    assert len(list(playbook.proposals_dir.glob("*.json"))) == 1  # no second veto for a cancelled operation


def test_benign_schedule_drafts_no_veto(isolated_testbed, tmp_path, monkeypatch):
    from guardian.workflow.proposals import propose

    node, bed = isolated_testbed
    playbook_path = private_playbook(bed, tmp_path)
    playbook = load_playbook(playbook_path)
    chain = connect(node.url)
    start = chain.block_number() + 1
    proposal = propose(playbook, [("set-max-leverage", ["5"])], nonce=0, author="test").proposal
    as_safe(chain, bed, proposal.to, proposal.data)
    collected = []
    watcher = Watcher(playbook, chain, state_path=tmp_path / "state.json", from_block=start, sinks=[collected.append], notice=quiet)
    assert watcher.run(once=True) == 1
    (alert,) = collected
    assert alert.severity == "info" and alert.details["verdict"] == "benign" and not alert.details["veto"]
    assert "playbook action set-max-leverage" in alert.text
    assert len(list(playbook.proposals_dir.glob("*.json"))) == 1  # only the proposal we made


class _Collector(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_safe_owner_change_and_pause_reach_jsonl_and_webhook(isolated_testbed, tmp_path, webhook):
    node, bed = isolated_testbed
    playbook_path = private_playbook(bed, tmp_path)
    state, jsonl = tmp_path / "state.json", tmp_path / "alerts.jsonl"
    url = f"http://127.0.0.1:{webhook.server_address[1]}/hook"
    run_watch_cli(playbook_path, state, "--jsonl", str(jsonl), "--webhook", url)
    chain = connect(node.url)
    attacker = bed.actors["attacker"]
    as_safe(chain, bed, bed.safe, encode_call("addOwnerWithThreshold(address,uint256)", [attacker, 2]))
    as_safe(chain, bed, bed.vault, encode_call("pause()", []))

    result = run_watch_cli(playbook_path, state, "--jsonl", str(jsonl), "--webhook", url)
    assert "[CRITICAL] safe-owners" in result.stdout and f"owner {attacker} added (now 6 owners)" in result.stdout
    alerts = read_jsonl(jsonl)
    assert [a["kind"] for a in alerts] == ["safe-owners", "safe-threshold", "contract-event"]
    owners, threshold, paused = alerts
    assert {"severity", "kind", "block", "tx", "text"} <= set(owners)
    assert owners["severity"] == "critical" and owners["details"]["after"][0] == attacker
    assert threshold["text"].endswith("threshold changed from 3 to 2") and threshold["tx"] == owners["tx"]
    assert paused["severity"] == "info" and paused["text"].startswith("vault is now PAUSED")
    assert paused["details"] == {"contract": "vault", "event": "Paused", "args": {"account": bed.safe}}
    assert [a["key"] for a in webhook.received] == [a["key"] for a in alerts]  # the webhook got the same alerts


def test_singleton_swap_without_event_is_caught(isolated_testbed, tmp_path):
    node, bed = isolated_testbed
    playbook = load_playbook(private_playbook(bed, tmp_path))
    chain = connect(node.url)
    collected = []
    watcher = Watcher(playbook, chain, state_path=tmp_path / "state.json", sinks=[collected.append], notice=quiet)
    watcher.run(once=True)
    evil = bed.market  # any other code: what a DELEGATECALL writing slot 0 would leave behind
    node.rpc("anvil_setStorageAt", [bed.safe, "0x0", "0x" + evil[2:].lower().rjust(64, "0")])
    node.rpc("anvil_mine", ["0x1"])
    watcher.run(once=True)
    alert, *consequences = collected
    assert alert.kind == "safe-singleton" and alert.severity == "critical"
    assert "storage slot 0" in alert.text and "no Safe event" in alert.text and evil in alert.text
    # the Safe no longer answers getOwners/getThreshold/getModules: reported, not a crash
    assert [a.kind for a in consequences] == ["safe-owners", "safe-threshold", "safe-modules"]
    assert all("unreadable" in a.text and a.severity == "critical" for a in consequences)


class _Proxy:
    """A loopback JSON-RPC forwarder on a fixed port that can be stopped and started again."""

    def __init__(self, target: str):
        self.target = target
        self.port = 0
        self.server = None

    def start(self) -> None:
        target = self.target

        class Forward(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = urllib.request.Request(target, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=10) as response:
                    answer = response.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Forward)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def wait_for(condition, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_watch_survives_an_rpc_restart_and_resumes_without_duplicates(isolated_testbed, tmp_path):
    node, bed = isolated_testbed
    playbook = load_playbook(private_playbook(bed, tmp_path))
    direct = connect(node.url)
    proxy = _Proxy(node.url)
    proxy.start()
    state, jsonl = tmp_path / "state.json", tmp_path / "alerts.jsonl"
    collected, notices = [], []
    stop = threading.Event()
    watcher = Watcher(playbook, Chain(proxy.url, timeout=2), state_path=state, sinks=[collected.append, JsonLinesSink(jsonl)], notice=notices.append)
    thread = threading.Thread(target=watcher.run, kwargs={"interval": 0.1, "stop": stop, "first_backoff": 0.1, "max_backoff": 0.4}, daemon=True)
    thread.start()
    try:
        wait_for(state.exists, what="the first poll")
        schedule, op_id = hostile_schedule(bed)
        as_safe(direct, bed, bed.timelock, schedule)
        wait_for(lambda: any(a.kind == "timelock-scheduled" for a in collected), what="the hostile schedule alert")

        proxy.stop()  # the RPC goes away
        wait_for(lambda: any("RPC hiccup" in n for n in notices), what="a hiccup notice")
        as_safe(direct, bed, bed.vault, encode_call("pause()", []))  # happens while the watcher is blind
        time.sleep(0.3)
        assert thread.is_alive()  # no crash
        proxy.start()  # same port
        wait_for(lambda: any(a.kind == "contract-event" for a in collected), what="the pause alert after the restart")
        wait_for(lambda: any(n.startswith("RPC back") for n in notices), what="the back-online notice")
    finally:
        stop.set()
        thread.join(timeout=10)
        proxy.stop()
    hiccups = [n for n in notices if "RPC hiccup" in n]
    assert hiccups and all("\n" not in n for n in hiccups)  # one line each

    # A new watcher (a restarted process) resumes from the state file: nothing is repeated...
    again = []
    restarted = Watcher(playbook, connect(node.url), state_path=state, sinks=[again.append, JsonLinesSink(jsonl)], notice=quiet)
    assert restarted.run(once=True) == 0 and again == []
    # ...and what happens next is reported once.
    as_safe(direct, bed, bed.vault, encode_call("freezeAccount(address)", [bed.actors["attacker"]]))
    assert restarted.run(once=True) == 1 and again[0].details["event"] == "AccountFreezeSet"
    keys = [a["key"] for a in read_jsonl(jsonl)]
    assert len(keys) == len(set(keys)) == 3
    assert [a["kind"] for a in read_jsonl(jsonl)] == ["timelock-scheduled", "contract-event", "contract-event"]
    assert len(list(playbook.proposals_dir.glob("*.json"))) == 1  # one veto drafted, not one per poll
    assert to_hex(op_id) in read_jsonl(jsonl)[0]["text"]


def test_state_file_for_another_safe_is_refused(isolated_testbed, tmp_path):
    from guardian.errors import InputError

    node, bed = isolated_testbed
    playbook = load_playbook(private_playbook(bed, tmp_path))
    state = tmp_path / "state.json"
    Watcher(playbook, connect(node.url), state_path=state, notice=quiet).run(once=True)
    data = json.loads(state.read_text())
    data["safe"] = bed.actors["attacker"]
    state.write_text(json.dumps(data))
    with pytest.raises(InputError, match="is for Safe"):
        Watcher(playbook, connect(node.url), state_path=state, notice=quiet).run(once=True)


def test_a_dead_webhook_is_a_notice_not_a_crash(isolated_testbed, tmp_path):
    from guardian.adapters.anvil import free_port
    from guardian.workflow.watch import WebhookSink

    node, bed = isolated_testbed
    playbook = load_playbook(private_playbook(bed, tmp_path))
    chain = connect(node.url)
    collected, notices = [], []
    sinks = [WebhookSink(f"http://127.0.0.1:{free_port()}/nobody-listens", timeout=1), collected.append]
    watcher = Watcher(playbook, chain, state_path=tmp_path / "state.json", sinks=sinks, notice=notices.append)
    watcher.run(once=True)
    as_safe(chain, bed, bed.market, encode_call("pause()", []))
    assert watcher.run(once=True) == 1
    assert [a.text for a in collected] == [f"market is now PAUSED (by the guardian Safe ({bed.safe}))"]  # later sinks still run
    assert any(n.startswith("could not deliver alert") and "webhook http://127.0.0.1:" in n for n in notices)


def test_webhook_url_must_be_http():
    from guardian.errors import InputError
    from guardian.workflow.watch import WebhookSink

    with pytest.raises(InputError, match="http:// or https://"):
        WebhookSink("file:///etc/passwd")


def test_fail_on_critical_exits_non_zero_for_cron(isolated_testbed, tmp_path, monkeypatch):
    node, bed = isolated_testbed
    playbook_path = private_playbook(bed, tmp_path)
    state = tmp_path / "state.json"
    run_watch_cli(playbook_path, state, "--fail-on-critical")  # nothing yet: exit 0
    schedule, _ = hostile_schedule(bed)
    exec_safe_transaction(connect(node.url), bed, owner_signers(bed, monkeypatch), bed.timelock, schedule)
    args = ["watch", "--playbook", str(playbook_path), "--once", "--state", str(state), "--fail-on-critical"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "[CRITICAL] timelock-scheduled" in result.output
    assert "critical alert(s): exiting 1" in result.output
