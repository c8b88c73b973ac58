"""`guardian merge` and `guardian status`: co-signing across laptops. Light imports only."""

from __future__ import annotations

import click

from guardian.cli.options import context_options, json_option
from guardian.cli.sign import connect_chain, optional_playbook


@click.command("merge")
@click.argument("proposal_paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Merged proposal file (if it exists, its signatures are kept).")
@json_option
def merge(proposal_paths, out_path, as_json):
    """Union the signatures of copies of one proposal signed on different laptops.

    Refuses copies whose hashes or fields differ, naming the differing field. The inputs
    are never modified; the output is written atomically.
    """
    from guardian.cli.render import echo_json
    from guardian.workflow.signing import merge_proposals

    merged = merge_proposals(proposal_paths, out_path)
    if as_json:
        echo_json({"path": out_path, "id": merged.id, "signers": list(merged.signers)})
        return
    click.echo(f"Merged {len(proposal_paths)} file(s) into {out_path}: {len(merged.signatures)} signature(s)")
    for signature in merged.signatures:
        click.echo(f"  {signature.signer} ({signature.kind}, {signature.created_at})")


def render_status(status) -> None:
    from guardian.cli.render import table

    proposal = status.proposal
    click.echo(f"Proposal {proposal.id}: nonce {proposal.nonce}, safeTxHash {proposal.hashes['safe_tx']}")
    click.echo(f"  {proposal.intent['summary']}")
    rows = [[o.name or "", o.address, "yes" if o.signed else "no", o.how or "", o.at or ""] for o in status.owners]
    click.echo(table(rows, ["owner", "address", "signed", "how", "at"]))
    for stranger in status.strangers:
        click.secho(f"  {stranger} signed but is not an owner: that signature does not count", fg="yellow")
    if status.threshold is None:
        click.echo("Threshold unknown: give --rpc or a playbook.")
    elif status.executed:
        click.echo(f"Threshold {status.threshold} ({status.owners_from}); {status.collected} signature(s) in the file")
    else:
        click.echo(f"Threshold {status.threshold} ({status.owners_from}): {status.collected} collected, {status.missing} more needed")
    if status.executed:
        e = status.executed
        colour = "red" if e["status"] == "failure" else "green" if e["status"] == "success" else "yellow"
        click.secho(f"Execution: {e['status']} in transaction {e['tx_hash']} (block {e['block']}, by {e['executor']})", fg=colour)
    click.secho(f"State: {status.state}", bold=True)


@click.command("status")
@click.argument("proposal_path", type=click.Path(dir_okay=False))
@context_options
@json_option
def status(proposal_path, playbook_path, network, rpc_url, rpc_timeout, as_json):
    """Show, for each owner, whether and how they signed, and how many signatures are still needed.

    With --rpc the owners and threshold are read on chain and on-chain approvals
    (approveHash) count; without it the playbook roster is used.
    """
    from guardian.cli.render import echo_json
    from guardian.workflow.proposals import load_proposal
    from guardian.workflow.signing import proposal_status

    proposal = load_proposal(proposal_path)
    playbook = optional_playbook(playbook_path)
    chain = connect_chain(rpc_url, playbook, network, required=False, timeout=rpc_timeout)
    result = proposal_status(proposal, chain=chain, playbook=playbook)
    if as_json:
        echo_json(result.as_dict())
    else:
        render_status(result)
