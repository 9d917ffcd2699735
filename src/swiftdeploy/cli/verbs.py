"""The verbs: each lives in `swiftdeploy.cli.<verb>` and calls one core function."""

from __future__ import annotations

# verb -> (module, one-line help shown by --help without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "swiftdeploy.cli.init",
        "Render nginx.conf, docker-compose.yml and policies from the manifest.",
    ),
    "validate": (
        "swiftdeploy.cli.validate",
        "Run the pre-flight checks and report each as PASS/FAIL.",
    ),
    "schema": ("swiftdeploy.cli.schema", "Print the manifest's JSON Schema."),
    "deploy": (
        "swiftdeploy.cli.deploy",
        "Check the infrastructure policy, start the stack, wait until healthy.",
    ),
    "promote": (
        "swiftdeploy.cli.promote",
        "Move traffic to the canary or make the canary stable (policy-gated).",
    ),
    "rollback": (
        "swiftdeploy.cli.rollback",
        "Send all traffic back to stable and stop the canary.",
    ),
    "teardown": ("swiftdeploy.cli.teardown", "Stop everything this deployment started."),
    "chaos": ("swiftdeploy.cli.chaos", "Inject or clear chaos on the running canary."),
    "status": (
        "swiftdeploy.cli.status",
        "Live dashboard of throughput, P99, error rate and policy compliance.",
    ),
    "dashboard": (
        "swiftdeploy.cli.dashboard",
        "Serve a live web dashboard of tracks, rollout, decisions and history.",
    ),
    "audit": ("swiftdeploy.cli.audit", "Verify the history and write audit_report.md."),
    "policy": ("swiftdeploy.cli.policy", "Test and evaluate the Rego policies."),
    "render": (
        "swiftdeploy.cli.render",
        "Render files for another target (e.g. --target kubernetes).",
    ),
    "demo-service": ("swiftdeploy.cli.demo_service", "Run the instrumented demo service."),
}
