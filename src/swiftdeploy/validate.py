"""`validate`: the five pre-flight checks of the seeds, each a PASS/FAIL with its reason.

A check that needs an earlier one (a parsed manifest) is reported as a FAIL with a
"skipped: ..." reason instead of being left out, so the count is always five.
"""

from __future__ import annotations

from pathlib import Path

from swiftdeploy.checks import CheckResult, check_port
from swiftdeploy.errors import ManifestError
from swiftdeploy.manifest import Manifest, parse_manifest, read_manifest_bytes
from swiftdeploy.runtime import runtime_class

__all__ = ["CheckResult", "validate"]


def validate(manifest_path: Path) -> list[CheckResult]:
    """Run every check; never raises for a problem it can report."""
    from swiftdeploy._manifest_yaml import decode_and_compose

    label = manifest_path.name
    results: list[CheckResult] = []
    data: bytes | None = None
    try:
        data = read_manifest_bytes(manifest_path)
        decode_and_compose(data, label)
        results.append(CheckResult("manifest", True, f"{label} exists and is valid YAML"))
    except ManifestError as exc:
        results.append(
            CheckResult("manifest", False, exc.problems[0] if exc.problems else exc.message)
        )
        data = None

    manifest: Manifest | None = None
    if data is None:
        results.append(
            _skipped("fields", "All required fields present", f"{label} could not be read")
        )
    else:
        try:
            manifest = parse_manifest(data, label)
            results.append(CheckResult("fields", True, "All required fields present and non-empty"))
        except ManifestError as exc:
            results.append(
                CheckResult(
                    "fields",
                    False,
                    f"Required fields missing or invalid ({len(exc.problems)} problem(s))",
                    details=exc.problems,
                )
            )

    if manifest is None:
        reason = "the manifest is not valid"
        results += [
            _skipped("image", "The service can start", reason),
            _skipped("port", "The nginx port is not already bound", reason),
            _skipped("nginx", "nginx.conf is syntactically valid", reason),
        ]
        return results
    service, nginx = runtime_class(manifest.runtime).preflight(manifest)
    return [*results, service, check_port(manifest.nginx.port), nginx]


def _skipped(name: str, title: str, reason: str) -> CheckResult:
    return CheckResult(name, False, f"{title} (skipped: {reason})")
