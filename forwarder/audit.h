/*
 * audit: every tools/call (MCP and OpenAPI) as one record (user, tenant,
 * tool, outcome, status, latency), queued in memory and sent to the broker
 * in batches (POST /v1/audit) by a flusher thread, about once a second or
 * every AUDIT_BATCH records. The request path only appends to a bounded
 * queue under a short lock: it never waits on the broker. When the broker
 * is down the queue holds a backlog up to audit_queue_max; beyond that new
 * records are dropped and counted (tenantgate_forwarder_audit_dropped_total).
 */
#ifndef TG_AUDIT_H
#define TG_AUDIT_H

#include <stddef.h>

#include <jansson.h>

struct err;
struct fwd;
struct metric;
struct audit;

#define AUDIT_BATCH		200	/* records that wake the flusher early */
#define AUDIT_BATCH_MAX		500	/* records per POST (the broker's limit) */
#define AUDIT_INTERVAL_MS	1000

/* A queue of at most cap records, no thread (unit tests use it as is). */
struct audit	*audit_new(size_t cap);
void		 audit_free(struct audit *);
/* Append one record; never blocks. outcome: "ok" | "error" | "refused". */
void		 audit_record(struct audit *, const char *user, const char *tenant,
		    const char *tool, const char *outcome, int status, long latency_ms);
size_t		 audit_queued(struct audit *);
/* The body of the next POST, {"events":[...]} with at most max records
 * from the head (NULL when empty); audit_done() removes them once sent. */
json_t		*audit_batch(struct audit *, size_t max, size_t *n);
void		 audit_done(struct audit *, size_t n);

/* The process's queue and flusher thread (main.c); audit_stop() tries one
 * last flush, then drops (and counts) what is left. */
int		 audit_start(struct fwd *, size_t cap);
void		 audit_stop(void);

/*
 * The hook in usertools_call(): one tools/call ended. rc, is_error and e as
 * usertools_call() returns them (is_error: the result is a tool error). A call without a known user (the identity
 * was refused) is not recorded: there is no one to attribute it to.
 */
void		 audit_tool_call(const char *user, const char *tenant, const char *tool,
		    int rc, int is_error, const struct err *e, long latency_ms);

size_t		 audit_metric_rows(struct metric **rows, size_t max);

#endif
