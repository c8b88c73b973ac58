"""`guardian propose`: named playbook actions -> one Safe transaction -> a proposal file."""

from __future__ import annotations

import click

from guardian.cli.options import context_options, json_option

SEPARATOR = "+"


def split_actions(words: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """`pause-vault + freeze-account 0xabc` -> [("pause-vault", []), ("freeze-account", ["0xabc"])]."""
    groups: list[list[str]] = [[]]
    for word in words:
        if word == SEPARATOR:
            groups.append([])
        else:
            groups[-1].append(word)
    return [(group[0], group[1:]) for group in groups if group]


@click.command("propose", context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, required=True, metavar="ACTION [ARGS]... [+ ACTION [ARGS]...]")
@context_options
@click.option("--nonce", type=int, default=None, help="Safe nonce (default: read from the chain).")
@click.option("--delay", type=int, default=None, help="Timelock delay in seconds (default: the timelock's minimum).")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False), default=None, help="Proposal file (default: in the playbook's proposals folder).")
@click.option("--author", default=None, help="Who creates the proposal (default: $USER@host).")
@json_option
def propose(words, playbook_path, network, rpc_url, rpc_timeout, nonce, delay, out_path, author, as_json):
    """Build a Safe transaction from named playbook actions and write a proposal file.

    Several actions go in one proposal, separated by `+`; they are batched through
    MultiSendCallOnly. Arguments are positional or NAME=VALUE. Timelock follow-ups:
    `timelock-execute OPID` and `timelock-cancel OPID`.

    Example: guardian propose pause-vault + freeze-account 0xAbc... + set-max-leverage 5
    """
    from guardian.cli.render import echo_findings, echo_hashes, echo_json
    from guardian.config import load_playbook
    from guardian.workflow.proposals import propose as run_propose

    playbook = load_playbook(playbook_path)
    result = run_propose(
        playbook, split_actions(words), network=network, rpc_url=rpc_url, rpc_timeout=rpc_timeout, nonce=nonce, delay=delay, out_path=out_path, author=author
    )
    if as_json:
        echo_json({"path": str(result.path), "id": result.proposal.id, **result.proposal.hashes, "findings": [f.as_dict() for f in result.findings]})
        return
    click.echo(f"Proposal {result.proposal.id} written to {result.path}")
    click.echo(f"  Intent:       {result.proposal.intent['summary']}")
    click.echo(f"  Safe nonce:   {result.proposal.nonce}")
    echo_hashes(result.proposal.hashes["domain"], result.proposal.hashes["message"], result.proposal.hashes["safe_tx"])
    echo_findings(result.findings)
