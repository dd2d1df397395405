#!/usr/bin/env bash
# Reads benchmark: authenticated reads and password logins beside their ceilings (nginx with a
# fixed JSON body; raw argon2id verify) in one run, on the embedded store and over ws:// to a
# SurrealDB server. See bench/reads/README.md.
#   bench/reads/run.sh [--binary PATH] [--surreal PATH] [--store surrealkv|ws|both] [--write]
#   bench/reads/run.sh --quick [--binary PATH]     # a short run, to try the script
#   bench/reads/run.sh --help                      # every option
# Installs what it needs when missing: Debian wrk and nginx (apt, as root), PyPI argon2-cffi
# (bench/requirements.txt); without --binary, builds the release binary first. Without
# --surreal (and unless --store surrealkv), uses the release SurrealDB server of
# tests/peers/surrealdb-server, building it when missing (about 25 minutes the first time);
# with --quick (as bench/run --smoke runs it, in CI) never builds it: the release build when
# it is there, else the debug build of `scripts/setup --peers`, else the embedded store only.
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

# The SurrealDB server for ws:// ($surreal_args: what to add to bench.py's arguments).
surreal_args=()
surreal_given=no quick=no store=
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --surreal|--surreal=*) surreal_given=yes ;;
    --quick) quick=yes ;;
    --store) store="${args[i + 1]:-}" ;;
    --store=*) store="${args[i]#--store=}" ;;
  esac
done
if [ "$surreal_given" = no ] && [ "$store" != surrealkv ]; then
  peer_target="${TESSERA_PEER_TARGET_DIR:-$HOME/.cache/tessera/peer-target}"
  release="$peer_target/release/surrealdb-test-server"
  debug="$peer_target/debug/surrealdb-test-server"
  if [ -x "$release" ]; then
    surreal_args=(--surreal "$release")
  elif [ "$quick" = yes ]; then
    if [ -x "$debug" ]; then
      echo "bench/reads: the SurrealDB server's release build is missing ($release):" \
           "--quick uses the debug build of scripts/setup --peers ($debug)" >&2
      surreal_args=(--surreal "$debug")
    else
      echo "bench/reads: no SurrealDB server built ($release, $debug; scripts/setup --peers" \
           "builds the debug one): --quick measures the embedded store only" >&2
      [ -n "$store" ] || surreal_args=(--store surrealkv)
    fi
  else
    echo "building the SurrealDB server for ws:// (release; about 25 minutes the first time):" \
         "cargo build --release --locked --manifest-path tests/peers/surrealdb-server/Cargo.toml," \
         "in $peer_target" >&2
    (cd "$bench_repo" && CARGO_TARGET_DIR="$peer_target" cargo build --release --locked \
       --manifest-path tests/peers/surrealdb-server/Cargo.toml >&2)
    surreal_args=(--surreal "$release")
  fi
fi
exec "$python" "$here/bench.py" "$@" "${binary_args[@]}" "${surreal_args[@]}"
