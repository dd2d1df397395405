"""What `docker compose config` cannot know about deploy/compose.yaml: that its pieces fit
together for Tessera. Reads the model as Docker Compose itself resolves it (`docker-compose config
--format json`, the pinned binary of tests/peers/deploy-requirements.txt: interpolation, merges
and short syntaxes done), then checks

- every Tessera replica (services tessera-*, at least two) runs the same image with the same
  environment, has the master key secret mounted where auth.secret_file says, and reaches the
  SurrealDB service with its root credentials;
- the load balancer's configuration names exactly those replicas on Tessera's port and checks
  /readyz, and its fixed address is the replicas' only trusted proxy, inside its network;
- a dependency on `service_healthy` has a healthcheck, bind-mounted files exist, secret files
  are ignored by git, images are pinned, published ports are unique, and the replicas have time
  to drain their requests on stop.

Usage: check_compose.py COMPOSE_FILE [--project-directory DIR] [--env-file FILE]
                        [--print-env SERVICE | --print-healthcheck SERVICE]
Exit 0 when every check passes (or the value is printed), 1 with the problems listed otherwise.
"""

import argparse
import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from which import which  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def resolved_model(compose_file: str, project_directory: str | None, env_file: str | None) -> dict:
    compose = which("docker-compose")
    if compose is None:
        sys.exit("docker-compose is not installed: run scripts/setup --peers")
    command = [compose, "-f", compose_file]
    if project_directory:
        command += ["--project-directory", project_directory]
    if env_file:
        command += ["--env-file", env_file]
    command += ["config", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"docker-compose config failed:\n{result.stderr}")
    return json.loads(result.stdout)


def unescape(value: str) -> str:
    """`config` output keeps `$$` (so it loads again); the container gets `$`."""
    return value.replace("$$", "$")


def image_port() -> int:
    """Tessera's listening port in the image (deploy/image/tessera.toml, server.bind)."""
    with open(os.path.join(REPO, "deploy", "image", "tessera.toml"), "rb") as file:
        bind = tomllib.load(file)["server"]["bind"]
    return int(bind.rsplit(":", 1)[1])


def haproxy_config(model: dict, service: dict, problems: list) -> str | None:
    for volume in service.get("volumes") or []:
        if volume.get("type") == "bind" and volume.get("target", "").endswith("haproxy.cfg"):
            with open(volume["source"]) as file:
                return file.read()
    problems.append("the load balancer mounts no haproxy.cfg")
    return None


def check(model: dict) -> list:
    problems = []
    services = model.get("services") or {}
    replicas = {name: service for name, service in services.items() if name.startswith("tessera-")}
    if len(replicas) < 2:
        problems.append(f"expected at least two Tessera replicas (services tessera-*), found {sorted(replicas)}")

    # The replicas are interchangeable.
    first_name = next(iter(sorted(replicas)), None)
    for name, service in sorted(replicas.items()):
        first = replicas[first_name]
        for key in ("image", "environment", "secrets", "healthcheck"):
            if service.get(key) != first.get(key):
                problems.append(f"services.{name}.{key} differs from services.{first_name}.{key}")

    port = image_port()
    for name, service in sorted(replicas.items()):
        environment = service.get("environment") or {}
        # The master key: a secret mounted where auth.secret_file points.
        secret_file = environment.get("TESSERA__AUTH__SECRET_FILE")
        targets = {secret.get("target") or f"/run/secrets/{secret['source']}" for secret in service.get("secrets") or []}
        if not secret_file:
            problems.append(f"services.{name}: TESSERA__AUTH__SECRET_FILE is not set (replicas must share the master key)")
        elif secret_file not in targets:
            problems.append(f"services.{name}: TESSERA__AUTH__SECRET_FILE={secret_file} is no secret mounted in it ({sorted(targets)})")
        if environment.get("TESSERA__AUTH__SECRET"):
            problems.append(f"services.{name}: the master key must come from the secret file, not TESSERA__AUTH__SECRET")
        # The database: a SurrealDB service of this file, with its root credentials.
        endpoint = environment.get("TESSERA__DATABASE__ENDPOINT", "")
        match = re.fullmatch(r"wss?://([^:/]+):(\d+)/?", endpoint)
        if not match:
            problems.append(f"services.{name}: TESSERA__DATABASE__ENDPOINT={endpoint!r} is not ws://SERVICE:PORT")
        else:
            host = match.group(1)
            database = services.get(host)
            if database is None:
                problems.append(f"services.{name}: database host {host} is no service")
            else:
                db_env = database.get("environment") or {}
                for ours, theirs in (("TESSERA__DATABASE__USERNAME", "SURREAL_USER"), ("TESSERA__DATABASE__PASSWORD", "SURREAL_PASS")):
                    if not environment.get(ours) or environment.get(ours) != db_env.get(theirs):
                        problems.append(f"services.{name}: {ours} must equal services.{host}.environment.{theirs}")
                if (service.get("depends_on") or {}).get(host, {}).get("condition") != "service_healthy":
                    problems.append(f"services.{name} must depend on {host} with condition service_healthy")
        # Draining: Tessera waits up to 30 s for the requests in flight.
        grace = service.get("stop_grace_period", "10s")
        if duration_seconds(grace) <= 30:
            problems.append(f"services.{name}.stop_grace_period={grace} leaves no time to drain (Tessera waits up to 30 s)")
        if service.get("ports"):
            problems.append(f"services.{name} publishes ports: only the load balancer should")

    # The load balancer: the replicas' only entry and only trusted proxy.
    balancers = [name for name, service in services.items() if service.get("ports") and name not in replicas]
    if len(balancers) != 1:
        problems.append(f"expected one load balancer publishing ports, found {balancers}")
    for balancer in balancers:
        service = services[balancer]
        for dependency in replicas:
            if (service.get("depends_on") or {}).get(dependency) is None:
                problems.append(f"services.{balancer} does not depend on {dependency}")
        config = haproxy_config(model, service, problems)
        if config is not None:
            servers = dict(re.findall(r"^\s*server\s+\S+\s+([^\s:]+):(\d+)", config, re.M))
            if set(servers) != set(replicas):
                problems.append(f"haproxy.cfg balances {sorted(servers)}, the replicas are {sorted(replicas)}")
            for host, server_port in servers.items():
                if int(server_port) != port:
                    problems.append(f"haproxy.cfg sends {host} to port {server_port}, Tessera listens on {port}")
            if not re.search(r"^\s*http-check send meth GET uri /readyz\b", config, re.M):
                problems.append("haproxy.cfg does not check the replicas' /readyz")
            if not re.search(r"^\s*option forwardfor\b", config, re.M):
                problems.append("haproxy.cfg does not send X-Forwarded-For")
        addresses = [
            network.get("ipv4_address")
            for network in (service.get("networks") or {}).values()
            if network and network.get("ipv4_address")
        ]
        for name, replica in sorted(replicas.items()):
            trusted = (replica.get("environment") or {}).get("TESSERA__SERVER__TRUSTED_PROXIES", "")
            trusted = [entry.strip() for entry in trusted.split(",") if entry.strip()]
            if not addresses or sorted(trusted) != sorted(addresses):
                problems.append(
                    f"services.{name}: TESSERA__SERVER__TRUSTED_PROXIES={trusted} must be the load balancer's fixed address {addresses}"
                )

    # Fixed addresses lie inside their network's subnet, once each.
    seen = {}
    for name, service in services.items():
        for network_name, network in (service.get("networks") or {}).items():
            address = (network or {}).get("ipv4_address")
            if not address:
                continue
            if address in seen:
                problems.append(f"services.{name} and services.{seen[address]} share the address {address}")
            seen[address] = name
            subnets = [config.get("subnet") for config in ((model.get("networks") or {}).get(network_name, {}).get("ipam") or {}).get("config") or []]
            if not any(ipaddress.ip_address(address) in ipaddress.ip_network(subnet) for subnet in subnets if subnet):
                problems.append(f"services.{name}: {address} is outside the subnets {subnets} of network {network_name}")

    for name, service in services.items():
        # A service waited for as healthy has a healthcheck of its own in this file.
        for dependency, condition in (service.get("depends_on") or {}).items():
            if condition.get("condition") == "service_healthy":
                healthcheck = (services.get(dependency) or {}).get("healthcheck") or {}
                if not healthcheck.get("test") or healthcheck.get("disable"):
                    problems.append(f"services.{name} waits for {dependency} to be healthy, which has no healthcheck")
        # Mounted files exist.
        for volume in service.get("volumes") or []:
            if volume.get("type") == "bind" and not os.path.exists(volume.get("source", "")):
                problems.append(f"services.{name}: bind source {volume.get('source')} does not exist")
        # Images are pinned (a built image is named by this file).
        image = service.get("image", "")
        if "build" not in service:
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
            if not tag or tag == "latest":
                problems.append(f"services.{name}: image {image!r} is not pinned to a version tag")

    # Published ports are unique.
    published = {}
    for name, service in services.items():
        for port_entry in service.get("ports") or []:
            key = (port_entry.get("host_ip", ""), str(port_entry.get("published")), port_entry.get("protocol", "tcp"))
            if key in published:
                problems.append(f"services.{name} and services.{published[key]} both publish {key}")
            published[key] = name

    # Secret files hold keys: git must ignore them.
    for name, secret in (model.get("secrets") or {}).items():
        path = secret.get("file")
        if not path:
            continue
        ignored = subprocess.run(["git", "-C", REPO, "check-ignore", "-q", path], capture_output=True)
        if ignored.returncode == 1:
            problems.append(f"secrets.{name}: its file {path} is not ignored by git")
    return problems


def duration_seconds(value: str) -> float:
    """A Go duration (`1m30s`, `40s`, `500ms`), as Compose writes them."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        raise ValueError(f"not a duration: {value!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("compose_file")
    parser.add_argument("--project-directory", help="as docker compose's (default: the compose file's directory)")
    parser.add_argument("--env-file", help="as docker compose's (default: .env of the project directory)")
    parser.add_argument("--print-env", metavar="SERVICE", help="print the service's environment as JSON")
    parser.add_argument("--print-healthcheck", metavar="SERVICE", help="print the shell command of its healthcheck")
    args = parser.parse_args()
    model = resolved_model(args.compose_file, args.project_directory, args.env_file)
    if args.print_env:
        environment = model["services"][args.print_env].get("environment") or {}
        print(json.dumps({key: unescape(value) for key, value in environment.items()}))
        return 0
    if args.print_healthcheck:
        test = model["services"][args.print_healthcheck]["healthcheck"]["test"]
        if test[0] == "CMD-SHELL":
            print(unescape(test[1]))
        elif test[0] == "CMD" and len(test) == 4 and test[2] == "-c":
            print(unescape(test[3]))
        else:
            print(shlex.join(unescape(part) for part in test[1:]))
        return 0
    problems = check(model)
    for problem in problems:
        print(f"ERROR {args.compose_file}: {problem}")
    if problems:
        return 1
    print(f"OK {args.compose_file}: {len(model.get('services') or {})} services fit together")
    return 0


if __name__ == "__main__":
    sys.exit(main())
