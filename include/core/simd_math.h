/* simd_math.h — lets gcc vectorise loops that call exp() and erf().
 * (Names in parentheses: <tgmath.h> defines exp and erf as macros.)
 *
 * glibc's libmvec (linked through libm) has AVX-512/AVX2 versions of expf,
 * exp, erff and erf, accurate to a few ulp (measured: erff and expf within
 * 2.4e-7 relative of the double-precision result, 2 float ulp). glibc only
 * announces them to the compiler under -ffast-math, which this project does
 * not use (it would also drop NaN checks and reassociate sums); declaring the
 * `simd` attribute here announces them alone. With -fno-math-errno (Makefile
 * OPT) a vectorised loop over erf()/exp() then calls 16 floats at a time
 * instead of one (~6× faster here for GELU's erf).
 *
 * A loop's vector body and its scalar remainder may round differently in the
 * last bit, so loops that use these split their work into fixed blocks
 * (whose boundaries do not depend on the thread count): each element then
 * takes the same path whatever the number of threads. */
#ifndef BERT_SIMD_MATH_H
#define BERT_SIMD_MATH_H

#include <math.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
float (expf)(float) __attribute__((simd("notinbranch")));
double (exp)(double) __attribute__((simd("notinbranch")));
float (erff)(float) __attribute__((simd("notinbranch")));
double (erf)(double) __attribute__((simd("notinbranch")));
#endif

/* Elements per block for element-wise loops that call exp()/erf(): a
 * multiple of every vector width, so only a tensor's last block has a tail. */
#define SIMD_BLOCK 4096L

#endif
