//! The `surreal` command line, exactly as SurrealDB ships it (community edition), e.g.
//! `surrealdb-test-server start --user root --pass root --bind 127.0.0.1:8000 memory`.
// SurrealDB's query futures nest deeper than the default limit when optimised (release build).
#![recursion_limit = "256"]

fn main() -> std::process::ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
