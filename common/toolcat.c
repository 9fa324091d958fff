/* toolcat: the built-in Atlassian tools, one row each. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "toolcat.h"

#define ISSUE_KEY_SCHEMA \
	"\"issue_key\":{\"type\":\"string\",\"pattern\":\"^[A-Z][A-Z0-9_]+-[0-9]+$\"," \
	"\"description\":\"Issue key, e.g. PROJ-123\"}"

const struct toolcat_entry toolcat[] = {
	{ "jira_search", "jira", TOOL_READ, "Search Jira issues",
	  "Search issues with JQL; returns key, summary, status, assignee, updated and a link.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"jql\":{\"type\":\"string\",\"description\":\"JQL query, e.g. project = PROJ AND status = \\\"In Progress\\\"\"},"
	  "\"max_results\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,\"default\":20},"
	  "\"next_page_token\":{\"type\":\"string\",\"description\":\"From a previous result, for the next page\"}},"
	  "\"required\":[\"jql\"],\"additionalProperties\":false}",
	  "GET /rest/api/3/search/jql" },
	{ "jira_get_issue", "jira", TOOL_READ, "Get a Jira issue",
	  "Fetch one issue: summary, status, assignee, priority, description as plain text.",
	  "{\"type\":\"object\",\"properties\":{" ISSUE_KEY_SCHEMA "},"
	  "\"required\":[\"issue_key\"],\"additionalProperties\":false}",
	  "GET /rest/api/3/issue/{issue_key}" },
	{ "jira_create_issue", "jira", TOOL_WRITE, "Create a Jira issue",
	  "Create an issue in a project; the description is plain text.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"project_key\":{\"type\":\"string\",\"pattern\":\"^[A-Z][A-Z0-9_]+$\"},"
	  "\"summary\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":255},"
	  "\"description\":{\"type\":\"string\",\"maxLength\":32000},"
	  "\"issue_type\":{\"type\":\"string\",\"default\":\"Task\"}},"
	  "\"required\":[\"project_key\",\"summary\"],\"additionalProperties\":false}",
	  "POST /rest/api/3/issue" },
	{ "jira_add_comment", "jira", TOOL_WRITE, "Comment on a Jira issue",
	  "Add a plain-text comment to an issue.",
	  "{\"type\":\"object\",\"properties\":{" ISSUE_KEY_SCHEMA ","
	  "\"body\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":32000}},"
	  "\"required\":[\"issue_key\",\"body\"],\"additionalProperties\":false}",
	  "POST /rest/api/3/issue/{issue_key}/comment" },
	{ "jira_get_transitions", "jira", TOOL_READ, "List Jira transitions",
	  "List the workflow transitions available for an issue (id and name).",
	  "{\"type\":\"object\",\"properties\":{" ISSUE_KEY_SCHEMA "},"
	  "\"required\":[\"issue_key\"],\"additionalProperties\":false}",
	  "GET /rest/api/3/issue/{issue_key}/transitions" },
	{ "jira_transition_issue", "jira", TOOL_WRITE, "Move a Jira issue",
	  "Apply a workflow transition (from jira_get_transitions) to an issue.",
	  "{\"type\":\"object\",\"properties\":{" ISSUE_KEY_SCHEMA ","
	  "\"transition_id\":{\"type\":\"string\",\"pattern\":\"^[0-9]+$\"}},"
	  "\"required\":[\"issue_key\",\"transition_id\"],\"additionalProperties\":false}",
	  "POST /rest/api/3/issue/{issue_key}/transitions" },
	{ "confluence_search", "confluence", TOOL_READ, "Search Confluence",
	  "Search pages with CQL; returns id, title, excerpt and a link.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"cql\":{\"type\":\"string\",\"description\":\"CQL, e.g. type = page AND text ~ \\\"roadmap\\\"\"},"
	  "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,\"default\":10}},"
	  "\"required\":[\"cql\"],\"additionalProperties\":false}",
	  "GET /wiki/rest/api/search" },
	{ "confluence_get_page", "confluence", TOOL_READ, "Read a Confluence page",
	  "Fetch one page with its body converted to plain text.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"page_id\":{\"type\":\"string\",\"pattern\":\"^[0-9]+$\"}},"
	  "\"required\":[\"page_id\"],\"additionalProperties\":false}",
	  "GET /wiki/api/v2/pages/{page_id}" },
};

const size_t toolcat_len = sizeof toolcat / sizeof toolcat[0];

const struct toolcat_entry *
toolcat_find(const char *name)
{
	for (size_t i = 0; i < toolcat_len; i++)
		if (strcmp(toolcat[i].name, name) == 0)
			return &toolcat[i];
	return NULL;
}

int
toolcat_role_allows(const char *role, enum tool_access access)
{
	if (strcmp(role, "editor") == 0 || strcmp(role, "admin") == 0)
		return 1;
	return strcmp(role, "viewer") == 0 && access == TOOL_READ;
}

int
toolcat_kind_known(const char *kind)
{
	for (size_t i = 0; i < toolcat_len; i++)
		if (strcmp(toolcat[i].kind, kind) == 0)
			return 1;
	return 0;
}

static json_t		*toolcat_schemas[sizeof toolcat / sizeof toolcat[0]];
static pthread_once_t	 toolcat_once = PTHREAD_ONCE_INIT;

/* Parsing them on every tools/list and tools/call cost ~10 % of a call. */
static void
toolcat_parse_schemas(void)
{
	for (size_t i = 0; i < toolcat_len; i++)
		if ((toolcat_schemas[i] = json_loads(toolcat[i].input_schema, 0, NULL)) == NULL)
			abort();	/* a typo in the table above; the unit test catches it */
}

const json_t *
toolcat_schema(const struct toolcat_entry *te)
{
	pthread_once(&toolcat_once, toolcat_parse_schemas);
	return toolcat_schemas[te - toolcat];
}

void
toolcat_docs(FILE *f)
{
	fputs("# Built-in tools\n\n<!-- generated from common/toolcat.c by "
	    "`tenantgate-forwarder --tools-docs`; do not edit -->\n\n"
	    "Each tenant integration of kind `jira` or `confluence` offers these tools, "
	    "named `<tenant>__<tool>` in MCP and reached at "
	    "`POST /tools/{tenant}/{tool}/execute` in the OpenAPI server. "
	    "Members with the `viewer` role get the read tools only.\n\n"
	    "| tool | kind | access | upstream | arguments (* = required) | what it does |\n"
	    "|---|---|---|---|---|---|\n", f);
	for (size_t i = 0; i < toolcat_len; i++) {
		const struct toolcat_entry	*te = &toolcat[i];
		const json_t			*schema = toolcat_schema(te);
		const json_t			*req = json_object_get(schema, "required");
		const char			*key;
		json_t				*prop, *v;
		size_t				 k;
		int				 first = 1;

		fprintf(f, "| `%s` | %s | %s | `%s` | ", te->name, te->kind,
		    te->access == TOOL_READ ? "read" : "write", te->upstream);
		json_object_foreach((json_t *)json_object_get(schema, "properties"), key, prop) {
			int required = 0;

			json_array_foreach(req, k, v)
				required |= strcmp(json_string_value(v), key) == 0;
			fprintf(f, "%s`%s`%s %s", first ? "" : ", ", key, required ? "*" : "",
			    json_string_value(json_object_get(prop, "type")));
			first = 0;
		}
		fprintf(f, " | %s |\n", te->description);
	}
}
