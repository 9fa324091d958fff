/*
 * migrate: bring a PostgreSQL database up to the schema in migrations/.
 * Files are named NNNN_name.sql and applied in numeric order, each in its
 * own transaction together with its schema_migrations row, under an
 * advisory lock so two runners (two brokers starting at once, or the admin
 * tool) cannot race. A file must not contain BEGIN/COMMIT.
 */
#ifndef TG_MIGRATE_H
#define TG_MIGRATE_H

#include <libpq-fe.h>

struct err;

/*
 * Apply every migration in dir that the database lacks; *applied (may be
 * NULL) is how many. Refuses a database newer than the newest file. On a
 * failing file, that file is rolled back, earlier ones stay applied, and
 * the err reads "0002_x.sql: <postgres error>".
 */
int	migrate_apply(PGconn *, const char *dir, int *applied, struct err *);
/* The database's version (0 when none applied) and the newest file's. */
int	migrate_status(PGconn *, const char *dir, int *db_version,
	    int *code_version, struct err *);

#endif
