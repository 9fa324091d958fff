/*
 * conf_http: the HTTP front's settings, one set of config rows that both
 * daemons embed in their tables (listen, log_level, workers, connection,
 * queue, size and time limits). Only the defaults and a few help texts
 * differ per daemon; the daemon's .def sets those (conf_http.def).
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

/* The rows are common/conf_http.def, which a daemon's .def includes. */

/* The httpd limits these settings give (coroutines left to the caller). */
void	conf_http_limits(const struct conf_http *, struct httpd_limits *);

#endif
