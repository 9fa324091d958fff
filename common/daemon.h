/*
 * daemon: process plumbing shared by the two daemons: a thread-aware
 * libevent base and sd_notify(3) without libsystemd.
 */
#ifndef TG_DAEMON_H
#define TG_DAEMON_H

struct event_base;

/* evthread_use_pthreads() + event_base_new(): workers wake the loop. */
struct event_base	*daemon_base_new(void);
/* Send "READY=1", "STOPPING=1", "RELOADING=1", "STATUS=..." to systemd
 * when NOTIFY_SOCKET is set; a no-op otherwise. */
void			 daemon_notify(const char *state);

#endif
