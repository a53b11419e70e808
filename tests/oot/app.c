/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree host application (tests/install-test.sh,
 * tests/subproject-test.sh): app PLUGIN.so TEXT [RUNNER] spawns the plugin,
 * calls "greet" with TEXT and prints the output, then one line naming the
 * result. Without RUNNER, libplughost finds its runner itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plughost/host.h>

int main(int argc, char **argv)
{
	struct ph_host_config hc;
	struct ph_host *host;
	struct ph_plugin *plugin;
	struct ph_blob *in;
	struct ph_result res;
	char line[512];
	void *out;
	size_t len;
	int r;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: app PLUGIN.so TEXT [RUNNER]\n");
		return 2;
	}
	ph_host_config_init(&hc);
	if (argc == 4)
		hc.runner_path = argv[3];
	if ((r = ph_host_new(&hc, &host)) < 0) {
		fprintf(stderr, "app: ph_host_new: %s\n", strerror(-r));
		return 3;
	}
	if ((r = ph_plugin_spawn(host, argv[1], NULL, &plugin, &res)) < 0) {
		ph_result_describe(&res, line, sizeof(line));
		fprintf(stderr, "app: spawn %s: %s\n", argv[1], line);
		return 3;
	}
	if ((r = ph_blob_new_from_bytes(argv[2], strlen(argv[2]), &in)) < 0) {
		fprintf(stderr, "app: blob: %s\n", strerror(-r));
		return 3;
	}
	r = ph_plugin_call_collect(plugin, "greet", &in, 1, &out, &len, &res);
	if (r < 0) {
		fprintf(stderr, "app: call: %s\n", strerror(-r));
		return 3;
	}
	fwrite(out, 1, len, stdout);
	free(out);
	ph_result_describe(&res, line, sizeof(line));
	printf("result: %s (%s)\n", ph_result_kind_name(res.kind), line);
	ph_blob_free(in);
	ph_plugin_free(plugin);
	ph_host_free(host);
	return res.kind == PH_RESULT_OK ? 0 : 1;
}
