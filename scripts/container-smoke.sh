#!/usr/bin/env bash
# Build the image and prove it: the job runs in a container, at the size of the smallest Fargate task,
# with a read-only root filesystem (as the ECS task definition runs it), against the demo's AWS emulator on
# the host, and writes a correct inventory.
#
#   scripts/container-smoke.sh [BASE_IMAGE] [TAG]
#
# Needs a running Docker daemon (docker on PATH, DOCKER_HOST if not the default socket) and python3 >= 3.11
# on the host (for the emulator, installed with the demo extra into a throwaway venv).
#   BASE_IMAGE    default python:3.12-slim (the Dockerfile's default)
#   TAG           default lambda-inventory:smoke
#   SMOKE_CPUS / SMOKE_MEMORY   container limits, default 0.25 and 512m (Fargate's smallest task)
set -euo pipefail

BASE_IMAGE=${1:-python:3.12-slim}
TAG=${2:-lambda-inventory:smoke}
CPUS=${SMOKE_CPUS:-0.25}
MEMORY=${SMOKE_MEMORY:-512m}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf 'smoke: %s\n' "$*"; }

start=$(date +%s.%N)
docker build --network=host --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$TAG" "$root" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log"; exit 1; }
build_s=$(echo "$(date +%s.%N) - $start" | bc)
size=$(docker image inspect "$TAG" --format '{{.Size}}')
say "built $TAG from $BASE_IMAGE in ${build_s}s, $((size / 1024 / 1024)) MiB"

say "starting the demo emulator on the host"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$root[demo]" >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
out=$work/out
mkdir -p "$out"
chmod 0777 "$out"  # the container runs as uid 10001
"$work/venv/bin/lambda-inventory" demo --serve --output "$out/" --serve-timeout 300 >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 300); do [ -s "$out/emulator-endpoint" ] && break; sleep 0.2; done
[ -s "$out/emulator-endpoint" ] || { cat "$work/serve.log"; exit 1; }
endpoint=$(cat "$out/emulator-endpoint")

say "running the job in the container (--cpus $CPUS --memory $MEMORY) against $endpoint"
# python wraps the CLI only to report the job's peak RSS; the command run is the image's entrypoint.
measure='import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.call(["lambda-inventory", *sys.argv[1:]])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"smoke: job exit {rc}, wall {time.monotonic() - t:.1f}s, peak RSS {peak:.0f} MiB", file=sys.stderr)
sys.exit(rc)'
set +e
docker run --rm --network=host --cpus "$CPUS" --memory "$MEMORY" --read-only \
  -v "$out:/data" \
  -e AWS_ENDPOINT_URL="$endpoint" -e AWS_ACCESS_KEY_ID=testing -e AWS_SECRET_ACCESS_KEY=testing \
  -e AWS_DEFAULT_REGION=us-east-1 -e LAMBDA_INVENTORY_CONFIG=/data/demo-accounts.yaml \
  --entrypoint python "$TAG" -c "$measure" run >"$work/job.out" 2>"$work/job.err"
job_rc=$?
set -e
grep '^smoke:' "$work/job.err" || true
grep -v '^smoke:' "$work/job.err" | head -3
cat "$work/job.out"

wait "$serve_pid"
serve_rc=$?
serve_pid=
cat "$work/serve.log"
if [ "$job_rc" -ne 1 ]; then  # the demo organisation has one account whose role cannot be assumed
  say "FAILED: expected the job to exit 1 (one denied account), got $job_rc"
  exit 1
fi
if [ "$serve_rc" -ne 0 ]; then
  say "FAILED: the inventory written by the container does not match what was seeded"
  exit 1
fi
if ! head -1 "$work/job.err" | python3 -c 'import json, sys; json.loads(sys.stdin.readline())'; then
  say "FAILED: the container's logs are not JSON lines"
  exit 1
fi
say "passed"
