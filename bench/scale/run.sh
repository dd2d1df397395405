#!/usr/bin/env bash
# Scale benchmark: user creation at 16 clients, lookups by id and by email, RSS and whole
# listings as the directory grows from 1,000 to 1,000,000 users. See bench/scale/README.md.
#   bench/scale/run.sh [--binary PATH] [--users N] [--seed-bulk] [--write] [--help for more]
#   bench/scale/run.sh --quick [--binary PATH]     # a tiny run, to try the script
# Without --binary, builds the release binary first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/run.sh"
bench_python
if bench_help "$@"; then
  exec "$python" "$here/bench.py" --help
fi
bench_binary "$@"
exec "$python" "$here/bench.py" "$@" "${binary_args[@]}"
