/* metrics: Prometheus text exposition of atomic counters and histograms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"

/* Seconds; request latencies from 1 ms to 10 s. */
static const double metrics_bounds[METRICS_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10
};

void
metrics_inc(struct metric *m)
{
	atomic_fetch_add_explicit(&m->v, 1, memory_order_relaxed);
}

void
metrics_add(struct metric *m, uint64_t n)
{
	atomic_fetch_add_explicit(&m->v, n, memory_order_relaxed);
}

void
metrics_set(struct metric *m, uint64_t n)
{
	atomic_store_explicit(&m->v, n, memory_order_relaxed);
}

void
metrics_observe(struct histogram *h, double s)
{
	size_t i;

	for (i = 0; i < METRICS_BUCKETS && s > metrics_bounds[i]; i++)
		;
	atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)(s * 1e6), memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

size_t
metrics_rows(struct metric *table, size_t n, struct metric **rows, size_t max)
{
	size_t i;

	for (i = 0; i < n && i < max; i++)
		rows[i] = &table[i];
	return i;
}

char *
metrics_render(struct metric *const *rows, size_t n, struct histogram *const *hists,
    size_t nh, size_t *len)
{
	struct buf	 b = { 0 };
	const char	*last = "";

	for (size_t i = 0; i < n; i++) {
		const struct metric *m = rows[i];

		if (strcmp(m->name, last) != 0) {
			buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help,
			    m->name, m->type == METRIC_COUNTER ? "counter" : "gauge");
			last = m->name;
		}
		buf_printf(&b, "%s%s%s%s %llu\n", m->name, m->labels ? "{" : "",
		    m->labels ? m->labels : "", m->labels ? "}" : "",
		    (unsigned long long)atomic_load(&m->v));
	}
	last = "";
	for (size_t i = 0; i < nh; i++) {
		const struct histogram	*h = hists[i];
		uint64_t		 cum = 0;
		const char		*l = h->labels != NULL ? h->labels : "";
		const char		*sep = h->labels != NULL ? "," : "";

		if (strcmp(h->name, last) != 0)
			buf_printf(&b, "# HELP %s %s\n# TYPE %s histogram\n", h->name,
			    h->help, h->name);
		last = h->name;
		for (size_t k = 0; k < METRICS_BUCKETS; k++) {
			cum += atomic_load(&h->counts[k]);
			buf_printf(&b, "%s_bucket{%s%sle=\"%g\"} %llu\n", h->name, l, sep,
			    metrics_bounds[k], (unsigned long long)cum);
		}
		cum += atomic_load(&h->counts[METRICS_BUCKETS]);
		buf_printf(&b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", h->name, l, sep,
		    (unsigned long long)cum);
		if (h->labels != NULL)
			buf_printf(&b, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", h->name, l,
			    (double)atomic_load(&h->sum_us) / 1e6, h->name, l,
			    (unsigned long long)atomic_load(&h->count));
		else
			buf_printf(&b, "%s_sum %.6f\n%s_count %llu\n", h->name,
			    (double)atomic_load(&h->sum_us) / 1e6, h->name,
			    (unsigned long long)atomic_load(&h->count));
	}
	return buf_steal(&b, len);
}
