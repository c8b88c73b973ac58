"""Deploy the guardian testbed (Safe + timelock + guarded derivatives venue) on an anvil.

Two ways to run it, same options:

    ape run deploy_testbed --rpc http://127.0.0.1:8545 --out-dir out/testbed
    .venv/bin/python scripts/deploy_testbed.py --rpc http://127.0.0.1:8545 --out-dir out/testbed

Start the chain first, e.g. `node_modules/.bin/anvil` (or `anvil --chain-id 1` to stand in for
mainnet). The deployer is anvil's account 0 unless --deployer-key (or $GUARDIAN_DEPLOYER_KEY)
is given; the owners default to anvil's accounts 1..5 (alice..erin). The chain must be fresh
for the deployer, so that the addresses are always the same. Everything is done by
guardian.testbed.deploy_testbed; this file only parses options and prints the result.
"""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command(name="deploy_testbed")
@click.option("--rpc", "rpc_url", default="http://127.0.0.1:8545", show_default=True, help="JSON-RPC URL of the anvil.")
@click.option("--owner", "owners", multiple=True, help="Safe owner address (repeat; default: anvil accounts 1..5).")
@click.option("--threshold", default=3, show_default=True, type=int, help="Signatures the Safe requires.")
@click.option("--timelock-delay", default=3600, show_default=True, type=int, help="Timelock minimum delay, seconds.")
@click.option("--variant", default=None, help="Misconfigured variant: open-executor, module-enabled, no-pause-role, old-safe.")
@click.option("--out-dir", default="out/testbed", show_default=True, type=click.Path(file_okay=False, path_type=Path))
def cli(rpc_url, owners, threshold, timelock_delay, variant, out_dir):
    """Deploy the testbed and write its guardian playbook (OUT_DIR/guardian.yaml)."""
    from guardian.errors import GuardianError
    from guardian.testbed import deploy_testbed

    try:
        testbed = deploy_testbed(
            rpc_url,
            list(owners) or None,
            threshold,
            deployer_key=os.environ.get("GUARDIAN_DEPLOYER_KEY") or None,
            out_dir=out_dir,
            timelock_delay=timelock_delay,
            variant=variant,
        )
    except GuardianError as error:
        raise click.ClickException(error.one_line()) from error
    click.echo(f"guardian Safe {testbed.safe} (Safe {testbed.safe_version}, {testbed.threshold}-of-{len(testbed.owners)})")
    for name, address in testbed.owners.items():
        click.echo(f"  owner {name:<8} {address}")
    click.echo(f"timelock       {testbed.timelock} (min delay {testbed.timelock_delay}s)")
    for name, address in testbed.contracts.items():
        if name != "timelock":
            click.echo(f"{name:<14} {address}")
    click.echo(f"playbook       {testbed.playbook_path}")


if __name__ == "__main__":
    cli()
