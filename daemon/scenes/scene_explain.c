/* SPDX-License-Identifier: MIT */
/*
 * Scene plans for people: `smarthubd --check-config --explain <scene>`
 * prints a scene's step tree as indented text, each device with its kind,
 * and `--graph <scene>` as a Graphviz dot digraph, so the plan can be read
 * before anything runs.
 *
 * Pure functions of the configuration: nothing here touches the hub, the
 * loop or a device. Owns nothing beyond the duration of one call.
 */
#include "scenes/scene.h"
#include "util/duration.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Longest command or condition text shown on one line or node; longer ones
 * end in "...", since a plan is for reading, not for copying. */
#define SH_EXPLAIN_TEXT_MAX 160

/* Compact JSON of `json`, cut to SH_EXPLAIN_TEXT_MAX. */
static void json_text(const cJSON *json, char *buf, size_t len)
{
	char *text = json ? cJSON_PrintUnformatted(json) : NULL;

	if (!text) {
		snprintf(buf, len, "{}");
		return;
	}
	if (strlen(text) > SH_EXPLAIN_TEXT_MAX)
		strcpy(text + SH_EXPLAIN_TEXT_MAX - 3, "...");
	snprintf(buf, len, "%s", text);
	free(text);
}

/* A device's kind as a plan shows it: what the step drives or waits on. */
static const char *kind_of(const char *kind)
{
	return kind ? kind : "?";
}

/* "living_speaker (speaker) {"availability":"online"} or hall_motion
 * (sensor) {...}" */
static void conditions_text(const struct sh_step *step, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < step->n_conditions && used < len; i++) {
		char state[SH_EXPLAIN_TEXT_MAX + 1];
		if (step->conditions[i].event)
			snprintf(state, sizeof(state), "event %s", step->conditions[i].event);
		else
			json_text(step->conditions[i].state, state, sizeof(state));
		int n = snprintf(buf + used, len - used, "%s%s (%s) %s", i ? " or " : "",
				 step->conditions[i].device, kind_of(step->conditions[i].kind),
				 state);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* What the step does, without its limits. */
static void step_text(const struct sh_step *step, char *buf, size_t len)
{
	char text[SH_EXPLAIN_TEXT_MAX * 4];
	char dur[32];

	switch (step->type) {
	case SH_STEP_SEQUENCE:
		snprintf(buf, len, "sequence");
		break;
	case SH_STEP_PARALLEL:
		snprintf(buf, len, "parallel");
		break;
	case SH_STEP_DEVICE:
		json_text(step->set, text, sizeof(text));
		snprintf(buf, len, "device %s (%s) set %s", step->device, kind_of(step->kind),
			 text);
		break;
	case SH_STEP_DELAY:
		snprintf(buf, len, "delay %s",
			 sh_duration_format(step->delay_ms, dur, sizeof(dur)));
		break;
	case SH_STEP_WAIT:
		conditions_text(step, text, sizeof(text));
		snprintf(buf, len, "%s %s", step->n_conditions > 1 ? "wait any" : "wait", text);
		break;
	case SH_STEP_SCENE:
		snprintf(buf, len, "scene %s", step->scene);
		break;
	}
}

/* "timeout 10s, retry 2, continue_on_error", or "" */
static void limits_text(const struct sh_step *step, char *buf, size_t len)
{
	char dur[32];
	size_t used = 0;

	buf[0] = '\0';
	if (step->timeout_ms)
		used += (size_t)snprintf(buf + used, len - used, "timeout %s",
					 sh_duration_format(step->timeout_ms, dur, sizeof(dur)));
	if (step->retry && used < len)
		used += (size_t)snprintf(buf + used, len - used, "%sretry %u", used ? ", " : "",
					 step->retry);
	if (step->continue_on_error && used < len)
		snprintf(buf + used, len - used, "%scontinue_on_error", used ? ", " : "");
}

static void explain_step(const struct sh_step *step, unsigned depth, FILE *out)
{
	char what[SH_EXPLAIN_TEXT_MAX * 4 + 64];
	char limits[128];

	step_text(step, what, sizeof(what));
	limits_text(step, limits, sizeof(limits));
	fprintf(out, "%*s%s: %s", (int)(depth * 2), "", step->path, what);
	if (limits[0])
		fprintf(out, " [%s]", limits);
	fputc('\n', out);
	for (size_t i = 0; i < step->n_children; i++)
		explain_step(step->children[i], depth + 1, out);
}

int sh_scene_explain(const struct sh_config *config, const char *name, FILE *out)
{
	const struct sh_scene_config *scene = sh_config_find_scene(config, name);

	if (!scene)
		return -ENOENT;
	sh_scene_explain_config(scene, "scene", out);
	return 0;
}

void sh_scene_explain_config(const struct sh_scene_config *scene, const char *what, FILE *out)
{
	fprintf(out, "%s %s", what, scene->name);
	if (scene->friendly_name && strcmp(scene->friendly_name, scene->name) != 0)
		fprintf(out, " (%s)", scene->friendly_name);
	fprintf(out, ": mode %s", sh_scene_mode_name(scene->mode));
	if (scene->mode == SH_SCENE_QUEUED || scene->mode == SH_SCENE_PARALLEL)
		fprintf(out, ", max %u", scene->max);
	fputc('\n', out);
	explain_step(scene->root, 1, out);
}

/* --- Graphviz ------------------------------------------------------------ */

struct graph {
	FILE *out;
	unsigned next_id;
};

/* Writes `text` as the inside of a dot string. */
static void dot_escape(FILE *out, const char *text)
{
	for (; *text; text++) {
		if (*text == '"' || *text == '\\')
			fputc('\\', out);
		if (*text == '\n')
			fputs("\\n", out);
		else
			fputc(*text, out);
	}
}

static unsigned dot_node(struct graph *g, const char *shape, const char *label, const char *limits,
			 unsigned depth)
{
	unsigned id = g->next_id++;

	fprintf(g->out, "%*sn%u [shape=%s, label=\"", (int)(depth * 2), "", id, shape);
	dot_escape(g->out, label);
	if (limits && limits[0]) {
		fputs("\\n", g->out);
		dot_escape(g->out, limits);
	}
	fputs("\"];\n", g->out);
	return id;
}

static void dot_edge(struct graph *g, unsigned from, unsigned to, unsigned depth)
{
	fprintf(g->out, "%*sn%u -> n%u;\n", (int)(depth * 2), "", from, to);
}

/*
 * Writes `step` as a piece of graph with one entry node and one exit node
 * (the same node for a leaf), so that the caller can chain pieces.
 */
static void dot_step(struct graph *g, const struct sh_step *step, unsigned depth, unsigned *entry,
		     unsigned *exit)
{
	char what[SH_EXPLAIN_TEXT_MAX * 4 + 64];
	char label[SH_EXPLAIN_TEXT_MAX * 4 + 128];
	char limits[128];

	limits_text(step, limits, sizeof(limits));
	switch (step->type) {
	case SH_STEP_SEQUENCE:
		if (step->n_children == 0 || limits[0]) {
			/* An empty sequence, or one with limits worth showing,
			 * gets a node of its own. */
			snprintf(label, sizeof(label), "%s\nsequence", step->path);
			*entry = *exit = dot_node(g, "ellipse", label, limits, depth);
			if (step->n_children == 0)
				return;
			unsigned in, out;
			unsigned head = *entry;
			for (size_t i = 0; i < step->n_children; i++) {
				dot_step(g, step->children[i], depth, &in, &out);
				dot_edge(g, head, in, depth);
				head = out;
			}
			*exit = head;
			return;
		}
		for (size_t i = 0; i < step->n_children; i++) {
			unsigned in, out;
			dot_step(g, step->children[i], depth, &in, &out);
			if (i == 0)
				*entry = in;
			else
				dot_edge(g, *exit, in, depth);
			*exit = out;
		}
		return;
	case SH_STEP_PARALLEL: {
		unsigned cluster = g->next_id;
		fprintf(g->out, "%*ssubgraph cluster_%u {\n", (int)(depth * 2), "", cluster);
		fprintf(g->out, "%*slabel=\"", (int)(depth * 2 + 2), "");
		dot_escape(g->out, step->path);
		fputs("\";\n", g->out);
		fprintf(g->out, "%*sstyle=dashed;\n", (int)(depth * 2 + 2), "");
		snprintf(label, sizeof(label), "parallel");
		*entry = dot_node(g, "invtrapezium", label, limits, depth + 1);
		unsigned *outs = calloc(step->n_children ? step->n_children : 1, sizeof(*outs));
		for (size_t i = 0; i < step->n_children; i++) {
			unsigned in, out;
			dot_step(g, step->children[i], depth + 1, &in, &out);
			dot_edge(g, *entry, in, depth + 1);
			if (outs)
				outs[i] = out;
		}
		*exit = dot_node(g, "trapezium", "join", NULL, depth + 1);
		for (size_t i = 0; outs && i < step->n_children; i++)
			dot_edge(g, outs[i], *exit, depth + 1);
		if (step->n_children == 0)
			dot_edge(g, *entry, *exit, depth + 1);
		free(outs);
		fprintf(g->out, "%*s}\n", (int)(depth * 2), "");
		return;
	}
	default:
		step_text(step, what, sizeof(what));
		snprintf(label, sizeof(label), "%s\n%s", step->path, what);
		*entry = *exit =
			dot_node(g, step->type == SH_STEP_DEVICE ? "box" : "box, style=rounded",
				 label, limits, depth);
		return;
	}
}

int sh_scene_graph(const struct sh_config *config, const char *name, FILE *out)
{
	const struct sh_scene_config *scene = sh_config_find_scene(config, name);

	if (!scene)
		return -ENOENT;
	sh_scene_graph_config(scene, NULL, 0, NULL, out);
	return 0;
}

void sh_scene_graph_config(const struct sh_scene_config *scene, const char *const *sources,
			   size_t n_sources, const char *gate, FILE *out)
{
	struct graph g = {.out = out};
	unsigned start, end, entry, exit;

	fputs("digraph \"", out);
	dot_escape(out, scene->name);
	fputs("\" {\n", out);
	fputs("  label=\"", out);
	dot_escape(out, scene->name);
	fprintf(out, " (mode %s)\";\n", sh_scene_mode_name(scene->mode));
	fputs("  labelloc=t;\n  node [fontname=\"sans-serif\"];\n", out);
	start = dot_node(&g, "circle", "start", NULL, 1);
	/* An automation's triggers lead to its start, through its
	 * conditions when it has some. */
	unsigned into = start;
	if (gate) {
		into = dot_node(&g, "diamond", gate, NULL, 1);
		dot_edge(&g, into, start, 1);
	}
	for (size_t i = 0; i < n_sources; i++)
		dot_edge(&g, dot_node(&g, "invhouse", sources[i], NULL, 1), into, 1);
	dot_step(&g, scene->root, 1, &entry, &exit);
	end = dot_node(&g, "doublecircle", "end", NULL, 1);
	dot_edge(&g, start, entry, 1);
	dot_edge(&g, exit, end, 1);
	fputs("}\n", out);
}
