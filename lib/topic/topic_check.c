/**
 * @file
 * Validation of topic names and filters (MQTT 3.1.1 4.7, MQTT 5 4.7 and 4.8.2 for shared
 * subscriptions) and the "$share/{group}/" split. Pure functions: no tree, no RCU.
 * The codec validates the packets it decodes; this part keeps its own checks so that it
 * depends on nothing but liburcu (and the control core can validate restored data).
 */
#include <errno.h>
#include <string.h>

#include "topic/topic.h"

#define TOPIC__SHARE_PREFIX "$share/"
#define TOPIC__SHARE_PREFIX_LEN 7

/*
 * Well-formed UTF-8 (Unicode 3.9 table 3-7: no overlong forms, no surrogates, nothing
 * above U+10FFFF) and no U+0000, which MQTT forbids in every string.
 */
static int topic__utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned lo = 0x80, hi = 0xbf;

		if (c == 0)
			return -EINVAL;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;      /* overlong */
			else if (c == 0xed)
				hi = 0x9f;      /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;      /* overlong */
			else if (c == 0xf4)
				hi = 0x8f;      /* above U+10FFFF */
		} else {
			return -EINVAL;
		}
		if (len - i <= n)
			return -EINVAL;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return -EINVAL;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return -EINVAL;
		i += n + 1;
	}
	return 0;
}

int topic_name_check(const char *name, size_t len)
{
	if (name == NULL || len == 0 || len > TOPIC_MAX_LEN)
		return -EINVAL;
	if (memchr(name, '+', len) != NULL || memchr(name, '#', len) != NULL)
		return -EINVAL;
	return topic__utf8_check((const unsigned char *)name, len);
}

size_t topic_share_split(const char *filter, size_t len, size_t *group_len)
{
	const char *slash;

	*group_len = 0;
	if (len < TOPIC__SHARE_PREFIX_LEN ||
	    memcmp(filter, TOPIC__SHARE_PREFIX, TOPIC__SHARE_PREFIX_LEN) != 0)
		return 0;
	slash = memchr(filter + TOPIC__SHARE_PREFIX_LEN, '/', len - TOPIC__SHARE_PREFIX_LEN);
	if (slash == NULL) {
		/* "$share/name": no filter. Report it as a group with an empty filter. */
		*group_len = len - TOPIC__SHARE_PREFIX_LEN;
		return len;
	}
	*group_len = (size_t)(slash - filter) - TOPIC__SHARE_PREFIX_LEN;
	return (size_t)(slash - filter) + 1;
}

/* The wildcard rules, on a plain (non-shared) filter. */
static int topic__plain_filter_check(const char *f, size_t len)
{
	size_t levels = 1;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = f[i];

		if (c == '/') {
			levels++;
		} else if (c == '+' || c == '#') {
			/* a wildcard is a whole level: '/' (or the start) before, '/' (or end) after */
			if (i > 0 && f[i - 1] != '/')
				return -EINVAL;
			if (i + 1 < len && f[i + 1] != '/')
				return -EINVAL;
			if (c == '#' && i + 1 != len)
				return -EINVAL;    /* '#' only as the last level */
		}
	}
	if (levels > TOPIC_MAX_LEVELS)
		return -E2BIG;
	return 0;
}

int topic_filter_check(const char *filter, size_t len)
{
	size_t glen, off;
	int rc;

	if (filter == NULL || len == 0 || len > TOPIC_MAX_LEN)
		return -EINVAL;
	rc = topic__utf8_check((const unsigned char *)filter, len);
	if (rc != 0)
		return rc;
	off = topic_share_split(filter, len, &glen);
	if (off != 0) {
		const char *g = filter + TOPIC__SHARE_PREFIX_LEN;

		/* MQTT 5 4.8.2: a non-empty group without '/', '+' or '#', then a filter */
		if (glen == 0 || memchr(g, '+', glen) != NULL || memchr(g, '#', glen) != NULL)
			return -EINVAL;
		if (glen > UINT16_MAX)
			return -EINVAL;
	}
	return topic__plain_filter_check(filter + off, len - off);
}
