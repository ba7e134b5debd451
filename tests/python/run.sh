#!/usr/bin/env bash
# Starts a throw-away agora site node on loopback and runs the Python client against it.
#
#   bash tests/python/run.sh [path/to/agora]    (default: target/debug/agora)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
agora="${1:-$repo/target/debug/agora}"
[[ -x "$agora" ]] || { echo "run.sh: no agora binary at $agora" >&2; exit 2; }

if ! python3 -c "import grpc_tools" 2>/dev/null; then
    python3 -m pip install --quiet grpcio grpcio-tools
fi

data="$(mktemp -d)"
log="$(mktemp)"
node_pid=""
cleanup() {
    if [[ -n "$node_pid" ]]; then
        kill "$node_pid" 2>/dev/null || true
        wait "$node_pid" 2>/dev/null || true
    fi
    rm -rf "$data" "$log"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
addr="127.0.0.1:$port"

"$agora" site --id pyclient --name "Python check" --data "$data" --listen "$addr" \
    --organiser-token organiser-secret --desk-token desk-secret-1 >"$log" 2>&1 &
node_pid=$!

# Wait until the node accepts connections, for at most 30 seconds.
deadline=$((SECONDS + 30))
until python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; do
    if ! kill -0 "$node_pid" 2>/dev/null; then
        echo "run.sh: the node exited early; its log:" >&2; cat "$log" >&2; exit 1
    fi
    if (( SECONDS >= deadline )); then
        echo "run.sh: the node did not listen on $addr within 30 s; its log:" >&2
        cat "$log" >&2; exit 1
    fi
    sleep 0.1
done

status=0
python3 "$here/client.py" --addr "$addr" \
    --organiser-token organiser-secret --desk-token desk-secret-1 || status=$?
if (( status != 0 )); then
    echo "run.sh: client failed; node log:" >&2; cat "$log" >&2
fi
exit "$status"
