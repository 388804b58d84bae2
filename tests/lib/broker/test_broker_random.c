/**
 * @file test_broker_random.c
 * Randomised sequences of valid packets from many clients on two workers (publish at any
 * QoS with or without retain and aliases, subscribe with any options including shared
 * groups, unsubscribe, acknowledgements with random identifiers, pings, disconnects with
 * or without will, lost connections, full transports, time passing). Asserts that every
 * byte the broker sends decodes as a packet of the client's level, and - in the sanitizer
 * build - that nothing crashes, leaks or is used after free. Seeded: the seed is printed.
 */
#include <time.h>

#include "brk_fake.h"

#define CLIENTS 12
#define STEPS 30000

static const char *topics[] = { "a", "a/b", "a/c", "b/x/y", "$SYS/x", "c" };
static const char *filters[] = { "a/#", "+/b", "#", "a", "$share/g/a/#", "$share/h/#", "b/+/y", "c" };

static void drain_check(struct fk_conn *f, unsigned *seen)
{
	struct mqtt_packet r;
	while (f->out_off < f->out_len) {
		if (!fk_recv(f, &r)) {
			fprintf(stderr, "undecodable output\n");
			fk_fail++;
			f->out_off = f->out_len;
			return;
		}
		(*seen)++;
		/* Acknowledge what needs it, most of the time (a broker must cope either way). */
		if (r.type == MQTT_PUBLISH && r.publish.qos > 0 && (rand() % 8) != 0) {
			struct mqtt_packet a = fk_ack(r.publish.qos == 1 ? MQTT_PUBACK : MQTT_PUBREC,
						      r.publish.packet_id);
			fk_send_pkt(f, &a);
		} else if (r.type == MQTT_PUBREL) {
			struct mqtt_packet a = fk_ack(MQTT_PUBCOMP, r.ack.packet_id);
			fk_send_pkt(f, &a);
		}
		if (f->closed)
			return;
	}
}

static void tune_random(struct tachyon_config *c)
{
	c->max_inflight_messages = 5;
	c->max_queued_messages = 20;
	c->queue_qos0_messages = true;
}

int main(int argc, char **argv)
{
	unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : (unsigned)time(NULL);
	printf("seed %u\n", seed);
	srand(seed);
	rcu_register_thread();
	struct fk_bench b;
	fk_bench_init(&b, 2, tune_random);
	struct fk_conn *cl[CLIENTS] = { 0 };
	unsigned seen = 0;
	char ids[CLIENTS][8];
	for (int i = 0; i < CLIENTS; i++)
		snprintf(ids[i], sizeof(ids[i]), "r%d", i % 7); /* shared ids: takeovers */
	for (int step = 0; step < STEPS; step++) {
		int i = rand() % CLIENTS;
		struct fk_conn *f = cl[i];
		if (f == NULL || f->closed || f->lost) {
			if (f != NULL)
				fk_free(f);
			f = cl[i] = fk_open(&b, (unsigned)(rand() % 2));
			uint8_t ver = (uint8_t)(rand() % 3 + 3);
			struct mqtt_packet p = fk_connect(ver, ids[i], rand() % 2, 30);
			if (ver == MQTT_V5) {
				MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
				p.connect.props.session_expiry = (uint32_t)(rand() % 4);
				MQTT_PROP_SET(&p.connect.props, MQTT_PROP_TOPIC_ALIAS_MAX);
				p.connect.props.topic_alias_max = 3;
				MQTT_PROP_SET(&p.connect.props, MQTT_PROP_RECEIVE_MAX);
				p.connect.props.receive_max = (uint16_t)(rand() % 4 + 1);
			}
			if (rand() % 2) {
				p.connect.will = true;
				p.connect.will_qos = (uint8_t)(rand() % 3);
				p.connect.will_retain = rand() % 2;
				p.connect.will_topic.p = (const uint8_t *)"a/will";
				p.connect.will_topic.len = 6;
				p.connect.will_payload.p = (const uint8_t *)"w";
				p.connect.will_payload.len = 1;
			}
			fk_send_pkt(f, &p);
			continue;
		}
		if (f->version == 0 || f->paused) {
			fk_tick(&b, 1000000);
			continue;
		}
		struct mqtt_packet p;
		uint16_t pid = (uint16_t)(rand() % 10 + 1);
		switch (rand() % 14) {
		case 0: case 1: case 2: case 3: {
			uint8_t q = (uint8_t)(rand() % 3);
			p = fk_publish(topics[rand() % 6], rand() % 4 ? "payload" : "", q, pid,
				       rand() % 5 == 0);
			if (f->version == MQTT_V5 && rand() % 3 == 0) {
				MQTT_PROP_SET(&p.publish.props, MQTT_PROP_TOPIC_ALIAS);
				p.publish.props.topic_alias = (uint16_t)(rand() % 3 + 1);
				if (rand() % 2)
					p.publish.topic.len = 0;
			}
			if (f->version == MQTT_V5 && rand() % 3 == 0) {
				MQTT_PROP_SET(&p.publish.props, MQTT_PROP_MESSAGE_EXPIRY);
				p.publish.props.message_expiry = (uint32_t)(rand() % 3);
			}
			fk_send_pkt(f, &p);
			break;
		}
		case 4: case 5: {
			const char *flt = filters[rand() % 8];
			p = fk_subscribe(flt, (uint8_t)(rand() % 3), pid);
			if (f->version == MQTT_V5) {
				fk_sub_ent.retain_handling = (uint8_t)(rand() % 3);
				fk_sub_ent.retain_as_published = rand() % 2;
				fk_sub_ent.no_local = strncmp(flt, "$share", 6) != 0 && rand() % 2;
				if (rand() % 2) {
					MQTT_PROP_SET(&p.subscribe.props, MQTT_PROP_SUB_ID);
					p.subscribe.props.sub_id = (uint32_t)(rand() % 5 + 1);
				}
			}
			fk_send_pkt(f, &p);
			break;
		}
		case 6: {
			struct mqtt_str fl = { (const uint8_t *)filters[rand() % 8], 0 };
			fl.len = (uint32_t)strlen((const char *)fl.p);
			memset(&p, 0, sizeof(p));
			p.type = MQTT_UNSUBSCRIBE;
			p.flags = 2;
			p.subscribe.packet_id = pid;
			p.subscribe.filters = &fl;
			p.subscribe.count = 1;
			fk_send_pkt(f, &p);
			break;
		}
		case 7: {
			static const uint8_t acks[] = { MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL,
							MQTT_PUBCOMP };
			p = fk_ack(acks[rand() % 4], pid);
			fk_send_pkt(f, &p);
			break;
		}
		case 8:
			fk_send_pkt(f, &(struct mqtt_packet){ .type = MQTT_PINGREQ });
			break;
		case 9: {
			struct mqtt_packet d = { .type = MQTT_DISCONNECT };
			if (f->version == MQTT_V5 && rand() % 2)
				d.disconnect.rc = 0x04;
			fk_send_pkt(f, &d);
			break;
		}
		case 10:
			brk_conn_lost(f->c);
			f->lost = true;
			fk_pump(&b);
			break;
		case 11:
			f->full = !f->full;
			if (!f->full && !f->closed)
				brk_conn_writable(f->c);
			fk_pump(&b);
			break;
		case 12:
			fk_tick(&b, (uint64_t)(rand() % 3000) * 1000000ull);
			break;
		default:
			break;
		}
		for (int k = 0; k < CLIENTS; k++)
			if (cl[k] != NULL && !cl[k]->lost && !cl[k]->full)
				drain_check(cl[k], &seen);
		rcu_quiescent_state();
	}
	for (int k = 0; k < CLIENTS; k++)
		if (cl[k] != NULL)
			fk_free(cl[k]);
	fk_bench_fini(&b);
	rcu_unregister_thread();
	printf("%u packets from the broker decoded\n", seen);
	if (fk_fail) {
		fprintf(stderr, "%d check(s) failed (seed %u)\n", fk_fail, seed);
		return 1;
	}
	printf("broker-random: ok\n");
	return 0;
}
