/* SPDX-License-Identifier: MIT */
/*
 * YAML files as trees of struct sh_node (the type of the driver ABI), read
 * with libyaml's event parser. Every node keeps the file, line and column
 * it came from (1-based), so that every later check can say where.
 *
 * A struct sh_node_doc owns one parsed file: its nodes, their strings and
 * everything allocated with sh_node_doc_alloc(), all freed together by
 * sh_node_doc_free(). The config loader keeps the doc alive as long as the
 * struct sh_config built from it.
 *
 * With SH_NODE_SUBSTITUTE, scalar values are rewritten while reading:
 * `!secret name` takes `name` from secrets.yaml beside the file and
 * `${VAR}` / `${VAR:-default}` come from the environment (`$${` is a
 * literal `${`). Nodes whose value came from a secret are remembered so
 * that no message ever quotes them; nodes that already produced an error
 * (a missing variable, say) are remembered too, so that the schema checks
 * do not pile a second error on the same value.
 *
 * Not supported, and reported as errors: anchors and aliases, tags other
 * than !secret and the standard !!str/!!int/..., more than one document.
 */
#ifndef SMARTHUB_NODE_H
#define SMARTHUB_NODE_H

#include "config/config.h"
#include "config/diag.h"
#include <smarthub/plugin.h>
#include <stdbool.h>
#include <stddef.h>

/* Bounds of one file, so a huge or hostile file fails cleanly. */
#define SH_NODE_FILE_MAX (4u << 20) /* bytes */
#define SH_NODE_LIMIT 200000u       /* nodes */
#define SH_NODE_DEPTH_MAX 64u       /* nesting of maps and lists */
#define SH_NODE_VALUE_MAX 65536u    /* bytes of one value after substitution */
#define SH_NODE_FLAGGED_LIMIT 4096u /* already-reported nodes (secrets: no limit) */
#define SH_SECRETS_FILE "secrets.yaml"

/* Flags of sh_node_doc_parse / sh_node_doc_load. */
#define SH_NODE_SUBSTITUTE 0x1u /* !secret and ${VAR} */

struct sh_node_doc;

/*
 * Reads `path` and parses it. Returns 0 and *out (the caller's, also when
 * non-fatal errors such as a missing variable were added to `diag`), or a
 * negative errno with *out NULL: -EINVAL after a YAML syntax error (reported
 * at its position), -ENOENT, -EACCES, -EFBIG... when the file cannot be read
 * (reported without position).
 */
int sh_node_doc_load(const char *path, unsigned flags, struct sh_node_doc **out,
		     struct sh_diag *diag);
/* The same for `len` bytes of `text` (not NUL-terminated) said to come from
 * `file`, which is used for positions and to find secrets.yaml. */
int sh_node_doc_parse(const char *file, const char *text, size_t len, unsigned flags,
		      struct sh_node_doc **out, struct sh_diag *diag);
void sh_node_doc_free(struct sh_node_doc *doc);

/* The root node; an empty file gives an empty map. Owned by the doc. */
struct sh_node *sh_node_doc_root(const struct sh_node_doc *doc);
/* The file name every node of the doc points to. */
const char *sh_node_doc_file(const struct sh_node_doc *doc);

/* Zeroed memory and strings that live as long as the doc. NULL on ENOMEM. */
void *sh_node_doc_alloc(struct sh_node_doc *doc, size_t size);
char *sh_node_doc_strdup(struct sh_node_doc *doc, const char *s);
/* A new map node at the position of `at` holding `items` (borrowed nodes of
 * the same doc, their keys and positions unchanged). */
struct sh_node *sh_node_doc_new_map(struct sh_node_doc *doc, const struct sh_node *at,
				    struct sh_node *const *items, size_t n_items);

/* Position of the key of a map value (the value's own position for other
 * nodes). Only for nodes made by this module. */
void sh_node_key_position(const struct sh_node *node, unsigned *line, unsigned *column);

/* True when the value came from a secret (never quote it). */
bool sh_node_is_secret(const struct sh_node *node);
/* True when an error was already reported for this node. */
bool sh_node_is_reported(const struct sh_node *node);
/* Records that an error was reported for `node` (of a live doc). */
void sh_node_mark_reported(const struct sh_node *node);

/* An unquoted empty, "~" or "null" scalar: YAML's way of saying nothing. */
bool sh_node_is_null(const struct sh_node *node);

/* A value that may be one scalar or a list of them (depends_on: plug, or
 * [plug, amp]): sets `entries` to the list's items, or to `node` itself,
 * and `count` to their number (0 for NULL or null). False when `node` is
 * neither a scalar nor a list; the entries' own types are the caller's to
 * check. */
bool sh_node_one_or_list(const struct sh_node *const *node, const struct sh_node *const **entries,
			 size_t *count);

/*
 * The readers of config.h with an explicit name for messages
 * ("mqtt.keepalive must be an integer"); the config.h versions use the
 * node's key. A NULL node is an error too ("<name> must be ...").
 */
int sh_node_read_bool(const struct sh_node *node, const char *name, struct sh_diag *diag,
		      bool *out);
int sh_node_read_ll(const struct sh_node *node, const char *name, long long min, long long max,
		    struct sh_diag *diag, long long *out);
int sh_node_read_double(const struct sh_node *node, const char *name, double min, double max,
			struct sh_diag *diag, double *out);
int sh_node_read_duration(const struct sh_node *node, const char *name, struct sh_diag *diag,
			  uint64_t *ms);

/* Logs a warning when `mode` (st_mode bits) lets group or others at the
 * file at `path`, which holds secrets (secrets.yaml, mqtt.password_file). */
void sh_node_warn_if_exposed(const char *path, unsigned mode);

/* `node`'s value in single quotes, cut to a readable length, or "(secret)";
 * for messages. Returns buf. */
const char *sh_node_quote(const struct sh_node *node, char *buf, size_t size);

#endif
