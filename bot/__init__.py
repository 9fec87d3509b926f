"""The cacwatch application: CLI, pipeline, diff, notifiers and scheduler."""
