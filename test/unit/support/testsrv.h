/* testsrv: a tiny HTTP server thread for unit tests that need a peer
 * (httpc, vault): one connection at a time, handled by the test's own
 * function, on a loopback port picked free. */
#ifndef TG_TEST_TESTSRV_H
#define TG_TEST_TESTSRV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct testsrv {
	int		 lfd;
	int		 port;
	pthread_t	 th;
	atomic_int	 stop;
	void		(*handle)(int fd);	/* reads a request, writes a reply */
};

/* Listen on 127.0.0.1:0; returns the fd (port in *port) or -1. */
int	testsrv_listen(int *port, int backlog);
int	testsrv_start(struct testsrv *, void (*handle)(int fd));
void	testsrv_stop(struct testsrv *);
void	testsrv_send_all(int fd, const char *p, size_t n);
/* Read a request's head and its Content-Length body into buf (NUL-ended);
 * bounded by cap and 2 s without data. The length read. */
size_t	testsrv_read_request(int fd, char *buf, size_t cap);

#endif
