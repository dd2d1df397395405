# What the bench/<name>/run.sh scripts share (bash; sourced, not run):
#   bench_python              $python (PYTHON, default python3), 3.9 or later
#   bench_help "$@"           true when the arguments ask for --help
#   bench_apt TOOL...         installs the Debian packages of the same names that are missing
#                             (as root; apt-get)
#   bench_pip MODULE          installs bench/requirements.txt (pinned) unless MODULE imports
#   bench_binary "$@"         sets $binary_args: nothing when --binary is given, else builds
#                             the release binary (cargo build --release --locked -p tessera in
#                             $CARGO_TARGET_DIR, default ~/.cache/tessera/target) and names it
bench_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

bench_python() {
  python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    echo "needs Python 3.9 or later" >&2
    exit 2
  fi
}

bench_help() {
  local arg
  for arg in "$@"; do
    case "$arg" in -h|--help) return 0 ;; esac
  done
  return 1
}

bench_apt() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "needs ${missing[*]}: apt-get install ${missing[*]} (as root)" >&2
    exit 2
  fi
  echo "installing ${missing[*]} (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

bench_pip() {
  "$python" -c "import $1" 2>/dev/null && return 0
  echo "installing bench/requirements.txt (pip)" >&2
  local pip=("$python" -m pip install -q --disable-pip-version-check -r "$bench_repo/bench/requirements.txt")
  # Debian's own python3 refuses system-wide installs (PEP 668) unless told otherwise.
  "${pip[@]}" >&2 2>/dev/null || "${pip[@]}" --break-system-packages >&2
}

bench_binary() {
  local arg
  binary_args=()
  for arg in "$@"; do
    case "$arg" in --binary|--binary=*) return 0 ;; esac
  done
  local target="${CARGO_TARGET_DIR:-$HOME/.cache/tessera/target}"
  echo "building the release binary (cargo build --release --locked -p tessera, $target)" >&2
  (cd "$bench_repo" && CARGO_TARGET_DIR="$target" cargo build --release --locked -p tessera >&2)
  binary_args=(--binary "$target/release/tessera")
}
