"""The processes: CLI, replay, consumer, simulator, exporters. The composition root is services.cli."""
