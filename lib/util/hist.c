/**
 * @file hist.c
 * The `stats` shape of a log2 latency histogram (hist.h).
 */
#include "util/hist.h"
#include "util/json.h"

void hist_json(struct json_writer *w, const char *key, const uint64_t *buckets, unsigned n,
	       uint64_t sum_ns)
{
	json_key(w, key);
	json_obj_begin(w);
	json_kv_str(w, "unit", "ns");
	json_key(w, "buckets");
	json_arr_begin(w);
	uint64_t cum = 0;
	for (unsigned b = 0; b < n; b++) {
		cum += buckets[b];
		json_arr_begin(w);
		if (b < n - 1)
			json_u64(w, (1ull << b) * 1000);
		else
			json_str(w, "+Inf");
		json_u64(w, cum);
		json_arr_end(w);
	}
	json_arr_end(w);
	json_kv_u64(w, "sum", sum_ns);
	json_kv_u64(w, "count", cum);
	json_obj_end(w);
}
