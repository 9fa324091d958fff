/*
 * adf: plain text <-> Atlassian Document Format, and Confluence storage
 * XHTML -> plain text. Both readers are bounded (nesting depth, output
 * grows in one buffer) because the input comes from an upstream.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adf.h"
#include "buf.h"
#include "jscan.h"
#include "utf8.h"

#define ADF_MAX_DEPTH	64

/* --- plain text -> ADF -------------------------------------------------- */

static int
adf_add_text(json_t *content, const char *s, size_t n)
{
	json_t *t;

	if (n == 0)
		return 0;
	t = json_pack("{s:s,s:s%}", "type", "text", "text", s, n);
	return t == NULL ? -1 : json_array_append_new(content, t);
}

json_t *
adf_from_text(const char *text)
{
	json_t		*doc, *blocks, *para = NULL, *pc = NULL;
	const char	*p = text, *line_end;
	int		 blank_run = 1;

	doc = json_pack("{s:s,s:i,s:[]}", "type", "doc", "version", 1, "content");
	if (doc == NULL)
		return NULL;
	blocks = json_object_get(doc, "content");
	while (p != NULL && *p != '\0') {
		size_t	n;

		line_end = strchr(p, '\n');
		n = line_end != NULL ? (size_t)(line_end - p) : strlen(p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0) {
			blank_run = 1;	/* the next text line opens a paragraph */
		} else {
			if (blank_run || para == NULL) {
				para = json_pack("{s:s,s:[]}", "type", "paragraph", "content");
				if (para == NULL || json_array_append_new(blocks, para) == -1)
					goto fail;
				pc = json_object_get(para, "content");
			} else if (json_array_append_new(pc, json_pack("{s:s}", "type",
			    "hardBreak")) == -1)
				goto fail;
			if (adf_add_text(pc, p, n) == -1)
				goto fail;
			blank_run = 0;
		}
		p = line_end != NULL ? line_end + 1 : NULL;
	}
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

/* End the current line unless the buffer is empty or already does. */
static void
adf_newline(struct buf *b)
{
	if (b->len > 0 && b->p[b->len - 1] != '\n')
		buf_put(b, "\n", 1);
}

/* Trim trailing whitespace and squeeze runs of blank lines; hand over. */
static char *
adf_finish(struct buf *b)
{
	size_t	 w = 0, nl = 0;

	if (b->failed)
		return NULL;
	if (b->p == NULL)
		return strdup("");
	for (size_t r = 0; r < b->len; r++) {
		char c = b->p[r];

		if (c == '\n') {
			while (w > 0 && (b->p[w - 1] == ' ' || b->p[w - 1] == '\t'))
				w--;
			if (++nl > 2 || w == 0)
				continue;
		} else
			nl = 0;
		b->p[w++] = c;
	}
	while (w > 0 && (b->p[w - 1] == '\n' || b->p[w - 1] == ' '))
		w--;
	b->p[w] = '\0';
	return b->p;
}

/* --- ADF -> plain text ---------------------------------------------------- */

/* Append the decoded string t (nothing when t is not a string). */
static void
adf_put_tok(struct buf *b, const struct jscan *js, int t)
{
	size_t	 len;
	char	*d;

	if (jscan_type(js, t) != JSCAN_STRING)
		return;
	jscan_raw(js, t, &len);
	/* Room for the raw length (never less than the decoded one). */
	if (len == 0 || (d = buf_reserve(b, len)) == NULL)
		return;
	buf_added(b, jscan_unescape(js, t, d));
}

/* Is string t one of the names? Which one (1-based), or 0. */
static int
adf_type_is(const struct jscan *js, int t, const char *const *names)
{
	for (int i = 0; names[i] != NULL; i++)
		if (jscan_streq(js, t, names[i]))
			return i + 1;
	return 0;
}

static void
adf_walk(struct buf *b, const struct jscan *js, int n, int depth, int list_index)
{
	static const char *const inline_atoms[] = { "mention", "emoji", "status", "date", NULL };
	static const char *const cards[] = { "inlineCard", "blockCard", NULL };
	static const char *const opens[] = { "paragraph", "heading", "codeBlock", "blockquote",
		"table", "tableRow", "panel", "bulletList", "orderedList", NULL };
	static const char *const closes[] = { "paragraph", "heading", "codeBlock", "tableRow",
		NULL };
	int		 type, content, attrs, c;
	uint32_t	 i;
	char		 num[32];

	if (depth > ADF_MAX_DEPTH || jscan_type(js, n) != JSCAN_OBJECT)
		return;
	/* A missing or non-string type matches no name, as "" did. */
	type = jscan_get(js, n, "type");
	content = jscan_get(js, n, "content");
	attrs = jscan_get(js, n, "attrs");
	if (jscan_streq(js, type, "text")) {
		adf_put_tok(b, js, jscan_get(js, n, "text"));
		return;
	}
	if (jscan_streq(js, type, "hardBreak")) {
		buf_put(b, "\n", 1);
		return;
	}
	if (adf_type_is(js, type, inline_atoms)) {
		int t = jscan_get(js, attrs, "text");

		if (jscan_type(js, t) != JSCAN_STRING)
			t = jscan_get(js, attrs, "shortName");
		adf_put_tok(b, js, t);
		return;
	}
	if (adf_type_is(js, type, cards)) {
		adf_put_tok(b, js, jscan_get(js, attrs, "url"));
		return;
	}
	if (jscan_streq(js, type, "rule")) {
		adf_newline(b);
		buf_puts(b, "---\n");
		return;
	}
	if (jscan_streq(js, type, "listItem")) {
		adf_newline(b);
		for (int d = 0; d < depth / 2 - 1 && d < 8; d++)
			buf_puts(b, "  ");
		if (list_index > 0) {
			snprintf(num, sizeof num, "%d. ", list_index);
			buf_puts(b, num);
		} else
			buf_puts(b, "- ");
	}
	if (adf_type_is(js, type, opens)) {
		/* A paragraph inside a list item continues the "- " line. */
		if (!jscan_streq(js, type, "paragraph") || b->len < 2 ||
		    strcmp(b->p + b->len - 2, "- ") != 0)
			adf_newline(b);
	}
	{
		int ordered = jscan_streq(js, type, "orderedList");
		int row = jscan_streq(js, type, "tableRow");

		JSCAN_ITEMS(js, content, i, c) {
			adf_walk(b, js, c, depth + 1, ordered ? (int)i + 1 : 0);
			if (row)
				buf_puts(b, " | ");
		}
	}
	if (adf_type_is(js, type, closes)) {
		adf_newline(b);
		if (depth <= 1)
			buf_put(b, "\n", 1);	/* a blank line between top-level blocks */
	}
}

char *
adf_tok_to_text(const struct jscan *js, int t)
{
	struct buf b = { 0 };

	if (jscan_type(js, t) == JSCAN_STRING) {	/* old Jira API v2 bodies are plain strings */
		adf_put_tok(&b, js, t);
		return buf_steal(&b, NULL);
	}
	adf_walk(&b, js, t, 0, 0);
	return adf_finish(&b);
}

char *
adf_to_text(const json_t *node)
{
	struct jscan	 js;
	char		*text, *out;
	size_t		 len;

	if (json_is_string(node))
		return strdup(json_string_value(node));
	/* One walker, over tokens: a tree is written out and scanned. */
	if (node == NULL)
		return strdup("");
	if ((text = json_dumps(node, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return NULL;
	len = strlen(text);
	out = jscan_parse(&js, text, len, len, 0, JSCAN_ANY) == 0 ? adf_tok_to_text(&js, 0) : NULL;
	jscan_free(&js);
	free(text);
	return out;
}

/* --- storage XHTML -> plain text ------------------------------------------ */

static const struct {
	const char	*name;
	const char	*text;
} adf_entities[] = {
	{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
	{ "nbsp", " " }, { "ndash", "-" }, { "mdash", "-" }, { "hellip", "..." },
	{ "rsquo", "'" }, { "lsquo", "'" }, { "rdquo", "\"" }, { "ldquo", "\"" },
};

/* Decode one entity at p ('&'); returns bytes consumed, 0 if not one. */
static size_t
adf_entity(struct buf *b, const char *p)
{
	/* Entities are short: look no further, or a run of '&' costs a scan
	 * of the rest of the page each. */
	const char	*semi = memchr(p, ';', strnlen(p, 12));
	size_t		 n;
	char		 utf8[UTF8_MAX];
	unsigned long	 cp;
	char		*end;

	if (semi == NULL || (n = (size_t)(semi - p)) < 2 || n > 10)
		return 0;
	if (p[1] == '#') {
		cp = (p[2] == 'x' || p[2] == 'X') ? strtoul(p + 3, &end, 16) :
		    strtoul(p + 2, &end, 10);
		if (end != semi || cp == 0 || cp > 0x10FFFF)
			return 0;
		n = utf8_encode(cp, utf8);
		buf_put(b, utf8, n);
		return (size_t)(semi - p) + 1;
	}
	for (size_t i = 0; i < sizeof adf_entities / sizeof adf_entities[0]; i++) {
		if (strlen(adf_entities[i].name) == n - 1 &&
		    strncmp(p + 1, adf_entities[i].name, n - 1) == 0) {
			buf_puts(b, adf_entities[i].text);
			return n + 1;
		}
	}
	return 0;
}

/* Does the tag at p ("<name" or "</name") have this name? */
static int
adf_tag_is(const char *p, const char *name)
{
	size_t n = strlen(name);

	p += (p[1] == '/') ? 2 : 1;
	return strncasecmp(p, name, n) == 0 && (p[n] == '>' || p[n] == ' ' || p[n] == '/' ||
	    p[n] == '\t' || p[n] == '\n');
}

/* Case-insensitive strstr for a closing tag. */
static const char *
adf_find_close(const char *p, const char *tag)
{
	size_t n = strlen(tag);

	for (; *p != '\0'; p++)
		if (strncasecmp(p, tag, n) == 0)
			return p;
	return NULL;
}

char *
adf_storage_to_text(const char *html)
{
	static const char *const blocks[] = {
		"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
		"table", "blockquote", "pre", "hr",
	};
	struct buf	 b = { 0 };
	const char	*p = html, *gt;

	while (p != NULL && *p != '\0') {
		if (*p == '<') {
			if (strncmp(p, "<!--", 4) == 0) {
				const char *endc = strstr(p + 4, "-->");

				p = endc != NULL ? endc + 3 : NULL;
				continue;
			}
			if (strncmp(p, "<![CDATA[", 9) == 0) {
				const char *endc = strstr(p + 9, "]]>");
				size_t n = endc != NULL ? (size_t)(endc - p - 9) : strlen(p + 9);

				buf_put(&b, p + 9, n);
				p = endc != NULL ? endc + 3 : NULL;
				continue;
			}
			if (adf_tag_is(p, "script") || adf_tag_is(p, "style")) {
				const char *close = p[1] == '/' ? NULL : adf_find_close(p + 1,
				    adf_tag_is(p, "script") ? "</script" : "</style");

				/* Unclosed: the rest is script or style, not text.
				 * Stopping also keeps <script><script>... linear. */
				if (close == NULL && p[1] != '/')
					break;
				if (close != NULL)
					p = close;
			}
			if (adf_tag_is(p, "li") && p[1] != '/') {
				adf_newline(&b);
				buf_puts(&b, "- ");
			} else if (adf_tag_is(p, "td") || adf_tag_is(p, "th")) {
				if (p[1] == '/')
					buf_puts(&b, " | ");
			} else {
				for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
					if (adf_tag_is(p, blocks[i])) {
						adf_newline(&b);
						if (p[1] == '/' && strcmp(blocks[i], "p") == 0)
							buf_put(&b, "\n", 1);
						break;
					}
				}
			}
			if ((gt = strchr(p, '>')) == NULL)
				break;
			p = gt + 1;
			continue;
		}
		if (*p == '&') {
			size_t used = adf_entity(&b, p);

			if (used > 0) {
				p += used;
				continue;
			}
		}
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			if (b.len > 0 && b.p[b.len - 1] != ' ' && b.p[b.len - 1] != '\n')
				buf_put(&b, " ", 1);
		} else
			buf_put(&b, p, 1);
		p++;
	}
	return adf_finish(&b);
}
