/**
 * @file test_json.c
 * Unit tests of lib/util's JSON writer and reader: the management protocol's framing relies
 * on the writer never emitting a raw newline and on exact integers surviving a round trip.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/json.h"

static int failures;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                      \
		}                                                                        \
	} while (0)

#define CHECK_STR(got, want)                                                             \
	do {                                                                             \
		const char *g_ = (got);                                                  \
		if (g_ == NULL || strcmp(g_, (want)) != 0) {                             \
			fprintf(stderr, "%s:%d: got %s, want %s\n", __FILE__, __LINE__,  \
				g_ ? g_ : "(null)", (want));                             \
			failures++;                                                      \
		}                                                                        \
	} while (0)

static void test_writer(void)
{
	struct json_writer w;
	json_writer_init(&w);
	json_obj_begin(&w);
	json_kv_bool(&w, "ok", true);
	json_kv_str(&w, "s", "a\"b\\c\nd\te\x01");
	json_kv_u64(&w, "big", UINT64_MAX);
	json_kv_i64(&w, "neg", INT64_MIN);
	json_kv_double(&w, "half", 0.5);
	json_kv_double(&w, "nan", 0.0 / 0.0);
	json_key(&w, "arr");
	json_arr_begin(&w);
	json_u64(&w, 1);
	json_null(&w);
	json_obj_begin(&w);
	json_obj_end(&w);
	json_arr_begin(&w);
	json_arr_end(&w);
	json_arr_end(&w);
	json_kv_str(&w, "nul", NULL);
	json_obj_end(&w);
	CHECK_STR(json_writer_str(&w),
		  "{\"ok\":true,\"s\":\"a\\\"b\\\\c\\nd\\te\\u0001\","
		  "\"big\":18446744073709551615,\"neg\":-9223372036854775808,\"half\":0.5,"
		  "\"nan\":null,\"arr\":[1,null,{},[]],\"nul\":null}");
	CHECK(strchr(json_writer_str(&w), '\n') == NULL);

	/* Embedded NUL through json_strn */
	json_writer_reset(&w);
	json_strn(&w, "a\0b", 3);
	CHECK_STR(json_writer_str(&w), "\"a\\u0000b\"");

	/* Misuse puts the writer in its error state. */
	json_writer_reset(&w);
	json_obj_begin(&w);
	json_u64(&w, 1); /* a value without a key */
	json_obj_end(&w);
	CHECK(json_writer_str(&w) == NULL);
	json_writer_reset(&w);
	json_obj_begin(&w);
	CHECK(json_writer_str(&w) == NULL); /* still open */
	json_arr_end(&w);                   /* wrong closer */
	CHECK(json_writer_str(&w) == NULL);
	json_writer_reset(&w);
	json_key(&w, "k"); /* a key outside an object */
	CHECK(json_writer_str(&w) == NULL);
	json_writer_free(&w);
}

static void test_reader(void)
{
	char err[128];
	const char *txt = " {\"cmd\":\"stats\",\"n\":18446744073709551615,\"i\":-42,\"f\":1.5e3,"
			  "\"t\":true,\"nul\":null,\"a\":[1,[2,{\"x\":\"\\u00e9\\ud83d\\ude00\"}]],"
			  "\"esc\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"} ";
	struct json_value *v = json_parse(txt, strlen(txt), err, sizeof(err));
	CHECK(v != NULL);
	if (v == NULL) {
		fprintf(stderr, "parse error: %s\n", err);
		return;
	}
	CHECK(v->type == JSON_OBJECT);
	CHECK_STR(json_get_str(v, "cmd"), "stats");
	CHECK(json_get_u64(v, "n", 0) == UINT64_MAX);
	const struct json_value *i = json_get(v, "i");
	CHECK(i != NULL && i->is_int && i->is_neg && i->i == -42);
	const struct json_value *f = json_get(v, "f");
	CHECK(f != NULL && !f->is_int && f->num == 1500.0);
	CHECK(json_get_bool(v, "t", false));
	CHECK(json_get(v, "nul") != NULL && json_get(v, "nul")->type == JSON_NULL);
	const struct json_value *a = json_get(v, "a");
	CHECK(a != NULL && a->type == JSON_ARRAY && a->n == 2);
	if (a != NULL && a->n == 2 && a->items[1]->n == 2)
		CHECK_STR(json_get_str(a->items[1]->items[1], "x"), "\xc3\xa9\xf0\x9f\x98\x80");
	CHECK_STR(json_get_str(v, "esc"), "\"\\/\b\f\n\r\t");
	CHECK(json_get(v, "missing") == NULL);
	CHECK(json_get_u64(v, "cmd", 7) == 7); /* wrong type: default */
	json_free(v);

	/* Round trip of a writer's output. */
	struct json_writer w;
	json_writer_init(&w);
	json_obj_begin(&w);
	json_kv_str(&w, "k", "line1\nline2\x7f");
	json_kv_u64(&w, "c", 12345678901234567890ull);
	json_obj_end(&w);
	v = json_parse(json_writer_str(&w), w.len, err, sizeof(err));
	CHECK(v != NULL);
	CHECK_STR(json_get_str(v, "k"), "line1\nline2\x7f");
	CHECK(json_get_u64(v, "c", 0) == 12345678901234567890ull);
	json_free(v);
	json_writer_free(&w);

	/* Invalid texts are refused with a message. */
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "{\"a\":1,}", "tru", "nul",
		"01", "1.", "-", "1e", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"",
		"\"\\udc00\"", "\"a\nb\"", "{} x", "{1:2}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		err[0] = '\0';
		struct json_value *b = json_parse(bad[k], strlen(bad[k]), err, sizeof(err));
		if (b != NULL) {
			fprintf(stderr, "accepted invalid JSON: %s\n", bad[k]);
			failures++;
			json_free(b);
		}
		CHECK(strncmp(err, "offset ", 7) == 0);
	}
	/* Not NUL-terminated input: only len bytes are read. */
	v = json_parse("123456", 3, err, sizeof(err));
	CHECK(v != NULL && v->is_int && v->u == 123);
	json_free(v);
}

int main(void)
{
	test_writer();
	test_reader();
	if (failures != 0) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("json: all checks passed\n");
	return 0;
}
