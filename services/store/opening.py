"""A command's store, opened from its settings: the one place that turns ``--db`` into a ``Store``."""

from __future__ import annotations

from services.errors import UserError
from services.settings import Settings
from services.store.location import DB_HELP, Location
from services.store.readers import snapshot_path
from services.store.store import Store

__all__ = ["DB_HELP", "open_store", "refresh_snapshot"]


def open_store(settings: Settings, where: Location, must_exist: bool = False) -> Store:
    """The store at ``where`` with the settings' FCR window, time zone and memory limit."""
    if not where.is_lake:
        if where.path.is_dir():
            raise UserError(f"--db {where.path} is a directory")
        if must_exist and not where.path.exists():
            raise UserError(f"no such database: {where.path}")
    return Store(
        where,
        fcr_window_days=settings.fcr_window_days,
        timezone=settings.timezone,
        memory_limit=settings.duckdb_memory_limit,
    )


def refresh_snapshot(store: Store) -> None:
    """A file's snapshot written again after a change made with the consumer stopped (a lake has none)."""
    if store.path is not None:
        snap = snapshot_path(store.path)
        if snap.exists():
            store.snapshot(snap)
