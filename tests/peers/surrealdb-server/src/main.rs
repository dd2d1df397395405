//! The `surreal` command line, exactly as SurrealDB ships it (community edition), e.g.
//! `surrealdb-test-server start --user root --pass root --bind 127.0.0.1:8000 memory`.

fn main() -> std::process::ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
