/* A YAML document tree for rule files, built with libyaml's event parser. Every node remembers
 * its line and column so that a rule error can name the place. The tree owns all its nodes and
 * strings (one arena): after km_ydoc_free every pointer into it is invalid.
 *
 * Scalars keep their text and whether they were written plain (unquoted): Sigma gives `null`,
 * `true` and `4624` their YAML 1.1 meaning only when plain, exactly as PyYAML (which pySigma and
 * the SigmaHQ tooling use) resolves them. Aliases become shared nodes (a DAG, never a copy), so a
 * "billion laughs" file costs no memory; users of the tree must bound their own expansion. */
#ifndef KM_SIGMA_YAML_H
#define KM_SIGMA_YAML_H

#include <stddef.h>
#include "kumomori/error.h"

typedef enum { KM_Y_SCALAR, KM_Y_SEQ, KM_Y_MAP } km_ynode_type;

/* What a scalar means under YAML 1.1 resolution (plain scalars) or its explicit tag. */
typedef enum { KM_YS_STR, KM_YS_NULL, KM_YS_BOOL, KM_YS_INT, KM_YS_FLOAT } km_yscalar_kind;

typedef struct km_ynode km_ynode;
typedef struct km_ypair {
    km_ynode *key;
    km_ynode *value;
} km_ypair;

struct km_ynode {
    km_ynode_type type;
    size_t line, col; /* 1-based position of the node's first character */
    /* scalar */
    const char *s; /* NUL-terminated; may contain NUL (use len) */
    size_t len;
    int plain;     /* written without quotes or block style */
    km_yscalar_kind kind;
    int bool_val;  /* KM_YS_BOOL */
    double num;    /* KM_YS_INT / KM_YS_FLOAT */
    /* sequence items, or mapping pairs in document order */
    km_ynode **items;
    km_ypair *pairs;
    size_t n;
};

typedef struct km_ydoc km_ydoc;

/* Parse text[0..len) (every document of a multi-document stream). name is used in messages.
 * NULL with err set ("name:line:col: what") on a syntax error, a duplicate mapping key, an
 * unsupported tag, or when the input exceeds the caps (nodes, depth). */
km_ydoc *km_yaml_parse(const char *text, size_t len, const char *name, km_error *err);
void km_ydoc_free(km_ydoc *d); /* takes NULL */
size_t km_ydoc_count(const km_ydoc *d);
/* Root node of document i, or NULL. */
const km_ynode *km_ydoc_root(const km_ydoc *d, size_t i);

/* Mapping lookup by key text (scalar keys only), or NULL. */
const km_ynode *km_ymap_get(const km_ynode *map, const char *key);
/* Whether n is a scalar whose text equals s (and is a string, not null/bool/number). */
int km_yscalar_is(const km_ynode *n, const char *s);
/* "a mapping", "a list", "a string", "null", ... for messages. */
const char *km_ynode_what(const km_ynode *n);

#endif
