/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-definition.c: backend definition files from untrusted bytes: parsed or refused, and a
 * definition that parses gives a spec that survives its own JSON round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "definition.h"
#include "spec-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        definition_problems p = { 0 };
        definition *d = NULL;
        int r;

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        r = definition_parse("/fuzz/x.backend", s, &p, &d);
        if ((r == 0) != (p.n == 0) || (r == 0 && !d->spec))
                abort(); /* good exactly when there is no problem */
        for (size_t i = 0; i < p.n; i++)
                if (!p.v[i].message || !*p.v[i].message)
                        abort(); /* every problem says what */
        if (d && d->spec) {
                json_t *j = NULL;
                corral_spec *back = NULL;
                if (spec_to_json(d->spec, &j) < 0 || spec_from_json(j, &back) < 0)
                        abort();
                json_decref(j);
                corral_spec_free(back);
        }
        definition_free(d);
        definition_problems_done(&p);
        free(s);
        return 0;
}
