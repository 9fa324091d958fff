/* The common cache: expiry against the caller's clock, LRU order and the
 * bound, O(1) flush by generation, a put declined after a change, and one
 * destructor call per value whichever way it leaves (ASan sees leaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"

/* A value counts its destructor calls: more than one is a double free. */
struct val {
	int	 id;
};

static int	freed[64];

static void
val_free(void *p)
{
	struct val *v = p;

	freed[v->id]++;
	free(v);
}

static struct val *
val_new(int id)
{
	struct val *v = malloc(sizeof *v);

	assert_non_null(v);
	v->id = id;
	return v;
}

static int
val_id(void *p)
{
	return p != NULL ? ((struct val *)p)->id : -1;
}

static int
setup(void **state)
{
	(void)state;
	memset(freed, 0, sizeof freed);
	return 0;
}

static void
put(struct cache *c, const char *key, int id, time_t exp)
{
	assert_int_equal(cache_put(c, key, val_new(id), exp, cache_gen(c)), 1);
}

static void
test_ttl(void **state)
{
	struct cache *c = cache_new(8, val_free);

	(void)state;
	put(c, "a", 1, 1000);
	put(c, "forever", 2, 0);
	assert_int_equal(val_id(cache_get(c, "a", 999)), 1);
	assert_null(cache_get(c, "a", 1000));		/* exp is exclusive */
	assert_int_equal(val_id(cache_find(c, "a")), 1);	/* stale, still there */
	assert_int_equal(val_id(cache_get(c, "forever", 1 << 30)), 2);
	assert_int_equal(cache_sweep(c, 1000), 1);
	assert_int_equal(freed[1], 1);
	assert_null(cache_find(c, "a"));
	assert_int_equal(cache_count(c), 1);
	cache_free(c);
	assert_int_equal(freed[2], 1);
}

static void
test_lru_bound(void **state)
{
	struct cache	*c = cache_new(3, val_free);
	char		 key[8];

	(void)state;
	put(c, "a", 1, 0);
	put(c, "b", 2, 0);
	put(c, "c", 3, 0);
	assert_non_null(cache_get(c, "a", 0));	/* a is now the most recent */
	put(c, "d", 4, 0);			/* b, the least recent, goes */
	assert_int_equal(freed[2], 1);
	assert_null(cache_find(c, "b"));
	assert_int_equal(cache_count(c), 3);
	put(c, "a", 5, 0);			/* replacing needs no room */
	assert_int_equal(freed[1], 1);
	assert_int_equal(freed[3], 0);
	assert_int_equal(val_id(cache_find(c, "a")), 5);
	cache_set_max(c, 1);			/* c then d go, a stays */
	assert_int_equal(freed[3] + freed[4], 2);
	assert_int_equal(val_id(cache_find(c, "a")), 5);
	cache_set_max(c, 0);
	assert_int_equal(freed[5], 1);
	assert_int_equal(cache_put(c, "x", val_new(6), 0, cache_gen(c)), 0);
	assert_int_equal(freed[6], 1);
	/* Many keys: the table grows, every one is found. */
	cache_set_max(c, 40);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof key, "k%d", i);
		put(c, key, 10 + i % 50, 0);
	}
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(val_id(cache_find(c, key)), 10 + i % 50);
	}
	cache_free(c);
	for (int i = 0; i < 50; i++)
		assert_in_range(freed[i], 0, 1);
}

static void
test_generation(void **state)
{
	struct cache	*c = cache_new(4, val_free);
	uint64_t	 gen;

	(void)state;
	put(c, "a", 1, 0);
	put(c, "b", 2, 0);
	gen = cache_gen(c);
	assert_int_equal(cache_flush(c), 2);
	assert_int_equal(cache_count(c), 0);
	assert_int_equal(freed[1] + freed[2], 0);	/* O(1): nothing walked yet */
	/* A fetch that began before the flush is not kept. */
	assert_int_equal(cache_put(c, "a", val_new(3), 0, gen), 0);
	assert_int_equal(freed[3], 1);
	assert_null(cache_get(c, "a", 0));
	assert_int_equal(freed[1], 1);			/* met, so freed */
	put(c, "c", 4, 0);
	put(c, "d", 5, 0);
	put(c, "e", 6, 0);
	put(c, "f", 7, 0);				/* evicts dead b first */
	assert_int_equal(freed[2], 1);
	assert_int_equal(cache_count(c), 4);
	assert_int_equal(val_id(cache_find(c, "c")), 4);
	cache_flush(c);
	assert_int_equal(cache_sweep(c, 0), 0);		/* dead ones are not "expired" */
	for (int i = 4; i <= 7; i++)
		assert_int_equal(freed[i], 1);
	cache_free(c);
}

static int
match_odd(const char *key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	return val_id(val) % 2 == 1;
}

static void
test_drop_remove(void **state)
{
	struct cache	*c = cache_new(8, val_free);
	uint64_t	 gen;
	void		*b;

	(void)state;
	put(c, "a", 1, 0);
	put(c, "b", 2, 0);
	put(c, "c", 3, 0);
	gen = cache_gen(c);
	assert_int_equal(cache_drop_if(c, match_odd, NULL), 2);
	assert_int_equal(freed[1] + freed[3], 2);
	assert_int_equal(cache_count(c), 1);
	/* A selective drop is a change too: the racing put is declined. */
	assert_int_equal(cache_put(c, "a", val_new(4), 0, gen), 0);
	b = cache_find(c, "b");
	assert_int_equal(cache_remove(c, "b", (void *)&gen), 0);	/* not that value */
	assert_int_equal(cache_remove(c, "b", b), 1);
	assert_int_equal(cache_remove(c, "b", NULL), 0);
	assert_int_equal(freed[2], 1);
	assert_int_equal(cache_count(c), 0);
	cache_free(c);
	for (int i = 1; i <= 4; i++)
		assert_int_equal(freed[i], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ttl, setup),
		cmocka_unit_test_setup(test_lru_bound, setup),
		cmocka_unit_test_setup(test_generation, setup),
		cmocka_unit_test_setup(test_drop_remove, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
