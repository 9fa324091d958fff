/* fuzz_jscan: an upstream answer, as Atlassian (or anything posing as it)
 * could send it. Differential: the scanner must accept exactly what
 * Jansson's json_loadb() accepts, and every trimmer must write, byte for
 * byte, what the Jansson-tree trimmers it replaced wrote (trim_ref.c),
 * with the same outcome when the answer is not JSON. The first byte picks
 * the tool and the result cap; the rest is the answer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "buf.h"
#include "jscan.h"
#include "toolcat.h"

#include "trim_ref.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk every token: spans inside the text, siblings and counts agree. */
static void
fuzz_walk(const struct jscan *js)
{
	for (uint32_t t = 0; t < js->ntok; t++) {
		const struct jscan_tok *k = &js->tok[t];

		if (k->next <= t || k->next > js->ntok || (size_t)k->off + k->len > js->len)
			abort();
		if (k->type == JSCAN_OBJECT || k->type == JSCAN_ARRAY) {
			uint32_t c = t + 1;

			for (uint32_t i = 0; i < k->n * (k->type == JSCAN_OBJECT ? 2 : 1); i++)
				c = js->tok[c].next;
			if (c != k->next)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t	 caps[] = { 65536, 1024, 300, 4096 };
	const char		*body;
	size_t			 blen, max, len1 = 0, len2 = 0;
	const struct toolcat_entry *te;
	struct jscan		 js;
	struct err		 e;
	json_t			*args, *v;
	char			*t1 = NULL, *t2 = NULL;
	int			 r1, r2;

	if (size < 1)
		return 0;
	te = &toolcat[data[0] % toolcat_len];
	max = caps[(data[0] >> 4) & 3];
	body = (const char *)data + 1;
	blen = size - 1;

	/* Accepts what Jansson accepts, top level and anywhere. */
	r1 = jscan_parse(&js, body, blen, blen, 0, 0);
	v = json_loadb(body, blen, 0, NULL);
	if ((r1 == 0) != (v != NULL) && !js.nomem)
		abort();
	if (r1 == 0)
		fuzz_walk(&js);
	json_decref(v);
	jscan_free(&js);
	r1 = jscan_parse(&js, body, blen, blen, 0, JSCAN_ANY);
	v = json_loadb(body, blen, JSON_DECODE_ANY, NULL);
	/* Jansson takes a top-level number or literal followed by a NUL byte
	 * ("7\0"); only with JSON_DECODE_ANY, which answers never use. */
	if ((r1 == 0) != (v != NULL) && !js.nomem &&
	    !(v != NULL && !json_is_string(v) && memchr(body, '\0', blen) != NULL))
		abort();
	if (r1 == 0 && json_is_string(v)) {
		struct buf	 b = { 0 };
		char		*want = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT), *got;

		jscan_put_str(&js, 0, &b);
		got = buf_steal(&b, NULL);
		if (want != NULL && got != NULL && strcmp(want, got) != 0)
			abort();
		free(want);
		free(got);
	}
	json_decref(v);
	jscan_free(&js);

	/* The trimmer against the one it replaced. */
	args = json_pack("{s:s,s:s}", "issue_key", "GOOG-1", "transition_id", "31");
	err_clear(&e);
	r1 = atlassian_answer(te, body, blen, blen, "https://g.atlassian.net", args, max,
	    "the call", &t1, &len1, &e);
	r2 = tref_answer(te->name, body, blen, "https://g.atlassian.net", args, max, &t2, &len2);
	if (r1 == 0 && r2 == 0) {
		if (len1 != len2 || memcmp(t1, t2, len1) != 0)
			abort();
	} else if (r2 == -1 && (r1 != -1 || strcmp(e.code, "upstream_bad_json") != 0))
		abort();
	else if (r2 == 0 && r1 == -1 && strcmp(e.code, "nomem") != 0)
		abort();
	free(t1);
	free(t2);
	json_decref(args);
	return 0;
}
