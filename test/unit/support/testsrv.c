/* testsrv: accept loop and socket helpers shared by the unit tests. */
#define _GNU_SOURCE		/* strcasestr */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsrv.h"

int
testsrv_listen(int *port, int backlog)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		sl = sizeof sin;
	int			fd, one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(fd, backlog) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

void
testsrv_send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0 && (w = send(fd, p, n, MSG_NOSIGNAL)) > 0) {
		p += w;
		n -= (size_t)w;
	}
}

static void *
testsrv_main(void *arg)
{
	struct testsrv	*s = arg;
	struct pollfd	 pfd = { s->lfd, POLLIN, 0 };
	int		 fd;

	/* Poll briefly so testsrv_stop() is prompt. */
	while (!atomic_load(&s->stop)) {
		if (poll(&pfd, 1, 50) <= 0 || (fd = accept(s->lfd, NULL, NULL)) == -1)
			continue;
		s->handle(fd);
		close(fd);
	}
	return NULL;
}

int
testsrv_start(struct testsrv *s, void (*handle)(int fd))
{
	atomic_store(&s->stop, 0);
	s->handle = handle;
	if ((s->lfd = testsrv_listen(&s->port, 16)) == -1)
		return -1;
	if (pthread_create(&s->th, NULL, testsrv_main, s) != 0) {
		close(s->lfd);
		return -1;
	}
	return 0;
}

void
testsrv_stop(struct testsrv *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	close(s->lfd);
}

/* Read the head and a Content-Length body; bounded by size and 2 s. */
size_t
testsrv_read_request(int fd, char *buf, size_t cap)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	size_t		 len = 0, want = 0;
	char		*eoh, *cl;
	ssize_t		 n;

	while (len < cap - 1 && poll(&pfd, 1, 2000) > 0) {
		if ((n = recv(fd, buf + len, cap - 1 - len, 0)) <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if ((eoh = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if (want == 0) {
			want = (size_t)(eoh + 4 - buf);
			if ((cl = strcasestr(buf, "\r\nContent-Length:")) != NULL && cl < eoh)
				want += strtoul(cl + 17, NULL, 10);
		}
		if (len >= want)
			break;
	}
	buf[len] = '\0';
	return len;
}
