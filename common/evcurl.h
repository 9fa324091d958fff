/*
 * evcurl: libcurl's multi interface driven by this thread's event loop
 * (curl_multi_socket_action with libevent socket and timer events), so a
 * transfer made from a coroutine costs a socket and a timer, never a
 * thread. One multi per loop thread shares one connection cache.
 */
#ifndef TG_EVCURL_H
#define TG_EVCURL_H

#include <curl/curl.h>

struct event_base;

/* This thread's multi, on the loop coro_init() was given. 0 or -1. */
int		 evcurl_init(struct event_base *);
void		 evcurl_shutdown(void);
/* Is there a multi on this thread and a coroutine to park? */
int		 evcurl_usable(void);

/* An easy handle for this thread's multi (pooled, options reset), or NULL. */
CURL		*evcurl_easy_get(void);
void		 evcurl_easy_put(CURL *);

/* Run one transfer from the running coroutine: parks it until the
 * transfer ends. On the coroutine's cancel the transfer is aborted
 * (CURLE_ABORTED_BY_CALLBACK); past its deadline, CURLE_OPERATION_TIMEDOUT. */
CURLcode	 evcurl_perform(CURL *);

#endif
