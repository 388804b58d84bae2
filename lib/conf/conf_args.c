/**
 * @file conf_args.c
 * tachyond's command line: -c/--config, --set key=value, --check, --print-config, -h/--help,
 * --version. Lives in the conf part so that tachyond, the tests and any tool share it.
 *
 * Order of sources, whatever the order on the command line: defaults, then the config file,
 * then every --set in the order given, then conf_validate(). That makes `--set` an override
 * of the file, as operators expect, and lets `--set listener=8883 --set certfile=...` open and
 * fill a listener section just like lines appended to the file.
 *
 * Hand-rolled instead of getopt_long: getopt keeps global state (optind), and this function
 * is called more than once per process in the tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

#ifndef TACHYON_VERSION
#define TACHYON_VERSION "unknown"
#endif

void conf_usage(FILE *f)
{
	fprintf(f,
		"Usage: tachyond [options]\n"
		"Tachyon, a kernel-bypass MQTT broker. With no config file it runs the embedded\n"
		"default: a net_tap port tachyon0 (kernel side 10.77.0.1, broker 10.77.0.2/24)\n"
		"and one MQTT listener on port 1883.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE     read FILE (Mosquitto's format plus Tachyon's keys)\n"
		"      --set KEY=VALUE   set one key after the file (repeatable), e.g.\n"
		"                        --set workers=2 --set listener=8883 --set certfile=c.pem\n"
		"      --check           load and validate the configuration, then exit\n"
		"      --print-config    print the effective configuration, then exit\n"
		"  -h, --help            print this help, then exit\n"
		"      --version         print the version, then exit\n"
		"\n"
		"Keys, defaults and allowed values: docs/configuration.md.\n");
}

/* The value of option argv[*i]: "--opt=value" or the next argument. NULL if missing. */
static const char *conf__optval(int argc, char **argv, int *i, const char *opt)
{
	size_t n = strlen(opt);
	if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static bool conf__is_opt(const char *arg, const char *opt)
{
	size_t n = strlen(opt);
	return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || (opt[1] == '-' && arg[n] == '='));
}

int conf_from_args(struct tachyon_config *c, int argc, char **argv, char *err, size_t errlen)
{
	const char *config = NULL;
	bool check = false, print = false;
	int i;

	conf_defaults(c);
	/* First pass: options that stop everything, the file, and syntax errors. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			conf_usage(stdout);
			return 1;
		} else if (strcmp(a, "--version") == 0) {
			printf("tachyond %s\n", TACHYON_VERSION);
			return 1;
		} else if (strcmp(a, "-c") == 0 || conf__is_opt(a, "--config")) {
			const char *v = conf__optval(argc, argv, &i, strcmp(a, "-c") ? "--config" : "-c");
			if (v == NULL || v[0] == '\0')
				return conf__err(err, errlen, "%s: missing file name", a);
			if (config != NULL)
				return conf__err(err, errlen, "%s: only one config file may be "
						 "given", a);
			config = v;
		} else if (conf__is_opt(a, "--set")) {
			const char *v = conf__optval(argc, argv, &i, "--set");
			if (v == NULL || strchr(v, '=') == NULL || v[0] == '=')
				return conf__err(err, errlen, "--set: expected KEY=VALUE, got '%s'",
						 v ? v : "");
		} else if (strcmp(a, "--check") == 0) {
			check = true;
		} else if (strcmp(a, "--print-config") == 0) {
			print = true;
		} else {
			return conf__err(err, errlen, "unknown option '%s' (see --help)", a);
		}
	}
	if (config != NULL && conf_load_file(c, config, err, errlen) != 0)
		return -1;
	/* Second pass: the overrides, in order. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 ||
		    (strcmp(argv[i], "--config") == 0 && i + 1 < argc)) {
			i++;
			continue;
		}
		if (!conf__is_opt(argv[i], "--set"))
			continue;
		const char *v = conf__optval(argc, argv, &i, "--set");
		char key[128];
		size_t n = strcspn(v, "=");
		if (n >= sizeof(key))
			return conf__err(err, errlen, "--set: key too long in '%s'", v);
		memcpy(key, v, n);
		key[n] = '\0';
		if (conf_set(c, key, v + n + 1, "--set", err, errlen) != 0)
			return -1;
	}
	if (conf_validate(c, err, errlen) != 0)
		return -1;
	if (print && conf_write(c, stdout) != 0)
		return conf__err(err, errlen, "--print-config: cannot write to stdout");
	if (check && !print)
		printf("configuration OK\n");
	return check || print ? 1 : 0;
}
