// SPDX-License-Identifier: MIT
/* A shared object that is no smarthub plugin: it exports no descriptor. */
__attribute__((visibility("default"))) int smarthub_test_not_a_plugin(void)
{
	return 42;
}
