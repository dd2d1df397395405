#!/usr/bin/env python3
"""Run every check of the real PyPI scim2-tester against a SCIM 2.0 server.

    python3 tests/peers/scim/run_tester.py BASE_URL TOKEN [--scim-media-type] [--allow-skipped]

BASE_URL is the SCIM root (e.g. http://127.0.0.1:PORT/scim/v2 or .../t/TENANT/scim/v2); TOKEN is
sent as `Authorization: Bearer TOKEN`. Needs tests/peers/scim-requirements.txt. Only BASE_URL is
contacted: proxies and .netrc from the environment are ignored (trust_env=False).

All tags are included (scim2_tester.get_all_available_tags()), so no check is skipped by tag
filtering. Prints one line per check result: STATUS title [resource type] reason.
Exit status: 0 only when no result is ERROR/CRITICAL/DEVIATION, when no result is SKIPPED
(unless --allow-skipped), and when every expected resource type (--resource-types, default
User,Group) had a successful result for every CRUD and PATCH tag, and every attribute the served
schemas make PATCH-able had a successful add/remove/replace result. In an all-tags run a SKIPPED
result means a feature was not exercised (PATCH announced unsupported, /.search answering 501, a
model with no testable attribute), and check_server() silently stops after discovery when the
server cannot be described; both would otherwise turn failures into a green run. 1 when a check
failed, 2 when the tester itself could not run.
"""

import argparse
import sys
import traceback

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Mutability
from scim2_models import Path
from scim2_models import Required
from scim2_models import Returned
from scim2_tester import Status
from scim2_tester import check_server
from scim2_tester import get_all_available_tags
from scim2_tester.utils import parametrize

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
# Tags every resource type must have passed at least once: proves its checks actually ran.
REQUIRED_TAGS = [
    "crud:create",
    "crud:read",
    "crud:read:attributes",
    "crud:update",
    "crud:delete",
    "patch:add",
    "patch:remove",
    "patch:replace",
]


WRITABLE = [Mutability.read_write, Mutability.write_only]
# The attributes each PATCH checker iterates over, selected exactly as scim2-tester 0.5.2 does
# (checkers/patch_*.py). check_remove_attribute silently passes over an attribute the POST
# response did not carry, so an attribute the server drops would otherwise go unnoticed.
PATCH_CHECKERS = {
    "check_add_attribute": dict(required=[Required.false],
                                mutability=WRITABLE + [Mutability.immutable]),
    "check_remove_attribute": dict(required=[Required.false], mutability=WRITABLE),
    "check_replace_attribute": dict(mutability=WRITABLE),
}


def untested_patch_paths(client: SyncSCIMClient, results: list) -> list[str]:
    """Attribute paths of the served schemas that a PATCH checker never reported a success for."""
    provider = client.provider
    succeeded = {
        (r.resource_type, r.title, r.data.get("urn"))
        for r in results
        if r.status in PASSING and isinstance(r.data, dict)
    }
    problems = []
    for resource_type in provider.resource_types:
        model = provider.model_for(resource_type)
        if model is None:
            continue
        for title, selection in PATCH_CHECKERS.items():
            missing = []
            for path in parametrize(Path, model).iter_paths(include_subattributes=False, **selection):
                binding = path.resolve()
                if (title == "check_remove_attribute" and binding is not None
                        and binding.get_annotation(Returned) == Returned.never):
                    continue  # never returned (password): the tester cannot see it to remove it
                if (resource_type.name, title, str(path)) not in succeeded:
                    missing.append(str(path))
            if missing:
                problems.append(f"[{resource_type.name}] {title} has no success for: {', '.join(missing)}")
    return problems


def one_line(text: object, limit: int = 600) -> str:
    line = " | ".join(str(text).splitlines()) if text is not None else ""
    return line if len(line) <= limit else line[:limit] + "…"


def make_client(base_url: str, token: str, scim_media_type: bool, timeout: float) -> SyncSCIMClient:
    headers = {"Authorization": f"Bearer {token}"}
    if scim_media_type:
        # scim2-client itself sends `Content-Type: application/json` (httpx2 json=) and
        # `Accept: */*`; this mode sends the SCIM media type on every request instead.
        headers["Accept"] = "application/scim+json"
        headers["Content-Type"] = "application/scim+json"
    http = Client(base_url=base_url, headers=headers, timeout=timeout, trust_env=False)
    # No provider: check_server() discovers /ServiceProviderConfig, /ResourceTypes and /Schemas
    # and builds the resource models from what the server publishes.
    return SyncSCIMClient(http)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("--scim-media-type", action="store_true",
                        help="send Accept and Content-Type application/scim+json")
    parser.add_argument("--allow-skipped", action="store_true",
                        help="do not fail on SKIPPED results")
    parser.add_argument("--resource-types", default="User,Group",
                        help="comma-separated resource type names that must be fully exercised")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print the debugging data of failed checks")
    args = parser.parse_args()

    tags = set(get_all_available_tags())
    try:
        client = make_client(args.base_url, args.token, args.scim_media_type, args.timeout)
        results = check_server(client, raise_exceptions=False, include_tags=tags)
    except Exception:  # the tester itself broke (not a check result)
        traceback.print_exc()
        print("scim2-tester: could not run")
        return 2

    failed = 0
    skipped = 0
    passed_tags: dict[str, set[str]] = {}
    for result in results:
        kind = f" [{result.resource_type}]" if result.resource_type else ""
        print(f"{result.status.name} {result.title}{kind} {one_line(result.reason)}".rstrip())
        if result.status in PASSING:
            if result.resource_type:
                passed_tags.setdefault(result.resource_type, set()).update(result.tags)
        elif result.status == Status.SKIPPED:
            skipped += 1
        else:
            failed += 1
            if args.verbose and result.data is not None:
                print(f"    data: {one_line(result.data, 4000)}")

    missing = []
    for name in filter(None, (n.strip() for n in args.resource_types.split(","))):
        lacking = [t for t in REQUIRED_TAGS if t not in passed_tags.get(name, set())]
        if lacking:
            missing.append(f"{name}: {', '.join(lacking)}")
            print(f"ERROR coverage [{name}] no successful check for: {', '.join(lacking)}")

    try:
        for problem in untested_patch_paths(client, results):
            missing.append(problem)
            print(f"ERROR coverage {problem}")
    except Exception as exc:  # scim2-tester internals changed: say so rather than pass silently
        missing.append(str(exc))
        print(f"ERROR coverage could not list the PATCH paths: {exc}")

    bad_skips = 0 if args.allow_skipped else skipped
    passed = len(results) - failed - skipped
    print(f"scim2-tester: {len(results)} results, {passed} passed, {failed} failed, "
          f"{skipped} skipped, tags: {', '.join(sorted(tags))}")
    # Plain closing line that CI recognises.
    print(f"{passed} passed, {failed + bad_skips + len(missing)} failed, {skipped} skipped")
    return 0 if failed == 0 and bad_skips == 0 and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
