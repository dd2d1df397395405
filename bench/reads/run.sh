#!/usr/bin/env bash
# Reads benchmark: authenticated reads and password logins beside their ceilings (nginx with a
# fixed JSON body; raw argon2id verify) in one run. See bench/reads/README.md.
#   bench/reads/run.sh [--binary PATH] [--write] [--help for more]
#   bench/reads/run.sh --quick [--binary PATH]     # a short run, to try the script
# Installs what it needs when missing: Debian wrk and nginx (apt, as root), PyPI argon2-cffi
# (bench/requirements.txt); without --binary, builds the release binary first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  echo "needs Python 3.9 or later" >&2
  exit 2
fi

help=0 binary=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) help=1 ;;
    --binary|--binary=*) binary=1 ;;
  esac
done
if [ "$help" = 1 ]; then
  exec "$python" "$here/bench.py" --help
fi

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "needs ${missing[*]}: apt-get install ${missing[*]} (as root)" >&2
    exit 2
  fi
  echo "installing ${missing[*]} (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if ! "$python" -c 'import argon2' 2>/dev/null; then
  echo "installing argon2-cffi (pip, bench/requirements.txt)" >&2
  "$python" -m pip install -q -r "$repo/bench/requirements.txt" >&2
fi

args=("$@")
if [ "$binary" = 0 ]; then
  target="${CARGO_TARGET_DIR:-$HOME/.cache/tessera/target}"
  echo "building the release binary (cargo build --release --locked -p tessera, $target)" >&2
  (cd "$repo" && CARGO_TARGET_DIR="$target" cargo build --release --locked -p tessera >&2)
  args+=(--binary "$target/release/tessera")
fi
exec "$python" "$here/bench.py" "${args[@]}"
