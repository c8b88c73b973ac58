"""`guardian execute`: send a signed proposal through the Safe, idempotently. Light imports only."""

from __future__ import annotations

import sys

import click

from guardian.cli.options import sender_options
from guardian.cli.sign import connect_chain, echo_err, open_cli_signer, optional_playbook

STYLE = {"executed": "green", "already-executed": "green", "failed-inside": "red", "pending": "yellow"}
EXIT_CODE = {"executed": 0, "already-executed": 0, "failed-inside": 1, "pending": 3}


@click.command("execute")
@click.argument("proposal_path", type=click.Path(dir_okay=False))
@sender_options
def execute(proposal_path, signer_spec, password_file, password_env, allow_raw_key, accept_risk, playbook_path, network, rpc_url, rpc_timeout, gas_limit, receipt_timeout, as_json):
    """Execute a proposal once the threshold is reached (execTransaction), and record the result.

    Checks the threshold, runs a preflight eth_call (decoding GS0xx reverts), estimates gas,
    records the transaction hash in the file BEFORE sending, then waits for the receipt.
    A rerun never sends twice: it reports "already executed" or reconciles a pending
    transaction. Exit 0 only when the action happened; 1 when the inner call FAILED inside
    the Safe; 3 when the transaction is still pending.
    """
    from guardian.cli.render import echo_json
    from guardian.workflow.execution import execute_proposal

    playbook = optional_playbook(playbook_path)
    chain = connect_chain(rpc_url, playbook, network, required=True, timeout=rpc_timeout)
    signer = open_cli_signer(signer_spec, password_file, password_env, allow_raw_key)
    try:
        result = execute_proposal(proposal_path, signer, chain=chain, playbook=playbook, gas_limit=gas_limit, echo=echo_err if as_json else click.echo, receipt_timeout=receipt_timeout, accept_risk=accept_risk, network=network)
    finally:
        signer.close()
    if as_json:
        echo_json(result.as_dict())
    else:
        click.secho(f"{result.status.upper()}: {result.message}", fg=STYLE[result.status], bold=not result.ok, err=not result.ok)
    sys.exit(EXIT_CODE[result.status])
