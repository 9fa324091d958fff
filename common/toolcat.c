/* toolcat: the built-in tools' names, kinds and access, one row each. */
#include <string.h>

#include "toolcat.h"

const struct toolcat_entry toolcat[TC__COUNT] = {
	[TC_JIRA_SEARCH] =		{ "jira_search", "jira", TOOL_READ },
	[TC_JIRA_GET_ISSUE] =		{ "jira_get_issue", "jira", TOOL_READ },
	[TC_JIRA_CREATE_ISSUE] =	{ "jira_create_issue", "jira", TOOL_WRITE },
	[TC_JIRA_ADD_COMMENT] =		{ "jira_add_comment", "jira", TOOL_WRITE },
	[TC_JIRA_GET_TRANSITIONS] =	{ "jira_get_transitions", "jira", TOOL_READ },
	[TC_JIRA_TRANSITION_ISSUE] =	{ "jira_transition_issue", "jira", TOOL_WRITE },
	[TC_CONFLUENCE_SEARCH] =	{ "confluence_search", "confluence", TOOL_READ },
	[TC_CONFLUENCE_GET_PAGE] =	{ "confluence_get_page", "confluence", TOOL_READ },
};

const size_t toolcat_len = TC__COUNT;

const struct toolcat_entry *
toolcat_find(const char *name)
{
	if (name == NULL)
		return NULL;
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
