"""Store: DuckDB, one writer per file. The schema, the writes, the readers and their snapshots, and ``sql/``."""
