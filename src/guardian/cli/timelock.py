"""`guardian timelock ...`: read the TimelockController's queue. Light imports only."""

from __future__ import annotations

import click

from guardian.cli.options import context_options, json_option
from guardian.cli.sign import connect_chain


@click.group("timelock")
def timelock() -> None:
    """The timelock's operations. Execute or cancel one with `guardian propose timelock-execute|timelock-cancel OPID`."""


def until(seconds: int | None) -> str:
    if seconds is None:
        return ""
    if seconds == 0:
        return "now"
    hours, rest = divmod(seconds, 3600)
    return f"in {hours}h{rest // 60:02d}m{rest % 60:02d}s" if hours else f"in {rest // 60}m{rest % 60:02d}s"


@timelock.command("list")
@context_options
@click.option("--from-block", type=click.IntRange(min=0), default=0, show_default=True, help="First block to read events from.")
@click.option("--state", "states", multiple=True, type=click.Choice(["pending", "ready", "done", "cancelled"]), help="Only these states (repeatable).")
@json_option
def list_command(playbook_path, network, rpc_url, rpc_timeout, from_block, states, as_json):
    """List the playbook timelock's operations: id, decoded calls, state and time until ready."""
    from guardian.cli.render import echo_json, table
    from guardian.config import load_playbook
    from guardian.domain.intent import Context
    from guardian.errors import ConfigError
    from guardian.workflow.timelock import list_operations

    playbook = load_playbook(playbook_path)
    if playbook.timelock is None:
        raise ConfigError(str(playbook.path), "timelock", "the playbook declares no timelock")
    chain = connect_chain(rpc_url, playbook, network, required=True, timeout=rpc_timeout)
    operations = [op for op in list_operations(chain, playbook.timelock.address, Context.from_playbook(playbook).registry, from_block=from_block) if not states or op.state in states]
    if as_json:
        echo_json([op.as_dict() for op in operations])
        return
    rows = [[op.id, op.state, until(op.seconds_until_ready), "; ".join(call.description for call in op.calls)] for op in operations]
    click.echo(table(rows, ["operation id", "state", "ready", "calls"]) if rows else "No timelock operations.")
