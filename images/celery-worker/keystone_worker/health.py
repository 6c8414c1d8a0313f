"""Readiness: the worker can reach Redis with its password (exit 0), or not (exit 1)."""
import sys

from kombu import Connection

from keystone_worker.app import broker_url

try:
    with Connection(broker_url(), connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=1)
except Exception as exc:  # noqa: BLE001 - any failure means not ready
    print(f"not ready: {type(exc).__name__}", file=sys.stderr)
    sys.exit(1)
