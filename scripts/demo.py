"""`make demo`: the whole emergency response, rehearsed on a fork of a local "mainnet".

1. starts a local "mainnet": anvil with --chain-id 1;
2. deploys the testbed on it (guardian.testbed.deploy_testbed): a 3-of-5 guardian Safe 1.4.1
   (alice, bob, carol, dave, erin), an OpenZeppelin TimelockController and the guarded
   derivatives venue, and writes its playbook to out/demo/testbed/guardian.yaml;
3. makes alice's drill signer the emulated Ledger (the emulator's mnemonic is anvil's, and
   alice is anvil account 1: path m/44'/60'/0'/0/1); bob and carol sign with raw test keys;
4. runs the default drill `vault-drain` on a FORK of that mainnet (anvil --fork-url): a leaked
   keeper key credits the attacker, who starts draining the vault; the guardians propose,
   verify, sign (one on the emulated Ledger), simulate and execute pause + account freeze +
   a timelocked withdrawal-cap patch, then warp past the delay and execute the patch;
5. prints the report, writes it to out/demo/drill-report.json, and exits 0 only if the drill
   passed.

Every process it starts (the mainnet anvil, the fork, the Ledger emulator thread) is stopped
on every exit path: normal end, error, Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "demo"
SCENARIO = "vault-drain"
ALICE_ON_LEDGER = {"owner": "alice", "backend": "ledger-emulator", "path": "m/44'/60'/0'/0/1"}


class Stopped(KeyboardInterrupt):
    pass


def _stop(signal_number, frame):  # noqa: ARG001
    raise Stopped(f"signal {signal_number}")


def use_emulated_ledger(playbook_path: Path) -> None:
    """Rewrite the playbook's drill so that alice signs on the emulated Ledger."""
    import yaml

    text = playbook_path.read_text()
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    data = yaml.safe_load(text)
    drill = data["drills"][SCENARIO]
    drill["signers"] = [ALICE_ON_LEDGER if s["owner"] == "alice" else s for s in drill["signers"]]
    note = "# make demo: alice signs the drill on the emulated Ledger (guardian.testing.ledger_emulator, NOT a device).\n"
    playbook_path.write_text(header + note + yaml.safe_dump(data, sort_keys=False, width=120))


def main() -> int:
    from guardian.adapters.anvil import start_anvil
    from guardian.cli.drill import render_drill
    from guardian.config import load_playbook
    from guardian.errors import GuardianError
    from guardian.testbed import deploy_testbed
    from guardian.workflow.drill import run_drill

    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _stop)
    OUT.mkdir(parents=True, exist_ok=True)
    report_path = OUT / "drill-report.json"
    report_path.unlink(missing_ok=True)  # never leave a stale report from an earlier run
    print("== guardian demo: a drained vault, contained by a 3-of-5 guardian Safe ==\n")
    try:
        with start_anvil(chain_id=1, log_dir=OUT / "logs") as mainnet:
            print(f"local mainnet: anvil --chain-id 1 at {mainnet.url} (pid {mainnet.process.pid})")
            testbed = deploy_testbed(mainnet.url, out_dir=OUT / "testbed")
            print(f"testbed deployed: Safe {testbed.safe} ({testbed.threshold}-of-{len(testbed.owners)}), timelock {testbed.timelock} ({testbed.timelock_delay} s), vault {testbed.vault}")
            use_emulated_ledger(testbed.playbook_path)
            print(f"playbook: {testbed.playbook_path.relative_to(ROOT)} (drill signers: alice on the emulated Ledger, bob and carol with test keys)\n")
            os.environ.update(testbed.signer_env())
            playbook = load_playbook(testbed.playbook_path)
            report = run_drill(playbook, SCENARIO, report_path=report_path, echo=print, log_dir=OUT / "logs")
            render_drill(report)
            paused = int.from_bytes(bytes.fromhex(mainnet.rpc("eth_call", [{"to": testbed.vault, "data": "0x5c975abb"}, "latest"])[2:]), "big")
            print(f"\nThe local mainnet itself is untouched (vault paused there: {bool(paused)}): the drill ran on a fork.")
    except GuardianError as error:
        print(f"demo: {error.one_line()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as error:
        print(f"demo: interrupted ({error or 'Ctrl-C'}); every process it started was stopped", file=sys.stderr)
        return 130
    print(f"Report: {report_path.relative_to(ROOT)}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
