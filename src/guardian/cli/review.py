"""`guardian show` and `guardian verify`: recompute, decode and risk-check a proposal."""

from __future__ import annotations

import click

from guardian.cli.options import context_options, json_option


def _load(proposal_path, playbook_path, rpc_url, network, rpc_timeout):
    from pathlib import Path

    from guardian.cli.sign import connect_chain, optional_playbook
    from guardian.workflow.proposals import load_proposal, review

    proposal = load_proposal(proposal_path)  # recomputes every hash: a changed field fails here
    playbook = optional_playbook(playbook_path)
    chain = connect_chain(rpc_url, playbook, network, required=False, timeout=rpc_timeout)
    return review(proposal, playbook, network=network, chain=chain, own_path=Path(proposal_path))


def describe_calls(calls) -> list[str]:
    """One line per decoded call, indented by depth; containers show only their size."""
    from guardian.domain.abi import format_value

    lines = []
    for call in calls:
        indent = "    " * (call.where.count(".") + 1)
        name = call.function.split("(")[0] if call.function else (f"unknown selector 0x{call.data[:4].hex()}" if call.data else "transfer")
        if call.container:
            args = "..."
        else:
            args = ", ".join(f"{n}={format_value(t, v)}" for n, t, v in call.args)
        route = "" if call.route == "safe" else f" [{call.route}]"
        mode = " DELEGATECALL" if call.operation == 1 else ""
        value = f" value={call.value}" if call.value else ""
        lines.append(f"{indent}{call.where}:{mode} {call.contract or call.to}.{name}({args}){value}{route}")
    return lines


def _render(result, as_json: bool, verbose: bool) -> None:
    from guardian.cli.render import echo_findings, echo_hashes, echo_json

    proposal = result.proposal
    if as_json:
        echo_json(
            {
                "id": proposal.id,
                "ok": not result.critical,
                "hashes": proposal.hashes,
                "intent": result.derived_intent,
                "findings": [f.as_dict() for f in result.findings],
                "onchain": result.onchain,
                "signatures": [s.to_dict() for s in proposal.signatures],
            }
        )
        return
    click.echo(f"Proposal {proposal.id}: Safe {proposal.safe} (v{proposal.safe_version}) on chain {proposal.chain_id}, nonce {proposal.nonce}")
    click.echo(f"  Created by {proposal.created['by']} at {proposal.created['at']}")
    op = "DELEGATECALL" if proposal.operation == 1 else "CALL"
    click.echo(f"  {op} {proposal.to} value {proposal.value}, {len(proposal.data)} bytes of data")
    click.echo("Decoded calls (from the calldata, not from the file's words):")
    for line in describe_calls(result.calls):
        click.echo(line)
    click.echo(f"Intent: {proposal.intent['summary']}")
    if proposal.timelock:
        tl = proposal.timelock
        click.echo(f"Timelock: {tl['kind']} operation {tl['operation_id']} (delay {tl['delay']} s)")
    echo_hashes(proposal.hashes["domain"], proposal.hashes["message"], proposal.hashes["safe_tx"])
    if result.onchain:
        o = result.onchain
        click.echo(f"On chain: Safe v{o.get('version')} nonce {o.get('nonce')}, threshold {o.get('threshold')} of {len(o.get('owners', []))}")
    click.echo(f"Signatures: {len(proposal.signatures)}" + "".join(f"\n  {s.signer} ({s.kind})" for s in proposal.signatures))
    echo_findings(result.findings)


@click.command("show")
@click.argument("proposal_path", type=click.Path(dir_okay=False))
@context_options
@json_option
def show(proposal_path, playbook_path, network, rpc_url, rpc_timeout, as_json):
    """Show a proposal: decoded calls, hashes, signatures and findings (exit 0 even if critical)."""
    result = _load(proposal_path, playbook_path, rpc_url, network, rpc_timeout)
    _render(result, as_json, verbose=True)


@click.command("verify")
@click.argument("proposal_path", type=click.Path(dir_okay=False))
@context_options
@json_option
def verify(proposal_path, playbook_path, network, rpc_url, rpc_timeout, as_json):
    """Recompute every hash, decode the calldata and flag dangers; exit 1 on a critical finding.

    With --rpc it also checks the Safe on chain: getTransactionHash, version, nonce, owners,
    threshold, and that each signature recovers to a current owner.
    """
    result = _load(proposal_path, playbook_path, rpc_url, network, rpc_timeout)
    _render(result, as_json, verbose=True)
    if result.critical:
        if not as_json:
            click.secho("VERIFY FAILED: critical findings above. Do not sign.", fg="red", bold=True, err=True)
        raise SystemExit(1)
    if not as_json:
        click.secho("Verified: hashes recomputed, calldata matches the intent, no critical finding.", fg="green")
