#!/usr/bin/env python3
"""Write the static upstream's fixed answers (bench/bodies/*.json).

Shaped like Jira Cloud and Confluence Cloud answers to the requests the
built-in tools send (docs/tools.md), with the fields Jira Cloud really
returns (self links, avatar URLs, status categories), so that the
forwarder parses and trims as much as it would in production.  Each body
is 4 to 6 KB.  Deterministic: run it again and nothing changes.

    .venv/bin/python bench/mkbodies.py      (writes bench/bodies/)
"""

import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent / "bodies"
SITE = "https://example-bench.atlassian.net"
SUMMARIES = ["Checkout page times out under load",
             "Rotate the staging database password",
             "Search results miss issues updated today",
             "Add audit log export to the admin console",
             "Upgrade the payment SDK to 4.2",
             "Flaky integration test in billing-service"]
PEOPLE = [("Ada Lovelace", "712020:0e1d3c2a-8f1b-4b51-9c8a-1d7e2f3a4b5c"),
          ("Alan Turing", "712020:1f2e4d3b-9a2c-4c62-8d9b-2e8f3a4b5c6d")]


def avatars(acct):
    base = f"https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/{acct}/avatar.png"
    return {k: f"{base}?s={s}" for k, s in
            (("48x48", 48), ("24x24", 24), ("16x16", 16), ("32x32", 32))}


def user(i):
    name, acct = PEOPLE[i % len(PEOPLE)]
    return {"self": f"{SITE}/rest/api/3/user?accountId={acct}",
            "accountId": acct, "avatarUrls": avatars(acct),
            "displayName": name, "active": True,
            "timeZone": "Europe/London", "accountType": "atlassian"}


def status(i):
    name, cid, key, color = [("To Do", 2, "new", "blue-gray"),
                             ("In Progress", 4, "indeterminate", "yellow"),
                             ("Done", 3, "done", "green")][i % 3]
    return {"self": f"{SITE}/rest/api/3/status/1000{i % 3}",
            "description": "", "iconUrl": f"{SITE}/", "name": name,
            "id": f"1000{i % 3}",
            "statusCategory": {"self": f"{SITE}/rest/api/3/statuscategory/{cid}",
                               "id": cid, "key": key, "colorName": color,
                               "name": name}}


def fields(i, full=False):
    f = {"summary": SUMMARIES[i % len(SUMMARIES)],
         "status": status(i),
         "assignee": user(i),
         "updated": f"2026-11-2{i % 10}T09:1{i % 10}:00.000+0000",
         "priority": {"self": f"{SITE}/rest/api/3/priority/3",
                      "iconUrl": f"{SITE}/images/icons/priorities/medium.svg",
                      "name": "Medium", "id": "3"},
         "issuetype": {"self": f"{SITE}/rest/api/3/issuetype/10001",
                       "id": "10001", "description": "A small piece of work.",
                       "iconUrl": f"{SITE}/rest/api/2/universal_avatar/view/type/issuetype/avatar/10318?size=medium",
                       "name": "Task", "subtask": False, "avatarId": 10318,
                       "hierarchyLevel": 0}}
    if full:
        f.update({"reporter": user(i + 1),
                  "project": {"self": f"{SITE}/rest/api/3/project/10000",
                              "id": "10000", "key": "GOOG", "name": "Google",
                              "projectTypeKey": "software", "simplified": True,
                              "avatarUrls": avatars("project-10000")},
                  "created": "2026-11-01T08:00:00.000+0000",
                  "labels": ["backend", "customer-reported"],
                  "description": {"type": "doc", "version": 1, "content": [
                      {"type": "paragraph", "content": [{"type": "text", "text":
                          "Customers report that the checkout page spins for"
                          " more than thirty seconds during the evening peak."
                          " The p99 of the cart service doubles at the same"
                          " time; the database looks idle."}]},
                      {"type": "paragraph", "content": [{"type": "text", "text":
                          "Steps: add three items, open checkout, wait. Seen"
                          " in eu-west and us-east; not in staging."}]},
                      {"type": "paragraph", "content": [{"type": "text", "text":
                          "Workaround: scale the cart service to six replicas"
                          " before 18:00 UTC. Root cause still unknown; the"
                          " connection pool metrics are the next place to"
                          " look, then the slow query log."}]}]}})
    return f


def issue(i, full=False):
    return {"expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
            "id": str(10001 + i), "self": f"{SITE}/rest/api/3/issue/{10001 + i}",
            "key": f"GOOG-{i + 1}", "fields": fields(i, full)}


def page(i):
    return {"content": {"id": str(65537 + i), "type": "page", "status": "current",
                        "title": f"Runbook: {SUMMARIES[i % len(SUMMARIES)]}",
                        "_links": {"webui": f"/spaces/GOOG/pages/{65537 + i}/Runbook",
                                   "self": f"{SITE}/wiki/rest/api/content/{65537 + i}"}},
            "title": f"Runbook: {SUMMARIES[i % len(SUMMARIES)]}",
            "excerpt": "When the checkout page times out, first look at the"
                       " cart service dashboards, then at the connection pool"
                       " of the payments database.",
            "url": f"/spaces/GOOG/pages/{65537 + i}/Runbook",
            "resultGlobalContainer": {"title": "Google", "displayUrl": "/spaces/GOOG"},
            "entityType": "content", "lastModified": "2026-11-20T10:00:00.000Z"}


def bodies():
    html = "".join(f"<h2>Step {n}</h2><p>{SUMMARIES[n % 6]}: check the"
                   " dashboards, then the logs of the service named in the"
                   " alert, then page the owner if the error rate stays"
                   " above one percent for ten minutes.</p>"
                   for n in range(1, 19))
    return {
        "search": {"issues": [issue(i) for i in range(3)],
                   "nextPageToken": "CAEaAggB", "isLast": False},
        "issue": issue(0, full=True),
        "cql": {"results": [page(i) for i in range(7)], "start": 0,
                "limit": 25, "size": 7, "totalSize": 7,
                "cqlQuery": "space = GOOG and text ~ checkout",
                "searchDuration": 41,
                "_links": {"base": f"{SITE}/wiki", "context": "/wiki"}},
        "page": {"id": "65537", "status": "current",
                 "title": "Runbook: checkout timeouts", "spaceId": "98001",
                 "parentId": "65536", "authorId": PEOPLE[0][1],
                 "createdAt": "2026-11-01T08:00:00.000Z",
                 "version": {"number": 7, "createdAt": "2026-11-20T10:00:00.000Z",
                             "message": "", "minorEdit": False,
                             "authorId": PEOPLE[1][1]},
                 "body": {"storage": {"representation": "storage", "value": html}},
                 "_links": {"webui": "/spaces/GOOG/pages/65537/Runbook",
                            "editui": "/pages/resumedraft.action?draftId=65537",
                            "tinyui": "/x/AQAB", "base": f"{SITE}/wiki"}},
        "transitions": {"transitions": [
            {"id": i, "name": n, "hasScreen": False, "isGlobal": True,
             "isInitial": False, "isAvailable": True, "isConditional": False,
             "isLooped": False, "to": status(k)}
            for k, (i, n) in enumerate((("11", "To Do"), ("21", "In Progress"),
                                        ("31", "Done")))]},
    }


def main():
    OUT.mkdir(exist_ok=True)
    for name, doc in bodies().items():
        text = json.dumps(doc, separators=(",", ":")) + "\n"
        (OUT / f"{name}.json").write_text(text)
        print(f"{name}.json {len(text)} bytes")


if __name__ == "__main__":
    main()
