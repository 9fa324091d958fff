/* conf_http: from the shared HTTP settings to httpd's limits. */
#include <string.h>

#include "conf_http.h"
#include "httpd.h"

void
conf_http_limits(const struct conf_http *c, struct httpd_limits *lim)
{
	memset(lim, 0, sizeof *lim);
	lim->max_header_bytes = c->max_header;
	lim->max_body_bytes = c->max_body;
	lim->max_connections = c->max_connections;
	lim->timeout_s = c->request_timeout;
	lim->workers = c->workers;
	lim->max_queue = c->max_queue;
	lim->header_timeout_s = c->header_timeout;
	lim->body_timeout_s = c->body_timeout;
	lim->max_buffered_bytes = c->max_buffered;
}
