"""Diagnostics the assistant (or the engineer) can run: the three-tier command
classifier, the runner with its clean environment and process-group timeouts, and
encrypted kubeconfigs handed to kubectl through private temporary files."""
