"""`guardian watch`: follow new blocks; classify queued timelock operations, draft vetoes, alert."""

from __future__ import annotations

import click

from guardian.cli.options import network_option, playbook_option, rpc_option

SEVERITY_COLOUR = {"critical": "red", "warning": "yellow", "info": "cyan"}


def echo_alert(alert) -> None:
    """One coloured line per alert (plus the next commands when a veto was drafted)."""
    where = f"block {alert.block}" if alert.block is not None else "?"
    tx = f" tx {alert.tx}" if alert.tx else ""
    label = alert.severity.upper()
    click.secho(f"[{label}] {alert.kind} {where}{tx}: {alert.text}", fg=SEVERITY_COLOUR.get(alert.severity), bold=alert.severity == "critical")
    for command in alert.details.get("commands", []):
        click.echo(f"    {command}")


def echo_notice(text: str) -> None:
    click.echo(f"watch: {text}", err=True)


@click.command("watch")
@playbook_option
@network_option
@rpc_option
@click.option("--once", is_flag=True, help="Catch up to the head once, then exit.")
@click.option("--interval", type=click.FloatRange(min=0.05), default=12.0, show_default=True, help="Seconds between polls.")
@click.option("--from-block", type=click.IntRange(min=0), default=None, help="Start at this block (default: resume from the state file, else the head).")
@click.option("--state", "state_path", type=click.Path(dir_okay=False), default=None, help="State file (default: .guardian-watch-state.json next to the playbook).")
@click.option("--jsonl", "jsonl_path", type=click.Path(dir_okay=False), default=None, help="Also append every alert, as one JSON object per line, to this file.")
@click.option("--webhook", "webhook_url", default=None, help="Also POST every alert as JSON to this http(s) URL.")
@click.option("--fail-on-critical", is_flag=True, help="Exit 1 if any critical alert was raised (for cron with --once).")
def watch(playbook_path, network, rpc_url, once, interval, from_block, state_path, jsonl_path, webhook_url, fail_on_critical):
    """Follow new blocks and alert on what the guardians can act on.

    Every timelock CallScheduled is decoded and classified (hostile, risky, benign); for a
    hostile or risky one a ready-to-sign timelock-cancel proposal is written to the proposals
    folder. Changes to the Safe (owners, threshold, modules, guard, singleton, fallback
    handler) and the guarded contracts' pause and freeze events are reported too. Survives
    RPC hiccups and resumes from its state file.
    """
    from guardian.config import load_playbook
    from guardian.workflow.watch import JsonLinesSink, WebhookSink, watch as run_watch

    playbook = load_playbook(playbook_path)
    critical = []
    sinks = [echo_alert, lambda alert: critical.append(alert) if alert.severity == "critical" else None]
    if jsonl_path:
        sinks.append(JsonLinesSink(jsonl_path))
    if webhook_url:
        sinks.append(WebhookSink(webhook_url))
    try:
        run_watch(
            playbook, network=network, rpc_url=rpc_url, once=once, interval=interval, from_block=from_block,
            state_path=state_path, sinks=sinks, notice=echo_notice,
        )  # fmt: skip
    except KeyboardInterrupt:
        echo_notice("stopped")
    if fail_on_critical and critical:
        echo_notice(f"{len(critical)} critical alert(s): exiting 1 (--fail-on-critical)")
        raise SystemExit(1)
