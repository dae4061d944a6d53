"""The ``selfedit chat`` and ``selfedit agents`` commands."""

from __future__ import annotations

import argparse
import json
import os
import sys

from agent._errors import NotFoundError
from agent._model import Model, ModelRequest, ModelResponse, ModelToolCall
from agent._openai import OpenAIModel
from agent._printing import RULE, format_message
from agent._state import AgentState
from agent._sync import Client

__all__ = ["DB_HELP", "add_commands"]

DB_HELP = (
    "a SQLite file or a postgresql:// URL (default: $SELFEDIT_DATABASE_URL, else "
    "~/.selfedit/selfedit.db)"
)

DEFAULT_MODEL = "openai/gpt-4o-mini"

HELP = """Type a message and press Enter; the agent's reply and every step are printed.
  /help   this text
  /exit   leave (also /quit, Ctrl-D or Ctrl-C)"""


def _offline_reply(request: ModelRequest) -> ModelResponse:
    said = request.last_user_message or ""
    message = f"(offline model, no API key) You said: {said}"
    arguments = json.dumps({"message": message}, ensure_ascii=False)
    return ModelResponse(None, [ModelToolCall("send_message", arguments, "call_offline")])


class _Offline:
    """A stand-in model for when no API key is set: it echoes, and says so."""

    name = "offline/echo"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return _offline_reply(request)


def _model(args: argparse.Namespace) -> Model | None:
    if args.base_url or os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        name = args.model or DEFAULT_MODEL
        return OpenAIModel(name, base_url=args.base_url) if args.base_url else None
    print("No OPENAI_API_KEY set: using an offline echo model.", file=sys.stderr)
    return _Offline()


def _find(client: Client, name: str) -> AgentState:
    for state in client.agents.list():
        if name in (state.id, state.name):
            return state  # type: ignore[no-any-return]
    raise NotFoundError(f"no agent named {name!r}")


def _open(client: Client, args: argparse.Namespace) -> AgentState:
    """The agent named ``--agent``, with the ``--model`` given (created if new)."""
    try:
        state = _find(client, args.agent)
    except NotFoundError:
        created: AgentState = client.agents.create(
            name=args.agent,
            model=args.model or DEFAULT_MODEL,
            memory_blocks=[{"label": "human", "value": ""}, {"label": "persona", "value": ""}],
        )
        print(f"created agent {created.name!r} ({created.id})")
        return created
    if args.model and args.model != state.model:
        changed: AgentState = client.agents.modify(state.id, model=args.model)
        print(
            f"agent {state.name!r}: model changed from {state.model} to {changed.model}",
            file=sys.stderr,
        )
        return changed
    return state


def _chat(args: argparse.Namespace) -> int:
    with Client(args.db, model=_model(args)) as client:
        state = _open(client, args)
        while True:
            try:
                text = input("you> ").strip()
            except EOFError:
                return 0
            if text in ("/quit", "/exit"):
                return 0
            if text == "/help":
                print(HELP)
                continue
            if text:
                stream = client.agents.messages.create_stream(
                    agent_id=state.id, messages=[{"role": "user", "content": text}]
                )
                for message in stream:
                    print(format_message(message))
                    print(RULE)


def _list(args: argparse.Namespace) -> int:
    with Client(args.db) as client:
        for state in client.agents.list():
            print(f"{state.id}  {state.name:<20} {state.model:<24} {len(state.memory)} blocks")
    return 0


def _show(args: argparse.Namespace) -> int:
    with Client(args.db) as client:
        try:
            state = _find(client, args.agent)
        except NotFoundError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"{state.name} ({state.id}), model {state.model}")
        print(f"tools: {', '.join(state.tool_names)}\n")
        print(state.memory.compile(), "\n")
        for message in client.agents.messages.list(agent_id=state.id, limit=args.limit):
            print(format_message(message))
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``chat`` and ``agents`` to the ``selfedit`` parser."""
    db = {"default": None, "help": DB_HELP}
    chat = commands.add_parser("chat", help="talk to an agent (created if new)")
    chat.add_argument("--agent", default="assistant", help="agent name or id")
    chat.add_argument(
        "--model",
        default=None,
        help=f"provider/name (default {DEFAULT_MODEL}); changes an existing agent's model",
    )
    chat.add_argument("--base-url", default=None, help="an OpenAI-compatible server")
    chat.add_argument("--db", **db)  # type: ignore[arg-type]
    chat.set_defaults(run=_chat)
    agents = commands.add_parser("agents", help="list or show agents")
    sub = agents.add_subparsers(dest="agents_command", required=True)
    listing = sub.add_parser("list", help="every agent")
    listing.add_argument("--db", **db)  # type: ignore[arg-type]
    listing.set_defaults(run=_list)
    show = sub.add_parser("show", help="an agent's blocks and recent messages")
    show.add_argument("agent", help="agent name or id")
    show.add_argument("--limit", type=int, default=20, help="how many recent messages")
    show.add_argument("--db", **db)  # type: ignore[arg-type]
    show.set_defaults(run=_show)
