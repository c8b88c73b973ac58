"""`make demo`: the whole emergency response, rehearsed on a fork of a local "mainnet".

1. starts a local "mainnet": anvil with --chain-id 1;
2. deploys the testbed on it (guardian.testbed.deploy_testbed): a 3-of-5 guardian Safe 1.4.1
   (alice, bob, carol, dave, erin), an OpenZeppelin TimelockController and the guarded
   derivatives venue, and writes its playbook to out/demo/testbed/guardian.yaml;
3. the playbook's drill has alice sign on the emulated Ledger (the emulator's mnemonic is
   anvil's, and alice is anvil account 1: path m/44'/60'/0'/0/1), bob with an encrypted
   keystore and carol with a raw test key;
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


class Stopped(KeyboardInterrupt):
    pass


def _stop(signal_number, frame):  # noqa: ARG001
    raise Stopped(f"signal {signal_number}")


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
            signers = ", ".join(f"{s.owner} ({s.backend})" for s in load_playbook(testbed.playbook_path).drill(SCENARIO).signers)
            print(f"playbook: {testbed.playbook_path.relative_to(ROOT)} (drill signers: {signers})\n")
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
