/*
 * metrics: lock-free counters, gauges and one histogram type, rendered in
 * the Prometheus text format. Each daemon declares its metrics as one
 * static table; labels are fixed per row, so rendering needs no locks.
 */
#ifndef TG_METRICS_H
#define TG_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

struct metric {
	const char		*name;
	const char		*labels;	/* `reason="bad_token"` or NULL */
	enum metric_type	 type;
	const char		*help;
	_Atomic uint64_t	 v;
};

#define METRICS_BUCKETS 12
struct histogram {
	const char		*name;
	const char		*help;
	const char		*labels;	/* `tenant="google"` or NULL */
	_Atomic uint64_t	 counts[METRICS_BUCKETS + 1];	/* last = +Inf */
	_Atomic uint64_t	 sum_us;
	_Atomic uint64_t	 count;
};

void	 metrics_inc(struct metric *);
void	 metrics_add(struct metric *, uint64_t);
void	 metrics_set(struct metric *, uint64_t);
void	 metrics_observe(struct histogram *, double seconds);
/* Pointers to the n metrics of table into rows, at most max; how many. */
size_t	 metrics_rows(struct metric *table, size_t n, struct metric **rows, size_t max);
/* Render every row; caller frees. Rows sharing a name share HELP/TYPE. */
char	*metrics_render(struct metric *const *rows, size_t n,
	    struct histogram *const *hists, size_t nh, size_t *len);

#endif
