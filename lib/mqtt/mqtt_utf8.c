/**
 * @file mqtt_utf8.c
 * String rules of both specs: well-formed UTF-8 (3.1.1 section 1.5.3, 5.0 section 1.5.4) and
 * the Topic Name / Topic Filter rules of section 4.7 (with 5.0's shared subscriptions, 4.8.2).
 * The decoder calls these on every string it reads; the broker and the topic tables may call
 * them on their own strings.
 */
#include "mqtt/mqtt.h"

#include <string.h>

bool mqtt_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		/* Eight ASCII bytes at a time, none of them 0: topics are mostly ASCII. The
		 * zero-byte test is the classic (w - 0x01..) & ~w & 0x80.. one. */
		if (len - i >= 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (((w | ((w - 0x0101010101010101ull) & ~w)) & 0x8080808080808080ull) ==
			    0) {
				i += 8;
				continue;
			}
		}
		uint8_t c = s[i];

		/* Fast path: ASCII, which is nearly every topic. U+0000 is forbidden
		 * [MQTT-1.5.3-2] [MQTT-1.5.4-2]. */
		if (c < 0x80) {
			if (c == 0)
				return false;
			i++;
			continue;
		}
		/* RFC 3629 table 3-7: the lead byte fixes the length and the range of the
		 * second byte, which is what excludes overlong forms (C0, C1, E0 80..9F,
		 * F0 80..8F), surrogates (ED A0..BF) and code points above U+10FFFF (F4 90..,
		 * F5..FF) [MQTT-1.5.3-1] [MQTT-1.5.4-1]. */
		size_t n;
		uint8_t lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return false;
		}
		if (len - i < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

bool mqtt_topic_name_valid(const uint8_t *s, size_t len)
{
	/* At least one character [MQTT-4.7.3-1]; no wildcards [MQTT-3.3.2-2]; fits a
	 * 2-byte length [MQTT-4.7.3-3]. */
	if (len == 0 || len > 0xffff)
		return false;
	return memchr(s, '+', len) == NULL && memchr(s, '#', len) == NULL;
}

/* The filter rules proper, without the $share/ prefix. */
static bool mqtt__filter_valid(const uint8_t *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool level_start = i == 0 || s[i - 1] == '/';
		bool level_end = i + 1 == len || s[i + 1] == '/';
		if (s[i] == '+') {
			/* '+' occupies an entire level [MQTT-4.7.1-3] (5.0: [MQTT-4.7.1-2]). */
			if (!level_start || !level_end)
				return false;
		} else if (s[i] == '#') {
			/* '#' alone in the last level [MQTT-4.7.1-2] (5.0: [MQTT-4.7.1-1]). */
			if (!level_start || i + 1 != len)
				return false;
		}
	}
	return true;
}

bool mqtt_topic_share_split(const uint8_t *s, size_t len, struct mqtt_str *share_name,
			    struct mqtt_str *filter)
{
	static const char prefix[] = "$share/";
	const size_t plen = sizeof(prefix) - 1;

	if (len < plen || memcmp(s, prefix, plen) != 0)
		return false;
	const uint8_t *name = s + plen;
	size_t rest = len - plen;
	const uint8_t *slash = memchr(name, '/', rest);
	share_name->p = name;
	if (slash == NULL) {
		share_name->len = (uint32_t)rest;
		filter->p = NULL;
		filter->len = 0;
	} else {
		share_name->len = (uint32_t)(slash - name);
		filter->p = slash + 1;
		filter->len = (uint32_t)(rest - share_name->len - 1);
	}
	return true;
}

bool mqtt_topic_filter_valid(const uint8_t *s, size_t len)
{
	struct mqtt_str name, filter;

	if (len == 0 || len > 0xffff)
		return false;
	if (!mqtt_topic_share_split(s, len, &name, &filter))
		return mqtt__filter_valid(s, len);
	/* $share/ then a share name of at least one character without '/', '+', '#',
	 * then '/' and a filter [MQTT-4.8.2-1] [MQTT-4.8.2-2]. The split stopped at the
	 * first '/', so the name holds none. */
	if (name.len == 0 || filter.p == NULL)
		return false;
	if (memchr(name.p, '+', name.len) != NULL || memchr(name.p, '#', name.len) != NULL)
		return false;
	return mqtt__filter_valid(filter.p, filter.len);
}
