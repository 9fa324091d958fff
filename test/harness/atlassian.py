"""Fake Atlassian Cloud (Jira REST v3 + Confluence) for every tenant.

One server; tenant T lives under http://127.0.0.1:PORT/t/T, so Jira is
{base}/rest/api/3/... and Confluence {base}/wiki/....  Each tenant accepts
only `Authorization: Basic base64(email:api_token)` with ITS OWN key.

Shapes follow Atlassian Cloud, trimmed.  Real behaviours kept on purpose:
- /rest/api/3/search/jql returns only issue ids unless `fields` is given
  (`*all` / `*navigable` / a list); `nextPageToken` is absent on the last
  page, `isLast` is always there; an empty (unbounded) JQL is a 400.
- description and comment bodies must be ADF documents, else a 400 with
  Jira's "Operation value must be an Atlassian Document" error.
- 429 answers carry Retry-After (seconds).

Every request is recorded as a Call: tenant, method, path (below the
tenant prefix), query, auth_tenant (the tenant whose key the Authorization
header carried, or None), status, body (parsed JSON request body).  Raw
credentials are never stored or logged.

Credential kinds (DESIGN.md "Added 2026-12-06"), one per tenant:
- classic: Basic email:api_token at the site (/t/T/...) only;
- scoped: Basic email:api_token only through the API gateway,
  /ex/jira/<cloudId>/... and /ex/confluence/<cloudId>/wiki/...; the site
  answers 401 to it, as Atlassian's does;
- service_account: `Authorization: Bearer <api_key>`, gateway only.
The gateway of this fake is its root URL (api_url() gives a tenant's
gateway base); /t/T/_edge/tenant_info answers {"cloudId"} with no auth.
Calls carry `via` ("site" or "gateway") and the auth scheme.

Faults per tenant, from Python (fault()) or any process (POST /__control):
the next N requests answer a status (429 with Retry-After, 500, 503...),
hang S seconds first, or get a huge 200 body of B bytes.  reply() (or a
fault with `body`/`headers`) queues a canned answer instead: exactly that
status, headers and JSON body, in the order queued; the call is recorded
(auth checked) as any other, so a test can program the upstream's answer
and then check the request it got.  The same call
with {"op": "set_key", "tenant": T, "api_token": K[, "email": E]} changes
the key T accepts, as a rotation at Atlassian would (set_credentials()).
"""

import base64
import binascii
import copy
import hmac
import json
import re
import secrets as pysecrets
import threading
import time
from dataclasses import asdict, dataclass, field

from . import secrets
from .httpserver import JsonHandler, StandIn


@dataclass
class Call:
    tenant: str
    method: str
    path: str
    query: dict
    auth_tenant: object        # str or None
    status: int
    body: object = None
    auth_scheme: object = None  # "Basic", "Bearer", ... or None
    via: str = "site"           # "site" or "gateway" (/ex/<product>/<cloudId>)
    at: float = field(default_factory=time.time)

    def to_dict(self):
        return asdict(self)


@dataclass
class Fault:
    count: int = 1
    status: object = None
    retry_after: object = None
    hang: object = None
    body_bytes: object = None
    path: object = None         # only requests whose path contains this
    reason: object = None       # RateLimit-Reason on the answer
    body: object = None         # canned answer: this JSON body, as is
    headers: object = None      # canned answer: these headers too


def adf(text):
    """A one-paragraph Atlassian Document Format document."""
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


def adf_text(doc):
    out = []

    def walk(n):
        if isinstance(n, dict):
            if n.get("type") == "text":
                out.append(n.get("text", ""))
            for c in n.get("content") or []:
                walk(c)
    walk(doc)
    return " ".join(out)


def _is_adf(v):
    return isinstance(v, dict) and v.get("type") == "doc" and \
        isinstance(v.get("content"), list)


SEED = {
    "google": ("GOOG", "Google", [
        ("Search ranking regression in EU datacenter", "In Progress", "Bug",
         "High", "Priya Raman"),
        ("Rotate Gmail relay certificates", "To Do", "Task", "Medium",
         "Tom Becker"),
        ("Quarterly capacity review for Borg cells", "Done", "Story",
         "Medium", None),
        ("Onboard new SRE to the on-call rotation", "To Do", "Task", "Low",
         "Priya Raman"),
        ("Latency spike on Maps tile server", "In Progress", "Bug",
         "Highest", "Ken Ito"),
    ], [("Google SRE runbook", "<p>Page the secondary after 15 minutes."
         " Runbook for the <strong>tile server</strong>.</p>"),
        ("Google onboarding guide", "<p>Welcome to the Google account"
         " team. Ask for Borg access on day one.</p>")]),
    "microsoft": ("MS", "Microsoft", [
        ("Azure AD sync fails for guest users", "In Progress", "Bug", "High",
         "Lena Fischer"),
        ("Teams meeting recording retention policy", "To Do", "Task",
         "Medium", None),
        ("Update Windows build agents to 24H2", "Done", "Task", "Low",
         "Omar Haddad"),
        ("Outlook add-in crashes on macOS", "To Do", "Bug", "High",
         "Lena Fischer"),
    ], [("Microsoft release checklist", "<p>Sign the build, then tag the"
         " release in Azure DevOps.</p>"),
        ("Microsoft architecture overview", "<p>Services talk through"
         " Service Bus; Teams integration lives in the bot tier.</p>")]),
    "smallco": ("SC", "SmallCo", [
        ("Set up invoicing workflow", "To Do", "Task", "Medium",
         "Sam Novak"),
        ("Fix typo on landing page", "Done", "Bug", "Low", None),
        ("Migrate mailing list to the new provider", "In Progress", "Task",
         "Medium", "Sam Novak"),
    ], [("SmallCo handbook", "<p>Everything a new SmallCo employee needs"
         " to know.</p>"),
        ("SmallCo pricing", "<p>Three plans: starter, team and"
         " enterprise.</p>")]),
}

TRANSITIONS = [("11", "To Do", "new"), ("21", "In Progress", "indeterminate"),
               ("31", "Done", "done")]
STATUS_CATEGORY = {name: cat for _, name, cat in TRANSITIONS}
ALL_FIELDS = ("summary", "status", "assignee", "updated", "created",
              "description", "issuetype", "priority", "project", "comment")


def _ts(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(t))


class _Tenant:
    def __init__(self, slug, email, api_token, index, project=None,
                 display=None, seed=True, cred_kind="classic"):
        self.slug = slug
        self.email = email
        self.api_token = api_token
        self.cred_kind = cred_kind
        self.index = index
        # Atlassian's cloud ids are UUIDs; fixed per tenant index.
        self.cloud_id = f"0b6c1f2e-7a4d-4e3b-9c5a-{index:012d}"
        seedrow = SEED.get(slug)
        self.project = project or (seedrow[0] if seedrow else
                                   re.sub(r"[^A-Z]", "", slug.upper())[:4]
                                   or "PRJ")
        self.display = display or (seedrow[1] if seedrow else slug.title())
        self.space_key = self.project
        self.space_id = str(98000 + index)
        self.account_id = f"5b10ac8d82e05b22cc7d{index:04d}"
        self._seed = seed
        self.reset()

    def reset(self):
        self.issues = {}      # key -> issue (internal shape)
        self.pages = {}       # id -> page
        self.next_num = 1
        self.next_comment = 1
        if not self._seed:
            return
        row = SEED.get(self.slug)
        issues = row[2] if row else [
            (f"{self.display} issue {n}", "To Do", "Task", "Medium", None)
            for n in range(1, 4)]
        pages = row[3] if row else [
            (f"{self.display} page {n}", f"<p>{self.display} page {n}.</p>")
            for n in range(1, 3)]
        base_t = 1763700000  # 2025-11-21, fixed so outputs are stable
        for i, (summary, status, itype, prio, who) in enumerate(issues):
            self.add_issue(summary, status=status, issuetype=itype,
                           priority=prio, assignee=who,
                           description=adf(f"{summary}. Tenant"
                                           f" {self.display}."),
                           t=base_t + i * 3600)
        for i, (title, html) in enumerate(pages):
            pid = str(65536 + self.index * 1000 + i + 1)
            self.pages[pid] = {"id": pid, "title": title, "html": html,
                               "created": _ts(base_t + i * 60)}

    def add_issue(self, summary, status="To Do", issuetype="Task",
                  priority="Medium", assignee=None, description=None, t=None):
        n = self.next_num
        self.next_num += 1
        t = t or time.time()
        issue = {"id": str(10000 + self.index * 1000 + n),
                 "key": f"{self.project}-{n}", "summary": summary,
                 "status": status, "issuetype": issuetype,
                 "priority": priority, "assignee": assignee,
                 "description": description, "created": _ts(t),
                 "updated": _ts(t), "comments": []}
        self.issues[issue["key"]] = issue
        return issue

    def find_issue(self, key_or_id):
        if key_or_id in self.issues:
            return self.issues[key_or_id]
        for i in self.issues.values():
            if i["id"] == key_or_id:
                return i
        return None


class _Handler(JsonHandler):
    # A call is recorded as its status line goes out, before the body: a
    # client that has its answer always finds the call already recorded.
    def send_response(self, code, message=None):
        self._status = code
        self._flush_call(code)
        super().send_response(code, message)

    def _flush_call(self, status):
        pending, self._pending = getattr(self, "_pending", None), None
        if pending is not None:
            pending.status = status
            self.standin._record(pending)

    def dispatch(self):
        self._status = None
        self._pending = None
        path, query = self._split()
        fake = self.standin
        if path == "/__control":
            return self._control()
        if path == "/__calls" and self.command == "GET":
            t = query.get("tenant")
            return self.send_json(200, {"calls": [
                c.to_dict() for c in fake.calls
                if t is None or c.tenant == t]})
        via = "site"
        m = re.match(r"^/t/([A-Za-z0-9_-]+)(/.*)?$", path)
        g = re.match(r"^/ex/(jira|confluence)/([A-Za-z0-9-]+)(/.*)?$", path)
        if g:
            t = fake.by_cloud_id(g.group(2))
            rest = g.group(3) or "/"
            # Each product's gateway serves only that product's API.
            if t is None or (g.group(1) == "confluence") != \
                    rest.startswith("/wiki/"):
                return self.send_json(404, {"errorMessages": [
                    "Site not found"]})
            slug, via = t.slug, "gateway"
        elif not m:
            return self.send_json(404, {"errorMessages": ["Site not found"]})
        else:
            slug, rest = m.group(1), m.group(2) or "/"
        if via == "site" and rest == "/_edge/tenant_info" and \
                self.command == "GET" and slug in fake.tenants:
            # Public on Atlassian too: how a scoped token finds its cloud.
            return self.send_json(200, {
                "cloudId": fake.tenants[slug].cloud_id})
        raw = self.read_body()
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        authz = self.headers.get("Authorization")
        auth_tenant = fake._authenticate(authz, via)
        scheme = authz.split(" ", 1)[0] if authz else None
        self._pending = Call(slug, self.command, rest, query, auth_tenant,
                             0, body, scheme, via)
        try:
            self._serve(fake, slug, rest, query, body, raw, auth_tenant)
        finally:
            self._flush_call(self._status or 0)   # no answer: hung or cut

    def _serve(self, fake, slug, rest, query, body, raw, auth_tenant):
        fault = fake._take_fault(slug, rest)
        if fault is not None:
            if fault.hang:
                if fake._closing.wait(fault.hang):
                    self.close_connection = True
                    return
            if fault.status:
                hdrs = {}
                if fault.retry_after is not None:
                    hdrs["Retry-After"] = fault.retry_after
                if fault.reason is not None:
                    hdrs["RateLimit-Reason"] = fault.reason
                if fault.body is not None or fault.headers is not None:
                    hdrs.update(fault.headers or {})
                    return self.send_json(fault.status, fault.body, hdrs)
                msg = {429: "Rate limit exceeded.",
                       503: "Service Unavailable"}.get(fault.status,
                                                        "Internal error")
                return self.send_json(fault.status, {"errorMessages": [msg],
                                                     "errors": {}}, hdrs)
            if fault.body_bytes:
                return self._huge(fault.body_bytes)
        t = fake.tenants.get(slug)
        if t is None:
            return self.send_json(404, {"errorMessages": ["Site not found"]})
        wiki = rest.startswith("/wiki/")
        if auth_tenant != slug:
            hdrs = {"WWW-Authenticate": 'Basic realm="protected-area"',
                    "X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
            if wiki:
                return self.send_json(401, {
                    "statusCode": 401, "message": "Unauthorized", "data": {
                        "authorized": False, "valid": True, "errors": []}},
                    hdrs)
            return self.send_json(401, {"errorMessages": [
                "Client must be authenticated to access this resource."],
                "errors": {}}, hdrs)
        with fake._lock:
            return self._route(fake, t, rest, query, body, raw)

    def _huge(self, n):
        head, tail = b'{"isLast":true,"issues":[],"padding":"', b'"}'
        fill = max(0, n - len(head) - len(tail))
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(head) + fill + len(tail)))
        self.end_headers()
        chunk = b"x" * 65536
        try:
            self.wfile.write(head)
            while fill > 0:
                k = min(fill, len(chunk))
                self.wfile.write(chunk[:k])
                fill -= k
            self.wfile.write(tail)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _control(self):
        if self.command != "POST":
            return self.send_json(405, {"error": "POST only"})
        req = self.read_json() or {}
        fake = self.standin
        op = req.pop("op", "fault")
        if op == "fault":
            tenant = req.pop("tenant", "*")
            try:
                fake.fault(tenant, **req)
            except TypeError as e:
                return self.send_json(400, {"error": str(e)})
        elif op == "clear_faults":
            fake.clear_faults(req.get("tenant"))
        elif op == "reset_calls":
            fake.reset_calls()
        elif op == "reset":
            fake.reset()
        elif op == "set_key":
            # A rotation at Atlassian, from outside (the demo's drills):
            # from now on the tenant accepts only this key. The key is
            # never echoed back.
            tenant, token = req.get("tenant"), req.get("api_token")
            if tenant not in fake.tenants:
                return self.send_json(404, {"error": f"no tenant {tenant!r}"})
            if not isinstance(token, str) or not token or \
                    any(c in token for c in "\r\n:"):
                return self.send_json(400, {"error": "api_token: a one-line"
                                            " string without ':'"})
            email = req.get("email")
            fake.set_credentials(tenant, email=email, api_token=token)
            return self.send_json(200, {"ok": True, "tenant": tenant,
                                        "email": fake.tenants[tenant].email})
        else:
            return self.send_json(400, {"error": f"unknown op {op}"})
        self.send_json(200, {"ok": True})

    # ---- routes ----------------------------------------------------------

    def _route(self, fake, t, rest, query, body, raw):
        cmd = self.command
        base = fake.base_url(t.slug)
        m = re.match(r"^/rest/api/3/issue/([^/]+)(/comment|/transitions)?$",
                     rest)
        if rest == "/rest/api/3/myself" and cmd == "GET":
            return self.send_json(200, {
                "self": f"{base}/rest/api/3/user?accountId={t.account_id}",
                "accountId": t.account_id, "accountType": "atlassian",
                "emailAddress": t.email, "displayName": f"{t.display} bot",
                "active": True, "timeZone": "Etc/UTC", "locale": "en_US"})
        if rest == "/rest/api/3/search/jql" and cmd in ("GET", "POST"):
            args = body if cmd == "POST" and isinstance(body, dict) else query
            return self._search(fake, t, args, base)
        if rest == "/rest/api/3/issue" and cmd == "POST":
            return self._create(t, body, base)
        if m:
            issue = t.find_issue(m.group(1))
            if issue is None:
                return self.send_json(404, {"errorMessages": [
                    "Issue does not exist or you do not have permission to"
                    " see it."], "errors": {}})
            sub = m.group(2)
            if sub is None and cmd == "GET":
                flds = query.get("fields")
                return self.send_json(200, fake._issue_json(
                    t, issue, base, flds.split(",") if flds else ["*all"]))
            if sub == "/comment" and cmd == "POST":
                return self._comment(t, issue, body, base)
            if sub == "/comment" and cmd == "GET":
                cs = issue["comments"]
                return self.send_json(200, {"startAt": 0, "maxResults": 50,
                                            "total": len(cs), "comments": cs})
            if sub == "/transitions" and cmd == "GET":
                return self.send_json(200, {"expand": "transitions",
                                            "transitions": _transitions()})
            if sub == "/transitions" and cmd == "POST":
                tid = ((body or {}).get("transition") or {}).get("id")
                for i, name, _ in TRANSITIONS:
                    if str(tid) == i:
                        issue["status"] = name
                        issue["updated"] = _ts(time.time())
                        return self.send_json(204)
                return self.send_json(400, {"errorMessages": [
                    f"Transition id '{tid}' is not valid for this issue."],
                    "errors": {}})
            return self.send_json(405, {"errorMessages": [
                "Method not allowed"], "errors": {}})
        if rest == "/wiki/rest/api/user/current" and cmd == "GET":
            return self.send_json(200, {
                "type": "known", "accountId": t.account_id,
                "accountType": "atlassian", "email": t.email or "",
                "publicName": f"{t.display} bot",
                "displayName": f"{t.display} bot"})
        if rest == "/wiki/rest/api/search" and cmd == "GET":
            return self._cql(fake, t, query)
        m = re.match(r"^/wiki/api/v2/pages/([^/]+)$", rest)
        if m and cmd == "GET":
            page = t.pages.get(m.group(1))
            if page is None:
                return self.send_json(404, {"errors": [{
                    "status": 404, "code": "NOT_FOUND", "title": "Not Found",
                    "detail": None}]})
            out = {"id": page["id"], "status": "current",
                   "title": page["title"], "spaceId": t.space_id,
                   "parentId": None, "authorId": t.account_id,
                   "createdAt": page["created"],
                   "version": {"number": 1, "createdAt": page["created"]},
                   "body": {},
                   "_links": {"webui": _webui(t, page),
                              "editui": f"/pages/resumedraft.action?draftId="
                                        f"{page['id']}",
                              "base": f"{base}/wiki"}}
            if query.get("body-format") == "storage":
                out["body"] = {"storage": {"representation": "storage",
                                           "value": page["html"]}}
            return self.send_json(200, out)
        return self.send_json(404, {"errorMessages": [
            f"No resource for {cmd} {rest}"], "errors": {}})

    def _search(self, fake, t, args, base):
        jql = (args.get("jql") or "").strip()
        if not jql or re.match(r"(?i)^order\s+by\b", jql):
            return self.send_json(400, {"errorMessages": [
                "Unbounded JQL queries are not allowed here. Please add a"
                " search restriction to your query."], "errors": {}})
        try:
            limit = int(args.get("maxResults") or 50)
        except (TypeError, ValueError):
            return self.send_json(400, {"errorMessages": [
                "maxResults must be a number"], "errors": {}})
        limit = max(1, min(limit, 100))
        start = 0
        tok = args.get("nextPageToken")
        if tok:
            try:
                start = int(base64.urlsafe_b64decode(tok.encode()).decode()
                            .split(":", 1)[1])
            except (ValueError, IndexError, binascii.Error,
                    UnicodeDecodeError):
                return self.send_json(400, {"errorMessages": [
                    "Invalid nextPageToken"], "errors": {}})
        fields = args.get("fields")
        if isinstance(fields, str):
            fields = [f.strip() for f in fields.split(",") if f.strip()]
        hits = _jql_filter(t, jql)
        page = hits[start:start + limit]
        out = {"issues": [fake._issue_json(t, i, base, fields)
                          for i in page]}
        if start + limit < len(hits):
            out["nextPageToken"] = base64.urlsafe_b64encode(
                f"o:{start + limit}".encode()).decode()
            out["isLast"] = False
        else:
            out["isLast"] = True
        return self.send_json(200, out)

    def _create(self, t, body, base):
        f = (body or {}).get("fields") or {}
        errors = {}
        proj = (f.get("project") or {})
        if proj.get("key") != t.project and proj.get("id") != t.space_id:
            errors["project"] = "valid project is required"
        if not (f.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        itype = (f.get("issuetype") or {}).get("name")
        if itype not in ("Task", "Bug", "Story", "Epic"):
            errors["issuetype"] = "valid issue type is required"
        desc = f.get("description")
        if desc is not None and not _is_adf(desc):
            errors["description"] = ("Operation value must be an Atlassian"
                                     " Document (see the Atlassian Document"
                                     " Format)")
        if errors:
            return self.send_json(400, {"errorMessages": [],
                                        "errors": errors})
        issue = t.add_issue(f["summary"], issuetype=itype,
                            priority=(f.get("priority") or {}).get("name",
                                                                   "Medium"),
                            description=desc)
        return self.send_json(201, {
            "id": issue["id"], "key": issue["key"],
            "self": f"{base}/rest/api/3/issue/{issue['id']}"})

    def _comment(self, t, issue, body, base):
        doc = (body or {}).get("body")
        if not _is_adf(doc):
            return self.send_json(400, {"errorMessages": [], "errors": {
                "comment": "Operation value must be an Atlassian Document"
                           " (see the Atlassian Document Format)"}})
        cid = str(20000 + t.index * 1000 + t.next_comment)
        t.next_comment += 1
        now = _ts(time.time())
        c = {"id": cid,
             "self": f"{base}/rest/api/3/issue/{issue['id']}/comment/{cid}",
             "author": {"accountId": t.account_id,
                        "displayName": f"{t.display} bot"},
             "body": doc, "created": now, "updated": now}
        issue["comments"].append(c)
        issue["updated"] = now
        return self.send_json(201, c)

    def _cql(self, fake, t, query):
        cql = (query.get("cql") or "").strip()
        if not cql:
            return self.send_json(400, {
                "statusCode": 400, "data": {"authorized": True,
                                            "valid": False, "errors": []},
                "message": "com.atlassian.confluence.api.service.exceptions."
                           "BadRequestException: CQL query parameter is"
                           " required but was empty"})
        try:
            limit = max(1, min(int(query.get("limit") or 25), 100))
        except ValueError:
            limit = 25
        pages = [p for p in t.pages.values() if _cql_match(t, p, cql)]
        base = fake.base_url(t.slug)
        results = []
        for p in pages[:limit]:
            text = re.sub(r"<[^>]+>", "", p["html"])
            results.append({
                "content": {"id": p["id"], "type": "page",
                            "status": "current", "title": p["title"],
                            "_links": {"webui": _webui(t, p),
                                       "self": f"{base}/wiki/rest/api/"
                                               f"content/{p['id']}"}},
                "title": p["title"], "excerpt": text[:140],
                "url": _webui(t, p),
                "resultGlobalContainer": {"title": t.display,
                                          "displayUrl": f"/spaces/"
                                                        f"{t.space_key}"},
                "entityType": "content", "lastModified": p["created"]})
        return self.send_json(200, {
            "results": results, "start": 0, "limit": limit,
            "size": len(results), "totalSize": len(pages), "cqlQuery": cql,
            "searchDuration": 3,
            "_links": {"base": f"{base}/wiki", "context": "/wiki"}})


def _webui(t, page):
    slug = re.sub(r"\W+", "+", page["title"]).strip("+")
    return f"/spaces/{t.space_key}/pages/{page['id']}/{slug}"


def _transitions():
    return [{"id": i, "name": name, "hasScreen": False, "isGlobal": True,
             "isInitial": False, "isAvailable": True, "isConditional": False,
             "isLooped": False,
             "to": {"name": name, "statusCategory": {"key": cat}}}
            for i, name, cat in TRANSITIONS]


def _clauses(q):
    q = re.split(r"(?i)\border\s+by\b", q)[0]
    return [c.strip() for c in re.split(r"(?i)\s+and\s+", q) if c.strip()]


def _jql_filter(t, jql):
    """project = X, key = X-1, status = "Done", text ~ "word",
    summary ~ "word"; other clauses match everything."""
    issues = list(t.issues.values())
    for c in _clauses(jql):
        m = re.match(r'(?i)^(project|key|status|issuetype|text|summary)\s*'
                     r'(=|~)\s*"?([^"]*)"?$', c)
        if not m:
            continue
        f, op, v = m.group(1).lower(), m.group(2), m.group(3).strip()
        if f == "project":
            issues = [i for i in issues if v.upper() == t.project]
        elif f == "key":
            issues = [i for i in issues if i["key"] == v.upper()]
        elif f in ("status", "issuetype"):
            issues = [i for i in issues if i[f].lower() == v.lower()]
        else:
            def hay(i, f=f):
                s = i["summary"]
                if f == "text":
                    s += " " + adf_text(i["description"]) + " " + " ".join(
                        adf_text(c["body"]) for c in i["comments"])
                return s.lower()
            words = v.lower().split()
            issues = [i for i in issues if all(w in hay(i) for w in words)]
    return issues


def _cql_match(t, page, cql):
    for c in _clauses(cql):
        m = re.match(r'(?i)^(text|title|type|space)\s*(=|~)\s*"?([^"]*)"?$',
                     c)
        if not m:
            continue
        f, v = m.group(1).lower(), m.group(3).strip().lower()
        if f == "type" and v != "page":
            return False
        if f == "space" and v != t.space_key.lower():
            return False
        if f == "title" and v not in page["title"].lower():
            return False
        if f == "text":
            hay = (page["title"] + " " + page["html"]).lower()
            if not all(w in hay for w in v.split()):
                return False
    return True


class FakeAtlassian(StandIn):
    """The fake.  tenants: {slug: (email, api_token)}; default: google,
    microsoft and smallco with fresh random keys (registered as secrets)."""

    name = "atlassian"
    Handler = _Handler

    def __init__(self, tenants=None, port=None):
        super().__init__(port)
        self._lock = threading.RLock()
        self.tenants = {}
        self.calls = []
        self._faults = {}          # tenant or "*" -> [Fault]
        if tenants is None:
            tenants = {s: None for s in SEED}
        for slug, cred in tenants.items():
            email, token = cred if cred else (None, None)
            self.add_tenant(slug, email, token)

    CRED_KINDS = ("classic", "scoped", "service_account")

    def add_tenant(self, slug, email=None, api_token=None, project=None,
                   display=None, seed=True, cred_kind="classic"):
        """cred_kind: classic | scoped | service_account (then api_token
        is the service account's API key, sent as Bearer)."""
        assert cred_kind in self.CRED_KINDS, cred_kind
        email = email or f"bot@{slug}.example.com"
        api_token = api_token or self._new_key(cred_kind)
        self._register(cred_kind, email, api_token)
        with self._lock:
            t = _Tenant(slug, email, api_token, len(self.tenants) + 1,
                        project, display, seed, cred_kind)
            self.tenants[slug] = t
        return t

    @staticmethod
    def _new_key(cred_kind):
        return ("ATSTT3xFfGF0" if cred_kind == "service_account" else
                "ATATT3xFfGF0") + pysecrets.token_urlsafe(36)

    @staticmethod
    def _register(cred_kind, email, key):
        if cred_kind == "service_account":
            secrets.register(key)
        else:
            secrets.register_basic(email, key)

    def credentials(self, tenant):
        """What goes into Vault for this tenant: {'email', 'api_token'},
        or {'api_key'} for a service account."""
        t = self.tenants[tenant]
        if t.cred_kind == "service_account":
            return {"api_key": t.api_token}
        return {"email": t.email, "api_token": t.api_token}

    def set_credentials(self, tenant, email=None, api_token=None):
        """Rotate: from now on only the new key works.  Returns it."""
        t = self.tenants[tenant]
        with self._lock:
            t.email = email or t.email
            t.api_token = api_token or self._new_key(t.cred_kind)
        self._register(t.cred_kind, t.email, t.api_token)
        return self.credentials(tenant)

    def base_url(self, tenant):
        return f"{self.url}/t/{tenant}"

    @property
    def gateway(self):
        """This fake's stand-in for https://api.atlassian.com."""
        return self.url

    def cloud_id(self, tenant):
        return self.tenants[tenant].cloud_id

    def api_url(self, tenant, product="jira"):
        """Where a scoped token or service-account key is sent:
        <gateway>/ex/<jira|confluence>/<cloudId>."""
        return f"{self.url}/ex/{product}/{self.tenants[tenant].cloud_id}"

    def by_cloud_id(self, cloud_id):
        with self._lock:
            for t in self.tenants.values():
                if t.cloud_id == cloud_id:
                    return t
        return None

    def project(self, tenant):
        return self.tenants[tenant].project

    def issue(self, tenant, key):
        """Current state of an issue (internal shape; a copy)."""
        with self._lock:
            return copy.deepcopy(self.tenants[tenant].find_issue(key))

    def _authenticate(self, header, via="site"):
        """The tenant whose key the header carries, if that key is valid
        where it was sent: a classic token only at the site, a scoped
        token or a service-account key only through the gateway."""
        if not header:
            return None
        with self._lock:
            tenants = list(self.tenants.values())
        if header.startswith("Bearer "):
            key = header[7:].strip()
            for t in tenants:
                if t.cred_kind == "service_account" and via == "gateway" and \
                        hmac.compare_digest(t.api_token.encode(), key.encode()):
                    return t.slug
            return None
        if not header.startswith("Basic "):
            return None
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True)
            email, token = raw.decode().split(":", 1)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        for t in tenants:
            if t.cred_kind == "service_account" or \
                    (t.cred_kind == "scoped") != (via == "gateway"):
                continue
            if hmac.compare_digest(t.email.encode(), email.encode()) and \
                    hmac.compare_digest(t.api_token.encode(), token.encode()):
                return t.slug
        return None

    # ---- calls -----------------------------------------------------------

    def _record(self, call):
        with self._lock:
            self.calls.append(call)

    def calls_for(self, tenant):
        with self._lock:
            return [c for c in self.calls if c.tenant == tenant]

    def reset_calls(self):
        with self._lock:
            self.calls.clear()

    def reset(self):
        """Seed data back, no calls, no faults (keys unchanged)."""
        with self._lock:
            for t in self.tenants.values():
                t.reset()
            self.calls.clear()
            self._faults.clear()

    # ---- faults ----------------------------------------------------------

    def fault(self, tenant="*", status=None, count=1, retry_after=None,
              hang=None, body_bytes=None, path=None, reason=None, body=None,
              headers=None):
        """The next `count` requests for tenant ('*' = any) misbehave:
        answer `status` (with Retry-After and RateLimit-Reason if given),
        and/or hang `hang` seconds first, or send a 200 body of
        `body_bytes` bytes.  With `body` or `headers` the answer is exactly
        `status`, those headers and that JSON body (see reply())."""
        f = Fault(int(count), status, retry_after, hang, body_bytes, path,
                  reason, body, headers)
        with self._lock:
            self._faults.setdefault(tenant, []).append(f)

    def reply(self, tenant, status=200, body=None, headers=None, path=None,
              count=1):
        """The next `count` requests for tenant (whose path contains `path`,
        if given) get this canned answer instead of the fake's own, in the
        order queued.  body None: no body."""
        self.fault(tenant, status=status, count=count, path=path,
                   body=body, headers=dict(headers or {}))

    def faults_pending(self):
        """How many queued faults and canned replies are still unused."""
        with self._lock:
            return sum(f.count for lst in self._faults.values() for f in lst)

    def clear_faults(self, tenant=None):
        with self._lock:
            if tenant is None:
                self._faults.clear()
            else:
                self._faults.pop(tenant, None)

    def _take_fault(self, tenant, path):
        with self._lock:
            for key in (tenant, "*"):
                lst = self._faults.get(key) or []
                for f in lst:
                    if f.path and f.path not in path:
                        continue
                    f.count -= 1
                    if f.count <= 0:
                        lst.remove(f)
                    return f
        return None

    # ---- rendering -------------------------------------------------------

    def _issue_json(self, t, issue, base, fields):
        out = {"id": issue["id"]}
        if not fields or fields == ["id"]:
            return out
        want = set()
        for f in fields:
            if f in ("*all", "*navigable"):
                want |= set(ALL_FIELDS)
                if f == "*navigable":
                    want.discard("comment")
            elif not f.startswith("-"):
                want.add(f)
        for f in fields:
            if f.startswith("-"):
                want.discard(f[1:])
        out.update({"key": issue["key"],
                    "self": f"{base}/rest/api/3/issue/{issue['id']}"})
        full = {
            "summary": issue["summary"],
            "status": {"name": issue["status"], "statusCategory": {
                "key": STATUS_CATEGORY.get(issue["status"], "new")}},
            "assignee": ({"accountId": f"acct-{issue['assignee']}",
                          "displayName": issue["assignee"]}
                         if issue["assignee"] else None),
            "updated": issue["updated"], "created": issue["created"],
            "description": issue["description"],
            "issuetype": {"name": issue["issuetype"]},
            "priority": {"name": issue["priority"]},
            "project": {"key": t.project, "name": t.display},
            "comment": {"comments": issue["comments"],
                        "total": len(issue["comments"]), "startAt": 0,
                        "maxResults": len(issue["comments"])},
        }
        out["fields"] = {k: v for k, v in full.items() if k in want}
        return out
