"""Generated requests against every route of the app's OpenAPI document: never a 500.

Bounded (a few seconds): random path parameters, query values and JSON bodies, for each
method and path the document lists, plus paths it does not list.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from agent.server import create_app
from agent.testing import FakeEmbedding, FunctionModel, send

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)


@pytest.fixture(scope="module")
def http() -> Iterator[TestClient]:
    model = FunctionModel(lambda request: send("ok"))
    with TestClient(create_app(":memory:", model=model, embedding=FakeEmbedding())) as client:
        yield client


def _operations(http: TestClient) -> list[tuple[str, str]]:
    document = http.get("/openapi.json").json()
    return [(m.upper(), p) for p, ops in document["paths"].items() for m in ops]


@st.composite
def requests(draw: st.DrawFn, operations: list[tuple[str, str]]) -> tuple[str, str, Any]:
    method, path = draw(st.sampled_from(operations))
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        value = draw(
            st.sampled_from(["agent-x", "block-x", "tool-x", "human", "%20", "a/b"])
            | st.text(
                alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=12
            )
        )
        path = path[:start] + value + path[end + 1 :]
    body = draw(
        JSON_VALUES
        | st.fixed_dictionaries(
            {},
            optional={
                "messages": JSON_VALUES,
                "memory_blocks": JSON_VALUES,
                "source_code": st.text(max_size=40),
                "value": JSON_VALUES,
                "text": JSON_VALUES,
                "name": JSON_VALUES,
                "limit": JSON_VALUES,
            },
        )
    )
    return method, path, body


def test_no_generated_request_is_a_500(http: TestClient) -> None:
    operations = _operations(http)
    assert len(operations) >= 20

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        requests(operations),
        st.dictionaries(
            st.sampled_from(["limit", "after", "before", "search"]), st.text(max_size=8), max_size=2
        ),
    )
    def check(request: tuple[str, str, Any], query: dict[str, str]) -> None:
        method, path, body = request
        content = json.dumps(body) if method in ("POST", "PUT", "PATCH") else None
        response = http.request(method, path, content=content, params=query)
        assert response.status_code < 500 or response.status_code == 501, (
            method,
            path,
            body,
            response.text,
        )
        if response.status_code >= 400:
            assert "detail" in response.json()

    check()
