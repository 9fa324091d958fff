"""A stand-in for Atlassian's Remote MCP server (mcp.atlassian.com/v1/mcp).

What it copies from the real one (docs: "Configuring authentication via
API token", developer.atlassian.com/cloud/rovo-mcp):
- Streamable HTTP at /v1/mcp (the SSE endpoint is gone), built with the
  official Python MCP SDK, stateless;
- API-token auth as the real server takes it when the organisation allows
  it: `Authorization: Basic base64(email:api_token)` for a personal API
  token, `Authorization: Bearer <api_key>` for a service-account key;
  anything else gets 401 with a WWW-Authenticate pointing at OAuth;
- Atlassian's tool names and their `cloudId` argument:
  atlassianUserInfo, getAccessibleAtlassianResources, getJiraIssue,
  searchJiraIssuesUsingJql, createJiraIssue, addCommentToJiraIssue,
  getTransitionsForJiraIssue, transitionJiraIssue, getConfluencePage,
  searchConfluenceUsingCql (read tools annotated readOnlyHint).

One server serves every account, as the real one does: the credential
picks the account, and an account sees only its own site's cloudId.

Runs as a child process (RemoteMCP below starts it):
    python -m harness.atlassian_mcp --port N --calls FILE
with the accounts as JSON in ATL_MCP_ACCOUNTS: [{"email","api_token"} or
{"api_key"}, plus "cloud_id", "site", "name", "project"]. Every request is
one JSON line in FILE: {scheme, account, rpc method, tool, ok}. No secret
is written there.
"""

import os
import sys

if __name__ == "__main__":
    # Run as a script, this folder comes first on sys.path, and its
    # secrets.py would hide the standard library's (starlette needs it).
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import base64  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import secrets as pysecrets  # noqa: E402


def _account_of(authz, accounts):
    if not authz:
        return None, None
    scheme, _, cred = authz.partition(" ")
    cred = cred.strip()
    for a in accounts:
        if scheme == "Bearer" and "api_key" in a and \
                hmac.compare_digest(a["api_key"].encode(), cred.encode()):
            return scheme, a
        if scheme == "Basic" and "api_token" in a:
            want = base64.b64encode(f"{a['email']}:{a['api_token']}".encode()).decode()
            if hmac.compare_digest(want.encode(), cred.encode()):
                return scheme, a
    return scheme, None


def serve(port, accounts, calls_file):
    import contextvars
    from typing import Any

    import uvicorn
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp_types import ToolAnnotations

    who = contextvars.ContextVar("who")
    srv = MCPServer("Atlassian Rovo MCP Server")
    ro = ToolAnnotations(read_only_hint=True)
    state = {"next": 100, "comments": 0}

    def acct(cloud_id=None):
        a = who.get()
        if cloud_id is not None and cloud_id != a["cloud_id"]:
            raise ToolError(f"Cloud id {cloud_id} is not accessible with this credential."
                            " Use getAccessibleAtlassianResources to find yours.")
        return a

    def issue(a, key):
        return {"id": str(10000 + int(key.rsplit("-", 1)[-1])), "key": key,
                "self": f"{a['site']}/rest/api/3/issue/{key}",
                "fields": {"summary": f"{a['name']} issue {key}",
                           "status": {"name": "To Do"},
                           "project": {"key": a["project"]}}}

    @srv.tool(annotations=ro)
    def atlassianUserInfo() -> dict[str, Any]:
        """Get the current user's Atlassian account info."""
        a = acct()
        return {"account_id": "712020:" + a["cloud_id"][-8:],
                "email": a.get("email", ""), "name": a["name"] + " bot",
                "account_type": "app" if "api_key" in a else "atlassian"}

    @srv.tool(annotations=ro)
    def getAccessibleAtlassianResources() -> dict[str, Any]:
        """List the Atlassian sites (cloudId, url) this credential can use."""
        a = acct()
        return {"resources": [{"id": a["cloud_id"], "url": a["site"], "name": a["name"],
                               "scopes": ["read:jira-work", "write:jira-work",
                                          "read:confluence-content.all"]}]}

    @srv.tool(annotations=ro)
    def getJiraIssue(cloudId: str, issueIdOrKey: str) -> dict[str, Any]:
        """Get a Jira issue by issue id or key."""
        return issue(acct(cloudId), issueIdOrKey)

    @srv.tool(annotations=ro)
    def searchJiraIssuesUsingJql(cloudId: str, jql: str, maxResults: int = 50,
                                 nextPageToken: str = "") -> dict[str, Any]:
        """Search Jira issues using JQL."""
        a = acct(cloudId)
        n = max(1, min(maxResults, 3))
        return {"issues": [issue(a, f"{a['project']}-{i}") for i in range(1, n + 1)],
                "isLast": True}

    @srv.tool()
    def createJiraIssue(cloudId: str, projectKey: str, issueTypeName: str,
                        summary: str, description: str = "") -> dict[str, Any]:
        """Create a new Jira issue in a project."""
        a = acct(cloudId)
        state["next"] += 1
        return {"id": str(20000 + state["next"]),
                "key": f"{projectKey}-{state['next']}",
                "self": f"{a['site']}/rest/api/3/issue/{projectKey}-{state['next']}"}

    @srv.tool()
    def addCommentToJiraIssue(cloudId: str, issueIdOrKey: str,
                              commentBody: str) -> dict[str, Any]:
        """Add a comment to a Jira issue (Markdown)."""
        acct(cloudId)
        state["comments"] += 1
        return {"id": str(30000 + state["comments"]), "body": commentBody}

    @srv.tool(annotations=ro)
    def getTransitionsForJiraIssue(cloudId: str, issueIdOrKey: str) -> dict[str, Any]:
        """Get the transitions available for a Jira issue."""
        acct(cloudId)
        return {"transitions": [{"id": "21", "name": "In Progress"},
                                {"id": "31", "name": "Done"}]}

    @srv.tool()
    def transitionJiraIssue(cloudId: str, issueIdOrKey: str,
                            transition: dict[str, Any]) -> dict[str, Any]:
        """Transition a Jira issue to a new status."""
        acct(cloudId)
        return {"success": True, "issue": issueIdOrKey, "transition": transition}

    @srv.tool(annotations=ro)
    def getConfluencePage(cloudId: str, pageId: str) -> dict[str, Any]:
        """Get a Confluence page by id (body as Markdown)."""
        a = acct(cloudId)
        return {"id": pageId, "title": f"{a['name']} page {pageId}",
                "body": f"# {a['name']} page\n\nHello from {a['name']}."}

    @srv.tool(annotations=ro)
    def searchConfluenceUsingCql(cloudId: str, cql: str, limit: int = 25) -> dict[str, Any]:
        """Search Confluence content using CQL."""
        a = acct(cloudId)
        return {"results": [{"id": "65537", "title": f"{a['name']} handbook",
                             "type": "page"}], "size": 1}

    app = srv.streamable_http_app(stateless_http=True, json_response=True)

    async def send_json(send, status, obj, headers=()):
        body = json.dumps(obj).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                *headers]})
        await send({"type": "http.response.body", "body": body})

    async def wrapper(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        if scope["path"] != "/v1/mcp":
            return await send_json(send, 404, {"error": "not_found"})
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
        rpc = rpc if isinstance(rpc, dict) else {}
        scheme, a = _account_of(headers.get("authorization"), accounts)
        rec = {"scheme": scheme, "account": a["name"] if a else None,
               "method": rpc.get("method"),
               "tool": (rpc.get("params") or {}).get("name"), "ok": a is not None}
        with open(calls_file, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if a is None:
            return await send_json(send, 401, {"error": "invalid_token",
                                               "error_description": "Unauthorized"},
                                   [(b"www-authenticate",
                                     b'Bearer resource_metadata="https://mcp.atlassian.com'
                                     b'/.well-known/oauth-protected-resource/v1/mcp"')])
        scope = dict(scope, path="/mcp", raw_path=b"/mcp")
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        token = who.set(a)
        try:
            await app(scope, replay, send)
        finally:
            who.reset(token)

    uvicorn.run(wrapper, host="127.0.0.1", port=port, log_level="warning")


class RemoteMCP:
    """The stand-in as a child process. add accounts before start()."""

    def __init__(self, name="atlassian-mcp"):
        from .proc import Proc, free_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1/mcp"
        self.accounts = []
        self._name = name
        self._Proc = Proc
        self.proc = None

    def add_account(self, name, cloud_id, site, project, service_account=False):
        """A credential the server accepts; returns what goes into Vault:
        {"email","api_token"} (Basic) or {"api_key"} (Bearer)."""
        from . import secrets
        a = {"name": name, "cloud_id": cloud_id, "site": site, "project": project}
        if service_account:
            a["api_key"] = secrets.register("ATSTT3xMcp" + pysecrets.token_urlsafe(30))
            cred = {"api_key": a["api_key"]}
        else:
            a["email"] = f"bot@{name.lower()}.example.com"
            a["api_token"] = "ATATT3xMcp" + pysecrets.token_urlsafe(30)
            secrets.register_basic(a["email"], a["api_token"])
            cred = {"email": a["email"], "api_token": a["api_token"]}
        self.accounts.append(a)
        return cred

    def start(self):
        import pathlib
        here = pathlib.Path(__file__).resolve()
        self.proc = self._Proc(self._name, [sys.executable, str(here), "--port",
                                            str(self.port), "--calls", "calls.jsonl"],
                               env={"ATL_MCP_ACCOUNTS": json.dumps(self.accounts),
                                    "PYTHONPATH": None},
                               ready=self._ready, ready_timeout=30)
        self.calls_file = pathlib.Path(self.proc.dir) / "calls.jsonl"
        self.proc.start()
        return self

    def _ready(self, proc):
        import socket
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def calls(self):
        try:
            return [json.loads(x) for x in self.calls_file.read_text().splitlines()]
        except FileNotFoundError:
            return []

    def reset(self):
        self.calls_file.write_text("")

    def close(self):
        if self.proc is not None:
            self.proc.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--calls", required=True)
    args = ap.parse_args()
    serve(args.port, json.loads(os.environ["ATL_MCP_ACCOUNTS"]), args.calls)
    sys.exit(0)
