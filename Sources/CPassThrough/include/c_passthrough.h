#ifndef C_PASSTHROUGH_H
#define C_PASSTHROUGH_H
#include <stdint.h>

/* The benchmark's baseline: a consume -> produce pass-through written directly against
   librdkafka's C API, with the same client settings as the Swift layer (idempotent producer,
   acks=all, group consumer with offsets stored after each output is acknowledged).
   `progress` is incremented for every acknowledged output so a feeder can pace itself.
   Returns the number of records passed through, or -1 on a client error (text in errbuf). */
int64_t c_passthrough_run(const char *bootstrap, const char *group, const char *in_topic,
                          const char *out_topic, int64_t records, int64_t *volatile progress,
                          char *errbuf, int errbuf_size);

#endif
