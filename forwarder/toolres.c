/* toolres: one serialised tool result, rendered as MCP or OpenAPI. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jbuf.h"
#include "secret.h"
#include "toolres.h"

void
toolres_set_text(struct toolres *t, char *text, size_t len)
{
	toolres_clear(t);
	t->text = text;
	t->len = len;
}

void
toolres_set_call(struct toolres *t, json_t *call)
{
	toolres_clear(t);
	t->call = call;
	t->is_error = json_is_true(json_object_get(call, "isError"));
}

void
toolres_set_error(struct toolres *t, const struct err *e)
{
	toolres_set_call(t, json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text",
	    "text", e->msg, "isError", 1));
	t->is_error = 1;
}

void
toolres_members(const struct toolres *t, struct buf *b)
{
	const char	*k;
	json_t		*v;
	int		 first = 1;

	if (t->text != NULL) {
		buf_puts(b, "\"content\":[{\"type\":\"text\",\"text\":");
		jbuf_put_str(b, t->text, t->len);
		buf_puts(b, "}],\"structuredContent\":");
		buf_put(b, t->text, t->len);
		buf_puts(b, ",\"isError\":false");
		return;
	}
	if (t->call == NULL) {
		/* Out of memory while building the error itself. */
		buf_puts(b, "\"content\":[{\"type\":\"text\",\"text\":\"the tool produced no "
		    "result\"}],\"isError\":true");
		return;
	}
	json_object_foreach(t->call, k, v) {
		if (!first)
			buf_put(b, ",", 1);
		first = 0;
		jbuf_put_str(b, k, strlen(k));
		buf_put(b, ":", 1);
		jbuf_put_json(b, v);
	}
}

void
toolres_clear(struct toolres *t)
{
	if (t->text != NULL) {
		secret_wipe(t->text, t->len);
		free(t->text);
	}
	json_decref(t->call);
	memset(t, 0, sizeof *t);
}
