#!/bin/sh
# Import versus registry (issue 26), measured with real Docker and a real registry: what
# `k3d image import` moves (a `docker save` archive, loaded into every node) against what a push
# and a node's pull move (only the layers the other side lacks), for a fresh setup and for the
# rebuild loop (one line changed in the image).
#
# Needs two dockerd of your own (a "host" that builds and a stand-in "node" that loads or pulls)
# and a registry on a loopback port, e.g. (nothing here touches /var/run/docker.sock or the host network):
#   dockerd --iptables=false --ip-masq=false --bridge=none --data-root D --exec-root E \
#           -H unix:///tmp/m/host/docker.sock --insecure-registry 127.0.0.1:5123
#   (the same for the node, with its own directories and socket)
#   docker-registry serve registry.yml     # Debian's package: the Distribution registry k3d runs
# Usage: HOST_SOCK=… NODE_SOCK=… REGISTRY=127.0.0.1:5123 REGISTRY_DIR=… NODES=5 BIG_MB=400 sh bench/registry-vs-import.sh
# A k3d node loads the archive with `ctr image import` (k3d-io/k3d pkg/client/tools.go); the stand-in
# node loads it with `docker load`, which reads and unpacks the same bytes. Figures: docs/performance.md.
set -eu
: "${HOST_SOCK:?}" "${NODE_SOCK:?}" "${REGISTRY:?}" "${REGISTRY_DIR:?}"
NODES=${NODES:-5}
BIG_MB=${BIG_MB:-400}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
host() { DOCKER_HOST="unix://$HOST_SOCK" docker "$@"; }
node() { DOCKER_HOST="unix://$NODE_SOCK" docker "$@"; }
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc | sed 's/^\./0./'; }
regbytes() { du -sb "$REGISTRY_DIR" 2>/dev/null | cut -f1 || echo 0; }

# An image shaped like the simulation toolboxes: a big base layer that rarely changes (the code
# and its libraries: incompressible here, as compiled code mostly is) and a small layer on top
# (the part a one-line change touches).
mkdir -p "$work/ctx"
head -c $((BIG_MB * 1024 * 1024)) /dev/urandom > "$work/ctx/toolbox.bin"
printf 'print("version 1")\n' > "$work/ctx/app.py"
printf 'FROM scratch\nCOPY toolbox.bin /opt/toolbox.bin\nCOPY app.py /app/app.py\n' > "$work/ctx/Dockerfile"
image=bench/toolbox:1
remote="$REGISTRY/bench/toolbox:1"

build() { host build -q -t "$image" "$work/ctx" >/dev/null; }

import_round() { # what k3d image import does: save once, load into every node
  t0=$(now)
  host save -o "$work/image.tar" "$image"
  t1=$(now)
  bytes=$(stat -c %s "$work/image.tar")
  node load -q -i "$work/image.tar" >/dev/null
  t2=$(now)
  one=$(secs "$t1" "$t2")
  total=$(echo "$(secs "$t0" "$t1") + $NODES * $one" | bc)
  echo "import  $1: archive $bytes bytes, moved $((bytes * (NODES + 1))) bytes (written once, read by $NODES nodes); save $(secs "$t0" "$t1") s, load $one s per node, $total s for $NODES nodes one after another"
}

registry_round() { # push what the registry lacks; a node pulls what it lacks
  before=$(regbytes)
  t0=$(now)
  host tag "$image" "$remote"
  host push -q "$remote" >/dev/null
  t1=$(now)
  pushed=$(( $(regbytes) - before ))
  node pull -q "$remote" >/dev/null
  t2=$(now)
  echo "registry $1: pushed $pushed bytes (new blobs in the registry), each pulling node fetches the same; push $(secs "$t0" "$t1") s, pull $(secs "$t1" "$t2") s per node"
}

reset_node() { node image rm -f "$image" "$remote" >/dev/null 2>&1 || true; node image prune -af >/dev/null 2>&1 || true; }

build
reset_node; import_round "fresh  "
reset_node; registry_round "fresh  "
printf 'print("version 2")\n' > "$work/ctx/app.py"   # the one-line change
build
import_round "rebuild"
registry_round "rebuild"
