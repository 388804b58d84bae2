/**
 * @file fuzz_conf.c
 * libFuzzer target of the config parser: arbitrary bytes as a config file
 * (conf_load_buffer), then, when they parse, everything that reads the result back:
 * conf_validate, conf_get of every key for every listener, and conf_write -> reload, which
 * must succeed (what was accepted once must be writable and accepted again).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tachyon_config c, again;
	char err[CONF_ERR_MAX], buf[1024];

	conf_defaults(&c);
	if (conf_load_buffer(&c, "fuzz", (const char *)data, size, err, sizeof(err)) != 0) {
		/* Every error in the buffer names its line: "fuzz:<n>: ". (An include_dir that
		 * names a real directory reports the included file's name instead.) */
		if (strncmp(err, "fuzz:", 5) == 0) {
			size_t digits = strspn(err + 5, "0123456789");
			if (digits == 0 || strncmp(err + 5 + digits, ": ", 2) != 0)
				abort();
		} else if (err[0] == '\0') {
			abort();
		}
		return 0;
	}
	if (conf_validate(&c, err, sizeof(err)) != 0)
		return 0;
	for (unsigned i = 0; i < conf_key_count(); i++)
		for (unsigned li = 0; li < c.n_listeners; li++)
			(void)conf_get_listener(&c, li, conf_key_at(i)->name, buf, sizeof(buf));

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return 0;
	conf_write(&c, f);
	fclose(f);
	conf_defaults(&again);
	if (conf_load_buffer(&again, "written", text, len, err, sizeof(err)) != 0 ||
	    conf_validate(&again, err, sizeof(err)) != 0) {
		fprintf(stderr, "conf_write output does not load back: %s\n%s", err, text);
		abort();
	}
	free(text);
	return 0;
}
