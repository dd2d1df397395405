#!/usr/bin/env bash
# Tenants benchmark: 1 tenant × 100 users, 1 × 100,000 (same data) and 1,000 × 100 on the
# embedded store. See bench/tenants/README.md.
#   bench/tenants/run.sh [--binary PATH] [--tenants N] [--users N] [--write] [--help for more]
#   bench/tenants/run.sh --quick [--binary PATH]     # a small run, to try the script
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  echo "needs Python 3.9 or later (the standard library only)" >&2
  exit 2
fi
exec "$python" "$here/bench.py" "$@"
