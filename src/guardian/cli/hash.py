"""``guardian hash``: the Safe transaction hashes, offline, for air-gapped verification.

Imports only click here; the domain modules (keccak, and eth_abi for the decoded call) are
imported inside the command. It never imports web3, safe_eth, ape, ledgereth or eth_account.
"""

from __future__ import annotations

import click

_TX_OPTIONS = (
    "safe", "chain_id", "safe_version", "to", "value", "data", "operation", "nonce",
)  # fmt: skip
_OPTIONAL = ("safe_tx_gas", "base_gas", "gas_price", "gas_token", "refund_receiver")


@click.command("hash")
@click.argument("proposal_file", required=False, type=click.Path(dir_okay=False, exists=True))
@click.option("--safe", help="Safe address.")
@click.option("--chain-id", help="Chain id (also recorded for Safes before 1.3.0, whose hash ignores it).")
@click.option("--safe-version", help="Safe version: 1.0.0, 1.1.1, 1.3.0, 1.4.1 or 1.5.0.")
@click.option("--to", help="Target address of the Safe transaction.")
@click.option("--value", help="Value in wei (decimal or 0x hex).")
@click.option("--data", help="Calldata, 0x hex (0x for none).")
@click.option("--operation", help="0 (CALL) or 1 (DELEGATECALL).")
@click.option("--nonce", help="Safe nonce of the transaction.")
@click.option("--safe-tx-gas", default=None, help="safeTxGas (default 0).")
@click.option("--base-gas", default=None, help="baseGas (default 0).")
@click.option("--gas-price", default=None, help="gasPrice (default 0).")
@click.option("--gas-token", default=None, help="gasToken (default the zero address).")
@click.option("--refund-receiver", default=None, help="refundReceiver (default the zero address).")
@click.option("--json", "as_json", is_flag=True, help='Print {"domain_hash", "message_hash", "safe_tx_hash"} only.')
def hash_command(proposal_file: str | None, as_json: bool, **options: str | None) -> None:
    """Compute the EIP-712 domain hash, message hash and safeTxHash of a Safe transaction.

    Give the transaction either as options or as a PROPOSAL_FILE. Nothing is read from a
    chain: compare the domain and message hash with what your Ledger shows before signing.

    \b
    guardian hash --safe ADDR --chain-id N --safe-version 1.4.1 --to ADDR --value WEI \\
                  --data 0xHEX --operation 0|1 --nonce N [--safe-tx-gas N --base-gas N
                  --gas-price N --gas-token ADDR --refund-receiver ADDR] [--json]
    guardian hash PROPOSAL_FILE [--json]
    """
    from guardian.domain.safe_tx import hash_safe_tx

    tx, registry = _load(proposal_file, options)
    hashes = hash_safe_tx(tx)
    if as_json:
        import json

        click.echo(json.dumps(hashes.as_hex()))
        return
    _render(tx, hashes, registry)


def _load(proposal_file: str | None, options: dict[str, str | None]):
    """The SafeTx and a registry to decode its calldata with, from the file or the options."""
    from guardian.domain.abi import AbiRegistry

    given = [name for name, value in options.items() if value is not None]
    if proposal_file:
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise click.UsageError(f"give either PROPOSAL_FILE or the transaction options, not both ({flags})")
        from pathlib import Path

        from guardian.domain.proposal import NO_CALLDATA, Proposal

        proposal = Proposal.from_json(Path(proposal_file).read_bytes(), source=proposal_file)
        registry, names = AbiRegistry(), {}
        for action in proposal.intent["actions"]:  # signatures already checked against the calldata
            function = action["function"]
            if function and function != NO_CALLDATA and not function.startswith("0x"):
                name = names.setdefault(action["target"], action["contract"] or f"contract at {action['target']}")
                registry.add(name, action["target"], [function])
        return proposal.safe_tx, registry
    missing = [name for name in _TX_OPTIONS if options[name] is None]
    if missing:
        raise click.UsageError(
            "missing " + ", ".join("--" + name.replace("_", "-") for name in missing) + " (or give a PROPOSAL_FILE)"
        )
    return _tx_from_options(options), AbiRegistry()


def _tx_from_options(options: dict[str, str | None]):
    from guardian.domain.safe_tx import SafeTx
    from guardian.domain.values import ZERO_ADDRESS, parse_address, parse_hex, parse_uint
    from guardian.errors import InputError

    def number(name: str) -> int:
        text = options[name]
        return 0 if text is None else parse_uint(text, "--" + name.replace("_", "-"))

    def address(name: str) -> str:
        text = options[name]
        return ZERO_ADDRESS if text is None else parse_address(text, "--" + name.replace("_", "-"))

    chain_id = parse_uint(options["chain_id"], "--chain-id")
    if chain_id == 0:
        raise InputError("--chain-id", options["chain_id"], "must be positive")
    if options["operation"] not in ("0", "1"):
        raise InputError("--operation", options["operation"], "must be 0 (CALL) or 1 (DELEGATECALL)")
    return SafeTx(
        safe=address("safe"),
        chain_id=chain_id,
        safe_version=options["safe_version"],
        to=address("to"),
        value=number("value"),
        data=parse_hex(options["data"], "--data"),
        operation=int(options["operation"]),
        safe_tx_gas=number("safe_tx_gas"),
        base_gas=number("base_gas"),
        gas_price=number("gas_price"),
        gas_token=address("gas_token"),
        refund_receiver=address("refund_receiver"),
        nonce=number("nonce"),
    )


def _short_hex(data: bytes, limit: int = 256) -> str:
    from guardian.domain.values import keccak, to_hex

    if len(data) <= limit:
        return f"{to_hex(data)} ({len(data)} bytes)"
    return f"{to_hex(data[:64])}... ({len(data)} bytes, keccak256 {to_hex(keccak(data))})"


def _render(tx, hashes, registry) -> None:
    from guardian.cli.render import echo_hashes
    from guardian.domain.safe_tx import domain_has_chain_id

    chain_note = "" if domain_has_chain_id(tx.safe_version) else "; not part of this version's hash"
    rows = [
        ("Safe", f"{tx.safe} (version {tx.safe_version})"),
        ("Chain id", f"{tx.chain_id}{chain_note}"),
        ("To", tx.to),
        ("Value", f"{tx.value} wei"),
        ("Data", _short_hex(tx.data)),
        ("Operation", f"{tx.operation} ({'DELEGATECALL' if tx.operation else 'CALL'})"),
        ("Nonce", str(tx.nonce)),
        ("safeTxGas", str(tx.safe_tx_gas)),
        ("baseGas", str(tx.base_gas)),
        ("gasPrice", str(tx.gas_price)),
        ("gasToken", tx.gas_token),
        ("refundReceiver", tx.refund_receiver),
    ]
    click.echo("Safe transaction")
    for label, text in rows:
        click.echo(f"  {label + ':':<16}{text}")
    decoded = registry.decode_nested(tx.to, tx.data, tx.value, tx.operation)
    click.echo("Decoded call")
    _render_call(decoded, "  ")
    click.echo("Hashes (the Ledger shows the domain and message hash)")
    echo_hashes(*hashes.as_hex().values())


def _render_call(call, indent: str) -> None:
    from guardian.domain.values import to_hex

    if call.function is None:
        if not call.data:
            click.echo(f"{indent}no calldata: a plain transfer of {call.value} wei to {call.address}")
        else:
            click.echo(f"{indent}unknown selector {to_hex(call.selector or call.data)} on {call.address} (not decoded)")
        return
    who = f"{call.contract} ({call.address})" if call.contract else call.address
    via = f" [ABI: {call.source}]" if call.source and call.source.startswith("builtin:") else ""
    click.echo(f"{indent}{call.function} on {who}{via}")
    if call.value:
        click.echo(f"{indent}  value: {call.value} wei")
    if call.operation:
        click.echo(f"{indent}  operation: DELEGATECALL")
    if call.error:
        click.echo(f"{indent}  could not decode the arguments: {call.error}")
    for arg in call.args:
        text = arg.text
        if len(text) > 140:
            text = text[:130] + f"... ({len(text)} chars)"
        click.echo(f"{indent}  {arg.name} ({arg.type}): {text}")
    for index, inner in enumerate(call.inner):
        click.echo(f"{indent}  [{call.inner_kind} call {index}]")
        _render_call(inner, indent + "    ")
