"""Schemathesis over the app's OpenAPI document: no generated request is a 500.

Every operation the document lists gets schemathesis's cases, its coverage phase (boundary
values, missing and mistyped fields, unexpected methods) then positive and negative fuzzing,
sent in-process to the ASGI app. Each case with path parameters is sent twice: as generated,
then with real ids in its path (an agent with its blocks, a passage and an attached tool, a
block of its own, a stored and a built-in tool), so that its query and body reach past the
404s into the code behind them; fuzzing also mixes real and generated ids (real agent,
unknown tool). The check is schemathesis's ``not_a_server_error`` with 501 allowed (what
selfedit does not support answers 501 with a ``detail``), and every error answer carries a
``detail``. An app that crashes (an exception out of the ASGI app) fails the test too.

Bounded and deterministic: a fixed seed, derandomized Hypothesis, no example database and a
few fuzzed examples per operation. ``SELFEDIT_SCHEMATHESIS_EXAMPLES=200`` hunts longer.
tests/server/test_fuzz.py covers paths the document does not list.
"""

import os
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, HookContext, Response
from schemathesis.checks import not_a_server_error
from starlette.testclient import TestClient

from agent.server import create_app
from agent.testing import FakeEmbedding, FunctionModel, send

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

EXAMPLES = int(os.environ.get("SELFEDIT_SCHEMATHESIS_EXAMPLES", "3"))
"""Fuzzed examples per operation (positive and negative together), beside the coverage phase."""

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260601,
        "suppress-health-check": ["all"],
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        "checks": {
            "enabled": False,
            "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", 501]},
        },
    }
)

TOOL = '''\
def shout(text: str) -> str:
    """Says it louder.

    Args:
        text: what to say.
    """
    return text.upper()
'''

UNREACHABLE = {"command": "/nonexistent/selfedit-schemathesis", "server_url": "tcp://127.0.0.1:9"}
"""What replaces an MCP registration's command or URL: a command that is not there (the
connection fails, a 422) and a URL refused before any connection (not ``http(s)://``, a 422):
nothing is started, no request leaves (the suite would refuse it: ``block_real_models``)."""


def _requests_only(app: ASGIApp) -> ASGIApp:
    """The app, its lifespan left to the ``seeds`` fixture.

    Schemathesis's pytest plugin ends the ASGI lifespans it started after every test, and
    this app's lifespan closes its database when it ends: one must span all the operations.
    """

    async def serve(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    return serve


MODEL = FunctionModel(lambda request: send("ok"))
APP = create_app(":memory:", model=MODEL, embedding=FakeEmbedding())
schema = schemathesis.openapi.from_asgi("/openapi.json", _requests_only(APP), config=CONFIG)


class Seeds:
    """Real ids for path parameters, made again through the API after a delete succeeds."""

    def __init__(self) -> None:
        self.ids: dict[str, list[str]] = {}
        self.refresh()

    def _call(self, method: str, path: str, **parts: Any) -> Any:
        response = schema[path][method].Case(**parts).call()
        assert response.status_code < 300, (method, path, response.text)
        return response.json()

    def refresh(self) -> None:
        blocks = [{"label": "human", "value": "Name: Bob"}, {"label": "persona", "value": "Kind."}]
        agent = self._call("POST", "/v1/agents/", body={"memory_blocks": blocks})
        on_agent = {"agent_id": agent["id"]}
        tool = self._call("PUT", "/v1/tools/", body={"source_code": TOOL})
        attach = "/v1/agents/{agent_id}/tools/attach/{tool_id}"
        self._call("PATCH", attach, path_parameters={**on_agent, "tool_id": tool["id"]})
        archival = "/v1/agents/{agent_id}/archival-memory"
        passages = self._call("POST", archival, path_parameters=on_agent, body={"text": "Tea."})
        loose = self._call("POST", "/v1/blocks/", body={"label": "notes", "value": "none yet"})
        self.ids = {
            "agent_id": [agent["id"]],
            "tool_id": [tool["id"], "base-tool-send_message"],
            "block_id": [loose["id"], *(b["id"] for b in agent["memory"]["blocks"])],
            "block_label": ["human", "persona"],
            "memory_id": [p["id"] for p in passages],
        }


@pytest.fixture(scope="module")
def seeds() -> Iterator[Seeds]:
    with TestClient(APP):  # the app's lifespan, around every operation's cases
        seeds = Seeds()

        @schema.hook
        def flatmap_path_parameters(
            context: HookContext, path_parameters: dict[str, Any] | None
        ) -> st.SearchStrategy[dict[str, Any] | None]:
            if not path_parameters:
                return st.just(path_parameters)
            return st.fixed_dictionaries(
                {
                    name: st.sampled_from([value, *seeds.ids.get(name, [])])
                    for name, value in path_parameters.items()
                }
            )

        @schema.hook
        def after_call(context: HookContext, case: Case, response: Response) -> None:
            if case.method.upper() == "DELETE" and response.status_code < 300:
                seeds.refresh()

        try:
            yield seeds
        finally:
            schema.hooks.unregister_all()


def _harmless(case: Case) -> None:
    """An MCP registration's command or URL made one that starts nothing and stays local."""
    if (case.method.upper(), case.path) == ("PUT", "/v1/tools/mcp/servers"):
        if isinstance(case.body, dict):
            for key, value in UNREACHABLE.items():
                if isinstance(case.body.get(key), str):
                    case.body[key] = value


def _on_seeds(case: Case, seeds: Seeds) -> Case | None:
    """The case again with real ids for its path parameters (``None``: none to put in)."""
    generated = case.path_parameters or {}
    real = {k: seeds.ids[k][0] if k in seeds.ids else v for k, v in generated.items()}
    if real == generated:
        return None
    return case.operation.Case(
        method=case.method,
        path_parameters=real,
        headers=case.headers,
        cookies=case.cookies,
        query=case.query,
        body=case.body,
        media_type=case.media_type,
    )


def _send(case: Case) -> None:
    _harmless(case)
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        assert "detail" in response.json(), (case.as_curl_command(), response.text)


@schema.parametrize()
@pytest.mark.parametrize("store", ["sqlite"])
def test_no_generated_request_is_a_server_error(case: Case, seeds: Seeds, store: str) -> None:
    """Each case as generated, then with the seeded ids in its path.

    ``store`` names the database behind the app; it is a parameter so that each operation's
    test has a node id of its own (pytest 9.2 builds ids from a test's function name and its
    parameters, not from the ``[GET /v1/agents/]`` schemathesis puts in its name).
    """
    _send(case)
    again = _on_seeds(case, seeds)
    if again is not None:
        _send(again)
