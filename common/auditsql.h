/*
 * auditsql: the one statement that writes an audit_log row. The broker
 * prepares it (broker/store_query.c) and the admin runs it (tui/db.c), so
 * the two programs' rows cannot drift apart.
 */
#ifndef TG_AUDITSQL_H
#define TG_AUDITSQL_H

#define AUDITSQL_NPARAMS	6

/* $1 actor, $2 action, $3 tenant, $4 subject, $5 detail (a JSON object;
 * NULL = {}), $6 whether to add the writer's database role to the detail
 * as db_user. */
extern const char auditsql_insert[];

/* Fill p for auditsql_insert; the strings are borrowed. db_user: the
 * admin says yes (each operator connects as a role of their own), the
 * broker no (its role is always the broker's). */
void	auditsql_params(const char *p[AUDITSQL_NPARAMS], const char *actor,
	    const char *action, const char *tenant, const char *subject,
	    const char *detail_json, int db_user);

#endif
