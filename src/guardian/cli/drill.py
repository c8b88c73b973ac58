"""`guardian drill`: rehearse a playbook breach scenario end to end on a fork."""

from __future__ import annotations

import click

from guardian.cli.options import network_option, playbook_option


def render_drill(report) -> None:
    """The human report: a PASS/FAIL table per step, conditions, containment time, transactions."""
    rows = []
    for step in report.steps:
        status = "SKIP" if step.skipped else ("PASS" if step.passed else "FAIL")
        detail = step.detail if len(step.detail) <= 110 else step.detail[:107] + "..."
        rows.append([step.name, status, f"{step.seconds:6.2f}", detail])
    click.echo("")
    echo_status_table(rows, ["step", "result", "seconds", "detail"], status_column=1)
    checks = [(c, "condition") for c in report.conditions] + [(c, f"post-condition ({c.action})") for c in report.postconditions]
    if checks:
        click.echo("")
        rows = [[kind, c.description, "PASS" if c.passed else "FAIL", c.actual] for c, kind in checks]
        echo_status_table(rows, ["kind", "check", "result", "actual"], status_column=2)
    if report.transactions:
        click.echo("\nTransactions:")
        for tx in report.transactions:
            click.echo(f"  {tx['step']:<28} {tx['tx_hash']}  block {tx['block']}")
    if report.time_to_containment_seconds is not None:
        c = report.containment
        click.echo(
            f"\nTime to containment: {report.time_to_containment_seconds:.2f} s wall clock "
            f"(breach in block {c['breach_block']}, pause in block {c['pause_block']}; {c['block_seconds']} s by block timestamps)"
        )
    else:
        click.echo("\nTime to containment: not reached (the pause did not land)")
    click.echo(f"Total: {report.total_seconds:.2f} s")
    if report.passed:
        click.secho(f"DRILL {report.scenario} PASSED", fg="green", bold=True)
        return
    click.secho(f"DRILL {report.scenario} FAILED", fg="red", bold=True)
    for line in report.failures:
        click.secho(f"  - {line}", fg="red")


def echo_status_table(rows: list[list[str]], headers: list[str], status_column: int) -> None:
    """A table whose rows are coloured by their PASS / FAIL / SKIP cell (widths from the plain text)."""
    from guardian.cli.render import table

    colours = {"PASS": "green", "FAIL": "red", "SKIP": "yellow"}
    lines = table(rows, headers).splitlines()
    click.echo("\n".join(lines[:2]))
    for row, line in zip(rows, lines[2:]):
        click.secho(line, fg=colours.get(row[status_column]))


@click.command("drill")
@click.argument("scenario")
@playbook_option
@network_option
@click.option("--fork-url", default=None, help="RPC URL to fork (default: the playbook network's).")
@click.option("--block", "fork_block", type=click.IntRange(min=0), default=None, help="Fork at this block (default: network fork_block, else the head).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None, help="Write the JSON report to this file.")
@click.option("--signer", "signer_texts", multiple=True, metavar="OWNER=BACKEND[:ARG]", help="Override a guardian's backend, e.g. alice=ledger-emulator:m/44'/60'/0'/0/1 or bob=key:BOB_KEY.")
@click.option("--password-env", default=None, help="Env var with the keystore password for --signer OWNER=keystore:PATH.")
@click.option("--password-file", type=click.Path(dir_okay=False, exists=True), default=None, help="Keystore password file for --signer OWNER=keystore:PATH.")
@click.option("-v", "--verbose", is_flag=True, help="Show what signers and the executor print (hashes, device prompts).")
def drill(scenario, playbook_path, network, fork_url, fork_block, report_path, signer_texts, password_env, password_file, verbose):
    """Run drill SCENARIO from the playbook on a fork: breach, propose, verify, sign, simulate, execute.

    Timelocked actions go on with a warp past the delay and a timelock-execute proposal. Each
    step is timed; the report gives time to containment (breach to the block of the pause).
    Exit 1 if any step or success condition fails.
    """
    from guardian.config import load_playbook
    from guardian.workflow.drill import run_drill, signer_from_text

    playbook = load_playbook(playbook_path)
    override = [signer_from_text(t, password_env=password_env, password_file=password_file) for t in signer_texts]
    report = run_drill(
        playbook, scenario, fork_url=fork_url, fork_block=fork_block, signers_override=override or None,
        report_path=report_path, echo=click.echo, network=network, verbose=verbose,
    )  # fmt: skip
    render_drill(report)
    if report_path:
        click.echo(f"Report written to {report_path}")
    if not report.passed:
        raise SystemExit(1)
