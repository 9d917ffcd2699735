"""The embedded engine: rego-cpp (regopy) evaluating the same files OPA would serve.

Each domain's query is compiled into a bundle once per process; a plain `query()` would
recompile the policies on every call (~8 ms instead of ~0.4 ms).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import regopy

from swiftdeploy.errors import PolicyUnavailable
from swiftdeploy.policy.decision import Decision, check_domain, decision_from_json
from swiftdeploy.policy.sources import PolicySources, load_sources

_BINDING = "result"


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, policies_dir: Path) -> None:
        self.policies_dir = policies_dir
        self._sources: PolicySources | None = None
        self._compiled: dict[str, tuple[Any, Any]] = {}
        # rego-cpp interpreters are not safe to share between threads.
        self._lock = threading.Lock()

    @property
    def policy_digest(self) -> str:
        return self._load().digest

    def _load(self) -> PolicySources:
        if self._sources is None:
            self._sources = load_sources(self.policies_dir)
        return self._sources

    def _compile(self, domain: str) -> tuple[Any, Any]:
        compiled = self._compiled.get(domain)
        if compiled is not None:
            return compiled
        sources = self._load()
        interpreter = regopy.Interpreter()
        try:
            for name, source in sources.modules.items():
                interpreter.add_module(name, source)
            interpreter.add_data_json(json.dumps(sources.data))
            bundle = interpreter.build(f"{_BINDING} = data.{domain}")
        except regopy.RegoError as exc:
            raise PolicyUnavailable(f"policy engine unavailable: rego-cpp: {exc}") from exc
        if not bundle.ok():
            raise PolicyUnavailable(
                f"policy engine unavailable: rego-cpp could not compile the policies "
                f"in {self.policies_dir}"
            )
        self._compiled[domain] = (interpreter, bundle)
        return interpreter, bundle

    def evaluate(self, domain: str, input: dict[str, Any]) -> Decision:
        check_domain(domain)
        started = time.perf_counter()
        with self._lock:
            interpreter, bundle = self._compile(domain)
            try:
                interpreter.set_input(regopy.Input(input))
                output = interpreter.query_bundle(bundle)
            except regopy.RegoError as exc:
                raise PolicyUnavailable(f"policy engine unavailable: rego-cpp: {exc}") from exc
            except ValueError as exc:
                # regopy parses rego-cpp's JSON text in Output(); a string the
                # engine failed to escape surfaces here.
                raise PolicyUnavailable(
                    f"policy engine unavailable: rego-cpp answered malformed JSON: {exc}"
                ) from exc
            if not output.ok():
                raise PolicyUnavailable(f"policy engine unavailable: rego-cpp: {output}")
            payload: dict[str, Any] = {}
            if len(output) > 0 and _BINDING in output[0].bindings:
                payload["result"] = output[0].bindings[_BINDING]
        decision = decision_from_json(domain, payload)
        return _stamp(decision, self.name, self._load().digest, started, input)


def _stamp(
    decision: Decision, engine: str, digest: str, started: float, input: dict[str, Any]
) -> Decision:
    return replace(
        decision,
        engine=engine,
        policy_digest=digest,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        input=input,
    )
