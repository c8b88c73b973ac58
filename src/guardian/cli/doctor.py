"""`guardian doctor`: the readiness report (is the emergency path ready?)."""

from __future__ import annotations

import click

from guardian.cli.options import json_option, network_option, playbook_option, rpc_option

MARKS = {"ok": ("ok", "green"), "warn": ("WARN", "yellow"), "fail": ("FAIL", "red")}


def render_report(report) -> None:
    """A coloured table: status, check, what was found; the fix under each warn/fail line."""
    click.echo(f"guardian doctor: {report.playbook} on {report.network} ({report.rpc}), chain {report.chain_id}, block {report.block}")
    click.echo(f"Safe {report.safe}\n")
    width = max((len(c.name) for c in report.checks), default=5)
    click.echo(f"{'STATUS':6}  {'CHECK'.ljust(width)}  DETAIL")
    click.echo(f"{'-' * 6}  {'-' * width}  {'-' * 40}")
    for check in report.checks:
        text, colour = MARKS[check.status]
        mark = click.style(text.ljust(4), fg=colour, bold=check.status == "fail")
        click.echo(f"{mark}    {check.name.ljust(width)}  {check.detail}")
        if check.status != "ok" and check.fix:
            click.echo(f"{'':6}  {''.ljust(width)}  " + click.style(f"fix: {check.fix}", fg="cyan"))
    counts = report.counts()
    click.echo()
    summary = f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failure(s)"
    colour = "red" if counts["fail"] else ("yellow" if counts["warn"] else "green")
    click.secho(summary + (": NOT READY" if counts["fail"] else ": ready"), fg=colour, bold=bool(counts["fail"]))


@click.command("doctor")
@playbook_option
@network_option
@rpc_option
@click.option("--pause-window-days", type=float, default=14.0, show_default=True, help="Warn when a pause window ends within this many days.")
@json_option
def doctor(playbook_path, network, rpc_url, pause_window_days, as_json):
    """Readiness report: Safe, permissions per action, timelock roles, pause windows, nonces.

    One line per check (ok, warn or fail) with the fix. Reads the live chain (or a fork) and
    the playbook; exits 1 when any check fails.
    """
    from guardian.cli.render import echo_json
    from guardian.config import load_playbook
    from guardian.workflow.readiness import doctor as run_doctor

    report = run_doctor(load_playbook(playbook_path), network=network, rpc_url=rpc_url, pause_window_days=pause_window_days)
    if as_json:
        echo_json(report.as_dict())
    else:
        render_report(report)
    if report.failed:
        raise SystemExit(1)
