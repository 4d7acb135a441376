"""The processes, one room per stage of an event's path (docs/design.md): ingest, stream, store, replay,
exposition, views, simulator. The composition root is ``services.cli``."""
