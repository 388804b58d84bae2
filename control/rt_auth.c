/**
 * @file rt_auth.c
 * Users and ACLs on the control core: loads every listener's password_file and acl_file at
 * start-up, publishes them to the workers (brk_security_publish(): an RCU pointer swap,
 * the old tables freed after a grace period), and serves the management commands that
 * change them at run time (docs/security.md, docs/management.md):
 *
 *   user_list, user_add, user_passwd, user_delete, user_reload
 *   acl_list, acl_add, acl_remove, acl_reload
 *
 * Every change is copy-on-write: clone the table in force, edit the clone, write the file
 * atomically (auth_passwd_save() / auth_acl_save(): temporary file, fsync, rename), then
 * publish. A failure at any step leaves the file and the tables in force as they were.
 * A file shared by several listeners is loaded once and changed for all of them.
 *
 * Thread-safety: the control core's thread only (the management server's).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_acl.h"
#include "auth/auth_passwd.h"
#include "broker/brk.h"
#include "dp_mqtt.h"
#include "mgmt.h"
#include "rt.h"
#include "rt_auth.h"
#include "util/json.h"
#include "util/log.h"

/** One loaded file: its path and the table in force (one reference held here). */
struct rt__file {
	char path[CONF_PATH_MAX];
	void *tab;                   /**< struct auth_passwd * or struct auth_acl * */
};

static struct {
	const struct rt *rt;
	unsigned n_lst;                       /**< listeners published (at least 1) */
	struct rt__file pw[BRK_MAX_LISTENERS];
	unsigned n_pw;
	struct rt__file acl[BRK_MAX_LISTENERS];
	unsigned n_acl;
	int lst_pw[BRK_MAX_LISTENERS];        /**< index into pw[], -1: no password_file */
	int lst_acl[BRK_MAX_LISTENERS];       /**< index into acl[], -1: no acl_file */
} rt__a;

/* ---- loading and publishing ---- */

static void *rt__load(bool acl, const char *path, char *err, size_t errlen)
{
	return acl ? (void *)auth_acl_load(path, err, errlen)
		   : (void *)auth_passwd_load(path, err, errlen);
}

static void rt__unref(bool acl, void *tab)
{
	if (acl)
		auth_acl_unref(tab);
	else
		auth_passwd_unref(tab);
}

/* Find or load @p path into @p files. @return its index, or -1 with @p err set. */
static int rt__file_get(bool acl, struct rt__file *files, unsigned *n, const char *path,
			char *err, size_t errlen)
{
	for (unsigned i = 0; i < *n; i++)
		if (strcmp(files[i].path, path) == 0)
			return (int)i;
	void *tab = rt__load(acl, path, err, errlen);
	if (tab == NULL)
		return -1;
	snprintf(files[*n].path, sizeof(files[*n].path), "%s", path);
	files[*n].tab = tab;
	return (int)(*n)++;
}

static int rt__publish(void)
{
	struct brk_shared *sh = dp_mqtt_shared();
	if (sh == NULL)
		return -ENODEV;
	struct brk_sec_listener l[BRK_MAX_LISTENERS];
	memset(l, 0, sizeof(l));
	for (unsigned i = 0; i < rt__a.n_lst; i++) {
		l[i].allow_anonymous = conf_listener_allow_anonymous(&rt__a.rt->cfg, i);
		if (rt__a.lst_pw[i] >= 0)
			l[i].pw = rt__a.pw[rt__a.lst_pw[i]].tab;
		if (rt__a.lst_acl[i] >= 0)
			l[i].acl = rt__a.acl[rt__a.lst_acl[i]].tab;
	}
	return brk_security_publish(sh, l, rt__a.n_lst);
}

int rt_auth_init(const struct rt *rt, char *err, size_t errlen)
{
	const struct tachyon_config *c = &rt->cfg;
	rt__a.rt = rt;
	rt__a.n_lst = c->n_listeners > 0 ? c->n_listeners : 1;
	if (rt__a.n_lst > BRK_MAX_LISTENERS)
		rt__a.n_lst = BRK_MAX_LISTENERS;
	for (unsigned i = 0; i < rt__a.n_lst; i++) {
		const char *pw = conf_listener_password_file(c, i);
		const char *acl = conf_listener_acl_file(c, i);
		rt__a.lst_pw[i] = pw[0] ? rt__file_get(false, rt__a.pw, &rt__a.n_pw, pw, err, errlen)
					: -1;
		if (pw[0] && rt__a.lst_pw[i] < 0)
			return -1;
		rt__a.lst_acl[i] = acl[0] ? rt__file_get(true, rt__a.acl, &rt__a.n_acl, acl, err,
							 errlen)
					  : -1;
		if (acl[0] && rt__a.lst_acl[i] < 0)
			return -1;
	}
	int rc = rt__publish();
	if (rc != 0) {
		snprintf(err, errlen, "cannot publish the password and ACL tables: %s",
			 strerror(-rc));
		return -1;
	}
	for (unsigned i = 0; i < rt__a.n_pw; i++)
		TLOG_NOTICE("auth", "password file %s: %zu user(s)", rt__a.pw[i].path,
			    auth_passwd_count(rt__a.pw[i].tab));
	for (unsigned i = 0; i < rt__a.n_acl; i++)
		TLOG_NOTICE("auth", "acl file %s: %zu rule(s)", rt__a.acl[i].path,
			    auth_acl_rule_count(rt__a.acl[i].tab));
	return 0;
}

int rt_auth_republish(void)
{
	return rt__a.rt != NULL ? rt__publish() : -ENODEV;
}

void rt_auth_fini(void)
{
	/* The broker's own references go with brk_shared_destroy(). */
	for (unsigned i = 0; i < rt__a.n_pw; i++)
		auth_passwd_unref(rt__a.pw[i].tab);
	for (unsigned i = 0; i < rt__a.n_acl; i++)
		auth_acl_unref(rt__a.acl[i].tab);
	rt__a.n_pw = rt__a.n_acl = 0;
}

/* Replace file @p k's table by @p tab (consumed) and publish. */
static int rt__swap(struct mgmt_req *req, bool acl, unsigned k, void *tab)
{
	struct rt__file *f = acl ? &rt__a.acl[k] : &rt__a.pw[k];
	void *old = f->tab;
	f->tab = tab;
	int rc = rt__publish();
	if (rc != 0) {
		f->tab = old;
		rt__unref(acl, tab);
		return mgmt_error(req, "internal", "cannot publish: %s", strerror(-rc));
	}
	rt__unref(acl, old);
	return 0;
}

/* The file a request is about: "file" (a configured path), else the first one. */
static int rt__pick(struct mgmt_req *req, bool acl)
{
	unsigned n = acl ? rt__a.n_acl : rt__a.n_pw;
	const struct rt__file *files = acl ? rt__a.acl : rt__a.pw;
	const char *key = acl ? "acl_file" : "password_file";
	if (n == 0)
		return mgmt_error(req, "not_configured", "no %s is configured", key);
	const char *path = json_get_str(req->json, "file");
	if (path == NULL)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (strcmp(files[i].path, path) == 0)
			return (int)i;
	return mgmt_error(req, "not_found", "%s is not a configured %s", path, key);
}

/* ---- users ---- */

int rt_auth_cmd_user_list(struct mgmt_req *req)
{
	int k = rt__pick(req, false);
	if (k < 0)
		return -1;
	const struct auth_passwd *pw = rt__a.pw[k].tab;
	struct json_writer *w = req->out;
	json_kv_str(w, "file", rt__a.pw[k].path);
	json_key(w, "users");
	json_arr_begin(w);
	for (size_t i = 0; i < auth_passwd_count(pw); i++)
		json_str(w, auth_passwd_user_at(pw, i));
	json_arr_end(w);
	return 0;
}

enum rt__user_op { RT__USER_ADD, RT__USER_PASSWD, RT__USER_DELETE };

static int rt__user_change(struct mgmt_req *req, enum rt__user_op op)
{
	int k = rt__pick(req, false);
	if (k < 0)
		return -1;
	const char *user = json_get_str(req->json, "user");
	const struct json_value *pv = json_get(req->json, "password");
	if (user == NULL || user[0] == '\0')
		return mgmt_error(req, "bad_request", "\"user\" (a string) is required");
	if (op != RT__USER_DELETE && (pv == NULL || pv->type != JSON_STRING))
		return mgmt_error(req, "bad_request", "\"password\" (a string) is required");
	const struct auth_passwd *cur = rt__a.pw[k].tab;
	bool exists = auth_passwd_has_user(cur, user);
	if (op == RT__USER_ADD && exists)
		return mgmt_error(req, "exists", "user '%s' exists (use user_passwd)", user);
	if (op != RT__USER_ADD && !exists)
		return mgmt_error(req, "not_found", "no user '%s' in %s", user, rt__a.pw[k].path);
	struct auth_passwd *next = auth_passwd_clone(cur);
	if (next == NULL)
		return mgmt_error(req, "internal", "out of memory");
	int rc = op == RT__USER_DELETE ? auth_passwd_delete(next, user)
				       : auth_passwd_set(next, user, pv->str, pv->str_len);
	if (rc != 0) {
		auth_passwd_unref(next);
		return mgmt_error(req, rc == -EINVAL ? "bad_request" : "internal",
				  rc == -EINVAL ? "bad username '%s' (not empty, no ':', no line "
						  "break, no blank at either end)" : "cannot change "
						  "user '%s'", user);
	}
	char err[512];
	if (auth_passwd_save(next, rt__a.pw[k].path, err, sizeof(err)) != 0) {
		auth_passwd_unref(next);
		return mgmt_error(req, "io", "%s", err);
	}
	if (rt__swap(req, false, (unsigned)k, next) != 0)
		return -1;
	static const char *const verb[] = { "added", "changed", "deleted" };
	TLOG_NOTICE("auth", "user '%s' %s in %s (management socket)", user, verb[op],
		    rt__a.pw[k].path);
	json_kv_str(req->out, "file", rt__a.pw[k].path);
	json_kv_str(req->out, "message", verb[op]);
	return 0;
}

int rt_auth_cmd_user_add(struct mgmt_req *req)
{
	return rt__user_change(req, RT__USER_ADD);
}

int rt_auth_cmd_user_passwd(struct mgmt_req *req)
{
	return rt__user_change(req, RT__USER_PASSWD);
}

int rt_auth_cmd_user_delete(struct mgmt_req *req)
{
	return rt__user_change(req, RT__USER_DELETE);
}

/* Re-read every file of one kind; all or nothing. */
static int rt__reload(struct mgmt_req *req, bool acl)
{
	struct rt__file *files = acl ? rt__a.acl : rt__a.pw;
	unsigned n = acl ? rt__a.n_acl : rt__a.n_pw;
	if (n == 0)
		return mgmt_error(req, "not_configured", "no %s is configured",
				  acl ? "acl_file" : "password_file");
	void *fresh[BRK_MAX_LISTENERS];
	char err[512];
	for (unsigned i = 0; i < n; i++) {
		fresh[i] = rt__load(acl, files[i].path, err, sizeof(err));
		if (fresh[i] == NULL) {
			while (i-- > 0)
				rt__unref(acl, fresh[i]);
			return mgmt_error(req, "bad_file", "%s (the tables in force are kept)", err);
		}
	}
	void *old[BRK_MAX_LISTENERS];
	for (unsigned i = 0; i < n; i++) {
		old[i] = files[i].tab;
		files[i].tab = fresh[i];
	}
	int rc = rt__publish();
	for (unsigned i = 0; i < n; i++) {
		if (rc != 0)
			files[i].tab = old[i];
		rt__unref(acl, rc != 0 ? fresh[i] : old[i]);
	}
	if (rc != 0)
		return mgmt_error(req, "internal", "cannot publish: %s", strerror(-rc));
	json_key(req->out, "files");
	json_arr_begin(req->out);
	for (unsigned i = 0; i < n; i++) {
		json_obj_begin(req->out);
		json_kv_str(req->out, "file", files[i].path);
		if (acl)
			json_kv_u64(req->out, "rules", auth_acl_rule_count(files[i].tab));
		else
			json_kv_u64(req->out, "users", auth_passwd_count(files[i].tab));
		json_obj_end(req->out);
		TLOG_NOTICE("auth", "%s reloaded (management socket)", files[i].path);
	}
	json_arr_end(req->out);
	return 0;
}

int rt_auth_cmd_user_reload(struct mgmt_req *req)
{
	return rt__reload(req, false);
}

/* ---- ACLs ---- */

int rt_auth_cmd_acl_reload(struct mgmt_req *req)
{
	return rt__reload(req, true);
}

int rt_auth_cmd_acl_list(struct mgmt_req *req)
{
	int k = rt__pick(req, true);
	if (k < 0)
		return -1;
	size_t len = 0;
	char *text = auth_acl_format(rt__a.acl[k].tab, &len);
	if (text == NULL)
		return mgmt_error(req, "internal", "out of memory");
	json_kv_str(req->out, "file", rt__a.acl[k].path);
	json_kv_u64(req->out, "rules", auth_acl_rule_count(rt__a.acl[k].tab));
	json_kv_str(req->out, "text", text);
	free(text);
	return 0;
}

/* Parse {"kind":"topic"|"pattern","user":..,"access":..,"filter":..}. */
static int rt__rule_args(struct mgmt_req *req, enum auth_acl_kind *kind, const char **user,
			 enum auth_acl_grant *grant, const char **filter)
{
	const char *k = json_get_str(req->json, "kind");
	const char *a = json_get_str(req->json, "access");
	*user = json_get_str(req->json, "user");
	*filter = json_get_str(req->json, "filter");
	if (k == NULL || strcmp(k, "topic") == 0)
		*kind = AUTH_ACL_TOPIC;
	else if (strcmp(k, "pattern") == 0)
		*kind = AUTH_ACL_PATTERN;
	else
		return mgmt_error(req, "bad_request", "\"kind\" must be topic or pattern");
	if (a == NULL || strcmp(a, "readwrite") == 0)
		*grant = AUTH_ACL_RW;
	else if (strcmp(a, "read") == 0)
		*grant = AUTH_ACL_R;
	else if (strcmp(a, "write") == 0)
		*grant = AUTH_ACL_W;
	else if (strcmp(a, "deny") == 0)
		*grant = AUTH_ACL_DENY;
	else
		return mgmt_error(req, "bad_request",
				  "\"access\" must be read, write, readwrite or deny");
	if (*filter == NULL || (*filter)[0] == '\0')
		return mgmt_error(req, "bad_request", "\"filter\" (a topic filter) is required");
	if (*kind == AUTH_ACL_PATTERN && *user != NULL)
		return mgmt_error(req, "bad_request", "a pattern applies to every user: no \"user\"");
	return 0;
}

static int rt__acl_change(struct mgmt_req *req, bool add)
{
	enum auth_acl_kind kind = AUTH_ACL_TOPIC;
	enum auth_acl_grant grant = AUTH_ACL_RW;
	const char *user = NULL, *filter = NULL;
	if (rt__rule_args(req, &kind, &user, &grant, &filter) != 0)
		return -1;
	int k = rt__pick(req, true);
	if (k < 0)
		return -1;
	struct auth_acl *next = auth_acl_clone(rt__a.acl[k].tab);
	if (next == NULL)
		return mgmt_error(req, "internal", "out of memory");
	char err[512] = "";
	int rc = add ? auth_acl_add_rule(next, kind, user, grant, filter, err, sizeof(err))
		     : auth_acl_remove_rule(next, kind, user, grant, filter);
	if (rc != 0) {
		auth_acl_unref(next);
		if (rc == -EEXIST)
			return mgmt_error(req, "exists", "the rule is already there");
		if (rc == -ENOENT)
			return mgmt_error(req, "not_found", "no such rule");
		if (rc == -EINVAL)
			return mgmt_error(req, "bad_request", "%s", err[0] ? err : "bad rule");
		return mgmt_error(req, "internal", "out of memory");
	}
	if (auth_acl_save(next, rt__a.acl[k].path, err, sizeof(err)) != 0) {
		auth_acl_unref(next);
		return mgmt_error(req, "io", "%s", err);
	}
	if (rt__swap(req, true, (unsigned)k, next) != 0)
		return -1;
	TLOG_NOTICE("auth", "acl rule %s in %s (management socket)", add ? "added" : "removed",
		    rt__a.acl[k].path);
	json_kv_str(req->out, "file", rt__a.acl[k].path);
	json_kv_u64(req->out, "rules", auth_acl_rule_count(rt__a.acl[k].tab));
	return 0;
}

int rt_auth_cmd_acl_add(struct mgmt_req *req)
{
	return rt__acl_change(req, true);
}

int rt_auth_cmd_acl_remove(struct mgmt_req *req)
{
	return rt__acl_change(req, false);
}
