"""`guardian simulate`: dry-run a proposal through the Safe on an anvil fork."""

from __future__ import annotations

import click

from guardian.cli.options import network_option, playbook_option


def render_simulation(report) -> None:
    """The terminal report: verdict, executions, events, post-conditions, state, timelock."""
    from guardian.cli.drill import echo_status_table
    from guardian.cli.render import styled_status, table
    from guardian.workflow.simulation import describe_event, timelock_sentence

    colour = "green" if report.passed else "red"
    click.secho(f"Simulation of proposal {report.proposal_id}: {report.verdict}", fg=colour, bold=True)
    click.echo(f"  Intent:  {report.summary}")
    click.echo(f"  Safe:    {report.safe} on chain {report.chain_id}, nonce {report.nonce}")
    click.echo(f"  Fork:    {report.fork.get('description')}")
    if report.failure:
        click.secho(f"  Reason:  {report.failure}", fg="red")
    for execution in report.executions:
        result = "success" if execution.success else "REVERT"
        gas = f"{execution.gas_used:,} gas" if execution.gas_used else "no gas (not sent)"
        click.echo(f"\n{execution.label}: {styled_status('PASS' if execution.success else 'FAIL')} {result}, {gas}")
        if execution.signed_by:
            click.echo(f"  signed by: {', '.join(execution.signed_by)}")
        if execution.approved_on_fork:
            click.echo(f"  approveHash on the fork by: {', '.join(execution.approved_on_fork)}")
        if execution.reason:
            click.secho(f"  reason: {execution.reason}", fg="red")
        for event in execution.events:
            if event.get("event") != "SafeMultiSigTransaction":  # the transaction restated (kept in --json)
                click.echo(f"  event {describe_event(event)}")
    if report.checks or report.skipped_checks:
        rows = [[c.description, c.expected, c.actual, "PASS" if c.passed else "FAIL"] for c in report.checks]
        rows += [[text, "", "", "SKIP"] for text in report.skipped_checks]
        click.echo("\nPost-conditions:")
        echo_status_table(rows, ["check", "expected", "actual", "result"], status_column=3)
    if report.state_changes:
        rows = [[s.description, s.before, s.after] for s in report.state_changes]
        click.echo("\nState:\n" + table(rows, ["what", "before", "after"]))
    if report.timelock:
        click.echo(f"\nTimelock: {timelock_sentence(report.timelock)}")
    for note in report.notes:
        click.echo(f"Note: {note}")
    click.echo(f"\nGas used: {report.gas_used:,}; simulated in {report.seconds:.2f} s")


@click.command("simulate")
@click.argument("proposal_path", type=click.Path(dir_okay=False))
@playbook_option
@network_option
@click.option("--fork-url", default=None, help="RPC URL to fork (default: the playbook network's).")
@click.option("--block", "fork_block", type=click.IntRange(min=0), default=None, help="Fork at this block (default: network fork_block, else the head).")
@click.option("--no-warp", is_flag=True, help="Do not warp past the timelock delay to execute a scheduled operation.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write the report as JSON to this file.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False), default=None, help="Also write the report as Markdown (incident channel).")
def simulate(proposal_path, playbook_path, network, fork_url, fork_block, no_warp, json_path, markdown_path):
    """Execute a proposal through the Safe on an anvil fork and report what it would do.

    Owners who have not signed are impersonated on the fork and approveHash, so a proposal
    can be simulated before it has its signatures. A timelock schedule is followed by a warp
    past the delay and the execute. Exit 1 if it WOULD FAIL or a post-condition does not hold.
    """
    import json
    from pathlib import Path

    from guardian.adapters.files import atomic_write_text
    from guardian.config import load_playbook
    from guardian.workflow.proposals import load_proposal
    from guardian.workflow.simulation import simulate_proposal

    proposal = load_proposal(proposal_path)
    playbook = load_playbook(playbook_path)
    report = simulate_proposal(proposal, playbook, fork_url=fork_url, fork_block=fork_block, network=network, warp_timelock=not no_warp)
    render_simulation(report)
    for path, text in ((json_path, lambda: json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n"), (markdown_path, report.to_markdown)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(Path(path), text())
    if not report.passed:
        raise SystemExit(1)
