/* kumomori library: umbrella header. */
#ifndef KUMOMORI_H
#define KUMOMORI_H

#define KUMOMORI_VERSION "0.1.0"

#include "kumomori/error.h"
#include "kumomori/buf.h"
#include "kumomori/json.h"
#include "kumomori/match.h"
#include "kumomori/iam.h"

#endif
