/*
 * conf_http: the HTTP front's settings, one set of config rows that both
 * daemons embed in their tables (listen, log_level, workers, connection,
 * queue, size and time limits). Only the defaults and a few help texts
 * differ per daemon; the daemon passes those to CONF_HTTP_ROWS().
 */
#ifndef TG_CONF_HTTP_H
#define TG_CONF_HTTP_H

#include <stddef.h>

#include "conf.h"

struct httpd_limits;

#define CONF_HTTP_FIELDS						\
	char	**listen;						\
	char	 *log_level;						\
	int	  workers;						\
	int	  max_connections;					\
	int	  max_queue;						\
	size_t	  max_body;						\
	size_t	  max_header;						\
	int	  request_timeout;					\
	int	  header_timeout;					\
	int	  body_timeout;						\
	size_t	  max_buffered;

struct conf_http {
	CONF_HTTP_FIELDS
};

/*
 * A daemon's config struct starts with CONF_HTTP_MEMBER: its code reads
 * cfg->max_body as before, and &cfg->http is the shared part (a union of
 * two structs with the same members, C11 6.5.2.3).
 */
#define CONF_HTTP_MEMBER						\
	union {								\
		struct conf_http http;					\
		struct { CONF_HTTP_FIELDS };				\
	}

/*
 * The rows, for a table over struct T. The arguments are what differs per
 * daemon: the listen default, the workers default and help, the
 * max_queue help, the max_body default, maximum and help, the
 * request_timeout default and maximum, the max_buffered default.
 */
#define CONF_HTTP_ROWS(T, listen_def, workers_def, workers_help, queue_help,	\
	    body_def, body_max, body_help, req_def, req_max, buffered_def)	\
	{ "listen", CONF_LIST, offsetof(T, http.listen), CONF_NO_RELOAD,	\
	  listen_def, 0, 0, NULL,						\
	  "Where to listen: host:port, [v6]:port or unix:/path, comma-separated" }, \
	{ "log_level", CONF_ENUM, offsetof(T, http.log_level), 0, "info", 0, 0, \
	  "debug|info|notice|warn|error", "Lowest level written to the log" },	\
	{ "workers", CONF_INT, offsetof(T, http.workers), CONF_NO_RELOAD,	\
	  workers_def, 1, 256, NULL, workers_help },				\
	{ "max_connections", CONF_INT, offsetof(T, http.max_connections),	\
	  CONF_NO_RELOAD, "1024", 1, 100000, NULL,				\
	  "Open client connections, counted from accept; at the limit the oldest one still sending headers is shed (503) to admit a new one" }, \
	{ "max_queue", CONF_INT, offsetof(T, http.max_queue), CONF_NO_RELOAD,	\
	  "1024", 1, 100000, NULL, queue_help },				\
	{ "max_body", CONF_SIZE, offsetof(T, http.max_body), CONF_NO_RELOAD,	\
	  body_def, 1024, body_max, NULL, body_help },				\
	{ "max_header", CONF_SIZE, offsetof(T, http.max_header), CONF_NO_RELOAD, \
	  "16KiB", 1024, 1048576, NULL, "Largest request header block accepted" }, \
	{ "request_timeout", CONF_DURATION, offsetof(T, http.request_timeout),	\
	  CONF_NO_RELOAD, req_def, 1, req_max, NULL,				\
	  "Idle time allowed while reading a request or writing a reply" },	\
	{ "header_timeout", CONF_DURATION, offsetof(T, http.header_timeout),	\
	  CONF_NO_RELOAD, "10s", 1, 600, NULL,					\
	  "Absolute time from accept (or the previous reply) to the end of the headers; slow sending does not extend it (408)" }, \
	{ "body_timeout", CONF_DURATION, offsetof(T, http.body_timeout),	\
	  CONF_NO_RELOAD, "30s", 1, 3600, NULL,					\
	  "Absolute time from accept (or the previous reply) to the end of the whole request, body included (408)" }, \
	{ "max_buffered", CONF_SIZE, offsetof(T, http.max_buffered),		\
	  CONF_NO_RELOAD, buffered_def, 1048576, 4294967296, NULL,		\
	  "Request bytes held for unfinished requests across all connections; beyond it the oldest unfinished ones are shed (503)" }

/* The httpd limits these settings give (coroutines left to the caller). */
void	conf_http_limits(const struct conf_http *, struct httpd_limits *);

#endif
