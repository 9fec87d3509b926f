"""The application: CLI, configuration, the long-running service and its operations."""
