"""Benchmark: a fork dry-run of a simple pause, after startup. Figures are printed, never asserted.

    .venv/bin/python bench/bench_simulate.py [--runs 10]

Starts a local anvil, deploys the testbed, then:

* times ``open_fork`` (anvil --fork-url the local chain, until it answers) over a few runs;
* on ONE running fork, times ``simulate_proposal`` of a ``pause-vault`` proposal with no
  signatures (3 owners impersonated to approveHash, execTransaction, events decoded, the
  post-condition checked), reverting the fork to a snapshot between runs.

Prints median / min / max for each. The target is "well under 2 s" for the dry-run itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def figures(label: str, samples: list[float]) -> str:
    return (
        f"{label:<58} median {statistics.median(samples) * 1000:8.1f} ms   "
        f"min {min(samples) * 1000:8.1f} ms   max {max(samples) * 1000:8.1f} ms   (n={len(samples)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of the dry-run [10]")
    parser.add_argument("--fork-runs", type=int, default=3, help="timed fork start-ups [3]")
    args = parser.parse_args()

    from guardian.adapters.anvil import start_anvil
    from guardian.adapters.fork import open_fork
    from guardian.config import load_playbook
    from guardian.testbed import deploy_testbed
    from guardian.workflow.proposals import build_proposal
    from guardian.workflow.simulation import simulate_proposal

    folder = Path(tempfile.mkdtemp(prefix="guardian-bench-simulate-"))
    with start_anvil(log_dir=folder) as node:
        testbed = deploy_testbed(node.url, out_dir=folder / "testbed")
        playbook = load_playbook(testbed.playbook_path)
        proposal = build_proposal(playbook, [("pause-vault", [])], chain_id=testbed.chain_id, nonce=0, author="bench")

        startups = []
        for _ in range(args.fork_runs):
            started = time.perf_counter()
            with open_fork(node.url, log_dir=folder):
                startups.append(time.perf_counter() - started)

        runs: list[float] = []
        with open_fork(node.url, log_dir=folder) as fork:
            chain = fork.chain
            snapshot = chain.snapshot()
            simulate_proposal(proposal, playbook, chain=chain)  # warm-up (imports, first RPC connections), discarded
            chain.revert(snapshot)
            for _ in range(args.runs):
                snapshot = chain.snapshot()
                started = time.perf_counter()
                report = simulate_proposal(proposal, playbook, chain=chain)
                runs.append(time.perf_counter() - started)
                chain.revert(snapshot)
                if not report.passed:
                    print(f"the dry-run did not pass: {report.failure}", file=sys.stderr)
                    return 1

    print(figures("fork start-up (anvil --fork-url local anvil)", startups))
    print(figures("fork dry-run of pause-vault (after start-up)", runs))
    print(figures("fork start-up + one dry-run (median of each)", [statistics.median(startups) + statistics.median(runs)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
