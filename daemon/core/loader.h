/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader: opens <dir>/<name>.so with dlopen, finds its
 * descriptor and checks the ABI version before anything else is read.
 */
#ifndef SMARTHUB_LOADER_H
#define SMARTHUB_LOADER_H

#include <smarthub/plugin.h>
#include <stddef.h>

struct sh_plugin {
	char *name;
	char *path;
	void *handle;
	const struct sh_driver *driver;
};

/*
 * Loads plugin `name` from `dir`. Returns 0 and a plugin the caller frees
 * with sh_plugin_close(), or a negative errno with a sentence in `reason`
 * (not found, no descriptor, another ABI version, a bad descriptor).
 */
int sh_plugin_open(const char *dir, const char *name, struct sh_plugin **out, char *reason,
		   size_t reason_len);
/* 0 when plugins can be loaded from `dir` (a directory we may search),
 * else the negative errno that every plugin in it would fail with
 * (-ENOTDIR when it is not a directory). */
int sh_plugin_dir_check(const char *dir);
/* True when the driver lists `kind`. */
bool sh_plugin_drives(const struct sh_plugin *plugin, const char *kind);
void sh_plugin_close(struct sh_plugin *plugin);

#endif
