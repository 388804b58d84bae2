/**
 * @file test_broker_auth.c
 * The broker's security wiring in-process (brk_access.c over the fake transport of
 * brk_fake.h): a CONNECT whose password is checked on the verifier thread pauses and is
 * answered later; repeat logins come from the cache; a new table forgets the cache; a
 * connection lost while its check runs is handled (ASan checks the rest); refusal codes
 * for 3.1.1 and 5; ACL denials on PUBLISH, SUBSCRIBE and delivery, with their counters.
 */
#include <errno.h>
#include <unistd.h>

#include "auth/auth_acl.h"
#include "auth/auth_passwd.h"
#include "brk_fake.h"

static unsigned NW;

/* Tick until @p f got something from the broker (the verifier answers in well under 5 s). */
static bool ta_wait(struct fk_bench *b, struct fk_conn *f)
{
	for (int i = 0; i < 5000 && f->out_len == f->out_off && !f->closed; i++) {
		fk_tick(b, 1000000);
		usleep(1000);
	}
	return f->out_len > f->out_off;
}

static struct mqtt_packet ta_connect(uint8_t ver, const char *id, const char *user,
				     const char *pass)
{
	struct mqtt_packet p = fk_connect(ver, id, true, 60);
	if (user != NULL) {
		p.connect.has_username = true;
		p.connect.username.p = (const uint8_t *)user;
		p.connect.username.len = (uint32_t)strlen(user);
	}
	if (pass != NULL) {
		p.connect.has_password = true;
		p.connect.password.p = (const uint8_t *)pass;
		p.connect.password.len = (uint32_t)strlen(pass);
	}
	return p;
}

/* CONNECT and wait for the CONNACK. @return its code, or -1 if none came. */
static int ta_login(struct fk_bench *b, struct fk_conn *f, uint8_t ver, const char *id,
		    const char *user, const char *pass)
{
	struct mqtt_packet p = ta_connect(ver, id, user, pass);
	fk_send_pkt(f, &p);
	struct mqtt_packet r;
	if (!ta_wait(b, f) || !fk_recv(f, &r) || r.type != MQTT_CONNACK)
		return -1;
	return r.connack.rc;
}

static void ta_publish_sec(struct fk_bench *b, struct auth_passwd *pw, struct auth_acl *acl,
			   bool anon)
{
	struct brk_sec_listener l = { .allow_anonymous = anon, .pw = pw, .acl = acl };
	if (brk_security_publish(b->sh, &l, 1) != 0)
		fprintf(stderr, "brk_security_publish failed\n");
}

static void test_login(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct auth_passwd *pw = auth_passwd_new();
	CHECK(pw != NULL && auth_passwd_set(pw, "alice", "secret", 6) == 0);
	ta_publish_sec(&b, pw, NULL, false);
	struct brk_counters k0, k1;
	brk_shared_counters(b.sh, &k0);

	/* First login: paused while the verifier thread hashes, then CONNACK 0 and resumed. */
	struct fk_conn *f = fk_open(&b, 0);
	struct mqtt_packet p = ta_connect(MQTT_V5, "a1", "alice", "secret");
	CHECK(fk_send_pkt(f, &p) == BRK_PAUSE);
	struct mqtt_packet r;
	CHECK(ta_wait(&b, f) && fk_recv(f, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0);
	CHECK(!f->paused && f->resumes >= 1);
	fk_free(f);

	/* Repeat: answered at once from the cache. */
	f = fk_open(&b, NW - 1);
	p = ta_connect(MQTT_V311, "a2", "alice", "secret");
	if (NW == 1) {
		CHECK(fk_send_pkt(f, &p) == BRK_CONTINUE);
		CHECK(fk_recv(f, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0);
	} else {
		/* The cache is per worker: worker 1 hashes once itself. */
		fk_send_pkt(f, &p);
		CHECK(ta_wait(&b, f) && fk_recv(f, &r) && r.connack.rc == 0);
	}
	fk_free(f);

	/* Wrong password, unknown user, no username: 0x86 / 4 and 0x87 / 5, then closed. */
	f = fk_open(&b, 0);
	CHECK(ta_login(&b, f, MQTT_V5, "a3", "alice", "wrong") == 0x86 && f->closed);
	fk_free(f);
	f = fk_open(&b, 0);
	CHECK(ta_login(&b, f, MQTT_V311, "a4", "mallory", "secret") == 4 && f->closed);
	fk_free(f);
	f = fk_open(&b, 0);
	CHECK(ta_login(&b, f, MQTT_V311, "a5", NULL, NULL) == 5 && f->closed);
	fk_free(f);
	f = fk_open(&b, 0);
	CHECK(ta_login(&b, f, MQTT_V5, "a6", NULL, NULL) == 0x87 && f->closed);
	fk_free(f);

	/* Lost while the check runs: the answer finds no connection. */
	f = fk_open(&b, 0);
	p = ta_connect(MQTT_V5, "a7", "alice", "wrong-too");
	CHECK(fk_send_pkt(f, &p) == BRK_PAUSE);
	fk_free(f);
	for (int i = 0; i < 50; i++) {
		fk_tick(&b, 1000000);
		usleep(1000);
	}

	brk_shared_counters(b.sh, &k1);
	CHECK(k1.auth_bad_password - k0.auth_bad_password >= 1);
	CHECK(k1.auth_unknown_user - k0.auth_unknown_user == 1);
	CHECK(k1.auth_anon_refused - k0.auth_anon_refused == 2);
	CHECK(k1.auth_cache_hits - k0.auth_cache_hits == (NW == 1 ? 1 : 0));

	/* A new table (alice's password changed): the cached login is forgotten. */
	struct auth_passwd *pw2 = auth_passwd_clone(pw);
	CHECK(pw2 != NULL && auth_passwd_set(pw2, "alice", "new", 3) == 0);
	ta_publish_sec(&b, pw2, NULL, false);
	f = fk_open(&b, 0);
	CHECK(ta_login(&b, f, MQTT_V5, "a8", "alice", "secret") == 0x86);
	fk_free(f);
	f = fk_open(&b, 0);
	CHECK(ta_login(&b, f, MQTT_V5, "a9", "alice", "new") == 0);
	fk_free(f);

	auth_passwd_unref(pw);
	auth_passwd_unref(pw2);
	fk_tick(&b, 1000000);
	fk_bench_fini(&b);
}

static void test_acl(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	static const char acl_text[] =
		"pattern write dev/%c/#\n"
		"user alice\ntopic readwrite a/#\ntopic read r/#\ntopic deny r/secret\n"
		"user bob\ntopic write r/#\n";
	char err[256];
	struct auth_acl *acl = auth_acl_parse(acl_text, sizeof(acl_text) - 1, "acl", err,
					      sizeof(err));
	CHECK(acl != NULL);
	ta_publish_sec(&b, NULL, acl, false);
	struct brk_counters k0, k1;
	brk_shared_counters(b.sh, &k0);

	/* Without a password_file, usernames are taken as given and select the section. */
	struct fk_conn *a = fk_open(&b, 0);
	CHECK(ta_login(&b, a, MQTT_V5, "alice-1", "alice", NULL) == 0);
	struct fk_conn *bob = fk_open(&b, NW - 1);
	CHECK(ta_login(&b, bob, MQTT_V311, "dev1", "bob", NULL) == 0);

	/* SUBSCRIBE: b/# refused (0x87 in 5, 0x80 in 3.1.1), r/# granted. */
	struct mqtt_packet p = fk_subscribe("b/#", 1, 1), r;
	fk_send_pkt(a, &p);
	CHECK(fk_recv(a, &r) && r.type == MQTT_SUBACK && r.suback.codes.p[0] == 0x87);
	CHECK(fk_subscribed(a, "r/#", 1));
	p = fk_subscribe("a/#", 1, 2);
	fk_send_pkt(bob, &p);
	CHECK(fk_recv(bob, &r) && r.type == MQTT_SUBACK && r.suback.codes.p[0] == 0x80);

	/* PUBLISH: 3.1.1 denied QoS 1 still acknowledged (rc 0), not delivered; read filter:
	 * r/secret never reaches alice. */
	p = fk_publish("a/x", "no", 1, 5, false);
	fk_send_pkt(bob, &p);
	CHECK(fk_recv(bob, &r) && r.type == MQTT_PUBACK && r.ack.packet_id == 5);
	p = fk_publish("r/secret", "no", 1, 6, false);
	fk_send_pkt(bob, &p);
	CHECK(fk_recv(bob, &r) && r.type == MQTT_PUBACK);
	p = fk_publish("r/ok", "yes", 1, 7, false);
	fk_send_pkt(bob, &p);
	CHECK(fk_recv(bob, &r) && r.type == MQTT_PUBACK);
	p = fk_publish("dev/dev1/t", "pattern", 0, 0, false);
	fk_send_pkt(bob, &p);
	fk_tick(&b, 1000000);
	CHECK(fk_recv(a, &r) && fk_is_pub(&r, "r/ok", "yes"));
	CHECK(!fk_recv(a, &r));

	/* MQTT 5 denied QoS 1: PUBACK 0x87. */
	p = fk_publish("r/x", "no", 1, 9, false);
	fk_send_pkt(a, &p);
	CHECK(fk_recv(a, &r) && r.type == MQTT_PUBACK && r.ack.rc == 0x87);

	brk_shared_counters(b.sh, &k1);
	CHECK(k1.acl_denied_subscribe - k0.acl_denied_subscribe == 2);
	CHECK(k1.acl_denied_publish - k0.acl_denied_publish == 2);
	CHECK(k1.acl_denied_read - k0.acl_denied_read == 1);

	/* A reload that takes alice's grants away applies to the next check at once. */
	struct auth_acl *none = auth_acl_new();
	ta_publish_sec(&b, NULL, none, false);
	p = fk_publish("a/x", "no", 1, 10, false);
	fk_send_pkt(a, &p);
	CHECK(fk_recv(a, &r) && r.type == MQTT_PUBACK && r.ack.rc == 0x87);

	fk_free(a);
	fk_free(bob);
	auth_acl_unref(acl);
	auth_acl_unref(none);
	fk_tick(&b, 1000000);
	fk_bench_fini(&b);
}

int main(void)
{
	rcu_register_thread();
	for (NW = 1; NW <= 2; NW++) {
		test_login();
		test_acl();
	}
	rcu_unregister_thread();
	if (fk_fail) {
		fprintf(stderr, "%d check(s) failed\n", fk_fail);
		return 1;
	}
	printf("broker-auth: all tests passed\n");
	return 0;
}
