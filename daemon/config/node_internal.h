/* SPDX-License-Identifier: MIT */
/*
 * What the files of the YAML reader share (node.c: documents, arenas and
 * flags; node_parse.c: the parser that fills them): the document's layout
 * and the sh_node__ functions that make nodes. Nothing outside node*.c
 * includes it; the rest of the daemon uses node.h.
 */
#ifndef SMARTHUB_NODE_INTERNAL_H
#define SMARTHUB_NODE_INTERNAL_H

#include "config/node.h"

#include <stddef.h>

#define ARENA_CHUNK 65536u

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

/* Every node this module makes; the key position lives beside the node
 * because the ABI's struct has no room for it. */
struct node_ext {
	struct sh_node node;
	unsigned key_line, key_column;
};

#define SH_NODE__FLAG_SECRET 0x1u
#define SH_NODE__FLAG_REPORTED 0x2u

struct flagged {
	const struct sh_node *node;
	unsigned flags;
};

struct sh_node_doc {
	struct arena_chunk *chunks;
	struct sh_node *root;
	const char *file;
	struct flagged *flagged;
	size_t n_flagged, cap_flagged;
	struct sh_node_doc *live_prev, *live_next;
};

/* A new document for `file` (copied), registered as live; NULL on ENOMEM.
 * Freed with sh_node_doc_free. */
struct sh_node_doc *sh_node__doc_new(const char *file);
/* `n` bytes of `s` as a string in the doc's arena; NULL on ENOMEM. */
char *sh_node__strndup(struct sh_node_doc *doc, const char *s, size_t n);
/* A node of the doc at line:column (its key position too, until set). */
struct sh_node *sh_node__new(struct sh_node_doc *doc, enum sh_node_type type, unsigned line,
			     unsigned column);
/* Records `flags` (SH_NODE__FLAG_*) for `node` of `doc`. 0, or -ENOMEM when a
 * secret could not be recorded: the caller must then fail, since a secret
 * that is not known as one could be quoted. */
int sh_node__flag(struct sh_node_doc *doc, const struct sh_node *node, unsigned flags);

#endif
