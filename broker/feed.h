/*
 * feed: the change feed forwarders long-poll (GET /v1/changes). The rows
 * live in PostgreSQL (access_changes, migrations/0002); this module turns
 * "events after seq N" into an answer, and holds the long-polls that have
 * nothing to say yet.
 *
 * Parked long-polls hold no worker thread: the handler parks its request
 * (httpd_park) and returns. One feed thread answers them: when the
 * listener hears a NOTIFY (feed_on_change), at their deadline, or at a
 * 1 s safety poll (a NOTIFY lost with the listener's connection must not
 * leave a forwarder uninformed). It asks PostgreSQL once per distinct
 * `since`, not once per request. It also prunes old events.
 */
#ifndef TG_BROKER_FEED_H
#define TG_BROKER_FEED_H

#include <jansson.h>

struct err;
struct feed;
struct httpd_req;
struct store;

#define FEED_MAX_EVENTS		1000
#define FEED_MAX_WAIT_S		25
#define FEED_DEFAULT_WAIT_S	5

struct feed	*feed_new(struct store *, int retention_s, struct err *);
/* Answers every parked request (no events) and stops the thread. */
void		 feed_free(struct feed *);
void		 feed_set_retention(struct feed *, int retention_s);

/* The answer to "events after since", as /v1/changes sends it. *news is 1
 * when it should be sent now (events, a reset, or since == 0), 0 when a
 * long-poll may wait for more. -1 with e set (503) when PostgreSQL fails. */
int		 feed_answer(struct store *, long long since, json_t **reply, int *news,
		    struct err *);
/* A counter bumped by every change notification. Read it before
 * feed_answer(), and park with it: a change that lands in between is
 * then looked for again. */
unsigned long	 feed_gen(struct feed *);
/* Park r until news or wait_s; the feed thread answers it. -1 (r not
 * parked, reply yourself) when the feed is full or shutting down. */
int		 feed_park(struct feed *, struct httpd_req *, long long since, int wait_s,
		    unsigned long gen);
/* store_listen callback side: something changed (payload NULL = the
 * listener reconnected, so anything may have). */
void		 feed_on_change(struct feed *);
/* Answer every parked request now (SIGTERM: drain must not wait 25 s). */
void		 feed_release_all(struct feed *);

#endif
