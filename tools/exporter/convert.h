/**
 * @file convert.h
 * tachyon-exporter's heart: turns the management socket's `stats` and `status` replies
 * (parsed JSON, see docs/management.md) into Prometheus metrics (prom.h).
 *
 * Where it sits: GET /metrics -> mgmt_client (two requests) -> json_parse -> conv_metrics()
 * -> prom_render() -> response body. It touches no socket and no clock, so unit tests feed it
 * canned documents (tools/exporter/test_convert.c).
 *
 * The mapping is generic with curated names. Known members (today's worker, net, TCP and
 * DPDK port counters; the broker's `mqtt` and `persistence` objects, `mempools`, `rings`,
 * which the broker is to add) get hand-picked names, types, labels and HELP texts. Members
 * nobody has curated yet still appear, under a generic name derived by fixed rules, so a new
 * counter in `stats` is visible at once and gets a proper name later. docs/operations.md
 * lists both the curated table and the rules; they are the contract with the broker side.
 *
 * Error convention: conv_metrics() returns 0, or -1 when memory ran out (the set is then
 * incomplete and should not be served). Values it cannot map (a malformed histogram, a
 * label value of the wrong type) are skipped and counted in the
 * `tachyon_exporter_stats_problems` gauge of the same output: one odd member never costs the
 * whole scrape.
 *
 * Thread-safety: none needed; conv_metrics() only reads its input and writes @p out.
 */
#ifndef TACHYON_EXPORTER_CONVERT_H
#define TACHYON_EXPORTER_CONVERT_H

#include <stdint.h>

#include "prom.h"
#include "util/json.h"

/** What one scrape learned. */
struct conv_input {
	const struct json_value *stats;  /**< the `stats` reply, or NULL if none arrived */
	const struct json_value *status; /**< the `status` reply, or NULL */
	double scrape_seconds;           /**< duration of the management query */
	uint64_t scrape_errors;          /**< failed queries since the exporter started */
};

/**
 * Convert one scrape into metrics, appended to @p out.
 * @param notes  if not NULL, receives one line per problem (what was skipped and why), for
 *               the exporter's log.
 * `tachyon_up` is 1 when @p in->stats is an object with `"ok":true`, else 0; with up 0 only
 * the exporter's own metrics are produced (the exporter keeps serving while the broker is
 * down).
 * @return 0, or -1 when memory ran out.
 */
int conv_metrics(const struct conv_input *in, struct prom_set *out, struct prom_buf *notes);

#endif /* TACHYON_EXPORTER_CONVERT_H */
