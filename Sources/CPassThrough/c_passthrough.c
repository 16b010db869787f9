#include "c_passthrough.h"
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTITIONS 1024

struct passthrough {
    rd_kafka_t *consumer;
    int64_t acked;
    /* next offset to commit per input partition, from acknowledged outputs; -1 = none new */
    int64_t acked_next[MAX_PARTITIONS];
    int64_t *volatile progress;
    int failed;
};

struct origin {
    int32_t partition;
    int64_t offset;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    struct passthrough *pt = opaque;
    struct origin *o = m->_private;
    (void)rk;
    if (m->err) {
        pt->failed = 1;
    } else if (o->partition >= 0 && o->partition < MAX_PARTITIONS && o->offset + 1 > pt->acked_next[o->partition]) {
        pt->acked_next[o->partition] = o->offset + 1;
    }
    if (!m->err) {
        pt->acked++;
        __atomic_store_n(pt->progress, pt->acked, __ATOMIC_RELAXED);
    }
    free(o);
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *errbuf, int n) {
    return rd_kafka_conf_set(conf, k, v, errbuf, (size_t)n) == RD_KAFKA_CONF_OK ? 0 : -1;
}

int64_t c_passthrough_run(const char *bootstrap, const char *group, const char *in_topic,
                          const char *out_topic, int64_t records, int64_t *volatile progress,
                          char *errbuf, int errbuf_size) {
    struct passthrough pt = {0};
    pt.progress = progress;
    for (int i = 0; i < MAX_PARTITIONS; i++) pt.acked_next[i] = -1;
    int64_t stored[MAX_PARTITIONS];
    for (int i = 0; i < MAX_PARTITIONS; i++) stored[i] = -1;

    rd_kafka_conf_t *pconf = rd_kafka_conf_new();
    if (set(pconf, "bootstrap.servers", bootstrap, errbuf, errbuf_size) || set(pconf, "enable.idempotence", "true", errbuf, errbuf_size) ||
        set(pconf, "acks", "all", errbuf, errbuf_size) || set(pconf, "linger.ms", "5", errbuf, errbuf_size) ||
        set(pconf, "compression.type", "lz4", errbuf, errbuf_size) ||
        set(pconf, "queue.buffering.max.messages", "500000", errbuf, errbuf_size)) {
        rd_kafka_conf_destroy(pconf);
        return -1;
    }
    rd_kafka_conf_set_opaque(pconf, &pt);
    rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errbuf, (size_t)errbuf_size);
    if (!producer) { rd_kafka_conf_destroy(pconf); return -1; }

    rd_kafka_conf_t *cconf = rd_kafka_conf_new();
    if (set(cconf, "bootstrap.servers", bootstrap, errbuf, errbuf_size) || set(cconf, "group.id", group, errbuf, errbuf_size) ||
        set(cconf, "enable.auto.offset.store", "false", errbuf, errbuf_size) || set(cconf, "auto.offset.reset", "earliest", errbuf, errbuf_size) ||
        set(cconf, "partition.assignment.strategy", "cooperative-sticky", errbuf, errbuf_size) ||
        set(cconf, "queued.min.messages", "1000000", errbuf, errbuf_size) ||
        set(cconf, "auto.commit.interval.ms", "1000", errbuf, errbuf_size)) {
        rd_kafka_conf_destroy(cconf);
        rd_kafka_destroy(producer);
        return -1;
    }
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errbuf, (size_t)errbuf_size);
    if (!consumer) { rd_kafka_conf_destroy(cconf); rd_kafka_destroy(producer); return -1; }
    rd_kafka_poll_set_consumer(consumer);
    pt.consumer = consumer;
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, in_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);

    int64_t taken = 0;
    while (pt.acked < records && !pt.failed) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, taken < records ? 100 : 0);
        if (m) {
            if (!m->err && taken < records) {
                struct origin *o = malloc(sizeof *o);
                o->partition = m->partition;
                o->offset = m->offset;
                for (;;) {
                    rd_kafka_resp_err_t err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(out_topic),
                        RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(o), RD_KAFKA_V_END);
                    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) { rd_kafka_poll(producer, 10); continue; }
                    if (err) { free(o); pt.failed = 1; }
                    break;
                }
                taken++;
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(producer, 0);
        /* Store the offsets of inputs whose outputs are acknowledged (auto-commit sends them). */
        rd_kafka_topic_partition_list_t *list = NULL;
        for (int p = 0; p < MAX_PARTITIONS; p++) {
            if (pt.acked_next[p] > stored[p]) {
                if (!list) list = rd_kafka_topic_partition_list_new(16);
                rd_kafka_topic_partition_list_add(list, in_topic, p)->offset = pt.acked_next[p];
                stored[p] = pt.acked_next[p];
            }
        }
        if (list) {
            rd_kafka_offsets_store(consumer, list);
            rd_kafka_topic_partition_list_destroy(list);
        }
    }
    rd_kafka_flush(producer, 10000);
    rd_kafka_commit(consumer, NULL, 0);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(producer);
    if (pt.failed) { snprintf(errbuf, (size_t)errbuf_size, "delivery failed"); return -1; }
    return pt.acked;
}
