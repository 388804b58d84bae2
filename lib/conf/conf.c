/**
 * @file conf.c
 * The config file parser and the settings engine: defaults, `key value` lines (from a file,
 * a buffer, an include_dir or conf_set), the listener-section rules, typed stores and
 * formatters driven by the registry (conf_keys.c), reading values back (conf_get, conf_write)
 * and the cross-field checks of conf_validate.
 *
 * Where it sits: tachyond's main calls conf_from_args (conf_args.c), which lands here; the
 * management socket later calls conf_set_runtime/conf_get on the control core.
 *
 * Line syntax (Mosquitto's): leading blanks are skipped; a line whose first character is then
 * `#` is a comment; the key is the first word; the value is the rest of the line with trailing
 * blanks (and a CR) removed. Scalar values must be one word, strings take the whole rest.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf_int.h"

#define CONF__IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | \
			      ((uint32_t)(c) << 8) | (uint32_t)(d))
#define CONF__LINE_MAX 4096          /**< longest accepted line, bytes */
#define CONF__FILE_MAX (4u << 20)    /**< largest accepted config file, bytes */
#define CONF__INCLUDE_FILES_MAX 1024 /**< most files read from one include_dir */

/* ---- defaults --------------------------------------------------------------------------- */

void conf__listener_init(struct conf_listener *l, uint16_t port, uint32_t bind_ip)
{
	memset(l, 0, sizeof(*l));
	l->port = port;
	l->bind_ip = bind_ip;
	l->allow_anonymous = -1;
	l->max_connections = -1;
	l->max_topic_alias = -1;
	l->allow_zero_length_clientid = -1;
}

void conf_defaults(struct tachyon_config *c)
{
	memset(c, 0, sizeof(*c));
	c->n_listeners = 1;
	conf__listener_init(&c->listeners[0], CONF_DEFAULT_PORT, 0);
	c->allow_anonymous = true;
	c->persistence = true;
	snprintf(c->persistence_location, sizeof(c->persistence_location), "/var/lib/tachyon/");
	c->autosave_interval = 1800;
	c->max_connections = -1;
	c->max_inflight_messages = 20;
	c->max_queued_messages = 1000;
	c->max_keepalive = 65535;
	c->retain_available = true;
	c->sys_interval = 10;
	c->max_topic_alias = 10;
	c->allow_zero_length_clientid = true;
	c->log_level = 2;
	c->workers = 1;
	c->memory_mb = 256;
	c->no_huge = true;
	snprintf(c->file_prefix, sizeof(c->file_prefix), "tachyon");
	c->mbufs = 16383;
	c->max_topic_levels = 128;
	c->message_pool_mb = 64;
	c->auth_fail_burst = 5;
	c->auth_fail_interval = 10;
	snprintf(c->tap_name, sizeof(c->tap_name), "tachyon0");
	c->tap_kernel_ip = CONF__IP(10, 77, 0, 1);
	c->ip = CONF__IP(10, 77, 0, 2);
	c->prefix_len = 24;
	c->gateway = c->tap_kernel_ip;
	c->mtu = 1500;
	snprintf(c->mgmt_socket, sizeof(c->mgmt_socket), "/run/tachyon/tachyon.sock");
	c->persistence_mode = CONF_PERSIST_SYNC;
	c->persistence_fsync_interval_ms = 2;
	c->persistence_fsync_bytes = 1u << 20;
	c->tcp_time_wait_ms = 60000;
	c->tcp_rto_min_ms = 200;
	c->tcp_rto_max_ms = 60000;
	c->tcp_max_retries = 8;
	c->tcp_delayed_ack_ms = 40;
	c->idle_spin_max_us = 2000;
	c->tcp_max_conns_per_worker = 1048576;
	c->tcp_syn_backlog = 4096;
	c->tcp_sndbuf = 262144;
	c->tcp_rcvbuf = 262144;
}

/* ---- sections and fields ---------------------------------------------------------------- */

unsigned conf__cur_listener(const struct tachyon_config *c)
{
	/* Before any `listener` line the current section is the default listener (index 0). */
	return c->listeners_explicit ? c->n_listeners - 1 : 0;
}

/* Does a write of @p k now go to the current listener rather than the global field? */
static bool conf__in_listener(const struct tachyon_config *c, const struct conf__key *k)
{
	switch (k->info.scope) {
	case CONF_SCOPE_LISTENER:
		return true;
	case CONF_SCOPE_EITHER:
		return c->listeners_explicit;
	case CONF_SCOPE_PER_LISTENER_SETTINGS:
		return c->per_listener_settings && c->listeners_explicit;
	default:
		return false;
	}
}

/* The field of @p k: in listener @p li, or global for CONF__GLOBAL. NULL if it has none. */
static void *conf__field(const struct tachyon_config *c, const struct conf__key *k, unsigned li,
			 size_t *size)
{
	if (li != CONF__GLOBAL && k->lsize != 0) {
		*size = k->lsize;
		return (char *)&c->listeners[li] + k->loff;
	}
	if (k->gsize == 0)
		return NULL;
	*size = k->gsize;
	return (char *)c + k->goff;
}

/* Is listener @p li's value of @p k "inherit the global one" (-1 or "")? */
static bool conf__inherits(const struct tachyon_config *c, const struct conf__key *k, unsigned li)
{
	if (k->lsize == 0 || k->gsize == 0 || li == CONF__GLOBAL)
		return false;
	const char *f = (const char *)&c->listeners[li] + k->loff;
	if (k->info.type == CONF_TYPE_STRING)
		return f[0] == '\0';
	if (k->info.type == CONF_TYPE_BOOL && k->lsize == sizeof(bool))
		return false;
	return conf__load_int(f, k->lsize, true) == -1;
}

int conf__store_typed(struct tachyon_config *c, const struct conf__key *k, const char *value,
		      const char *where, char *err, size_t errlen)
{
	const char *name = k->info.name, *allowed = k->info.allowed;
	bool in_l = conf__in_listener(c, k);
	size_t size = 0;
	void *f = conf__field(c, k, in_l ? conf__cur_listener(c) : CONF__GLOBAL, &size);
	bool b;
	int64_t v;
	double d;
	uint32_t ip;

	if (f == NULL)
		return conf__err(err, errlen, "%s: %s: has no value to set", where, name);
	switch (k->info.type) {
	case CONF_TYPE_BOOL:
		if (conf__parse_bool(value, &b) != 0)
			return conf__err(err, errlen, "%s: %s: '%s' is not a boolean (allowed: %s)",
					 where, name, value, allowed);
		if (size == sizeof(bool))
			memcpy(f, &b, sizeof(b));
		else
			conf__store_int(f, size, b);
		break;
	case CONF_TYPE_INT: {
		int r = conf__parse_int(value, &v);
		if (r == -1)
			return conf__err(err, errlen, "%s: %s: '%s' is not a whole number "
					 "(allowed: %s)", where, name, value, allowed);
		if (r != 0 || v < k->min || v > k->max)
			return conf__err(err, errlen, "%s: %s: '%s' is out of range (allowed: %s)",
					 where, name, value, allowed);
		conf__store_int(f, size, v);
		break;
	}
	case CONF_TYPE_DOUBLE:
		if (conf__parse_double(value, &d) != 0)
			return conf__err(err, errlen, "%s: %s: '%s' is not a number (allowed: %s)",
					 where, name, value, allowed);
		if (d < k->dmin || d > k->dmax)
			return conf__err(err, errlen, "%s: %s: '%s' is out of range (allowed: %s)",
					 where, name, value, allowed);
		memcpy(f, &d, sizeof(d));
		break;
	case CONF_TYPE_IPV4:
		if (conf__parse_ipv4(value, &ip) != 0)
			return conf__err(err, errlen, "%s: %s: '%s' is not an IPv4 address "
					 "(allowed: %s)", where, name, value, allowed);
		conf__store_int(f, size, ip);
		break;
	case CONF_TYPE_ENUM:
		for (v = 0; k->names[v] != NULL; v++)
			if (strcmp(value, k->names[v]) == 0)
				break;
		if (k->names[v] == NULL)
			return conf__err(err, errlen, "%s: %s: '%s' is not allowed (allowed: %s)",
					 where, name, value, allowed);
		conf__store_int(f, size, v);
		break;
	case CONF_TYPE_STRING:
		if (strlen(value) >= size)
			return conf__err(err, errlen, "%s: %s: value is too long (at most %zu "
					 "characters; allowed: %s)", where, name, size - 1,
					 allowed);
		memset(f, 0, size);
		memcpy(f, value, strlen(value));
		break;
	default:
		return conf__err(err, errlen, "%s: %s: has no value to set", where, name);
	}
	if (k->info.scope == CONF_SCOPE_LISTENER && !c->listeners_explicit)
		c->default_listener_touched = true;
	return 0;
}

int conf__apply(struct tachyon_config *c, const struct conf__key *k, const char *value,
		const char *where, char *err, size_t errlen)
{
	if (!k->info.supported)
		return conf__err(err, errlen, "%s: '%s' is a Mosquitto option that Tachyon does "
				 "not support yet", where, k->info.name);
	if (value == NULL || value[0] == '\0')
		return conf__err(err, errlen, "%s: %s: missing value (allowed: %s)", where,
				 k->info.name, k->info.allowed);
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return conf__err(err, errlen, "%s: %s: the value contains a control "
					 "character", where, k->info.name);
	if (!k->rest && k->info.type != CONF_TYPE_STRING) {
		const char *sp = strpbrk(value, " \t");
		if (sp != NULL) {
			sp += strspn(sp, " \t");
			return conf__err(err, errlen, "%s: %s: unexpected '%s' after the value "
					 "(allowed: %s)", where, k->info.name, sp,
					 k->info.allowed);
		}
	}
	if (k->set != NULL)
		return k->set(c, k, value, where, err, errlen);
	return conf__store_typed(c, k, value, where, err, errlen);
}

int conf__format(const struct tachyon_config *c, const struct conf__key *k, unsigned li,
		 char *buf, size_t len)
{
	if (!k->info.supported) {
		errno = ENOENT;
		return -1;
	}
	if (k->get != NULL)
		return k->get(c, k, li, buf, len);
	if (conf__inherits(c, k, li))
		li = CONF__GLOBAL;
	size_t size = 0;
	const void *f = conf__field(c, k, li, &size);
	if (f == NULL) {
		errno = ENOENT;
		return -1;
	}
	int64_t v;
	switch (k->info.type) {
	case CONF_TYPE_BOOL:
		if (size == sizeof(bool))
			v = *(const bool *)f;
		else
			v = conf__load_int(f, size, true);
		return conf__out(buf, len, "%s", v ? "true" : "false");
	case CONF_TYPE_INT:
		v = conf__load_int(f, size, k->min < 0);
		return conf__out(buf, len, "%lld", (long long)v);
	case CONF_TYPE_DOUBLE: {
		double d;
		memcpy(&d, f, sizeof(d));
		/* the shortest text that reads back to the same double */
		for (int prec = 1; prec <= 17; prec++) {
			if (conf__out(buf, len, "%.*g", prec, d) != 0)
				return -1;
			if (strtod(buf, NULL) == d)
				break;
		}
		return 0;
	}
	case CONF_TYPE_IPV4: {
		char ip[16];
		conf__format_ipv4((uint32_t)conf__load_int(f, size, false), ip, sizeof(ip));
		return conf__out(buf, len, "%s", ip);
	}
	case CONF_TYPE_ENUM: {
		v = conf__load_int(f, size, false);
		int64_t n = 0;
		while (k->names[n] != NULL)
			n++;
		return conf__out(buf, len, "%s", v >= 0 && v < n ? k->names[v] : "?");
	}
	case CONF_TYPE_STRING:
		return conf__out(buf, len, "%.*s", (int)strnlen(f, size), (const char *)f);
	default:
		errno = ENOENT;
		return -1;
	}
}

/* ---- lines, buffers, files, directories -------------------------------------------------- */

/* Edit distance, to suggest a key for a typo. Keys are short, so O(n*m) is nothing. */
static size_t conf__distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];
	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int conf__unknown(const char *key, const char *where, char *err, size_t errlen)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (unsigned i = 0; i < conf__n_keys; i++) {
		const struct conf__key *k = &conf__keys[i];
		if (!k->info.supported)
			continue;
		size_t d = conf__distance(key, k->info.name);
		if (d < best_d) {
			best_d = d;
			best = k->info.name;
		}
	}
	if (best != NULL)
		return conf__err(err, errlen, "%s: unknown key '%s' (did you mean '%s'? every key "
				 "is listed in docs/configuration.md)", where, key, best);
	return conf__err(err, errlen, "%s: unknown key '%s' (every key is listed in "
			 "docs/configuration.md)", where, key);
}

/* One `key value` pair, from a line (depth = include depth) or from conf_set (depth 0). */
static int conf__set_kv(struct tachyon_config *c, const char *key, const char *value,
			int depth, const char *where, char *err, size_t errlen)
{
	const struct conf__key *k = conf__key_find(key);
	if (k == NULL)
		return conf__unknown(key, where, err, errlen);
	if (!k->info.supported) /* named as written: "bridge_cafile", not the "bridge_" row */
		return conf__err(err, errlen, "%s: '%s' is a Mosquitto option that Tachyon does "
				 "not support yet", where, key);
	if (k->set != NULL && strcmp(k->info.name, "include_dir") == 0) {
		/* Mosquitto reads include_dir only in the main file; that also rules out loops. */
		if (depth > 0)
			return conf__err(err, errlen, "%s: include_dir: only allowed in the main "
					 "config file", where);
		if (value == NULL || value[0] == '\0')
			return conf__apply(c, k, value, where, err, errlen);
		return conf__include_dir(c, value, depth, where, err, errlen);
	}
	return conf__apply(c, k, value, where, err, errlen);
}

static int conf__load(struct tachyon_config *c, const char *name, const char *buf, size_t len,
		      int depth, char *err, size_t errlen)
{
	char line[CONF__LINE_MAX], where[CONF_PATH_MAX + 32];
	size_t pos = 0;
	unsigned lineno = 0;

	while (pos < len) {
		const char *start = buf + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + (nl != NULL);
		lineno++;
		snprintf(where, sizeof(where), "%s:%u", name, lineno);
		if (n >= sizeof(line))
			return conf__err(err, errlen, "%s: line too long (at most %d characters)",
					 where, CONF__LINE_MAX - 1);
		if (memchr(start, '\0', n) != NULL)
			return conf__err(err, errlen, "%s: the line contains a NUL byte", where);
		memcpy(line, start, n);
		line[n] = '\0';

		while (n > 0 && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		char *key = line + strspn(line, " \t");
		if (*key == '\0' || *key == '#')
			continue;
		char *value = key + strcspn(key, " \t");
		if (*value != '\0') {
			*value++ = '\0';
			value += strspn(value, " \t");
		}
		if (conf__set_kv(c, key, value, depth, where, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static int conf__load_path(struct tachyon_config *c, const char *path, int depth, char *err,
			   size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return conf__err(err, errlen, "%s: %s", path, strerror(errno));
	char *buf = malloc(CONF__FILE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return conf__err(err, errlen, "%s: out of memory", path);
	}
	size_t len = fread(buf, 1, CONF__FILE_MAX + 1, f);
	int rerr = ferror(f);
	fclose(f);
	int rc;
	if (rerr)
		rc = conf__err(err, errlen, "%s: read error", path);
	else if (len > CONF__FILE_MAX)
		rc = conf__err(err, errlen, "%s: file too large (at most %u bytes)", path,
			       CONF__FILE_MAX);
	else
		rc = conf__load(c, path, buf, len, depth, err, errlen);
	free(buf);
	return rc;
}

/* Mosquitto's include_dir order: alphabetical, ignoring case, upper case first on a tie
 * of letters ("A.conf" < "a.conf" < "B.conf"). */
static int conf__include_cmp(const void *pa, const void *pb)
{
	const unsigned char *a = *(const unsigned char *const *)pa;
	const unsigned char *b = *(const unsigned char *const *)pb;
	for (; *a && *b; a++, b++) {
		if (tolower(*a) != tolower(*b))
			return tolower(*a) - tolower(*b);
		if (*a != *b)
			return isupper(*a) ? -1 : 1;
	}
	return (int)*a - (int)*b;
}

int conf__include_dir(struct tachyon_config *c, const char *dir, int depth, const char *where,
		      char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return conf__err(err, errlen, "%s: include_dir: cannot open '%s': %s", where, dir,
				 strerror(errno));
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l <= 5 || strcmp(e->d_name + l - 5, ".conf") != 0)
			continue;
		if (n == CONF__INCLUDE_FILES_MAX) {
			rc = conf__err(err, errlen, "%s: include_dir: more than %d .conf files in "
				       "'%s'", where, CONF__INCLUDE_FILES_MAX, dir);
			break;
		}
		char **nn = realloc(names, (n + 1) * sizeof(*names));
		char *s = strdup(e->d_name);
		if (nn != NULL)
			names = nn;
		if (nn == NULL || s == NULL) {
			free(s);
			rc = conf__err(err, errlen, "%s: include_dir: out of memory", where);
			break;
		}
		names[n++] = s;
	}
	closedir(d);
	if (rc == 0 && n > 1) /* qsort's base must not be NULL, even for 0 elements */
		qsort(names, n, sizeof(*names), conf__include_cmp);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0) {
			char path[CONF_PATH_MAX * 2];
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			rc = conf__load_path(c, path, depth + 1, err, errlen);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int conf_load_buffer(struct tachyon_config *c, const char *name, const char *buf, size_t len,
		     char *err, size_t errlen)
{
	return conf__load(c, name, buf, len, 0, err, errlen);
}

int conf_load_file(struct tachyon_config *c, const char *path, char *err, size_t errlen)
{
	snprintf(c->source_path, sizeof(c->source_path), "%s", path);
	return conf__load_path(c, path, 0, err, errlen);
}

/* ---- conf_set / conf_get ---------------------------------------------------------------- */

int conf_set(struct tachyon_config *c, const char *key, const char *value, const char *where,
	     char *err, size_t errlen)
{
	/* Work on a copy so that a refused value (or a bad file in an include_dir) leaves the
	 * running configuration untouched. */
	struct tachyon_config *tmp = malloc(sizeof(*tmp));
	if (tmp == NULL)
		return conf__err(err, errlen, "%s: out of memory", where);
	memcpy(tmp, c, sizeof(*tmp));
	int rc = conf__set_kv(tmp, key ? key : "", value, 0, where, err, errlen);
	if (rc == 0)
		memcpy(c, tmp, sizeof(*c));
	free(tmp);
	return rc;
}

int conf_set_runtime(struct tachyon_config *c, const char *key, const char *value,
		     const char *where, char *err, size_t errlen)
{
	const struct conf__key *k = key ? conf__key_find(key) : NULL;
	if (k != NULL && k->info.supported && !k->info.runtime)
		return conf__err(err, errlen, "%s: %s: cannot change at run time; edit the config "
				 "file and restart", where, key);
	return conf_set(c, key, value, where, err, errlen);
}

int conf_get(const struct tachyon_config *c, const char *key, char *buf, size_t len)
{
	const struct conf__key *k = key ? conf__key_find(key) : NULL;
	if (k == NULL) {
		errno = ENOENT;
		return -1;
	}
	return conf__format(c, k, conf__in_listener(c, k) ? conf__cur_listener(c) : CONF__GLOBAL,
			    buf, len);
}

int conf_get_listener(const struct tachyon_config *c, unsigned idx, const char *key, char *buf,
		      size_t len)
{
	if (idx >= c->n_listeners) {
		errno = EINVAL;
		return -1;
	}
	const struct conf__key *k = key ? conf__key_find(key) : NULL;
	if (k == NULL) {
		errno = ENOENT;
		return -1;
	}
	return conf__format(c, k, idx, buf, len);
}

/* ---- effective per-listener values -------------------------------------------------------- */

bool conf_listener_allow_anonymous(const struct tachyon_config *c, unsigned idx)
{
	if (idx < c->n_listeners && c->per_listener_settings &&
	    c->listeners[idx].allow_anonymous >= 0)
		return c->listeners[idx].allow_anonymous != 0;
	return c->allow_anonymous;
}

int64_t conf_listener_max_connections(const struct tachyon_config *c, unsigned idx)
{
	if (idx < c->n_listeners && c->listeners[idx].max_connections >= 0)
		return c->listeners[idx].max_connections;
	return c->max_connections;
}

uint16_t conf_listener_max_topic_alias(const struct tachyon_config *c, unsigned idx)
{
	if (idx < c->n_listeners && c->listeners[idx].max_topic_alias >= 0)
		return (uint16_t)c->listeners[idx].max_topic_alias;
	return c->max_topic_alias;
}

const char *conf_listener_password_file(const struct tachyon_config *c, unsigned idx)
{
	if (idx < c->n_listeners && c->per_listener_settings &&
	    c->listeners[idx].password_file[0] != '\0')
		return c->listeners[idx].password_file;
	return c->password_file;
}

const char *conf_listener_acl_file(const struct tachyon_config *c, unsigned idx)
{
	if (idx < c->n_listeners && c->per_listener_settings &&
	    c->listeners[idx].acl_file[0] != '\0')
		return c->listeners[idx].acl_file;
	return c->acl_file;
}

bool conf_listener_allow_zero_length_clientid(const struct tachyon_config *c, unsigned idx)
{
	if (idx < c->n_listeners && c->per_listener_settings &&
	    c->listeners[idx].allow_zero_length_clientid >= 0)
		return c->listeners[idx].allow_zero_length_clientid != 0;
	return c->allow_zero_length_clientid;
}

/* ---- validation ------------------------------------------------------------------------- */

static int conf__validate_listener(struct tachyon_config *c, unsigned i, const char *src,
				   char *err, size_t errlen)
{
	struct conf_listener *l = &c->listeners[i];
	bool cert = l->certfile[0] != '\0', key = l->keyfile[0] != '\0';
	char ip[16];

	/* Messages point at the section's `listener` line when there is one. */
	if (l->origin[0] != '\0')
		src = l->origin;

	if (cert != key)
		return conf__err(err, errlen, "%s: listener %u: %s is set but %s is not (a TLS "
				 "listener needs both)", src, l->port, cert ? "certfile" : "keyfile",
				 cert ? "keyfile" : "certfile");
	l->tls = cert && key;
	if (!l->tls) {
		const char *tls_only = l->cafile[0] ? "cafile" : l->capath[0] ? "capath"
			: l->require_certificate ? "require_certificate"
			: l->use_identity_as_username ? "use_identity_as_username"
			: l->tls_version[0] ? "tls_version" : l->ciphers[0] ? "ciphers" : NULL;
		if (tls_only != NULL)
			return conf__err(err, errlen, "%s: listener %u: %s needs TLS: set certfile "
					 "and keyfile on this listener", src, l->port, tls_only);
	}
	if (l->require_certificate && !l->cafile[0] && !l->capath[0])
		return conf__err(err, errlen, "%s: listener %u: require_certificate needs cafile "
				 "or capath", src, l->port);
	if (l->use_identity_as_username && !l->require_certificate)
		return conf__err(err, errlen, "%s: listener %u: use_identity_as_username needs "
				 "require_certificate true", src, l->port);
	if (l->bind_ip != 0 && l->bind_ip != c->ip) {
		conf__format_ipv4(l->bind_ip, ip, sizeof(ip));
		return conf__err(err, errlen, "%s: listener %u: %s is not Tachyon's address (see "
				 "'address')", src, l->port, ip);
	}
	if (c->tcp_echo_port != 0 && c->tcp_echo_port == l->port)
		return conf__err(err, errlen, "%s: tcp_echo_port %u is also a listener port", src,
				 l->port);
	if (l->allow_anonymous < 0 && l->password_file[0] && c->per_listener_settings &&
	    !c->allow_anonymous_set)
		l->allow_anonymous = 0;
	return 0;
}

int conf_validate(struct tachyon_config *c, char *err, size_t errlen)
{
	const char *src = c->source_path[0] ? c->source_path : "configuration";
	char a[16], b[16];

	for (unsigned i = 0; i < c->n_listeners; i++)
		if (conf__validate_listener(c, i, src, err, errlen) != 0)
			return -1;
	/* Mosquitto 2: allow_anonymous defaults to false as soon as the file defines a listener
	 * or a password file; only the listener-less default admits anonymous clients. An
	 * operator's mosquitto.conf must not become more open here than it was there. */
	if (!c->allow_anonymous_set && (c->password_file[0] != '\0' || c->listeners_explicit))
		c->allow_anonymous = false;
	if (!c->gateway_set)
		c->gateway = conf_port_is_tap(c) ? c->tap_kernel_ip : 0;

	uint32_t mask = c->prefix_len ? ~0u << (32 - c->prefix_len) : 0;
	conf__format_ipv4(c->ip, a, sizeof(a));
	if ((c->ip & ~mask) == 0 || (c->ip & ~mask) == ~mask)
		return conf__err(err, errlen, "%s: address %s/%u is the subnet's network or "
				 "broadcast address", src, a, c->prefix_len);
	if (c->pci_device[0] != '\0' && c->memif_socket[0] != '\0')
		return conf__err(err, errlen, "%s: pci_device and memif_socket are both set: "
				 "choose one port", src);
	if (conf_port_is_tap(c)) {
		conf__format_ipv4(c->tap_kernel_ip, b, sizeof(b));
		if (c->ip == c->tap_kernel_ip)
			return conf__err(err, errlen, "%s: address %s is also tap_address (the "
					 "kernel's side)", src, a);
		if ((c->ip & mask) != (c->tap_kernel_ip & mask))
			return conf__err(err, errlen, "%s: address %s/%u is outside the tap "
					 "subnet of tap_address %s", src, a, c->prefix_len, b);
	}
	if (c->gateway != 0) {
		conf__format_ipv4(c->gateway, b, sizeof(b));
		if ((c->gateway & mask) != (c->ip & mask) || c->gateway == c->ip)
			return conf__err(err, errlen, "%s: gateway %s is not another host of our "
					 "subnet %s/%u", src, b, a, c->prefix_len);
	}
	if (c->rx_mbufs != 0 && c->rx_mbufs < 2047)
		return conf__err(err, errlen, "%s: rx_mbufs %u: 0 (automatic) or at least 2047 "
				 "(the port's receive ring alone holds 1024, and frames being "
				 "received need as many again)", src, c->rx_mbufs);
	if (c->tcp_rto_min_ms > c->tcp_rto_max_ms)
		return conf__err(err, errlen, "%s: tcp_rto_min_ms %u is above tcp_rto_max_ms %u",
				 src, c->tcp_rto_min_ms, c->tcp_rto_max_ms);
	if (c->persistence && c->persistence_location[0] == '\0')
		return conf__err(err, errlen, "%s: persistence needs persistence_location", src);
	if (c->mgmt_socket[0] == '\0')
		return conf__err(err, errlen, "%s: mgmt_socket must be set", src);
	return 0;
}

/* ---- conf_write ------------------------------------------------------------------------- */

int conf_write(const struct tachyon_config *c, FILE *f)
{
	char v[1024];

	fprintf(f, "# Tachyon configuration%s%s\n", c->source_path[0] ? " loaded from " : "",
		c->source_path);
	for (unsigned i = 0; i < conf__n_keys; i++) {
		const struct conf__key *k = &conf__keys[i];
		/* Listener-only keys go in the sections below; keys without a single value
		 * (port, log_type, include_dir ...) are represented by what they set. */
		if (!k->info.supported || k->info.scope == CONF_SCOPE_LISTENER ||
		    strcmp(k->info.name, "listener") == 0 ||
		    (k->info.type == CONF_TYPE_SPECIAL && k->get == NULL))
			continue;
		if (conf__format(c, k, CONF__GLOBAL, v, sizeof(v)) == 0 && v[0] != '\0')
			fprintf(f, "%s %s\n", k->info.name, v);
	}
	for (unsigned li = 0; li < c->n_listeners; li++) {
		const struct conf__key *lk = conf__key_find("listener");
		if (conf__format(c, lk, li, v, sizeof(v)) == 0)
			fprintf(f, "\nlistener %s\n", v);
		for (unsigned i = 0; i < conf__n_keys; i++) {
			const struct conf__key *k = &conf__keys[i];
			if (!k->info.supported || k->lsize == 0 || conf__inherits(c, k, li))
				continue;
			if (k->info.scope == CONF_SCOPE_PER_LISTENER_SETTINGS &&
			    !c->per_listener_settings)
				continue;
			if (conf__format(c, k, li, v, sizeof(v)) == 0 && v[0] != '\0')
				fprintf(f, "%s %s\n", k->info.name, v);
		}
	}
	return ferror(f) ? -1 : 0;
}
