/* intvec.h — a growable array of int (token ids, labels, offsets). */
#ifndef BERT_INTVEC_H
#define BERT_INTVEC_H

#include <stdbool.h>
#include <stdlib.h>

typedef struct { int *data; long len, cap; } IntVec;

/* Appends x; returns false (vector unchanged) if memory runs out. */
static inline bool intvec_push(IntVec *v, int x) {
    if (v->len == v->cap) {
        long cap = v->cap ? 2 * v->cap : 64;
        int *data = realloc(v->data, sizeof(int) * (size_t)cap);
        if (!data) return false;
        v->data = data;
        v->cap = cap;
    }
    v->data[v->len++] = x;
    return true;
}

static inline void intvec_clear(IntVec *v) { v->len = 0; }
static inline void intvec_free(IntVec *v) { free(v->data); v->data = NULL; v->len = v->cap = 0; }

#endif
