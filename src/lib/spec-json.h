/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec-json.h: a spec as JSON and back, to keep it with the backend's leaf (re-adoption). */
#pragma once

#include <jansson.h>

#include "corral.h"

/* Every field of the spec; a new reference in *ret. */
int spec_to_json(const corral_spec *s, json_t **ret);

/* A spec from what spec_to_json() made, checked by the setters. -EINVAL if it is not one. */
int spec_from_json(json_t *o, corral_spec **ret);
