/*
 * vault_kv: KV v2 reads, writes with check-and-set, metadata, and the
 * per-path cache that keeps serving the last good value for a bounded time
 * while Vault is unreachable, sealed or failing (never on 403 or 404: a
 * denied or deleted credential must stop working at once).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "httpc.h"
#include "log.h"
#include "secret.h"
#include "clock.h"
#include "vault.h"
#include "vault_int.h"

static void
vault_cent_free(struct vault_cent *c)
{
	free(c->path);
	secret_free(c->data);
	free(c);
}

void
vault_cache_clear_locked(struct vault *v)
{
	struct vault_cent *c, *next;

	for (c = v->cache; c != NULL; c = next) {
		next = c->next;
		vault_cent_free(c);
	}
	v->cache = NULL;
	v->ncache = 0;
}

static struct vault_cent *
vault_cache_find_locked(struct vault *v, const char *path)
{
	struct vault_cent *c;

	for (c = v->cache; c != NULL; c = c->next)
		if (strcmp(c->path, path) == 0)
			return c;
	return NULL;
}

static void
vault_cache_drop_locked(struct vault *v, const char *path)
{
	struct vault_cent **pp, *c;

	for (pp = &v->cache; (c = *pp) != NULL; pp = &c->next) {
		if (path == NULL || strcmp(c->path, path) == 0) {
			*pp = c->next;
			vault_cent_free(c);
			v->ncache--;
			return;
		}
	}
}

/* Takes ownership of data. */
static void
vault_cache_put(struct vault *v, const char *path, secret_t *data, int version,
    long now, unsigned long gen)
{
	struct vault_cent *c, *oldest;

	pthread_mutex_lock(&v->mu);
	/* Read before an invalidation (a rotation): never cache it after. */
	if (v->cache_gen != gen) {
		pthread_mutex_unlock(&v->mu);
		secret_free(data);
		return;
	}
	if ((c = vault_cache_find_locked(v, path)) == NULL) {
		if (v->ncache >= VAULT_CACHE_MAX) {
			for (oldest = c = v->cache; c != NULL; c = c->next)
				if (c->fetched_ms < oldest->fetched_ms)
					oldest = c;
			vault_cache_drop_locked(v, oldest->path);
		}
		if ((c = calloc(1, sizeof *c)) == NULL ||
		    (c->path = strdup(path)) == NULL) {
			free(c);
			secret_free(data);
			pthread_mutex_unlock(&v->mu);
			return;
		}
		c->next = v->cache;
		v->cache = c;
		v->ncache++;
	}
	secret_free(c->data);
	c->data = data;
	c->version = version;
	c->fetched_ms = now;
	pthread_mutex_unlock(&v->mu);
}

/* The cached value if younger than max_age_ms; returns a copy. */
static secret_t *
vault_cache_get(struct vault *v, const char *path, long now, long max_age_ms,
    int *version, long *age_ms)
{
	struct vault_cent	*c;
	secret_t		*d = NULL;

	pthread_mutex_lock(&v->mu);
	if ((c = vault_cache_find_locked(v, path)) != NULL &&
	    now - c->fetched_ms < max_age_ms && (d = secret_dup(c->data)) != NULL) {
		*version = c->version;
		*age_ms = now - c->fetched_ms;
	}
	pthread_mutex_unlock(&v->mu);
	return d;
}

void
vault_cache_invalidate(struct vault *v, const char *path)
{
	pthread_mutex_lock(&v->mu);
	if (path == NULL)
		vault_cache_clear_locked(v);
	else
		vault_cache_drop_locked(v, path);
	v->cache_gen++;
	pthread_mutex_unlock(&v->mu);
}

static char *
vault_kv_api(struct vault *v, const char *kind, const char *path, int version,
    struct err *e)
{
	char	*enc, *api;
	size_t	 n;

	if ((enc = vault_path_encode(path, "secret path", e)) == NULL)
		return NULL;
	n = strlen(v->kv_mount) + strlen(kind) + strlen(enc) + 32;
	if ((api = malloc(n)) == NULL) {
		free(enc);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	if (version > 0)
		snprintf(api, n, "%s/%s/%s?version=%d", v->kv_mount, kind, enc, version);
	else
		snprintf(api, n, "%s/%s/%s", v->kv_mount, kind, enc);
	free(enc);
	return api;
}

/* GET <mount>/data/<path>[?version=N], uncached. */
static int
vault_kv_fetch(struct vault *v, const char *path, int version, secret_t **data,
    int *got_version, struct err *e)
{
	struct httpc_resp	 r;
	json_t			*root = NULL, *d, *meta;
	char			*api, *text;
	int			 rc = -1;

	*data = NULL;
	if ((api = vault_kv_api(v, "data", path, version, e)) == NULL)
		return -1;
	if (vault_call(v, "GET", api, NULL, 0, &r, e) == -1) {
		free(api);
		return -1;
	}
	if (r.status != 200) {
		vault_map_status(v, &r, api, e);
		/* A deleted or destroyed version answers 404 with metadata. */
		if (r.status == 404 && (root = json_loadb(r.body, r.len, 0, NULL)) != NULL) {
			const char *dt;

			meta = json_object_get(json_object_get(root, "data"), "metadata");
			dt = json_string_value(json_object_get(meta, "deletion_time"));
			if (json_is_true(json_object_get(meta, "destroyed")) ||
			    (dt != NULL && *dt != '\0'))
				err_set(e, 404, "vault_not_found",
				    "version %lld of %s was deleted",
				    (long long)json_integer_value(json_object_get(meta, "version")),
				    path);
		}
		goto out;
	}
	if ((root = json_loadb(r.body, r.len, 0, NULL)) == NULL)
		goto malformed;
	d = json_object_get(json_object_get(root, "data"), "data");
	meta = json_object_get(json_object_get(root, "data"), "metadata");
	if (!json_is_object(d)) {
		err_set(e, 404, "vault_not_found", "no data at %s", path);
		vault_note_err(v, e);
		goto out;
	}
	if ((text = json_dumps(d, JSON_COMPACT)) == NULL)
		goto malformed;
	*data = secret_new(text, strlen(text));
	secret_free_str(text);
	if (*data == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		goto out;
	}
	*got_version = (int)json_integer_value(json_object_get(meta, "version"));
	rc = 0;
	goto out;
malformed:
	err_set(e, 502, "vault_error", "malformed KV v2 answer for %s", path);
	vault_note_err(v, e);
out:
	json_decref(root);
	httpc_resp_free(&r);
	free(api);
	return rc;
}

int
vault_kv_read(struct vault *v, const char *path, secret_t **data_json,
    int *version, int *stale, struct err *e)
{
	struct err	 tmp;
	secret_t	*d;
	long		 now, age, ttl_ms, stale_ms;
	int		 ver = 0, was_stale;
	unsigned long	 gen;

	if (e == NULL)
		e = &tmp;
	*data_json = NULL;
	if (stale != NULL)
		*stale = 0;
	ttl_ms = (long)v->cache_ttl_s * 1000;
	stale_ms = v->cache_max_stale_s < 0 ? 0 : (long)v->cache_max_stale_s * 1000;
	now = clock_now_ms();
	if (v->cache_ttl_s > 0 &&
	    (d = vault_cache_get(v, path, now, ttl_ms, &ver, &age)) != NULL) {
		*data_json = d;
		if (version != NULL)
			*version = ver;
		return 0;
	}
	pthread_mutex_lock(&v->mu);
	gen = v->cache_gen;
	pthread_mutex_unlock(&v->mu);
	if (vault_kv_fetch(v, path, 0, &d, &ver, e) == 0) {
		if (v->cache_ttl_s > 0) {
			secret_t *copy = secret_dup(d);

			if (copy != NULL)
				vault_cache_put(v, path, copy, ver, now, gen);
		}
		pthread_mutex_lock(&v->mu);
		was_stale = v->serving_stale;
		v->serving_stale = 0;
		pthread_mutex_unlock(&v->mu);
		if (was_stale)
			log_info("vault: %s read fresh again (version %d)", path, ver);
		*data_json = d;
		if (version != NULL)
			*version = ver;
		return 0;
	}
	if (e->status == 403 || e->status == 404) {
		vault_cache_invalidate(v, path);
		return -1;
	}
	if (e->status < 500 || v->cache_ttl_s <= 0 || stale_ms == 0 ||
	    (d = vault_cache_get(v, path, now, ttl_ms + stale_ms, &ver, &age)) == NULL)
		return -1;
	pthread_mutex_lock(&v->mu);
	was_stale = v->serving_stale;
	v->serving_stale = 1;
	pthread_mutex_unlock(&v->mu);
	if (!was_stale)
		log_warnx("vault: serving cached %s (version %d, %ld s old): %s",
		    path, ver, age / 1000, e->msg);
	err_clear(e);
	*data_json = d;
	if (version != NULL)
		*version = ver;
	if (stale != NULL)
		*stale = 1;
	return 0;
}

int
vault_kv_read_version(struct vault *v, const char *path, int version,
    secret_t **data_json, struct err *e)
{
	struct err	tmp;
	int		got;

	if (e == NULL)
		e = &tmp;
	*data_json = NULL;
	if (version < 1)
		return err_set(e, 400, "vault_bad_request", "KV versions start at 1");
	return vault_kv_fetch(v, path, version, data_json, &got, e);
}

int
vault_kv_write(struct vault *v, const char *path, const char *data_json,
    int cas, int *new_version, struct err *e)
{
	struct httpc_resp	 r;
	struct err		 tmp;
	json_t			*data, *o, *root;
	char			*api, *body;
	int			 rc;

	if (e == NULL)
		e = &tmp;
	if ((api = vault_kv_api(v, "data", path, 0, e)) == NULL)
		return -1;
	/* No parser error text: it could quote part of the credential. */
	data = data_json != NULL ?
	    json_loads(data_json, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (!json_is_object(data)) {
		json_decref(data);
		free(api);
		return err_set(e, 400, "vault_bad_request",
		    "secret data for %s must be a JSON object", path);
	}
	o = cas >= 0 ? json_pack("{s:o, s:{s:i}}", "data", data, "options", "cas", cas) :
	    json_pack("{s:o}", "data", data);
	body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (body == NULL) {
		free(api);
		return err_set(e, 500, "nomem", "out of memory");
	}
	rc = vault_call(v, "POST", api, body, strlen(body), &r, e);
	secret_free_str(body);
	vault_cache_invalidate(v, path);
	if (rc == -1) {
		free(api);
		return -1;
	}
	if (r.status == 400 && r.body != NULL && strstr(r.body, "check-and-set") != NULL) {
		rc = err_set(e, 409, "vault_cas_conflict",
		    "%s changed since version %d (check-and-set failed)", path, cas);
		vault_note_err(v, e);
	} else if (r.status != 200 && r.status != 204)
		rc = vault_map_status(v, &r, api, e);
	else if (new_version != NULL) {
		root = json_loadb(r.body, r.len, 0, NULL);
		*new_version = (int)json_integer_value(json_object_get(
		    json_object_get(root, "data"), "version"));
		json_decref(root);
	}
	httpc_resp_free(&r);
	free(api);
	return rc;
}

int
vault_kv_current_version(struct vault *v, const char *path, int *version,
    struct err *e)
{
	struct httpc_resp	 r;
	struct err		 tmp;
	json_t			*root;
	char			*api;
	int			 rc = 0;

	if (e == NULL)
		e = &tmp;
	*version = 0;
	if ((api = vault_kv_api(v, "metadata", path, 0, e)) == NULL)
		return -1;
	if (vault_call(v, "GET", api, NULL, 0, &r, e) == -1) {
		free(api);
		return -1;
	}
	if (r.status == 200) {
		root = json_loadb(r.body, r.len, 0, NULL);
		*version = (int)json_integer_value(json_object_get(
		    json_object_get(root, "data"), "current_version"));
		json_decref(root);
	} else if (r.status != 404)
		rc = vault_map_status(v, &r, api, e);
	httpc_resp_free(&r);
	free(api);
	return rc;
}
