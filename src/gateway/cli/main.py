"""`lead-gateway`: run, serve, worker, check, qualify, sandbox, dlq, migrate, consent, forget, report,
experiments, spend."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from gateway.cli.admin import (
    cmd_check,
    cmd_consent,
    cmd_dlq,
    cmd_experiments,
    cmd_forget,
    cmd_healthcheck,
    cmd_migrate,
    cmd_qualify,
    cmd_report,
    cmd_spend,
)
from gateway.cli.serving import cmd_run, cmd_sandbox, cmd_serve, cmd_worker
from gateway.logs import configure_logging

logger = logging.getLogger("gateway.cli.main")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lead-gateway", description=__doc__)
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="config file (default $LEAD_GATEWAY_CONFIG, then ./lead-gateway.yaml)")
        return p

    for name, func, help_text in (
        ("run", cmd_run, "HTTP API and worker in one process"),
        ("serve", cmd_serve, "HTTP API only"),
    ):
        p = with_config(sub.add_parser(name, help=help_text))
        p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        p.set_defaults(func=func)
    with_config(sub.add_parser("worker", help="queue worker only")).set_defaults(func=cmd_worker)
    with_config(sub.add_parser("check", help="validate config, reach Redis, Bitrix24, channels")).set_defaults(
        func=cmd_check
    )
    q = with_config(sub.add_parser("qualify", help="extract fields from messages on stdin"))
    q.add_argument("--tenant", required=True)
    q.add_argument("--now", help="ISO time to resolve 'завтра' etc. against (default: now)")
    q.set_defaults(func=cmd_qualify)
    s = sub.add_parser("sandbox", help="a local Bitrix24 portal emulator")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8081)
    s.add_argument("--burst", type=int, default=50)
    s.add_argument("--per-second", type=float, default=2.0)
    s.add_argument("--error-rate", type=float, default=0.0)
    s.add_argument("--latency-ms", type=float, default=0.0)
    s.set_defaults(func=cmd_sandbox)
    h = with_config(sub.add_parser("healthcheck", help="exit 0 if this container's role is healthy"))
    h.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    h.set_defaults(func=cmd_healthcheck)
    with_config(sub.add_parser("migrate", help="create or upgrade the business store's schema")).set_defaults(
        func=cmd_migrate
    )
    d = with_config(sub.add_parser("dlq", help="list or replay work that failed for good"))
    d.add_argument("action", choices=["list", "replay"])
    d.add_argument("--tenant")
    d.set_defaults(func=cmd_dlq)
    c = sub.add_parser("consent", help="the consent evidence (152-FZ, 38-FZ)")
    c_sub = c.add_subparsers(dest="action", required=True)
    e = with_config(c_sub.add_parser("export", help="every consent given and withdrawn, as CSV on stdout"))
    e.add_argument("--tenant", required=True)
    e.set_defaults(func=cmd_consent)
    f = with_config(sub.add_parser("forget", help="erase what the gateway holds on a person (152-FZ)"))
    f.add_argument("--tenant", required=True)
    f.add_argument("--phone", required=True)
    f.set_defaults(func=cmd_forget)
    r = with_config(sub.add_parser("report", help="the owner's numbers in the terminal"))
    r.add_argument("--tenant", required=True)
    r.add_argument("--from", dest="date_from", help="YYYY-MM-DD, tenant-local (default: 29 days before --to)")
    r.add_argument("--to", dest="date_to", help="YYYY-MM-DD, included (default: today)")
    r.add_argument("--by", default="channel", choices=["channel", "utm_source", "utm_campaign", "service", "manager"])
    r.add_argument("--format", default="table", choices=["table", "csv", "json"])
    r.set_defaults(func=cmd_report)
    x = with_config(sub.add_parser("experiments", help="each experiment's variants and what may be concluded"))
    x.add_argument("--tenant", required=True)
    x.add_argument("--format", default="table", choices=["table", "json"])
    x.set_defaults(func=cmd_experiments)
    sp = sub.add_parser("spend", help="ad spend")
    sp_sub = sp.add_subparsers(dest="action", required=True)
    si = with_config(
        sp_sub.add_parser("import", help="load date,utm_source,utm_campaign,amount rows; a day re-imported is replaced")
    )
    si.add_argument("--tenant", required=True)
    si.add_argument("file")
    si.set_defaults(func=cmd_spend)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
