/**
 * @file auth_tool.c
 * A small command-line front end to lib/auth for the shell tests (mosquitto_compat.sh): it
 * writes password and ACL files with the library and answers ACL questions, so the script can
 * compare our files and decisions with Debian's mosquitto. Not installed.
 *
 *   auth_tool passwd-set FILE USER PASS      add or change USER (FILE created if missing)
 *   auth_tool passwd-delete FILE USER
 *   auth_tool passwd-verify FILE USER PASS   exit 0 ok, 1 bad password, 2 unknown user
 *   auth_tool acl-copy IN OUT                load IN, save it to OUT
 *   auth_tool acl-check FILE CLIENTID USER|- TOPIC read|write|subscribe
 *                                            prints the decision; exit 0 allowed, 1 denied
 * Errors exit 3 with a message on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth_acl.h"
#include "auth/auth_passwd.h"

static int usage(void)
{
	fprintf(stderr, "usage: see the @file comment of tests/lib/auth/auth_tool.c\n");
	return 3;
}

static struct auth_passwd *load_or_new(const char *f)
{
	char err[512];
	if (access(f, F_OK) != 0)
		return auth_passwd_new();
	struct auth_passwd *pw = auth_passwd_load(f, err, sizeof(err));
	if (pw == NULL)
		fprintf(stderr, "%s\n", err);
	return pw;
}

static int passwd_cmd(int argc, char **argv)
{
	char err[512];
	const char *cmd = argv[1], *f = argv[2], *user = argv[3];
	if (strcmp(cmd, "passwd-verify") == 0) {
		if (argc != 5)
			return usage();
		struct auth_passwd *pw = auth_passwd_load(f, err, sizeof(err));
		if (pw == NULL) {
			fprintf(stderr, "%s\n", err);
			return 3;
		}
		int r = auth_passwd_verify(pw, user, strlen(user), argv[4], strlen(argv[4]));
		auth_passwd_unref(pw);
		return r == AUTH_PW_OK ? 0 : r == AUTH_PW_BAD_PASSWORD ? 1 : r == AUTH_PW_UNKNOWN_USER ? 2 : 3;
	}
	struct auth_passwd *pw = load_or_new(f);
	if (pw == NULL)
		return 3;
	int rc;
	if (strcmp(cmd, "passwd-set") == 0 && argc == 5)
		rc = auth_passwd_set(pw, user, argv[4], strlen(argv[4]));
	else if (strcmp(cmd, "passwd-delete") == 0 && argc == 4)
		rc = auth_passwd_delete(pw, user);
	else
		rc = -EINVAL;
	if (rc == 0 && auth_passwd_save(pw, f, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		rc = -EIO;
	} else if (rc != 0) {
		fprintf(stderr, "%s: %s\n", cmd, strerror(-rc));
	}
	auth_passwd_unref(pw);
	return rc == 0 ? 0 : 3;
}

static int acl_cmd(int argc, char **argv)
{
	char err[512];
	struct auth_acl *acl = auth_acl_load(argv[2], err, sizeof(err));
	if (acl == NULL) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	int rc = 3;
	if (strcmp(argv[1], "acl-copy") == 0 && argc == 4) {
		rc = auth_acl_save(acl, argv[3], err, sizeof(err)) == 0 ? 0 : 3;
		if (rc != 0)
			fprintf(stderr, "%s\n", err);
	} else if (strcmp(argv[1], "acl-check") == 0 && argc == 7) {
		const char *user = strcmp(argv[4], "-") == 0 ? NULL : argv[4];
		struct auth_client c = {argv[3], strlen(argv[3]), user, user ? strlen(user) : 0};
		int access = strcmp(argv[6], "read") == 0    ? AUTH_ACL_READ
			     : strcmp(argv[6], "write") == 0 ? AUTH_ACL_WRITE
							      : AUTH_ACL_SUBSCRIBE;
		int r = auth_acl_check(acl, &c, argv[5], strlen(argv[5]), access, NULL);
		printf("%s\n", auth_acl_deny_name(r));
		rc = r == AUTH_ACL_ALLOW ? 0 : 1;
	} else {
		rc = usage();
	}
	auth_acl_unref(acl);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	if (strncmp(argv[1], "passwd-", 7) == 0)
		return passwd_cmd(argc, argv);
	if (strncmp(argv[1], "acl-", 4) == 0)
		return acl_cmd(argc, argv);
	return usage();
}
