"""Tenant MCP backends: an integration of kind `mcp` is a tenant's own MCP
server. The forwarder lists its tools as `<tenant>__<tool>`, forwards
calls with the tenant's header, and caches the tool list briefly.

The backend is a real MCP server built with the official Python SDK
(`mcp.server.mcpserver.MCPServer`), started by this file in a child
process (`python test_forwarder_backend.py --port ...`), behind a small
ASGI wrapper that checks the tenant header and records every request.
"""

import argparse
import asyncio
import json
import os
import pathlib
import secrets as pysecrets
import sys
import time

import pytest

HERE = pathlib.Path(__file__).resolve()


# ---- the backend (runs in a child process) ----------------------------------------

def serve(port, secret, mode, calls_file):
    from typing import Any

    import uvicorn
    from mcp.server.mcpserver import MCPServer
    from mcp_types import ToolAnnotations

    srv = MCPServer("acme-backend")

    @srv.tool(annotations=ToolAnnotations(read_only_hint=True))
    def echo(text: str) -> dict[str, Any]:
        """Echo a text back."""
        return {"echo": text, "length": len(text)}

    @srv.tool()
    def create_ticket(title: str, priority: int = 3) -> dict[str, Any]:
        """Open a ticket in Acme's tracker."""
        return {"id": "ACME-1", "title": title, "priority": priority}

    @srv.tool(annotations=ToolAnnotations(read_only_hint=True))
    def leak() -> dict[str, Any]:
        """A buggy tool that echoes the credential it was called with."""
        return {"debug": f"called with Authorization: Bearer {secret}"}

    @srv.tool(annotations=ToolAnnotations(read_only_hint=True))
    def explode() -> str:
        """Always fails."""
        from mcp.server.mcpserver.exceptions import ToolError
        raise ToolError("the acme backend exploded")

    app = srv.streamable_http_app(stateless_http=mode != "stateful",
                                  json_response=mode == "stateless-json")

    async def send_json(send, status, obj):
        body = json.dumps(obj).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def wrapper(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        body, more = b"", True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        try:
            rpc = json.loads(body) if body else {}
        except ValueError:
            rpc = {}
        ok = headers.get("authorization") == f"Bearer {secret}"
        rec = {"auth_ok": ok, "http": scope["method"],
               "version": headers.get("mcp-protocol-version"),
               "method": rpc.get("method") if isinstance(rpc, dict) else None,
               "tool": ((rpc.get("params") or {}).get("name")
                        if isinstance(rpc, dict) else None)}
        with open(calls_file, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if not ok:
            return await send_json(send, 401, {"error": "invalid_token"})
        if mode == "legacy-only" and headers.get("mcp-protocol-version") == "2026-07-28":
            return await send_json(send, 400, {"jsonrpc": "2.0", "id": None, "error": {
                "code": -32601, "message": "Method not found"}})
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        await app(scope, replay, send)

    uvicorn.run(wrapper, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", default="stateless")
    ap.add_argument("--calls", required=True)
    a = ap.parse_args()
    serve(a.port, os.environ["ACME_SECRET"], a.mode, a.calls)
    sys.exit(0)


# ---- the tests --------------------------------------------------------------------------

from mcp.shared.exceptions import MCPError  # noqa: E402

from harness import Proc, free_port, secrets, wait_for  # noqa: E402

from .fake_broker import FwdEnv, Integration, atlassian_tenants  # noqa: E402


class Backend:
    def __init__(self, name, mode):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.secret = secrets.register("acme-" + pysecrets.token_urlsafe(24))
        self.proc = Proc(name, [sys.executable, str(HERE), "--port", str(self.port),
                                "--mode", mode, "--calls", "calls.jsonl"],
                         env={"ACME_SECRET": self.secret, "PYTHONPATH": None},
                         ready=self._ready, ready_timeout=30)
        self.calls_file = pathlib.Path(self.proc.dir) / "calls.jsonl"

    def _ready(self, proc):
        import socket
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def calls(self):
        try:
            return [json.loads(line) for line in self.calls_file.read_text().splitlines()]
        except FileNotFoundError:
            return []

    def reset(self):
        self.calls_file.write_text("")


@pytest.fixture(scope="module")
def backends():
    b = {"json": Backend("acme-json", "stateless-json"),
         "sse": Backend("acme-sse", "stateful"),
         "legacy": Backend("acme-legacy", "legacy-only")}
    for x in b.values():
        x.proc.start()
    yield b
    for x in b.values():
        x.proc.close()


def header(b):
    return {"header": "Authorization", "value": f"Bearer {b.secret}"}


@pytest.fixture(scope="module")
def env(atlassian, backends):
    tenants = atlassian_tenants(atlassian, ("google",))
    tenants["acme"] = [Integration("bot", "mcp", backends["json"].url, header(backends["json"]))]
    tenants["streamco"] = [Integration("bot", "mcp", backends["sse"].url,
                                       header(backends["sse"]))]
    tenants["oldco"] = [Integration("old", "mcp", backends["legacy"].url,
                                    header(backends["legacy"]))]
    tenants["broken"] = [Integration("bot", "mcp", backends["json"].url, {
        "header": "Authorization", "value": "Bearer wrong-backend-secret"})]
    users = {
        "erin@example.com": {"acme": "editor"},
        "frank@example.com": {"acme": "viewer"},
        "alice@example.com": {"google": "editor"},
        "hank@example.com": {"acme": "editor", "google": "editor", "streamco": "editor"},
        "gus@example.com": {"oldco": "editor"},
        "ivy@example.com": {"broken": "editor", "google": "viewer"},
    }
    e = FwdEnv(atlassian, users=users, tenants=tenants, backend_tools_ttl="60s",
               name="forwarder-backends")
    yield e
    e.close()


def run(coro):
    return asyncio.run(coro)


def tools_of(env, user, mode="auto"):
    async def go():
        async with env.client(user, mode) as c:
            return (await c.list_tools()).tools
    return {t.name: t for t in run(go())}


def test_backend_tools_are_listed_with_the_tenant_prefix(env, backends):
    tools = tools_of(env, "erin@example.com")
    assert set(tools) == {"acme__echo", "acme__create_ticket", "acme__explode", "acme__leak"}
    assert "Tenant 'acme'" in tools["acme__echo"].description
    assert "Echo a text back." in tools["acme__echo"].description
    assert tools["acme__create_ticket"].input_schema["properties"]["title"]["type"] == "string"
    # the backend only ever saw the tenant's own header
    assert all(c["auth_ok"] for c in backends["json"].calls())


def test_viewer_sees_only_read_only_backend_tools(env):
    assert set(tools_of(env, "frank@example.com")) == {"acme__echo", "acme__explode",
                                                       "acme__leak"}


def test_other_users_see_no_backend_tools(env):
    names = set(tools_of(env, "alice@example.com"))
    assert names and all(n.startswith("google__") for n in names)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_calls_are_forwarded_with_the_tenant_header(env, backends, mode):
    backends["json"].reset()

    async def go():
        async with env.client("erin@example.com", mode) as c:
            a = await c.call_tool("acme__echo", {"text": "hello"})
            b = await c.call_tool("acme__create_ticket", {"title": "Broken build",
                                                          "priority": 1})
            x = await c.call_tool("acme__explode", {})
            return a, b, x
    a, b, x = run(go())
    assert a.is_error is False
    assert a.structured_content == {"echo": "hello", "length": 5}
    assert b.structured_content == {"id": "ACME-1", "title": "Broken build", "priority": 1}
    assert x.is_error is True and "exploded" in x.content[0].text
    calls = [c for c in backends["json"].calls() if c["method"] == "tools/call"]
    assert [c["tool"] for c in calls] == ["echo", "create_ticket", "explode"]
    assert all(c["auth_ok"] and c["version"] == "2026-07-28" for c in calls)


def test_viewer_cannot_call_a_write_backend_tool(env, backends):
    backends["json"].reset()

    async def go():
        async with env.client("frank@example.com") as c:
            with pytest.raises(MCPError) as ei:
                await c.call_tool("acme__create_ticket", {"title": "x"})
            return ei.value
    e = run(go())
    assert "read-only" in e.error.message
    assert not [c for c in backends["json"].calls() if c["method"] == "tools/call"]


def test_a_backend_echoing_the_credential_is_withheld(env, backends):
    r = env.post_mcp("erin@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                          "params": {"name": "acme__leak", "arguments": {}}})
    res = r.json()["result"]
    assert res["isError"] is True
    assert "withheld" in res["content"][0]["text"]
    assert backends["json"].secret not in r.text
    assert backends["json"].secret not in env.fwd.log()


def test_tool_list_is_cached(env, backends):
    tools_of(env, "erin@example.com")
    backends["json"].reset()
    for _ in range(3):
        tools_of(env, "erin@example.com")
    assert not [c for c in backends["json"].calls() if c["method"] == "tools/list"]


def test_unknown_backend_tool(env):
    async def go():
        async with env.client("erin@example.com") as c:
            with pytest.raises(MCPError) as ei:
                await c.call_tool("acme__rm_rf", {})
            return ei.value
    assert "acme__rm_rf" in run(go()).error.message


def test_streaming_stateful_backend(env, backends):
    tools = tools_of(env, "hank@example.com")
    assert {"acme__echo", "streamco__echo", "google__jira_search"} <= set(tools)

    async def go():
        async with env.client("hank@example.com") as c:
            return await c.call_tool("streamco__echo", {"text": "sse"})
    r = run(go())
    assert r.structured_content == {"echo": "sse", "length": 3}
    assert all(c["auth_ok"] for c in backends["sse"].calls())


def test_handshake_only_backend(env, backends):
    backends["legacy"].reset()
    tools = tools_of(env, "gus@example.com", "legacy")
    assert set(tools) == {"oldco__echo", "oldco__create_ticket", "oldco__explode",
                          "oldco__leak"}

    async def go():
        async with env.client("gus@example.com", "legacy") as c:
            return await c.call_tool("oldco__echo", {"text": "old"})
    assert run(go()).structured_content["echo"] == "old"
    calls = backends["legacy"].calls()
    assert {"initialize", "tools/list", "tools/call"} <= {c["method"] for c in calls}
    assert all(c["version"] in (None, "2025-11-25", "2026-07-28") for c in calls)


def test_backend_refusing_the_tenant_key(env):
    # ivy's tenant "broken" stores the wrong key: its tools are left out,
    # the rest of her tools still work, and a call says what happened
    tools = tools_of(env, "ivy@example.com")
    assert set(tools) and all(n.startswith("google__") for n in tools)
    r = env.post_mcp("ivy@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                         "params": {"name": "broken__echo",
                                                    "arguments": {"text": "x"}}})
    res = r.json()["result"]
    assert res["isError"] is True
    assert "refused the tenant credential" in res["content"][0]["text"]
    assert "wrong-backend-secret" not in r.text
    log = env.fwd.log()
    assert "broken backend bot left out" in log
    assert "wrong-backend-secret" not in log


def test_backend_down(env, backends):
    b = backends["legacy"]
    b.proc.stop()
    try:
        r = env.post_mcp("gus@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                             "params": {"name": "oldco__echo",
                                                        "arguments": {"text": "x"}}})
        # the cached tool list still names the tool; the call itself fails
        res = r.json()["result"]
        assert res["isError"] is True
        assert "MCP server" in res["content"][0]["text"]
    finally:
        b.proc.start()
        wait_for(lambda: b._ready(None), timeout=20)
