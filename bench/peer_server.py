#!/usr/bin/env python3
"""The MCP server the peer gateways front (bench only): one stdio MCP
server with the tool jira_search, which asks the static upstream the same
search/jql request the forwarder sends and returns the same trimmed list
(key, summary, status, assignee, updated, link). mcpo and mcp-proxy spawn
it; the rows then measure gateway + this server against the same upstream
as every other row.

    peer_server.py http://127.0.0.1:PORT
"""

import json
import sys
import urllib.parse

import httpx
from mcp.server.fastmcp import FastMCP

UPSTREAM = sys.argv[1].rstrip("/")
FIELDS = "summary,status,assignee,updated,priority,issuetype"
mcp = FastMCP("bench-jira")
client = httpx.AsyncClient(timeout=15.0)     # keep-alive, like the forwarder


@mcp.tool()
async def jira_search(jql: str, max_results: int = 20) -> str:
    """Search issues with JQL; returns key, summary, status, assignee,
    updated and a link."""
    q = urllib.parse.urlencode({"jql": jql, "maxResults": max_results,
                                "fields": FIELDS})
    r = await client.get(f"{UPSTREAM}/t/google/rest/api/3/search/jql?{q}",
                         headers={"Accept": "application/json"})
    r.raise_for_status()
    out = []
    for i in r.json().get("issues", []):
        f = i.get("fields", {})
        out.append({"key": i.get("key"), "summary": f.get("summary"),
                    "status": (f.get("status") or {}).get("name"),
                    "assignee": (f.get("assignee") or {}).get("displayName"),
                    "updated": f.get("updated"), "url": i.get("self")})
    return json.dumps({"issues": out})


if __name__ == "__main__":
    mcp.run()
