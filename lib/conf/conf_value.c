/**
 * @file conf_value.c
 * Parsing and formatting of single config values (booleans, integers, fractions, IPv4
 * addresses, core lists) and the message helpers. Pure functions: no config state here.
 *
 * The syntax is deliberately strict, because a value that is half-understood is worse than a
 * refused one: booleans are `true`/`false` only (Mosquitto's words), integers are plain
 * decimal (no 0x, no octal, no unit suffix, no '+'), addresses are dotted quads.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

int conf__err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int conf__out(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

int conf__parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

int conf__parse_int(const char *s, int64_t *out)
{
	const char *p = s;
	if (*p == '-')
		p++;
	if (*p == '\0')
		return -1;
	for (const char *q = p; *q; q++)
		if (!isdigit((unsigned char)*q))
			return -1;
	errno = 0;
	long long v = strtoll(s, NULL, 10);
	if (errno == ERANGE)
		return -2;
	*out = v;
	return 0;
}

int conf__parse_double(const char *s, double *out)
{
	/* Decimal only: "nan", "inf" and hex floats are refused; an exponent is accepted
	 * because conf_get writes tiny fractions as 1e-05. */
	char *end;
	if (*s == '\0' || strpbrk(s, "xXnNiI") != NULL || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(*out))
		return -1;
	return 0;
}

int conf__parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;
	/* glibc's inet_pton takes exactly four decimal octets 0..255 (no "1.2.3", no hex). */
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

void conf__format_ipv4(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
		 ip & 0xff);
}

int conf__parse_corelist(const char *s)
{
	/* EAL -l syntax: n or n-m, separated by commas, core ids below RTE_MAX_LCORE (128). */
	const char *p = s;
	for (;;) {
		char *end;
		if (!isdigit((unsigned char)*p))
			return -1;
		long a = strtol(p, &end, 10);
		long b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			b = strtol(p, &end, 10);
			p = end;
		}
		if (a > 127 || b > 127 || b < a)
			return -1;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return -1;
		p++;
	}
}

void conf__store_int(void *field, size_t size, int64_t v)
{
	switch (size) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(field, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(field, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(field, &x, 4); break; }
	default: memcpy(field, &v, 8); break;
	}
}

int64_t conf__load_int(const void *field, size_t size, bool is_signed)
{
	switch (size) {
	case 1: { uint8_t x; memcpy(&x, field, 1);
		  return is_signed ? (int64_t)(int8_t)x : (int64_t)x; }
	case 2: { uint16_t x; memcpy(&x, field, 2);
		  return is_signed ? (int64_t)(int16_t)x : (int64_t)x; }
	case 4: { uint32_t x; memcpy(&x, field, 4);
		  return is_signed ? (int64_t)(int32_t)x : (int64_t)x; }
	default: { int64_t x; memcpy(&x, field, 8); return x; }
	}
}
