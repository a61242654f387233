// SPDX-License-Identifier: MIT
/*
 * The publisher thread and its bounded queue (publisher.h says why). The
 * queue is a FIFO list; its retained publications are also in a small
 * chained hash by topic, so that a new state finds the queued one of the
 * same topic without a scan. The direct path (publisher.h) bypasses the
 * queue only when it is empty and the thread idle, so the order of
 * publications is the order of the pushes either way.
 */
#include "mqtt/publisher.h"
#include "util/hash.h"
#include "util/list.h"
#include "util/macros.h"
#include "util/signals.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Hash buckets of the queued retained publications (a power of two). */
#define PUBLISHER_BUCKETS 1024u
/* The direct path counts incoming messages and pushed publications in
 * windows of this length. */
#define PUBLISHER_WINDOW_NS 100000000LL
#define PUBLISHER_WINDOW_MAX (SH_PUBLISHER_DIRECT_RATE_MAX / (1000000000LL / PUBLISHER_WINDOW_NS))

struct pub_item {
	struct sh_list link;    /* in the queue */
	struct pub_item *hnext; /* in its bucket, when retained */
	uint64_t hash;
	size_t bytes; /* what it counts against bytes_max */
	struct sh_publication pub;
	char *topic;       /* owned; pub.topic points here */
	void *payload;     /* owned; pub.payload */
	void *correlation; /* owned; pub.correlation */
	/* A call instead of a publication (sh_publisher_call). */
	sh_publisher_call_fn call;
	void *arg; /* owned, freed by arg_free */
	void (*arg_free)(void *arg);
};

struct sh_publisher {
	sh_publisher_send_fn send;
	void *ctx;
	size_t items_max, bytes_max;

	pthread_mutex_t lock;
	pthread_cond_t work;  /* the queue got something, or stop */
	pthread_cond_t idle;  /* the queue is empty and nothing is being sent */
	struct sh_list queue; /* of pub_item, oldest first */
	struct pub_item *buckets[PUBLISHER_BUCKETS];
	size_t items, bytes;
	size_t dropped;
	bool sending; /* the thread is in `send` */
	bool stop;
	pthread_t thread;

	/* The direct path (publisher.h), the pushing thread's alone: no lock. */
	sh_publisher_busy_fn busy; /* NULL: off */
	void *busy_ctx;
	int64_t window_start; /* ns, CLOCK_MONOTONIC */
	/* Incoming messages [0] and pushes [1] in the current window and the
	 * one before it. */
	size_t window_count[2], last_window_count[2];
	int64_t direct_off_until; /* after a slow direct call */
	size_t direct_sent;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void item_free(struct pub_item *it)
{
	if (!it)
		return;
	free(it->topic);
	free(it->payload);
	free(it->correlation);
	if (it->arg_free)
		it->arg_free(it->arg);
	free(it);
}

static struct pub_item **bucket_of(struct sh_publisher *p, uint64_t hash)
{
	return &p->buckets[hash & (PUBLISHER_BUCKETS - 1)];
}

/* The queued retained publication of `topic`, by its link in the bucket. */
static struct pub_item **find_retained(struct sh_publisher *p, const char *topic, uint64_t hash)
{
	struct pub_item **slot = bucket_of(p, hash);

	for (; *slot; slot = &(*slot)->hnext)
		if ((*slot)->hash == hash && strcmp((*slot)->topic, topic) == 0)
			return slot;
	return NULL;
}

/* Takes `it` out of the queue and the hash; the caller frees it. */
static void unlink_item(struct sh_publisher *p, struct pub_item *it)
{
	if (it->pub.retain) {
		struct pub_item **slot = find_retained(p, it->topic, it->hash);

		if (slot && *slot == it)
			*slot = it->hnext;
	}
	sh_list_remove(&it->link);
	p->items--;
	p->bytes -= it->bytes;
}

static void *publisher_run(void *arg)
{
	struct sh_publisher *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct sh_list *first = sh_list_first(&p->queue);

		if (!first) {
			pthread_cond_broadcast(&p->idle);
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		struct pub_item *it = sh_container_of(first, struct pub_item, link);

		unlink_item(p, it);
		p->sending = true;
		/* Paho's mutex is waited for here, without ours held: the loop
		 * keeps pushing meanwhile. */
		pthread_mutex_unlock(&p->lock);
		if (it->call)
			it->call(it->arg);
		else
			p->send(p->ctx, &it->pub);
		item_free(it);
		pthread_mutex_lock(&p->lock);
		p->sending = false;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int sh_publisher_new(size_t items_max, size_t bytes_max, sh_publisher_send_fn send, void *ctx,
		     struct sh_publisher **out)
{
	struct sh_publisher *p = calloc(1, sizeof(*p));
	pthread_condattr_t attr;
	sigset_t old;
	int r;

	if (!p)
		return -ENOMEM;
	p->send = send;
	p->ctx = ctx;
	p->items_max = items_max;
	p->bytes_max = bytes_max;
	sh_list_init(&p->queue);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	/* drain's deadline is monotonic, like the bridge's stop. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->idle, &attr);
	pthread_condattr_destroy(&attr);
	/* The thread inherits the mask (util/signals.h says why). */
	sh_signals_block_async(&old);
	r = pthread_create(&p->thread, NULL, publisher_run, p);
	sh_signals_restore(&old);
	if (r != 0) {
		pthread_cond_destroy(&p->idle);
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return -r;
	}
	*out = p;
	return 0;
}

/* Queues `it` (room was made); under the lock. */
static void append_locked(struct sh_publisher *p, struct pub_item *it)
{
	if (it->pub.retain) {
		struct pub_item **slot = bucket_of(p, it->hash);

		it->hnext = *slot;
		*slot = it;
	}
	sh_list_append(&p->queue, &it->link);
	p->items++;
	p->bytes += it->bytes;
}

/* Wakes the thread for what append_locked queued; after the unlock, so
 * that the thread does not wake only to wait for our lock (a second
 * wake-up, which perf sched showed for every publication). */
static void wake_thread(struct sh_publisher *p)
{
	pthread_cond_signal(&p->work);
}

/* Makes room for `need` more bytes and one more item by evicting the
 * oldest non-retained publications; whether there is room now. */
static bool evict_for(struct sh_publisher *p, size_t need)
{
	struct sh_list *l = p->queue.next;

	while ((p->items >= p->items_max || p->bytes + need > p->bytes_max) && l != &p->queue) {
		struct pub_item *it = sh_container_of(l, struct pub_item, link);

		l = l->next;
		/* States and calls (subscriptions) stay. */
		if (it->pub.retain || it->call)
			continue;
		unlink_item(p, it);
		item_free(it);
		p->dropped++;
	}
	return p->items < p->items_max && p->bytes + need <= p->bytes_max;
}

/* A copy of `len` bytes (NULL for none); false when out of memory. */
static bool copy_bytes(void **dst, const void *src, size_t len)
{
	*dst = NULL;
	if (!src || !len)
		return true;
	*dst = malloc(len);
	if (!*dst)
		return false;
	memcpy(*dst, src, len);
	return true;
}

/* A retained publication of a topic already queued: the new payload in
 * the old one's place. 0, -ENOBUFS, -ENOMEM. */
static int replace(struct sh_publisher *p, struct pub_item *old, const struct sh_publication *pub)
{
	void *payload;

	if (p->bytes - old->pub.len + pub->len > p->bytes_max) {
		p->dropped++;
		return -ENOBUFS;
	}
	if (!copy_bytes(&payload, pub->payload, pub->len))
		return -ENOMEM;
	free(old->payload);
	p->bytes = p->bytes - old->pub.len + pub->len;
	old->bytes = old->bytes - old->pub.len + pub->len;
	old->payload = payload;
	old->pub.payload = payload;
	old->pub.len = pub->len;
	old->pub.qos = pub->qos;
	return 0;
}

/* Starts a new window when the current one is over. */
static void window_roll(struct sh_publisher *p, int64_t now)
{
	int64_t age = now - p->window_start;

	if (age < PUBLISHER_WINDOW_NS)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(p->window_count); i++) {
		/* An empty window between them: the last one is empty. */
		p->last_window_count[i] = age < 2 * PUBLISHER_WINDOW_NS ? p->window_count[i] : 0;
		p->window_count[i] = 0;
	}
	p->window_start = now;
}

/* Light traffic: at most PUBLISHER_WINDOW_MAX incoming messages, and as
 * many pushes, in the current window and the last, as of now (without
 * starting a new window: `p` may be another connection's). A burst of
 * the loop's own (every state after a connect) counts too: the thread
 * makes those calls while the loop goes on. */
bool sh_publisher_quiet(const struct sh_publisher *p)
{
	int64_t age = now_ns() - p->window_start;

	for (size_t i = 0; i < ARRAY_SIZE(p->window_count); i++) {
		size_t current = p->window_count[i], last = p->last_window_count[i];

		if (age >= 2 * PUBLISHER_WINDOW_NS) { /* both windows are over */
			current = 0;
			last = 0;
		} else if (age >= PUBLISHER_WINDOW_NS) { /* the current one is the last */
			last = current;
			current = 0;
		}
		if (current > PUBLISHER_WINDOW_MAX || last > PUBLISHER_WINDOW_MAX)
			return false;
	}
	return true;
}

/* Everything the direct path asks but the queue (publisher.h). */
static bool direct_wanted(struct sh_publisher *p, const struct sh_publication *pub)
{
	int64_t now;

	if (!p->busy)
		return false;
	now = now_ns();
	/* Counted whichever way it goes. */
	window_roll(p, now);
	p->window_count[1]++;
	if (pub->qos != 0 || pub->reply)
		return false;
	return now >= p->direct_off_until && sh_publisher_quiet(p) && !p->busy(p->busy_ctx);
}

/* The Paho call on this thread. One that took long waited on a Paho
 * mutex, which only a busy Paho holds that long: the thread takes every
 * publication for a while. */
static void send_direct(struct sh_publisher *p, const struct sh_publication *pub)
{
	int64_t start = now_ns(), end;

	p->send(p->ctx, pub);
	p->direct_sent++;
	end = now_ns();
	if (end - start > SH_PUBLISHER_DIRECT_SLOW_MS * 1000000LL)
		p->direct_off_until = end + SH_PUBLISHER_DIRECT_HOLD_S * 1000000000LL;
}

int sh_publisher_push(struct sh_publisher *p, const struct sh_publication *pub)
{
	size_t topic_len = strlen(pub->topic);
	size_t bytes = topic_len + pub->len + (pub->correlation ? pub->correlation_len : 0);
	uint64_t hash = pub->retain ? sh_hash_str(pub->topic) : 0;
	struct pub_item *it;
	int r = 0;

	if (direct_wanted(p, pub)) {
		pthread_mutex_lock(&p->lock);
		bool idle = !p->items && !p->sending;
		pthread_mutex_unlock(&p->lock);
		/* Nothing queued and the thread asleep: it stays asleep until
		 * this thread pushes again, so nothing can overtake. */
		if (idle) {
			send_direct(p, pub);
			return 0;
		}
	}

	pthread_mutex_lock(&p->lock);
	if (pub->retain) {
		struct pub_item **slot = find_retained(p, pub->topic, hash);

		if (slot) {
			r = replace(p, *slot, pub);
			pthread_mutex_unlock(&p->lock);
			return r;
		}
	}
	if (!(pub->retain ? evict_for(p, bytes)
			  : p->items < p->items_max && p->bytes + bytes <= p->bytes_max)) {
		p->dropped++;
		pthread_mutex_unlock(&p->lock);
		return -ENOBUFS;
	}
	pthread_mutex_unlock(&p->lock);

	/* Copied outside the lock: the thread may take the queue meanwhile,
	 * which only makes more room. */
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->topic = strdup(pub->topic);
	if (!it->topic || !copy_bytes(&it->payload, pub->payload, pub->len) ||
	    !copy_bytes(&it->correlation, pub->correlation, pub->correlation_len)) {
		item_free(it);
		return -ENOMEM;
	}
	it->pub = *pub;
	it->pub.topic = it->topic;
	it->pub.payload = it->payload;
	it->pub.correlation = it->correlation;
	if (!it->correlation)
		it->pub.correlation_len = 0;
	it->hash = hash;
	it->bytes = bytes;

	pthread_mutex_lock(&p->lock);
	/* Only this thread pushes, so the room checked above is still there
	 * and no retained publication of the topic appeared. */
	append_locked(p, it);
	pthread_mutex_unlock(&p->lock);
	wake_thread(p);
	return r;
}

int sh_publisher_call(struct sh_publisher *p, sh_publisher_call_fn call, void *arg,
		      void (*arg_free)(void *arg), size_t bytes)
{
	struct pub_item *it = calloc(1, sizeof(*it));

	if (!it) {
		if (arg_free)
			arg_free(arg);
		return -ENOMEM;
	}
	it->call = call;
	it->arg = arg;
	it->arg_free = arg_free;
	it->bytes = bytes;
	pthread_mutex_lock(&p->lock);
	if (!evict_for(p, bytes)) {
		p->dropped++;
		pthread_mutex_unlock(&p->lock);
		item_free(it);
		return -ENOBUFS;
	}
	append_locked(p, it);
	pthread_mutex_unlock(&p->lock);
	wake_thread(p);
	return 0;
}

void sh_publisher_set_direct(struct sh_publisher *p, sh_publisher_busy_fn busy, void *ctx)
{
	p->busy = busy;
	p->busy_ctx = ctx;
}

void sh_publisher_note_incoming(struct sh_publisher *p, size_t n)
{
	if (!n || !p->busy)
		return;
	window_roll(p, now_ns());
	p->window_count[0] += n;
}

size_t sh_publisher_direct_count(const struct sh_publisher *p)
{
	return p->direct_sent;
}

size_t sh_publisher_take_dropped(struct sh_publisher *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->dropped;
	p->dropped = 0;
	pthread_mutex_unlock(&p->lock);
	return n;
}

size_t sh_publisher_length(struct sh_publisher *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->items;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* Frees every queued item; under the lock. */
static void clear_locked(struct sh_publisher *p)
{
	struct sh_list *l;

	while ((l = sh_list_first(&p->queue))) {
		struct pub_item *it = sh_container_of(l, struct pub_item, link);

		unlink_item(p, it);
		item_free(it);
	}
}

void sh_publisher_discard(struct sh_publisher *p)
{
	pthread_mutex_lock(&p->lock);
	clear_locked(p);
	pthread_mutex_unlock(&p->lock);
}

bool sh_publisher_drain(struct sh_publisher *p, const struct timespec *deadline)
{
	bool drained;

	pthread_mutex_lock(&p->lock);
	while ((p->items || p->sending) &&
	       pthread_cond_timedwait(&p->idle, &p->lock, deadline) != ETIMEDOUT)
		;
	drained = !p->items && !p->sending;
	pthread_mutex_unlock(&p->lock);
	return drained;
}

void sh_publisher_free(struct sh_publisher *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	clear_locked(p);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
