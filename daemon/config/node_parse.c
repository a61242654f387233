/* SPDX-License-Identifier: MIT */
/*
 * The YAML reader of the configuration: a file read whole (bounded, its
 * buffers wiped), libyaml events in, a tree of struct sh_node out in a
 * document of node.c, each node with its 1-based line and column, with
 * `!secret` and `${VAR}` substituted on the way; syntax errors get a human
 * hint.
 *
 * Owns nothing past a call: the document it returns is the caller's.
 */
#include "config/node_internal.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

/* --- reading a file -------------------------------------------------------- */

/* Frees a buffer that may hold a password, wiping it first. */
static void free_wiped(char *buf, size_t size)
{
	if (buf)
		explicit_bzero(buf, size);
	free(buf);
}

/* The whole file in a malloc'd buffer (*text, *len), and its permission
 * bits (*mode). The file may hold passwords: every buffer it passed through
 * is wiped before it is freed, so the caller frees *text with free_wiped. */
static int read_file(const char *path, char **text, size_t *len, mode_t *mode)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return -EISDIR;
	}
	*mode = st.st_mode & 07777;
	/* No stdio buffer: it would keep a copy of the text. */
	setvbuf(f, NULL, _IONBF, 0);
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	int err = 0;
	for (;;) {
		if (n == cap) {
			if (cap >= SH_NODE_FILE_MAX) {
				err = -EFBIG;
				break;
			}
			/* Not realloc: it would leave the old copy behind unwiped. */
			char *grown = malloc(cap * 2);
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			memcpy(grown, buf, n);
			free_wiped(buf, cap);
			buf = grown;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				err = -EIO;
			break;
		}
	}
	fclose(f);
	if (err) {
		free_wiped(buf, cap);
		return err;
	}
	*text = buf;
	*len = n;
	return 0;
}

void sh_node_warn_if_exposed(const char *path, unsigned mode)
{
	/* As ssh does for a private key: a secret others may read is no
	 * longer one. Not an error, since the fix is the administrator's. */
	if (mode & (S_IRWXG | S_IRWXO))
		sh_log_warning("config: %s holds secrets but is accessible to group or others "
			       "(mode %04o); chmod 600 it",
			       path, mode & 07777);
}

/* --- the parser ------------------------------------------------------------ */

struct parser {
	yaml_parser_t yp;
	struct sh_node_doc *doc;
	struct sh_diag *diag;
	unsigned flags;
	size_t nodes;
	int fatal; /* 0, or why parsing stopped (-EINVAL, -ENOMEM) */
	/* secrets.yaml, read on the first !secret */
	bool secrets_tried;
	int secrets_err;
	char *secrets_path;
	struct sh_node_doc *secrets;
};

static void mark_error(struct parser *p, const struct sh_node *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void mark_error(struct parser *p, const struct sh_node *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sh_diag_addv(p->diag, node, fmt, ap);
	va_end(ap);
	(void)sh_node__flag(p->doc, node,
			    SH_NODE__FLAG_REPORTED); /* at worst a duplicate message */
}

/* A human hint for libyaml's most common complaints (issue 18 item 14). */
static const char *syntax_hint(const char *problem)
{
	if (strstr(problem, "tab"))
		return ": tabs cannot indent YAML; use spaces";
	if (strstr(problem, "cannot start any token"))
		return ": a tab? tabs cannot indent YAML; use spaces";
	if (strstr(problem, "did not find expected key") ||
	    strstr(problem, "mapping values are not allowed") ||
	    strstr(problem, "did not find expected '-' indicator"))
		return ": check the indentation of the line above";
	return "";
}

static void syntax_error(struct parser *p)
{
	const yaml_parser_t *yp = &p->yp;

	if (yp->error == YAML_MEMORY_ERROR) {
		sh_diag_add(p->diag, NULL, "%s: out of memory", p->doc->file);
		p->fatal = -ENOMEM;
		return;
	}
	p->fatal = -EINVAL;
	if (yp->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark. */
		sh_diag_add_at(p->diag, p->doc->file, (unsigned)yp->mark.line + 1,
			       (unsigned)yp->mark.column + 1, "not valid text: %s (byte %zu)",
			       yp->problem ? yp->problem : "bad encoding", yp->problem_offset);
		return;
	}
	const char *problem = yp->problem ? yp->problem : "not valid YAML";
	const char *hint = syntax_hint(problem);
	if (yp->context) {
		sh_diag_add_at(p->diag, p->doc->file, (unsigned)yp->problem_mark.line + 1,
			       (unsigned)yp->problem_mark.column + 1,
			       "YAML syntax error: %s (%s at line %u, column %u)%s", problem,
			       yp->context, (unsigned)yp->context_mark.line + 1,
			       (unsigned)yp->context_mark.column + 1, hint);
	} else {
		sh_diag_add_at(p->diag, p->doc->file, (unsigned)yp->problem_mark.line + 1,
			       (unsigned)yp->problem_mark.column + 1, "YAML syntax error: %s%s",
			       problem, hint);
	}
}

static int next_event(struct parser *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->yp, ev)) {
		syntax_error(p);
		return p->fatal;
	}
	return 0;
}

static bool valid_var_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	}
	return true;
}

struct strbuf {
	char *data;
	size_t len, cap;
	bool overflow;
};

static void sb_add(struct strbuf *sb, const char *s, size_t n)
{
	if (sb->overflow || sb->len + n + 1 > SH_NODE_VALUE_MAX) {
		sb->overflow = true;
		return;
	}
	if (!sb->data || sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 64;
		while (cap < sb->len + n + 1)
			cap *= 2;
		char *grown = realloc(sb->data, cap);
		if (!grown) {
			sb->overflow = true;
			return;
		}
		sb->data = grown;
		sb->cap = cap;
	}
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

/*
 * Replaces ${VAR} and ${VAR:-default} in `node`'s value. The default is
 * taken when the variable is unset or empty, as in the shell. An error
 * leaves the value as written and marks the node reported.
 */
static void substitute_env(struct parser *p, struct sh_node *node)
{
	const char *v = node->value;
	struct strbuf sb = {0};
	bool failed = false, from_env = false;

	while (*v) {
		const char *dollar = strchr(v, '$');
		if (!dollar) {
			sb_add(&sb, v, strlen(v));
			break;
		}
		sb_add(&sb, v, (size_t)(dollar - v));
		if (dollar[1] == '$' && dollar[2] == '{') { /* $${ is a literal ${ */
			sb_add(&sb, "${", 2);
			v = dollar + 3;
			continue;
		}
		if (dollar[1] != '{') {
			sb_add(&sb, "$", 1);
			v = dollar + 1;
			continue;
		}
		const char *name = dollar + 2;
		const char *close = strchr(name, '}');
		if (!close) {
			mark_error(p, node, "unterminated ${ (write ${NAME} or ${NAME:-default})");
			failed = true;
			break;
		}
		const char *sep = strstr(name, ":-");
		size_t name_len =
			(sep && sep < close) ? (size_t)(sep - name) : (size_t)(close - name);
		if (!valid_var_name(name, name_len)) {
			mark_error(p, node,
				   "bad variable reference '${%.*s}' (write ${NAME} or "
				   "${NAME:-default})",
				   (int)((close - name) > 60 ? 60 : (close - name)), name);
			failed = true;
			break;
		}
		char var[256];
		if (name_len >= sizeof(var)) {
			mark_error(p, node, "variable name too long");
			failed = true;
			break;
		}
		memcpy(var, name, name_len);
		var[name_len] = '\0';
		const char *value = getenv(var);
		if (sep && sep < close) {
			if (!value || !*value) {
				value = NULL;
				sb_add(&sb, sep + 2, (size_t)(close - (sep + 2)));
			}
		} else if (!value) {
			mark_error(p, node,
				   "environment variable '%s' is not set (or write ${%s:-default})",
				   var, var);
			failed = true;
			break;
		}
		if (value) {
			sb_add(&sb, value, strlen(value));
			from_env = true;
		}
		v = close + 1;
	}
	if (!failed && sb.overflow) {
		mark_error(p, node, "value longer than %u bytes after substitution",
			   SH_NODE_VALUE_MAX);
		failed = true;
	}
	/* The environment is where a deployment keeps what it does not write
	 * into the file (a password, a token): a value that took anything from
	 * it is masked like a !secret in every message and response. */
	if (!failed && from_env && sh_node__flag(p->doc, node, SH_NODE__FLAG_SECRET) < 0) {
		p->fatal = -ENOMEM;
		failed = true;
	}
	if (!failed) {
		char *copy = sh_node__strndup(p->doc, sb.data ? sb.data : "", sb.len);
		if (copy)
			node->value = copy;
		else
			p->fatal = -ENOMEM;
	}
	if (sb.data)
		explicit_bzero(sb.data, sb.cap);
	free(sb.data);
}

static void load_secrets(struct parser *p)
{
	const char *file = p->doc->file;
	const char *slash = strrchr(file, '/');
	size_t dir_len = slash ? (size_t)(slash - file) + 1 : 0;
	size_t len = dir_len + sizeof(SH_SECRETS_FILE);

	p->secrets_tried = true;
	p->secrets_path = sh_node_doc_alloc(p->doc, len);
	if (!p->secrets_path) {
		p->secrets_err = -ENOMEM;
		return;
	}
	memcpy(p->secrets_path, file, dir_len);
	memcpy(p->secrets_path + dir_len, SH_SECRETS_FILE, sizeof(SH_SECRETS_FILE));

	char *text;
	size_t text_len;
	mode_t mode;
	p->secrets_err = read_file(p->secrets_path, &text, &text_len, &mode);
	if (p->secrets_err)
		return;
	sh_node_warn_if_exposed(p->secrets_path, mode);
	/* Its own syntax errors are reported with its own positions; its
	 * values are never substituted again. */
	p->secrets_err =
		sh_node_doc_parse(p->secrets_path, text, text_len, 0, &p->secrets, p->diag);
	free_wiped(text, text_len);
	if (p->secrets_err)
		return;
	struct sh_node *root = sh_node_doc_root(p->secrets);
	if (root->type != SH_NODE_MAP) {
		sh_diag_add(p->diag, root, "the secrets file must be a mapping of names to values");
		p->secrets_err = -EINVAL;
	}
}

static void substitute_secret(struct parser *p, struct sh_node *node)
{
	const char *name = node->value;

	if (!(p->flags & SH_NODE_SUBSTITUTE)) {
		mark_error(p, node, "!secret cannot be used in this file");
		return;
	}
	if (!p->secrets_tried)
		load_secrets(p);
	/* The value written is the secret's name, not the secret: from here
	 * on the node is one whose value must never be quoted. */
	if (sh_node__flag(p->doc, node, SH_NODE__FLAG_SECRET) < 0) {
		p->fatal = -ENOMEM;
		node->value = "";
		return;
	}
	if (p->secrets_err == -EINVAL) { /* the secrets file was reported */
		(void)sh_node__flag(p->doc, node, SH_NODE__FLAG_REPORTED);
		node->value = "";
		return;
	}
	if (p->secrets_err) {
		mark_error(p, node, "secret '%.60s': cannot read %s: %s", name, p->secrets_path,
			   strerror(-p->secrets_err));
		node->value = "";
		return;
	}
	const struct sh_node *secret = sh_node_get(sh_node_doc_root(p->secrets), name);
	if (!secret) {
		mark_error(p, node, "secret '%.60s' is not in %s", name, p->secrets_path);
		node->value = "";
		return;
	}
	if (secret->type != SH_NODE_SCALAR) {
		mark_error(p, node, "secret '%.60s' in %s must be a single value", name,
			   p->secrets_path);
		node->value = "";
		return;
	}
	node->value = sh_node_doc_strdup(p->doc, secret->value);
	if (!node->value) {
		p->fatal = -ENOMEM;
		node->value = "";
	}
	node->quoted = true; /* a secret is text, whatever it looks like */
}

static bool tag_is_standard(const char *tag)
{
	return !strcmp(tag, "!") || !strncmp(tag, "tag:yaml.org,2002:", 18);
}

/* Anchors and aliases would share nodes between places of the file (and
 * open the door to "billion laughs"); the schema has no use for them. */
static void check_anchor(struct parser *p, const struct sh_node *node, const yaml_char_t *anchor)
{
	if (anchor)
		mark_error(p, node, "anchors (&%.60s) are not supported", (const char *)anchor);
}

static struct sh_node *parse_node(struct parser *p, yaml_event_t *ev, unsigned depth);

static struct sh_node *parse_scalar(struct parser *p, yaml_event_t *ev)
{
	struct sh_node *node =
		sh_node__new(p->doc, SH_NODE_SCALAR, (unsigned)ev->start_mark.line + 1,
			     (unsigned)ev->start_mark.column + 1);
	if (!node) {
		p->fatal = -ENOMEM;
		return NULL;
	}
	const char *value = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;

	node->value = sh_node__strndup(p->doc, value, len);
	if (!node->value) {
		p->fatal = -ENOMEM;
		return NULL;
	}
	node->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
		       ev->data.scalar.style != YAML_ANY_SCALAR_STYLE;
	check_anchor(p, node, ev->data.scalar.anchor);
	if (strlen(node->value) != len) {
		mark_error(p, node, "a value contains a NUL character");
		return node;
	}
	if (tag && !strcmp(tag, "!secret")) {
		substitute_secret(p, node);
		return node;
	}
	if (tag && !tag_is_standard(tag)) {
		mark_error(p, node, "unsupported tag '%.60s' (only !secret is known)", tag);
		return node;
	}
	if (tag && !strcmp(tag, "tag:yaml.org,2002:str"))
		node->quoted = true;
	if ((p->flags & SH_NODE_SUBSTITUTE) && strchr(node->value, '$'))
		substitute_env(p, node);
	return node;
}

struct items {
	struct sh_node **v;
	size_t n, cap;
};

static int items_push(struct items *it, struct sh_node *node)
{
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 8;
		struct sh_node **grown = realloc(it->v, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		it->v = grown;
		it->cap = cap;
	}
	it->v[it->n++] = node;
	return 0;
}

struct key_ref {
	const char *key;
	size_t index;
};

static int key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* A key given twice would silently lose one of its values. Sorting keeps
 * this linear-logarithmic for large maps. */
static void check_duplicate_keys(struct parser *p, struct sh_node **items, size_t n)
{
	if (n < 2)
		return;
	struct key_ref *refs = malloc(n * sizeof(*refs));
	if (!refs) {
		p->fatal = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct key_ref){items[i]->key, i};
	qsort(refs, n, sizeof(*refs), key_ref_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(refs[i - 1].key, refs[i].key))
			continue;
		const struct node_ext *dup = (const struct node_ext *)items[refs[i].index];
		const struct node_ext *first = (const struct node_ext *)items[refs[i - 1].index];
		sh_diag_add_at(p->diag, p->doc->file, dup->key_line, dup->key_column,
			       "duplicate key '%.60s' (first at line %u)", refs[i].key,
			       first->key_line);
	}
	free(refs);
}

static struct sh_node *parse_collection(struct parser *p, yaml_event_t *ev, unsigned depth)
{
	bool is_map = ev->type == YAML_MAPPING_START_EVENT;
	yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
	struct sh_node *node = sh_node__new(p->doc, is_map ? SH_NODE_MAP : SH_NODE_SEQ,
					    (unsigned)ev->start_mark.line + 1,
					    (unsigned)ev->start_mark.column + 1);
	if (!node) {
		p->fatal = -ENOMEM;
		return NULL;
	}
	const char *tag =
		(const char *)(is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
	check_anchor(p, node,
		     is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
	if (tag && !tag_is_standard(tag))
		mark_error(p, node, "unsupported tag '%.60s' (only !secret is known)", tag);
	if (depth >= SH_NODE_DEPTH_MAX) {
		sh_diag_add(p->diag, node, "nested deeper than %u levels", SH_NODE_DEPTH_MAX);
		p->fatal = -EINVAL;
		return NULL;
	}

	struct items it = {0};
	for (;;) {
		yaml_event_t child;
		if (next_event(p, &child))
			break;
		if (child.type == end) {
			yaml_event_delete(&child);
			break;
		}
		if (!is_map) {
			struct sh_node *item = parse_node(p, &child, depth + 1);
			if (!item || items_push(&it, item)) {
				p->fatal = p->fatal ? p->fatal : -ENOMEM;
				break;
			}
			continue;
		}
		/* A key: plain text only; a map or list as a key is kept out. */
		unsigned kline = (unsigned)child.start_mark.line + 1;
		unsigned kcol = (unsigned)child.start_mark.column + 1;
		char *key = NULL;
		if (child.type == YAML_SCALAR_EVENT) {
			key = sh_node__strndup(p->doc, (const char *)child.data.scalar.value,
					       child.data.scalar.length);
			if (!key)
				p->fatal = -ENOMEM;
			yaml_event_delete(&child);
		} else {
			struct sh_node *bad = parse_node(p, &child, depth + 1);
			if (bad)
				sh_diag_add(p->diag, bad, "a key must be a plain value");
		}
		if (p->fatal)
			break;
		yaml_event_t value_ev;
		if (next_event(p, &value_ev))
			break;
		struct sh_node *value = parse_node(p, &value_ev, depth + 1);
		if (!value)
			break;
		if (!key)
			continue;
		struct node_ext *ext = (struct node_ext *)value;
		value->key = key;
		ext->key_line = kline;
		ext->key_column = kcol;
		if (items_push(&it, value)) {
			p->fatal = -ENOMEM;
			break;
		}
	}
	if (!p->fatal && it.n) {
		node->items = sh_node_doc_alloc(p->doc, it.n * sizeof(*node->items));
		if (node->items) {
			memcpy(node->items, it.v, it.n * sizeof(*node->items));
			node->n_items = it.n;
		} else {
			p->fatal = -ENOMEM;
		}
	}
	free(it.v);
	if (p->fatal)
		return NULL;
	if (is_map)
		check_duplicate_keys(p, node->items, node->n_items);
	return node;
}

/* Takes ownership of `ev`. NULL when parsing must stop (p->fatal). */
static struct sh_node *parse_node(struct parser *p, yaml_event_t *ev, unsigned depth)
{
	struct sh_node *node = NULL;

	if (++p->nodes > SH_NODE_LIMIT) {
		sh_diag_add_at(p->diag, p->doc->file, (unsigned)ev->start_mark.line + 1,
			       (unsigned)ev->start_mark.column + 1,
			       "more than %u values in one file", SH_NODE_LIMIT);
		p->fatal = -EINVAL;
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		node = parse_scalar(p, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		node = parse_collection(p, ev, depth);
		break;
	case YAML_ALIAS_EVENT:
		node = sh_node__new(p->doc, SH_NODE_SCALAR, (unsigned)ev->start_mark.line + 1,
				    (unsigned)ev->start_mark.column + 1);
		if (!node) {
			p->fatal = -ENOMEM;
			break;
		}
		node->value = "";
		mark_error(p, node, "aliases (*%.60s) are not supported",
			   (const char *)ev->data.alias.anchor);
		break;
	default:
		sh_diag_add_at(p->diag, p->doc->file, (unsigned)ev->start_mark.line + 1,
			       (unsigned)ev->start_mark.column + 1, "unexpected YAML event");
		p->fatal = -EINVAL;
		break;
	}
	/* libyaml's copy of a value is freed unwiped otherwise. */
	if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.value)
		explicit_bzero(ev->data.scalar.value, ev->data.scalar.length);
	yaml_event_delete(ev);
	return node;
}

static int parse_stream(struct parser *p)
{
	yaml_event_t ev;
	unsigned documents = 0;

	for (;;) {
		if (next_event(p, &ev))
			return p->fatal;
		yaml_event_type_t type = ev.type;
		if (type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (type == YAML_DOCUMENT_START_EVENT && ++documents > 1) {
			sh_diag_add_at(p->diag, p->doc->file, (unsigned)ev.start_mark.line + 1,
				       (unsigned)ev.start_mark.column + 1,
				       "only one YAML document is allowed in a file");
			yaml_event_delete(&ev);
			return -EINVAL;
		}
		if (type == YAML_SCALAR_EVENT || type == YAML_SEQUENCE_START_EVENT ||
		    type == YAML_MAPPING_START_EVENT || type == YAML_ALIAS_EVENT) {
			p->doc->root = parse_node(p, &ev, 0);
			if (!p->doc->root)
				return p->fatal ? p->fatal : -EINVAL;
			continue;
		}
		yaml_event_delete(&ev);
	}
}

int sh_node_doc_parse(const char *file, const char *text, size_t len, unsigned flags,
		      struct sh_node_doc **out, struct sh_diag *diag)
{
	struct parser p = {.diag = diag, .flags = flags};
	int err;

	*out = NULL;
	p.doc = sh_node__doc_new(file);
	if (!p.doc)
		return -ENOMEM;
	if (!yaml_parser_initialize(&p.yp)) {
		sh_node_doc_free(p.doc);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p.yp, (const unsigned char *)text, len);
	err = parse_stream(&p);
	/* The parser's input buffers hold the text they decoded. */
	if (p.yp.raw_buffer.start)
		explicit_bzero(p.yp.raw_buffer.start,
			       (size_t)(p.yp.raw_buffer.end - p.yp.raw_buffer.start));
	if (p.yp.buffer.start)
		explicit_bzero(p.yp.buffer.start, (size_t)(p.yp.buffer.end - p.yp.buffer.start));
	yaml_parser_delete(&p.yp);
	sh_node_doc_free(p.secrets);
	if (!err && !p.doc->root) {
		/* An empty file: nothing configured, every default applies. */
		p.doc->root = sh_node__new(p.doc, SH_NODE_MAP, 1, 1);
		if (!p.doc->root)
			err = -ENOMEM;
	}
	if (err) {
		sh_node_doc_free(p.doc);
		return err;
	}
	*out = p.doc;
	return 0;
}

int sh_node_doc_load(const char *path, unsigned flags, struct sh_node_doc **out,
		     struct sh_diag *diag)
{
	char *text = NULL;
	size_t len = 0;
	mode_t mode;
	int err;

	*out = NULL;
	err = read_file(path, &text, &len, &mode);
	if (err) {
		if (err == -EFBIG)
			sh_diag_add(diag, NULL, "%s: larger than %u bytes", path, SH_NODE_FILE_MAX);
		else
			sh_diag_add(diag, NULL, "cannot read %s: %s", path, strerror(-err));
		return err;
	}
	err = sh_node_doc_parse(path, text, len, flags, out, diag);
	free_wiped(text, len);
	return err;
}
