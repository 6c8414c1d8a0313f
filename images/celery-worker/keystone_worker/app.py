"""Celery app for keystone: connects to the cluster's Redis with the password from the Secret."""
import os
from urllib.parse import quote

from celery import Celery

from keystone_worker.summary import summarize


def broker_url() -> str:
    host = os.environ.get("REDIS_HOST", "redis.keystone.svc.cluster.local")
    port = os.environ.get("REDIS_PORT", "6379")
    password = os.environ["REDIS_PASSWORD"]
    return f"redis://:{quote(password, safe='')}@{host}:{port}/0"


app = Celery("keystone", broker=broker_url(), backend=broker_url())
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True)


@app.task(name="keystone.ping")
def ping() -> str:
    return "pong"


@app.task(name="keystone.summarize_run")
def summarize_run(output_dir: str) -> dict:
    """Lists what a simulation run wrote (output_dir is /data/<tool>/runs/<run-id>)."""
    return summarize(output_dir)
