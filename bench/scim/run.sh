#!/usr/bin/env bash
# SCIM benchmark: Tessera beside scim2-server. See bench/scim/README.md.
#   bench/scim/run.sh [--binary PATH] [--users N] [--large N] [--write] [--help for more]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
if ! "$python" -c 'import httpx2, scim2_server' 2>/dev/null; then
  echo "needs httpx2 and scim2-server: pip install -r tests/peers/scim-requirements.txt" >&2
  exit 2
fi
exec "$python" "$here/bench.py" "$@"
