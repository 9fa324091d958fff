/*
 * adf: text conversions for Atlassian bodies. Jira wants descriptions and
 * comments as Atlassian Document Format (ADF) JSON; models read and write
 * plain text. Confluence pages come as "storage" XHTML.
 */
#ifndef TG_ADF_H
#define TG_ADF_H

#include <jansson.h>

/* Plain text -> an ADF doc: blank lines separate paragraphs, single line
 * breaks become hardBreak nodes. NULL on ENOMEM. */
json_t	*adf_from_text(const char *text);
/* An ADF doc (or any node) -> plain text; caller frees. Lists become "- "
 * lines, mentions and cards their visible text. NULL on ENOMEM. */
char	*adf_to_text(const json_t *node);
struct jscan;
/* The same for token t of a scanned answer (forwarder/jscan.h). */
char	*adf_tok_to_text(const struct jscan *, int t);
/* Confluence storage XHTML -> plain text; caller frees. */
char	*adf_storage_to_text(const char *html);

#endif
