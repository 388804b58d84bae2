/**
 * @file rt_auth.h
 * Users and ACLs on the control core (rt_auth.c): start-up loading of password_file and
 * acl_file, and the management commands that change them at run time. RT_AUTH_CMDS is
 * spliced into the command table of rt_cmds.c (one line there).
 *
 * Thread-safety: the control core's thread only.
 */
#ifndef TACHYON_RT_AUTH_H
#define TACHYON_RT_AUTH_H

#include <stddef.h>

struct rt;
struct mgmt_req;

/**
 * Load every listener's password_file and acl_file (each distinct file once) and publish
 * them to the broker. Call after the workers are attached (the broker state exists), before
 * they are launched. @return 0, or -1 with "file:line: message" in @p err.
 */
int rt_auth_init(const struct rt *rt, char *err, size_t errlen);

/** Drop the control core's references to the tables (at exit). */
void rt_auth_fini(void);

/**
 * Publish the tables again with allow_anonymous as rt->cfg says now: for a run-time change
 * of `allow_anonymous` (config set). Changed password_file / acl_file paths are not
 * followed (they need a restart). @return 0 or a negative errno.
 */
int rt_auth_republish(void);

int rt_auth_cmd_user_list(struct mgmt_req *req);
int rt_auth_cmd_user_add(struct mgmt_req *req);
int rt_auth_cmd_user_passwd(struct mgmt_req *req);
int rt_auth_cmd_user_delete(struct mgmt_req *req);
int rt_auth_cmd_user_reload(struct mgmt_req *req);
int rt_auth_cmd_acl_list(struct mgmt_req *req);
int rt_auth_cmd_acl_add(struct mgmt_req *req);
int rt_auth_cmd_acl_remove(struct mgmt_req *req);
int rt_auth_cmd_acl_reload(struct mgmt_req *req);

/** Rows of the management command table (docs/management.md, docs/security.md). */
#define RT_AUTH_CMDS \
	{ "user_list", "users of a password_file ([file])", rt_auth_cmd_user_list }, \
	{ "user_add", "add a user (user, password, [file])", rt_auth_cmd_user_add }, \
	{ "user_passwd", "change a user's password (user, password, [file])", \
	  rt_auth_cmd_user_passwd }, \
	{ "user_delete", "delete a user (user, [file])", rt_auth_cmd_user_delete }, \
	{ "user_reload", "re-read every password_file", rt_auth_cmd_user_reload }, \
	{ "acl_list", "the rules of an acl_file ([file])", rt_auth_cmd_acl_list }, \
	{ "acl_add", "add a rule (kind topic|pattern, [user], access, filter, [file])", \
	  rt_auth_cmd_acl_add }, \
	{ "acl_remove", "remove a rule (arguments as acl_add)", rt_auth_cmd_acl_remove }, \
	{ "acl_reload", "re-read every acl_file", rt_auth_cmd_acl_reload }

#endif /* TACHYON_RT_AUTH_H */
