/* SPDX-License-Identifier: MIT */
/*
 * YAML documents as the configuration holds them: one arena per document,
 * so that a tree of thousands of small nodes is freed at once and no node
 * is ever freed while another points to it (driver options share the
 * device's nodes), and the flags kept beside the tree. The parser that
 * fills a document is node_parse.c; the scalar readers are node_read.c.
 *
 * Owns the documents: their nodes, strings and flags, wiped and freed by
 * sh_node_doc_free().
 *
 * Which nodes hold secrets or already failed is kept beside the tree, in a
 * list per document, because struct sh_node is part of the driver ABI and
 * cannot grow a field. A process-wide list of live documents lets the
 * readers answer "is this a secret?" for any node pointer without reading
 * past a node that some other code made on its own.
 */
#include "config/node_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sh_node_doc *live_docs;

/* --- the arena ------------------------------------------------------------ */

void *sh_node_doc_alloc(struct sh_node_doc *doc, size_t size)
{
	size_t align = sizeof(max_align_t);
	size = (size + align - 1) / align * align;
	if (size == 0)
		size = align;

	struct arena_chunk *c = doc->chunks;
	if (!c || c->size - c->used < size) {
		size_t csize = size > ARENA_CHUNK / 2 ? size : ARENA_CHUNK;
		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->used = 0;
		/* A big block gets its own chunk behind the current one, so the
		 * current one keeps serving small allocations. */
		if (csize != ARENA_CHUNK && doc->chunks) {
			c->next = doc->chunks->next;
			doc->chunks->next = c;
		} else {
			c->next = doc->chunks;
			doc->chunks = c;
		}
	}
	void *p = (char *)c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *sh_node__strndup(struct sh_node_doc *doc, const char *s, size_t n)
{
	char *p = sh_node_doc_alloc(doc, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *sh_node_doc_strdup(struct sh_node_doc *doc, const char *s)
{
	return s ? sh_node__strndup(doc, s, strlen(s)) : NULL;
}

struct sh_node_doc *sh_node__doc_new(const char *file)
{
	struct sh_node_doc *doc = calloc(1, sizeof(*doc));
	if (!doc)
		return NULL;
	doc->file = sh_node_doc_strdup(doc, file);
	if (!doc->file) {
		free(doc);
		return NULL;
	}
	pthread_mutex_lock(&live_lock);
	doc->live_next = live_docs;
	if (live_docs)
		live_docs->live_prev = doc;
	live_docs = doc;
	pthread_mutex_unlock(&live_lock);
	return doc;
}

void sh_node_doc_free(struct sh_node_doc *doc)
{
	if (!doc)
		return;
	pthread_mutex_lock(&live_lock);
	if (doc->live_prev)
		doc->live_prev->live_next = doc->live_next;
	else
		live_docs = doc->live_next;
	if (doc->live_next)
		doc->live_next->live_prev = doc->live_prev;
	pthread_mutex_unlock(&live_lock);

	struct arena_chunk *c = doc->chunks;
	while (c) {
		struct arena_chunk *next = c->next;
		/* The arena holds every value of the file, passwords among them. */
		explicit_bzero(c->data, c->used);
		free(c);
		c = next;
	}
	free(doc->flagged);
	free(doc);
}

struct sh_node *sh_node_doc_root(const struct sh_node_doc *doc)
{
	return doc->root;
}

const char *sh_node_doc_file(const struct sh_node_doc *doc)
{
	return doc->file;
}

struct sh_node *sh_node__new(struct sh_node_doc *doc, enum sh_node_type type, unsigned line,
			     unsigned column)
{
	struct node_ext *ext = sh_node_doc_alloc(doc, sizeof(*ext));
	if (!ext)
		return NULL;
	ext->node.type = type;
	ext->node.file = doc->file;
	ext->node.line = line;
	ext->node.column = column;
	ext->key_line = line;
	ext->key_column = column;
	return &ext->node;
}

struct sh_node *sh_node_doc_new_map(struct sh_node_doc *doc, const struct sh_node *at,
				    struct sh_node *const *items, size_t n_items)
{
	struct sh_node *map =
		sh_node__new(doc, SH_NODE_MAP, at ? at->line : 1, at ? at->column : 1);
	if (!map)
		return NULL;
	if (n_items) {
		map->items = sh_node_doc_alloc(doc, n_items * sizeof(*map->items));
		if (!map->items)
			return NULL;
		memcpy(map->items, items, n_items * sizeof(*map->items));
		map->n_items = n_items;
	}
	return map;
}

void sh_node_key_position(const struct sh_node *node, unsigned *line, unsigned *column)
{
	const struct node_ext *ext = (const struct node_ext *)node;
	*line = ext->key_line;
	*column = ext->key_column;
}

/* --- flags kept beside the tree ------------------------------------------ */

/* 0, or -ENOMEM when a secret could not be recorded: the caller must then
 * fail, since a secret that is not known as one could be quoted. */
static int doc_flag_locked(struct sh_node_doc *doc, const struct sh_node *node, unsigned flags)
{
	for (size_t i = 0; i < doc->n_flagged; i++) {
		if (doc->flagged[i].node == node) {
			doc->flagged[i].flags |= flags;
			return 0;
		}
	}
	/* Past the limit the file has thousands of errors already; losing
	 * the "reported" mark only costs a duplicate message. A secret is
	 * always recorded: the number of nodes in a file (SH_NODE_LIMIT)
	 * bounds them. */
	if (!(flags & SH_NODE__FLAG_SECRET) && doc->n_flagged >= SH_NODE_FLAGGED_LIMIT)
		return 0;
	if (doc->n_flagged == doc->cap_flagged) {
		size_t cap = doc->cap_flagged ? doc->cap_flagged * 2 : 64;
		struct flagged *grown = realloc(doc->flagged, cap * sizeof(*grown));
		if (!grown)
			return (flags & SH_NODE__FLAG_SECRET) ? -ENOMEM : 0;
		doc->flagged = grown;
		doc->cap_flagged = cap;
	}
	doc->flagged[doc->n_flagged++] = (struct flagged){node, flags};
	return 0;
}

int sh_node__flag(struct sh_node_doc *doc, const struct sh_node *node, unsigned flags)
{
	pthread_mutex_lock(&live_lock);
	int r = doc_flag_locked(doc, node, flags);
	pthread_mutex_unlock(&live_lock);
	return r;
}

static unsigned node_flags(const struct sh_node *node)
{
	unsigned flags = 0;

	if (!node)
		return 0;
	pthread_mutex_lock(&live_lock);
	for (struct sh_node_doc *doc = live_docs; doc && !flags; doc = doc->live_next) {
		for (size_t i = 0; i < doc->n_flagged; i++) {
			if (doc->flagged[i].node == node) {
				flags = doc->flagged[i].flags;
				break;
			}
		}
	}
	pthread_mutex_unlock(&live_lock);
	return flags;
}

bool sh_node_is_secret(const struct sh_node *node)
{
	return node_flags(node) & SH_NODE__FLAG_SECRET;
}

bool sh_node_is_reported(const struct sh_node *node)
{
	return node_flags(node) & SH_NODE__FLAG_REPORTED;
}

void sh_node_mark_reported(const struct sh_node *node)
{
	if (!node)
		return;
	pthread_mutex_lock(&live_lock);
	for (struct sh_node_doc *doc = live_docs; doc; doc = doc->live_next) {
		if (doc->file == node->file) {
			(void)doc_flag_locked(doc, node, SH_NODE__FLAG_REPORTED);
			break;
		}
	}
	pthread_mutex_unlock(&live_lock);
}
