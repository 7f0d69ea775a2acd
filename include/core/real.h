/* real.h — the scalar type of every parameter, activation and gradient.
 *
 * float by default; the same source builds with double when compiled with
 * -DBERT_DOUBLE (the `f64` variant in the Makefile), so gradient checks against
 * finite differences can use tight tolerances. Math functions come from
 * <tgmath.h>, so exp(), erf(), sqrt() and tanh() pick the float or double
 * version from their argument's type. Write constants as (real)0.5 so float
 * code is not silently promoted to double. */
#ifndef BERT_REAL_H
#define BERT_REAL_H

#include <tgmath.h>
/* <tgmath.h> brings in <complex.h>, whose macro I (the imaginary unit) would
 * take the name bert.c uses for the intermediate (feed-forward) size. */
#undef I

#ifdef BERT_DOUBLE
typedef double real;
#define REAL_NAME "double"
#else
typedef float real;
#define REAL_NAME "float"
#endif

#endif
