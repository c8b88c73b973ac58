"""Reusable click options (``*_option``), shared by the verb modules. Light imports only."""

from __future__ import annotations

import click

playbook_option = click.option(
    "--playbook",
    "playbook_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Playbook file (default: $GUARDIAN_PLAYBOOK or ./guardian.yaml).",
)
network_option = click.option("--network", default=None, help="Network name from the playbook (default: its default_network).")
rpc_option = click.option("--rpc", "rpc_url", default=None, help="JSON-RPC URL (default: the playbook network's).")
rpc_timeout_option = click.option(
    "--rpc-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True, help="Seconds to wait for each RPC answer."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
risk_option = click.option(
    "--i-understand-the-risk",
    "accept_risk",
    is_flag=True,
    help="Go on despite critical findings. Only after reading every one of them.",
)


def _stack(*decorators):
    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


# --playbook --network --rpc --rpc-timeout: where a proposal lives and which chain to ask.
context_options = _stack(playbook_option, network_option, rpc_option, rpc_timeout_option)

# --gas-limit --receipt-timeout: for commands that send a transaction.
transaction_options = _stack(
    click.option("--gas-limit", type=click.IntRange(min=21000), default=None, help="Gas limit (default: estimated + 20%)."),
    click.option("--receipt-timeout", type=click.FloatRange(min=0), default=120.0, show_default=True, help="Seconds to wait for the receipt."),
)


def signer_options(function):
    """--signer SPEC plus the ways to feed a keystore password or opt into raw keys."""
    decorators = [
        click.option(
            "--signer",
            "signer_spec",
            required=True,
            help="ledger[:INDEX|:PATH], ledger-legacy:INDEX, keystore:PATH, key:ENVVAR or key-file:PATH.",
        ),
        click.option("--password-file", type=click.Path(dir_okay=False, exists=True), default=None, help="Keystore password file (drills)."),
        click.option("--password-env", default=None, help="Env var holding the keystore password (drills)."),
        click.option("--allow-raw-key", is_flag=True, help="Allow a raw private key signer (drills and tests only)."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def sender_options(function):
    """Everything a command that sends a Safe transaction takes: signer, risk override,
    playbook/network/RPC, gas and receipt limits, --json."""
    return _stack(signer_options, risk_option, context_options, transaction_options, json_option)(function)
