/*
 * loopback: the "host:port" parser both bench tools use (tg-openloop's
 * -a, tg-upstream's -l). Benchmarks stay on this machine, so anything
 * but 127.0.0.0/8 is refused. Header-only: each tool is one object file.
 */
#ifndef TG_BENCH_LOOPBACK_H
#define TG_BENCH_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 0, or -1 when s is not an IPv4 loopback host:port. */
static inline int loopback_parse(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	long port = strtol(colon + 1, NULL, 10);
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &out->sin_addr) != 1)
		return -1;
	return (ntohl(out->sin_addr.s_addr) >> 24) == 127 ? 0 : -1;
}

#endif
