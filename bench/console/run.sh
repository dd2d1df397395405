#!/usr/bin/env bash
# Console benchmark: every console page with 100,000 users in the tenant, each beside nginx
# serving the same bytes, one client. See bench/console/README.md.
#   bench/console/run.sh [--binary PATH] [--users N] [--write] [--help for more]
#   bench/console/run.sh --quick [--binary PATH]     # a small run, to try the script
# Installs what it needs when missing: Debian nginx (apt, as root); without --binary, builds
# the release binary first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/run.sh"
bench_python
if bench_help "$@"; then
  exec "$python" "$here/bench.py" --help
fi
bench_apt nginx
bench_binary "$@"
exec "$python" "$here/bench.py" "$@" "${binary_args[@]}"
