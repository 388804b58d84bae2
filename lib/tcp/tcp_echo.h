/**
 * @file tcp_echo.h
 * Diagnostic TCP echo service (RFC 862 style): everything a client sends comes back, and a
 * client's FIN is answered with ours once its data is echoed (half-close works). It uses only
 * tcp.h, like any application, and echoes zero-copy: the received mbufs are queued back.
 * Off by default; the runtime starts it when `tcp_echo_port` is set. Tests use it to drive
 * the stack without MQTT.
 *
 * Threading: as tcp.h, everything on the stack's thread.
 * Errors: tcp_echo_start returns NULL with rte_errno set.
 */
#ifndef TACHYON_TCP_ECHO_H
#define TACHYON_TCP_ECHO_H

#include <stdint.h>

#include "tcp/tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tcp_echo;

/**
 * Listen on @p port (any local address) and echo.
 * @return the service, or NULL with rte_errno = EADDRINUSE, ENOSPC, EINVAL or ENOMEM.
 */
struct tcp_echo *tcp_echo_start(struct tcp_stack *s, uint16_t port);

/** @return connections currently served (tests check it returns to 0). */
uint32_t tcp_echo_conns(const struct tcp_echo *e);

/** @return bytes echoed so far (queued back to clients). */
uint64_t tcp_echo_bytes(const struct tcp_echo *e);

/**
 * Stop listening and abort the connections still served (RST). Call before
 * tcp_stack_destroy(). NULL is a no-op.
 */
void tcp_echo_stop(struct tcp_echo *e);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_TCP_ECHO_H */
