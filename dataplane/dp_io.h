/**
 * @file dp_io.h
 * The only two places where a worker's frames meet the PMD: every rx burst and every tx burst
 * of the runtime goes through dp_io_rx() / dp_io_tx(). Keeping it to two functions lets a
 * seeded impairment layer (loss, delay, duplication, corruption; test-only config keys
 * impair_*) sit here without touching the loop or the stack.
 *
 * Thread-safety: called only by the worker that owns @p w (its own queue).
 */
#ifndef TACHYON_DP_IO_H
#define TACHYON_DP_IO_H

#include <stdint.h>

struct dp_worker;
struct rte_mbuf;

/**
 * Receive up to @p n frames from the worker's queue.
 * @return number of frames stored in @p pkts (0..n); the caller owns them.
 */
uint16_t dp_io_rx(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n);

/**
 * Transmit up to @p n frames on the worker's queue.
 * @return number of frames the PMD took (0..n). Frames pkts[ret..n-1] still belong to the
 *   caller (the worker loop frees them and counts tx_drops).
 */
uint16_t dp_io_tx(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n);

#endif /* TACHYON_DP_IO_H */
