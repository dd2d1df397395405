#!/usr/bin/env bash
# Reads benchmark: authenticated reads and password logins beside their ceilings (nginx with a
# fixed JSON body; raw argon2id verify) in one run. See bench/reads/README.md.
#   bench/reads/run.sh [--binary PATH] [--write] [--help for more]
#   bench/reads/run.sh --quick [--binary PATH]     # a short run, to try the script
# Installs what it needs when missing: Debian wrk and nginx (apt, as root), PyPI argon2-cffi
# (bench/requirements.txt); without --binary, builds the release binary first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/run.sh"
bench_python
if bench_help "$@"; then
  exec "$python" "$here/bench.py" --help
fi
bench_apt wrk nginx
bench_pip argon2
bench_binary "$@"
exec "$python" "$here/bench.py" "$@" "${binary_args[@]}"
