/*
 * SHA3 of up to four files at once, on libuv's thread pool.
 *
 * Why by hand: a sponge is sequential, so one stream cannot go faster than
 * one permutation after another (OpenSSL's scalar Keccak: 220-370 MiB/s per
 * core here). Four streams, though, fill the four 64-bit lanes of a vector
 * and cost about what one does. The image builder writes snaps as they
 * download and hashes them here, side by side, from the page cache: about
 * four times the speed of hashing them one by one. No npm package hashes
 * several streams at once.
 *
 * JavaScript API (src/image/file-hasher.ts drives it):
 *   kernels(): string[]                  instruction sets this CPU can use, best first
 *   new Sha3Files(bits, kernel?)         bits: 224 | 256 | 384 | 512
 *   open(path): number                   a stream over the file at path
 *   pump(entries, callback): void        entries: [{ stream, upTo, final }] (at most 4, distinct
 *                                        streams, none in another pump). Absorbs each stream's
 *                                        whole blocks below upTo (at most SLICE bytes each, side by
 *                                        side while several have some); a final entry also takes
 *                                        the bytes up to upTo and ends its stream. Then
 *                                        callback(error, hashed: number[], digests: (Buffer|null)[]).
 *   close(stream): void                  closes the file and forgets the stream
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define LANES 4
/* Bytes each stream absorbs per pump at most, so that streams can join between pumps. */
#define SLICE (4u << 20)
/* Bytes read from a file at a time. */
#define READ_SIZE (256u << 10)

static const uint64_t ROUND_CONSTANTS[24] = {
  0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
  0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
  0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
  0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
  0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
  0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8); /* little-endian: x86-64 only (binding.gyp) */
  return v;
}

#define ALL_LANES(M) \
  M(0, 0) M(1, 0) M(2, 0) M(3, 0) M(4, 0) M(0, 1) M(1, 1) M(2, 1) M(3, 1) M(4, 1) M(0, 2) M(1, 2) M(2, 2) M(3, 2) M(4, 2) \
  M(0, 3) M(1, 3) M(2, 3) M(3, 3) M(4, 3) M(0, 4) M(1, 4) M(2, 4) M(3, 4) M(4, 4)

typedef void (*kernel_fn)(uint64_t *const st[4], const uint8_t *const in[4], size_t nblocks, size_t rate_lanes);

/* AVX-512VL: three-input logic and rotation in one instruction each. */
#define KERNEL_NAME absorb_avx512
#define KERNEL_TARGET "avx2,avx512f,avx512vl"
#define XOR3(a, b, c) _mm256_ternarylogic_epi64(a, b, c, 0x96)
#define CHI(a, b, c) _mm256_ternarylogic_epi64(a, b, c, 0xD2)
#define ROL(a, n) _mm256_rol_epi64(a, n)
#include "sha3_kernel.h"
#undef KERNEL_NAME
#undef KERNEL_TARGET
#undef XOR3
#undef CHI
#undef ROL

/* AVX2: the same round from two-input operations. */
#define KERNEL_NAME absorb_avx2
#define KERNEL_TARGET "avx2"
#define XOR3(a, b, c) _mm256_xor_si256(_mm256_xor_si256(a, b), c)
#define CHI(a, b, c) _mm256_xor_si256(a, _mm256_andnot_si256(b, c))
#define ROL(a, n) _mm256_or_si256(_mm256_slli_epi64(a, n), _mm256_srli_epi64(a, 64 - (n)))
#include "sha3_kernel.h"

static const struct {
  const char *name;
  kernel_fn fn;
} KERNELS[] = {{"avx512", absorb_avx512}, {"avx2", absorb_avx2}};

static int kernel_supported(size_t i) {
  __builtin_cpu_init();
  return i == 0 ? __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") : __builtin_cpu_supports("avx2");
}

typedef struct {
  uint64_t state[25];
  int fd;
  uint64_t hashed; /* bytes absorbed: whole blocks until the stream ends */
  int busy;        /* in a pump */
  uint8_t *buf;    /* READ_SIZE + one block */
} Stream;

typedef struct {
  Stream **streams; /* by id; NULL once closed */
  size_t count;
  size_t rate;          /* bytes per block */
  size_t out;           /* digest bytes */
  kernel_fn absorb;
} Hasher;

typedef struct {
  Stream *stream;
  uint64_t upTo;
  int final;
  uint8_t digest[64];
} Entry;

typedef struct {
  Hasher *h;
  Entry entries[LANES];
  size_t n;
  uint64_t scratch[25]; /* the state of an unused lane */
  char error[160];
  napi_ref self, callback;
  napi_async_work work;
} Pump;

/* Reads exactly n bytes at offset; 0 with an error message otherwise. */
static int read_at(int fd, uint8_t *buf, size_t n, uint64_t offset, char *error, size_t error_size) {
  while (n > 0) {
    ssize_t r = pread(fd, buf, n, (off_t)offset);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      snprintf(error, error_size, r == 0 ? "the file is shorter than its download" : "cannot read the downloaded file: %s", strerror(errno));
      return 0;
    }
    buf += r, n -= (size_t)r, offset += (uint64_t)r;
  }
  return 1;
}

/* One pass of the kernel over the given streams' read buffers. */
static void absorb_lanes(Pump *p, Stream *const *s, size_t n, size_t blocks) {
  uint64_t *st[LANES];
  const uint8_t *in[LANES];
  for (size_t i = 0; i < LANES; i++) st[i] = i < n ? s[i]->state : p->scratch, in[i] = s[i < n ? i : 0]->buf;
  p->h->absorb(st, in, blocks, p->h->rate / 8);
}

/* On the thread pool: no JavaScript here. */
static void pump_execute(napi_env env, void *data) {
  (void)env;
  Pump *p = data;
  Hasher *h = p->h;
  /* Where each stream stops this pump: a final entry at its end, another after at most SLICE bytes. */
  uint64_t stop[LANES];
  for (size_t i = 0; i < p->n; i++) {
    const Entry *e = &p->entries[i];
    stop[i] = e->final || e->upTo - e->stream->hashed <= SLICE ? e->upTo : e->stream->hashed + SLICE;
  }
  for (;;) {
    Stream *lane[LANES];
    size_t n = 0, blocks = READ_SIZE / h->rate;
    for (size_t i = 0; i < p->n; i++) {
      uint64_t whole = (stop[i] - p->entries[i].stream->hashed) / h->rate;
      if (whole == 0) continue;
      if (whole < blocks) blocks = whole;
      lane[n++] = p->entries[i].stream;
    }
    if (n == 0) break;
    for (size_t i = 0; i < n; i++) {
      if (!read_at(lane[i]->fd, lane[i]->buf, blocks * h->rate, lane[i]->hashed, p->error, sizeof p->error)) return;
    }
    absorb_lanes(p, lane, n, blocks);
    for (size_t i = 0; i < n; i++) lane[i]->hashed += blocks * h->rate;
  }
  for (size_t i = 0; i < p->n; i++) {
    Entry *e = &p->entries[i];
    if (!e->final) continue;
    /* FIPS 202 padding: the SHA3 domain bits 01, then pad10*1. */
    Stream *s = e->stream;
    size_t tail = (size_t)(e->upTo - s->hashed);
    memset(s->buf, 0, h->rate);
    if (!read_at(s->fd, s->buf, tail, s->hashed, p->error, sizeof p->error)) return;
    s->buf[tail] ^= 0x06;
    s->buf[h->rate - 1] ^= 0x80;
    absorb_lanes(p, &s, 1, 1);
    s->hashed = e->upTo;
    memcpy(e->digest, s->state, h->out); /* lanes are little-endian words: x86-64 only */
  }
}

static napi_value js_undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static void pump_complete(napi_env env, napi_status status, void *data) {
  Pump *p = data;
  napi_value argv[3], callback, hashed, digests, v;
  argv[0] = argv[1] = argv[2] = js_undefined(env);
  for (size_t i = 0; i < p->n; i++) p->entries[i].stream->busy = 0;
  if (status != napi_ok && !p->error[0]) snprintf(p->error, sizeof p->error, "hashing was cancelled");
  if (p->error[0]) {
    napi_value message;
    napi_create_string_utf8(env, p->error, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &argv[0]);
  } else {
    napi_create_array_with_length(env, p->n, &hashed);
    napi_create_array_with_length(env, p->n, &digests);
    for (size_t i = 0; i < p->n; i++) {
      napi_create_double(env, (double)p->entries[i].stream->hashed, &v);
      napi_set_element(env, hashed, (uint32_t)i, v);
      if (p->entries[i].final) {
        void *bytes;
        napi_create_buffer_copy(env, p->h->out, p->entries[i].digest, &bytes, &v);
      } else {
        napi_get_null(env, &v);
      }
      napi_set_element(env, digests, (uint32_t)i, v);
    }
    napi_get_null(env, &argv[0]);
    argv[1] = hashed, argv[2] = digests;
  }
  napi_get_reference_value(env, p->callback, &callback);
  napi_delete_reference(env, p->callback);
  napi_delete_reference(env, p->self);
  napi_delete_async_work(env, p->work);
  free(p);
  napi_call_function(env, js_undefined(env), callback, 3, argv, NULL);
}

/* ---- N-API glue ---- */

#define CHECK(call) \
  do { \
    if ((call) != napi_ok) return NULL; \
  } while (0)

static napi_value throw_type(napi_env env, const char *code, const char *message) {
  napi_throw_type_error(env, code, message);
  return NULL;
}

static void stream_free(Stream *s) {
  if (!s) return;
  if (s->fd >= 0) close(s->fd);
  free(s->buf);
  free(s);
}

static void hasher_free(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  Hasher *h = data;
  for (size_t i = 0; i < h->count; i++) stream_free(h->streams[i]);
  free(h->streams);
  free(h);
}

static Hasher *this_hasher(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *self) {
  void *h = NULL;
  if (napi_get_cb_info(env, info, argc, argv, self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, *self, &h) != napi_ok || !h) {
    throw_type(env, "ERR_INVALID_THIS", "not a Sha3Files object");
    return NULL;
  }
  return h;
}

/* The stream that v names, or NULL with a TypeError thrown. */
static Stream *stream_arg(napi_env env, Hasher *h, napi_value v) {
  uint32_t id;
  if (napi_get_value_uint32(env, v, &id) != napi_ok || id >= h->count || !h->streams[id]) {
    throw_type(env, "ERR_INVALID_ARG_VALUE", "not an open stream");
    return NULL;
  }
  return h->streams[id];
}

static napi_value js_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  uint32_t bits = 0;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &bits) != napi_ok || (bits != 224 && bits != 256 && bits != 384 && bits != 512)) {
    return throw_type(env, "ERR_INVALID_ARG_VALUE", "bits must be 224, 256, 384 or 512");
  }
  kernel_fn absorb = NULL;
  char want[16] = "";
  napi_valuetype t = napi_undefined;
  if (argc >= 2) CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_undefined) CHECK(napi_get_value_string_utf8(env, argv[1], want, sizeof want, NULL));
  for (size_t i = 0; i < sizeof KERNELS / sizeof KERNELS[0] && !absorb; i++) {
    if ((want[0] == 0 || strcmp(want, KERNELS[i].name) == 0) && kernel_supported(i)) absorb = KERNELS[i].fn;
  }
  if (!absorb) {
    napi_throw_error(env, "ERR_SHA3_NO_KERNEL", want[0] ? "this CPU cannot run that kernel" : "this CPU has neither AVX2 nor AVX-512");
    return NULL;
  }
  Hasher *h = calloc(1, sizeof *h);
  if (!h) {
    napi_throw_error(env, "ERR_MEMORY", "out of memory");
    return NULL;
  }
  h->out = bits / 8, h->rate = 200 - 2 * h->out, h->absorb = absorb;
  if (napi_wrap(env, self, h, hasher_free, NULL, NULL) != napi_ok) {
    free(h);
    return NULL;
  }
  return self;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self, result;
  Hasher *h = this_hasher(env, info, &argc, argv, &self);
  if (!h) return NULL;
  char path[4096];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len == 0 || len >= sizeof path - 1) {
    return throw_type(env, "ERR_INVALID_ARG_VALUE", "path must be a file path");
  }
  size_t id = 0;
  while (id < h->count && h->streams[id]) id++;
  if (id == h->count) {
    Stream **grown = realloc(h->streams, (h->count + 8) * sizeof *grown);
    if (!grown) goto oom;
    memset(grown + h->count, 0, 8 * sizeof *grown);
    h->streams = grown, h->count += 8;
  }
  Stream *s = calloc(1, sizeof *s);
  if (!s) goto oom;
  s->buf = malloc(READ_SIZE + 200);
  s->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (!s->buf || s->fd < 0) {
    int err = errno;
    stream_free(s);
    if (err == ENOMEM || err == 0) goto oom;
    napi_throw_error(env, "ERR_SHA3_OPEN", strerror(err));
    return NULL;
  }
  h->streams[id] = s;
  CHECK(napi_create_uint32(env, (uint32_t)id, &result));
  return result;
oom:
  napi_throw_error(env, "ERR_MEMORY", "out of memory");
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  Hasher *h = this_hasher(env, info, &argc, argv, &self);
  if (!h) return NULL;
  Stream *s = argc < 1 ? NULL : stream_arg(env, h, argv[0]);
  if (!s) return argc < 1 ? throw_type(env, "ERR_INVALID_ARG_VALUE", "not an open stream") : NULL;
  if (s->busy) return throw_type(env, "ERR_INVALID_STATE", "the stream is being hashed");
  uint32_t id;
  napi_get_value_uint32(env, argv[0], &id);
  h->streams[id] = NULL;
  stream_free(s);
  return NULL;
}

static int get_number(napi_env env, napi_value obj, const char *key, double *out) {
  napi_value v;
  return napi_get_named_property(env, obj, key, &v) == napi_ok && napi_get_value_double(env, v, out) == napi_ok;
}

static napi_value js_pump(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  Hasher *h = this_hasher(env, info, &argc, argv, &self);
  if (!h) return NULL;
  bool is_array = false;
  uint32_t n = 0;
  napi_valuetype cb_type = napi_undefined;
  if (argc >= 2) CHECK(napi_typeof(env, argv[1], &cb_type));
  if (argc < 2 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || cb_type != napi_function) {
    return throw_type(env, "ERR_INVALID_ARG_TYPE", "pump(entries, callback)");
  }
  CHECK(napi_get_array_length(env, argv[0], &n));
  if (n < 1 || n > LANES) return throw_type(env, "ERR_INVALID_ARG_VALUE", "one to four entries");
  Pump *p = calloc(1, sizeof *p);
  if (!p) {
    napi_throw_error(env, "ERR_MEMORY", "out of memory");
    return NULL;
  }
  p->h = h, p->n = n;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e, id, fin;
    double up_to;
    bool final = false;
    if (napi_get_element(env, argv[0], i, &e) != napi_ok || napi_get_named_property(env, e, "stream", &id) != napi_ok) goto bad;
    Stream *s = stream_arg(env, h, id);
    if (!s) goto thrown;
    if (!get_number(env, e, "upTo", &up_to) || up_to < (double)s->hashed || up_to > 9007199254740991.0 || up_to != (double)(uint64_t)up_to) goto bad;
    if (napi_get_named_property(env, e, "final", &fin) != napi_ok || napi_get_value_bool(env, fin, &final) != napi_ok) goto bad;
    for (uint32_t j = 0; j < i; j++) {
      if (p->entries[j].stream == s) goto bad;
    }
    if (s->busy) {
      free(p);
      return throw_type(env, "ERR_INVALID_STATE", "the stream is being hashed");
    }
    p->entries[i] = (Entry){.stream = s, .upTo = (uint64_t)up_to, .final = final};
  }
  for (uint32_t i = 0; i < n; i++) p->entries[i].stream->busy = 1;
  napi_value name;
  CHECK(napi_create_string_utf8(env, "snapline:sha3", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_reference(env, self, 1, &p->self));
  CHECK(napi_create_reference(env, argv[1], 1, &p->callback));
  CHECK(napi_create_async_work(env, NULL, name, pump_execute, pump_complete, p, &p->work));
  CHECK(napi_queue_async_work(env, p->work));
  return NULL;
bad:
  free(p);
  return throw_type(env, "ERR_INVALID_ARG_VALUE", "entries must be { stream, upTo, final } with distinct open streams and upTo at or past what is hashed");
thrown:
  free(p);
  return NULL;
}

static napi_value js_kernels(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value list, name;
  CHECK(napi_create_array(env, &list));
  uint32_t n = 0;
  for (size_t i = 0; i < sizeof KERNELS / sizeof KERNELS[0]; i++) {
    if (!kernel_supported(i)) continue;
    CHECK(napi_create_string_utf8(env, KERNELS[i].name, NAPI_AUTO_LENGTH, &name));
    CHECK(napi_set_element(env, list, n++, name));
  }
  return list;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_default_method, NULL},
    {"pump", NULL, js_pump, NULL, NULL, NULL, napi_default_method, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls, kernels;
  CHECK(napi_define_class(env, "Sha3Files", NAPI_AUTO_LENGTH, js_new, NULL, sizeof methods / sizeof methods[0], methods, &cls));
  CHECK(napi_set_named_property(env, exports, "Sha3Files", cls));
  CHECK(napi_create_function(env, "kernels", NAPI_AUTO_LENGTH, js_kernels, NULL, &kernels));
  CHECK(napi_set_named_property(env, exports, "kernels", kernels));
  return exports;
}
