/* libFuzzer target: the config file (docs/config.md), as batond reads it
 * (the node's sections in src/lib/config.c, [app] in src/daemon/config.c)
 * and as a libbaton program reads it (no [app] hook). Oracle: no crash,
 * no sanitizer report; a text that parses has a node listed in [nodes]
 * and apps whose priority lists name listed nodes only, no witness, and
 * leases in range. */
#include "../../src/util/setup.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX (1u << 16)

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void check_parsed(const struct batond_config *cfg)
{
    const struct baton_io_config *io = &cfg->node->io;

    check(io->n_nodes >= 1 && io->n_nodes <= BATON_NODES_MAX);
    check(io->self < io->n_nodes);
    check(strcmp(io->names[io->self], cfg->node->self_name) == 0);
    check(io->n_apps <= BATON_APPS_MAX);
    for (unsigned a = 0; a < io->n_apps; a++) {
        for (unsigned n = io->n_nodes; n < BATON_NODES_MAX; n++) {
            check(io->apps[a].rank[n] == 0);
        }
        check(cfg->apps[a].start[0] != '\0');
        /* quorum.md §1: a quorum app has its lease and margin filled in
         * and in range, an available app neither; no witness holds an
         * app. */
        if (io->apps[a].mode == BATON_APP_QUORUM) {
            check(io->apps[a].lease_ms >= BATON_LEASE_HEARTBEATS * 10 &&
                  io->apps[a].lease_ms <= BATON_LEASE_MS_MAX);
            check(io->apps[a].stop_margin_ms >= 1 &&
                  io->apps[a].stop_margin_ms <= io->apps[a].lease_ms / 2);
        } else {
            check(io->apps[a].mode == BATON_APP_AVAILABLE &&
                  io->apps[a].lease_ms == 0 &&
                  io->apps[a].stop_margin_ms == 0);
        }
        for (unsigned n = 0; n < io->n_nodes; n++) {
            check(!cfg->node->witness[n] || io->apps[a].rank[n] == 0);
        }
    }
    check(io->max_drift_ppm == 0 || /* the default */
          (io->max_drift_ppm >= BATON_DRIFT_PPM_MIN &&
           io->max_drift_ppm <= BATON_DRIFT_PPM_MAX));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct batond_config cfg;
    static struct lib_config node;
    static char text[TEXT_MAX + 1];
    char err[512];

    if (size > TEXT_MAX) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    if (batond_config_parse(&cfg, &node, text, err, sizeof(err)) == 0) {
        check_parsed(&cfg);
    } else {
        check(err[0] != '\0'); /* every refusal says why */
    }
    err[0] = '\0';
    if (lib_config_parse(&node, "fuzz.ini", text, NULL, NULL, err,
                         sizeof(err)) != 0) {
        check(err[0] != '\0');
    } else {
        check(node.io.n_apps == 0);
    }
    return 0;
}
