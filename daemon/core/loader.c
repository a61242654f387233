// SPDX-License-Identifier: MIT
/*
 * Loading driver plugins. The descriptor's first field is its ABI version;
 * it is checked before any other field is trusted, since a plugin built
 * against another version may lay the rest out differently.
 */
#include "core/loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool name_is_safe(const char *name)
{
	if (!name[0])
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* Sensors take no commands, so a driver of sensors alone needs no
 * command callback. */
static bool sensors_only(const struct sh_driver *driver)
{
	for (const char *const *k = driver->kinds; *k; k++)
		if (strcmp(*k, "sensor") != 0)
			return false;
	return true;
}

int sh_plugin_open(const char *dir, const char *name, struct sh_plugin **out, char *reason,
		   size_t reason_len)
{
	*out = NULL;
	/* The name becomes part of a path: keep it to one plain file name. */
	if (!name_is_safe(name)) {
		snprintf(reason, reason_len, "driver name '%s' is not a plain name", name);
		return -EINVAL;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.so", dir, name);
	if (access(path, R_OK) < 0) {
		int e = errno;
		snprintf(reason, reason_len, "driver '%s': cannot open plugin %s: %s", name, path,
			 strerror(e));
		return -e;
	}
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		snprintf(reason, reason_len, "driver '%s': cannot load plugin %s: %s", name, path,
			 dlerror());
		return -ELIBBAD;
	}
	const struct sh_driver *driver = dlsym(handle, SH_DRIVER_SYMBOL);
	if (!driver) {
		snprintf(reason, reason_len,
			 "driver '%s': plugin %s exports no '" SH_DRIVER_SYMBOL "' descriptor",
			 name, path);
		dlclose(handle);
		return -ELIBBAD;
	}
	/* Same major, and a minor no newer than ours: a minor only appends. */
	uint32_t v = driver->abi_version;
	if (SH_PLUGIN_ABI_MAJOR_OF(v) != SH_PLUGIN_ABI_MAJOR ||
	    SH_PLUGIN_ABI_MINOR_OF(v) > SH_PLUGIN_ABI_MINOR) {
		snprintf(reason, reason_len,
			 "driver '%s': plugin %s was built for ABI %u.%u, this smarthubd "
			 "has ABI %u.%u (it loads %u.0 to %u.%u); rebuild the plugin",
			 name, path, SH_PLUGIN_ABI_MAJOR_OF(v), SH_PLUGIN_ABI_MINOR_OF(v),
			 SH_PLUGIN_ABI_MAJOR, SH_PLUGIN_ABI_MINOR, SH_PLUGIN_ABI_MAJOR,
			 SH_PLUGIN_ABI_MAJOR, SH_PLUGIN_ABI_MINOR);
		dlclose(handle);
		return -ELIBBAD;
	}
	if (!driver->name || !driver->kinds || !driver->create || !driver->connect ||
	    (!driver->command && !sensors_only(driver)) || !driver->disconnect ||
	    !driver->destroy) {
		snprintf(reason, reason_len, "driver '%s': plugin %s has an incomplete descriptor",
			 name, path);
		dlclose(handle);
		return -ELIBBAD;
	}
	if (strcmp(driver->name, name) != 0) {
		snprintf(reason, reason_len,
			 "driver '%s': plugin %s calls itself '%s'; its file must be named %s.so",
			 name, path, driver->name, driver->name);
		dlclose(handle);
		return -ELIBBAD;
	}
	struct sh_plugin *p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name)) || !(p->path = strdup(path))) {
		if (p)
			free(p->name);
		free(p);
		dlclose(handle);
		snprintf(reason, reason_len, "out of memory");
		return -ENOMEM;
	}
	p->handle = handle;
	p->driver = driver;
	*out = p;
	return 0;
}

int sh_plugin_dir_check(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return access(dir, X_OK) < 0 ? -errno : 0;
}

bool sh_plugin_drives(const struct sh_plugin *plugin, const char *kind)
{
	for (const char *const *k = plugin->driver->kinds; *k; k++)
		if (strcmp(*k, kind) == 0)
			return true;
	return false;
}

void sh_plugin_close(struct sh_plugin *plugin)
{
	if (!plugin)
		return;
		/* Under the sanitizers, keep the code mapped so leak reports from a
	 * plugin still have symbols. */
#if !defined(__SANITIZE_ADDRESS__)
	dlclose(plugin->handle);
#endif
	free(plugin->name);
	free(plugin->path);
	free(plugin);
}
