"""What a simulation run wrote: the files under its output directory, for indexing after it ends.

Only directories under DATA_ROOT are read. That is where k8s/manifests/20-celery-worker.yaml
mounts the host's ./data (read-only), the same directory the simulation Jobs write to, so a run's
output directory as keystone reports it on the nodes (/data/<tool>/runs/<run-id>) is found here.
"""
import os

DATA_ROOT = "/data"


def summarize(output_dir: str, data_root: str = DATA_ROOT) -> dict:
    root = os.path.realpath(data_root)
    target = os.path.realpath(output_dir)
    if os.path.commonpath([root, target]) != root:
        raise ValueError(f"{output_dir} is not under {data_root}, the only directory the worker reads")
    if not os.path.isdir(target):
        raise FileNotFoundError(f"{output_dir} does not exist in the worker (is {data_root} mounted?)")
    files = []
    for base, _dirs, names in os.walk(target):
        for name in sorted(names):
            path = os.path.join(base, name)
            files.append({"path": os.path.relpath(path, target), "bytes": os.path.getsize(path)})
    files.sort(key=lambda f: f["path"])
    return {"output_dir": output_dir, "files": files}
