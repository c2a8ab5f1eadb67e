/* Terminal helpers: colour only on a terminal and never when NO_COLOR is set
 * (https://no-color.org), TERM=dumb, or --no-color was given. */
#ifndef KM_TERM_H
#define KM_TERM_H
#include <stdio.h>

/* Force colour off (e.g. --no-color) or back to automatic (-1) / on (1). */
void km_term_set_color(int mode);
/* Whether colour escapes should be written to f. */
int km_term_color(FILE *f);
/* The escape for a colour name ("red", "yellow", "green", "bold", "dim", "reset", ...), or "" when
 * colour is off for f. */
const char *km_term_esc(FILE *f, const char *name);
#endif
