"""What a schema cannot see in deploy/kubernetes/: that the manifests fit together and keep
Tessera's rules. kubernetes-validate checks each resource against the Kubernetes API schema
(tests/deploy_files.rs runs it); this checks across resources:

- kustomization.yaml lists every manifest of the directory (but the example Secret and the Helm
  values), and each one it lists exists;
- selectors (Deployment, Service, PodDisruptionBudget) match the pod labels, the Service's
  target port and the probes' ports are container ports, the autoscaler targets the Deployment;
- every ConfigMap, Secret and key the Deployment mounts or reads exists (the Secret in
  secret.example.yaml, which the operator creates for real), and TESSERA_CONFIG and
  auth.secret_file point into those mounts;
- the pods run as non-root with a read-only root file system, no privilege escalation, no
  capabilities, the runtime's seccomp profile, resources requested and limited, liveness on
  /healthz and readiness on /readyz, at least two replicas and time to drain on stop.

Usage: check_kubernetes.py DIRECTORY [--print-config DEPLOYMENT | --print-env DEPLOYMENT]
Exit 0 when every check passes (or the value is printed), 1 with the problems listed otherwise.
"""

import argparse
import json
import os
import re
import sys
import tomllib

import yaml

NOT_IN_KUSTOMIZATION = {"kustomization.yaml", "secret.example.yaml", "surrealdb-values.yaml"}


def load_all(path: str) -> list:
    with open(path) as file:
        return [document for document in yaml.safe_load_all(file) if document]


def quantity(value) -> float:
    """A Kubernetes quantity: CPU (`500m`, `2`) or bytes (`256Mi`, `2Gi`)."""
    text = str(value)
    suffixes = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", text)
    if not match or (match.group(2) and match.group(2) not in suffixes):
        raise ValueError(f"not a quantity: {text!r}")
    return float(match.group(1)) * suffixes.get(match.group(2), 1)


def matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


class Manifests:
    def __init__(self, directory: str):
        self.directory = directory
        self.problems = []
        self.kustomization = load_all(os.path.join(directory, "kustomization.yaml"))[0]
        listed = self.kustomization.get("resources") or []
        present = sorted(name for name in os.listdir(directory) if name.endswith((".yaml", ".yml")))
        for name in present:
            if name not in NOT_IN_KUSTOMIZATION and name not in listed:
                self.problem(f"{name} is not listed in kustomization.yaml resources")
        self.resources = []
        for name in listed:
            path = os.path.join(directory, name)
            if not os.path.isfile(path):
                self.problem(f"kustomization.yaml lists {name}, which does not exist")
                continue
            self.resources += [(name, document) for document in load_all(path)]
        example = os.path.join(directory, "secret.example.yaml")
        self.secrets = {doc["metadata"]["name"]: doc for doc in (load_all(example) if os.path.isfile(example) else []) if doc.get("kind") == "Secret"}

    def problem(self, text: str):
        self.problems.append(text)

    def of_kind(self, kind: str) -> list:
        return [(name, document) for name, document in self.resources if document.get("kind") == kind]

    def config_map(self, name: str) -> dict | None:
        return next((doc for _, doc in self.of_kind("ConfigMap") if doc["metadata"]["name"] == name), None)

    def secret_keys(self, name: str) -> set | None:
        secret = self.secrets.get(name)
        if secret is None:
            return None
        return set(secret.get("data") or {}) | set(secret.get("stringData") or {})

    def mounted_files(self, pod: dict, container: dict) -> dict:
        """Container path of each file a ConfigMap or Secret volume puts there, to (kind, name, key)."""
        volumes = {volume["name"]: volume for volume in pod.get("volumes") or []}
        files = {}
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"])
            if volume is None:
                self.problem(f"container {container['name']} mounts {mount['name']}, which is no volume of the pod")
                continue
            for kind, source, name_key in (("ConfigMap", volume.get("configMap"), "name"), ("Secret", volume.get("secret"), "secretName")):
                if source is None:
                    continue
                name = source.get(name_key)
                keys = self.config_map_keys(name) if kind == "ConfigMap" else self.secret_keys(name)
                if keys is None:
                    self.problem(f"volume {volume['name']}: {kind} {name} is not defined here (secret.example.yaml for Secrets)")
                    continue
                items = source.get("items") or [{"key": key, "path": key} for key in sorted(keys)]
                for item in items:
                    if item["key"] not in keys:
                        self.problem(f"volume {volume['name']}: {kind} {name} has no key {item['key']}")
                    files[os.path.join(mount["mountPath"], item["path"])] = (kind, name, item["key"])
        return files

    def config_map_keys(self, name: str) -> set | None:
        config_map = self.config_map(name)
        return None if config_map is None else set(config_map.get("data") or {})

    def tessera_config(self, deployment: dict) -> tuple[str | None, dict]:
        """The TOML text of the file TESSERA_CONFIG names, and the container's files."""
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        files = self.mounted_files(pod, container)
        path = next((env.get("value") for env in container.get("env") or [] if env["name"] == "TESSERA_CONFIG"), None)
        if path is None:
            self.problem(f"deployment {deployment['metadata']['name']}: TESSERA_CONFIG is not set")
            return None, files
        if path not in files or files[path][0] != "ConfigMap":
            self.problem(f"deployment {deployment['metadata']['name']}: TESSERA_CONFIG={path} is no file of a mounted ConfigMap")
            return None, files
        _, name, key = files[path]
        return self.config_map(name)["data"][key], files

    def check(self):
        namespace = self.kustomization.get("namespace")
        for name, document in self.of_kind("Namespace"):
            if document["metadata"]["name"] != namespace:
                self.problem(f"{name}: namespace {document['metadata']['name']} is not kustomization's {namespace}")
        for secret in self.secrets.values():
            if secret["metadata"].get("namespace") not in (None, namespace):
                self.problem(f"secret.example.yaml: namespace {secret['metadata']['namespace']} is not {namespace}")
        deployments = self.of_kind("Deployment")
        if not deployments:
            self.problem("no Deployment")
        pods = {}
        for name, deployment in deployments:
            self.check_deployment(name, deployment)
            pods[deployment["metadata"]["name"]] = deployment
        for name, service in self.of_kind("Service"):
            selector = service["spec"].get("selector") or {}
            targets = [d for d in pods.values() if matches(selector, d["spec"]["template"]["metadata"].get("labels") or {})]
            if not targets:
                self.problem(f"{name}: service {service['metadata']['name']} selects no Deployment's pods")
            for port in service["spec"].get("ports") or []:
                target = port.get("targetPort", port.get("port"))
                for deployment in targets:
                    if not self.container_port(deployment, target):
                        self.problem(f"{name}: targetPort {target} is no container port of {deployment['metadata']['name']}")
        for name, budget in self.of_kind("PodDisruptionBudget"):
            selector = (budget["spec"].get("selector") or {}).get("matchLabels") or {}
            targets = [d for d in pods.values() if matches(selector, d["spec"]["template"]["metadata"].get("labels") or {})]
            if not targets:
                self.problem(f"{name}: the budget selects no Deployment's pods")
            for deployment in targets:
                if "minAvailable" in budget["spec"] and int(budget["spec"]["minAvailable"]) >= deployment["spec"].get("replicas", 1):
                    self.problem(f"{name}: minAvailable leaves no disruption to {deployment['metadata']['name']}")
        for name, autoscaler in self.of_kind("HorizontalPodAutoscaler"):
            reference = autoscaler["spec"]["scaleTargetRef"]
            deployment = pods.get(reference["name"]) if reference.get("kind") == "Deployment" else None
            if deployment is None:
                self.problem(f"{name}: scaleTargetRef {reference} is no Deployment here")
                continue
            if autoscaler["spec"].get("minReplicas", 1) < 2:
                self.problem(f"{name}: minReplicas must be at least 2")
            if autoscaler["spec"]["maxReplicas"] < autoscaler["spec"].get("minReplicas", 1):
                self.problem(f"{name}: maxReplicas below minReplicas")
            for metric in autoscaler["spec"].get("metrics") or []:
                resource = (metric.get("resource") or {}).get("name")
                for container in deployment["spec"]["template"]["spec"]["containers"]:
                    if resource and resource not in ((container.get("resources") or {}).get("requests") or {}):
                        self.problem(f"{name}: scales on {resource} utilization, but {container['name']} requests no {resource}")

    def container_port(self, deployment: dict, port) -> bool:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for declared in container.get("ports") or []:
                if port in (declared.get("name"), declared.get("containerPort")):
                    return True
        return False

    def check_deployment(self, file: str, deployment: dict):
        where = f"{file}: deployment {deployment['metadata']['name']}"
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"].get("labels") or {}
        if not matches(spec["selector"].get("matchLabels") or {}, labels):
            self.problem(f"{where}: selector does not match the pod template's labels")
        if spec.get("replicas", 1) < 2:
            self.problem(f"{where}: at least 2 replicas")
        pod_security = pod.get("securityContext") or {}
        if (pod_security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            self.problem(f"{where}: pod seccompProfile must be RuntimeDefault")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        for container in pod["containers"]:
            at = f"{where}: container {container['name']}"
            security = container.get("securityContext") or {}
            if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
                self.problem(f"{at}: runAsNonRoot")
            if security.get("readOnlyRootFilesystem") is not True:
                self.problem(f"{at}: readOnlyRootFilesystem")
            if security.get("allowPrivilegeEscalation") is not False:
                self.problem(f"{at}: allowPrivilegeEscalation must be false")
            if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
                self.problem(f"{at}: capabilities must drop ALL")
            resources = container.get("resources") or {}
            for resource in ("cpu", "memory"):
                request = (resources.get("requests") or {}).get(resource)
                limit = (resources.get("limits") or {}).get(resource)
                if request is None or limit is None:
                    self.problem(f"{at}: {resource} request and limit must be set")
                elif quantity(request) > quantity(limit):
                    self.problem(f"{at}: {resource} request {request} exceeds its limit {limit}")
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                get = (container.get(probe) or {}).get("httpGet") or {}
                if get.get("path") != path:
                    self.problem(f"{at}: {probe} must GET {path}")
                elif not self.container_port(deployment, get.get("port")):
                    self.problem(f"{at}: {probe} port {get.get('port')} is no container port")
            pre_stop = ((container.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command") or []
            sleep = int(pre_stop[-1]) if pre_stop and pre_stop[0].endswith("sleep") else 0
            if grace <= 30 + sleep:
                self.problem(f"{at}: terminationGracePeriodSeconds {grace} leaves no time to drain (preStop {sleep} s + up to 30 s)")
            for env in container.get("env") or []:
                reference = (env.get("valueFrom") or {}).get("secretKeyRef")
                if reference:
                    keys = self.secret_keys(reference["name"])
                    if keys is None or reference["key"] not in keys:
                        self.problem(f"{at}: env {env['name']} reads Secret {reference['name']} key {reference['key']}, not in secret.example.yaml")
                reference = (env.get("valueFrom") or {}).get("configMapKeyRef")
                if reference:
                    keys = self.config_map_keys(reference["name"])
                    if keys is None or reference["key"] not in keys:
                        self.problem(f"{at}: env {env['name']} reads ConfigMap {reference['name']} key {reference['key']}, which is not defined")
        text, files = self.tessera_config(deployment)
        if text is not None:
            try:
                config = tomllib.loads(text)
            except tomllib.TOMLDecodeError as error:
                self.problem(f"{where}: its configuration file is not TOML: {error}")
                return
            secret_file = (config.get("auth") or {}).get("secret_file")
            if not secret_file or files.get(secret_file, ("",))[0] != "Secret":
                self.problem(f"{where}: auth.secret_file={secret_file!r} is no file of a mounted Secret")
            if not str((config.get("database") or {}).get("endpoint", "")).startswith(("ws://", "wss://")):
                self.problem(f"{where}: replicas need a shared database: database.endpoint must be ws:// or wss://")


def environment(manifests: Manifests, deployment: dict) -> dict:
    """The container's environment; values read from a Secret become a placeholder."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    values = {}
    for env in container.get("env") or []:
        reference = (env.get("valueFrom") or {}).get("secretKeyRef")
        values[env["name"]] = env.get("value", f"secret {reference['name']}/{reference['key']}" if reference else "")
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--print-config", metavar="DEPLOYMENT", help="print the configuration file its TESSERA_CONFIG names")
    parser.add_argument("--print-env", metavar="DEPLOYMENT", help="print its container's environment as JSON")
    args = parser.parse_args()
    manifests = Manifests(args.directory)
    if args.print_config or args.print_env:
        wanted = args.print_config or args.print_env
        deployment = next((doc for _, doc in manifests.of_kind("Deployment") if doc["metadata"]["name"] == wanted), None)
        if deployment is None:
            sys.exit(f"no Deployment {wanted}")
        if args.print_env:
            print(json.dumps(environment(manifests, deployment)))
            return 0
        text, _ = manifests.tessera_config(deployment)
        if text is None:
            sys.exit("; ".join(manifests.problems))
        print(text, end="")
        return 0
    manifests.check()
    for problem in manifests.problems:
        print(f"ERROR {args.directory}: {problem}")
    if manifests.problems:
        return 1
    print(f"OK {args.directory}: {len(manifests.resources)} resources fit together")
    return 0


if __name__ == "__main__":
    sys.exit(main())
