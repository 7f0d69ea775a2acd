/* cmd_attention_map.c — `bert attention-map --model DIR --text "…" --out F.png
 * [--layer L] [--pad-to N] [--values]`: runs one sentence through a saved
 * model and draws each head's attention probabilities of one layer as a grid
 * of heat maps (queries down, keys across, tokens on both axes) with gnuplot,
 * as `bert plot` does. --values prints the matrices too. The probabilities
 * are the ones the forward pass keeps for the backward pass:
 * acts.layers[L].probs[B,NH,T,T] (docs/attention.md (AT4)), after the padding
 * mask and before dropout.
 *
 * `--head-distance FILE.csv [--text-column C] [--max-rows N]` instead runs
 * the rows' texts one at a time and prints, per layer, the mean pairwise
 * Jensen–Shannon distance between the heads' attention rows
 * (model/head_distance.h), averaged over every real query token of every
 * row: how different the heads are (docs/experiments.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "options.h"
#include "core/gemm.h"
#include "data/tokenizer.h"
#include "data/csv.h"
#include "io/checkpoint.h"
#include "model/head_distance.h"
#include "io/tokenizer_json.h"
#include "model/model.h"

/* A token as a gnuplot string in single quotes: ' doubled. */
static void put_token(FILE *f, const char *token) {
    fputc('\'', f);
    for (const char *p = token; *p; p++) {
        if (*p == '\'') fputc('\'', f);
        fputc(*p, f);
    }
    fputc('\'', f);
}

static void put_tics(FILE *f, const char *axis, const char *const *tokens, int T) {
    fprintf(f, "set %stics (", axis);
    for (int t = 0; t < T; t++) {
        if (t) fputs(", ", f);
        put_token(f, tokens[t]);
        fprintf(f, " %d", t);
    }
    fprintf(f, ")\n");
}

static int draw(const char *png, const char *model_dir, int layer, int NH, int T, const char *const *tokens,
                const real *probs) {
    char tmpdir[] = "/tmp/bert-attention-map-XXXXXX";
    if (!mkdtemp(tmpdir)) { perror("bert attention-map: mkdtemp"); return 1; }
    char data[64], script[64];
    snprintf(data, sizeof data, "%s/probs.dat", tmpdir);
    snprintf(script, sizeof script, "%s/map.gp", tmpdir);
    FILE *d = fopen(data, "w");
    if (!d) { perror(data); rmdir(tmpdir); return 1; }
    /* one matrix per head, separated by two blank lines (gnuplot's "index") */
    for (int h = 0; h < NH; h++) {
        for (int i = 0; i < T; i++) {
            for (int j = 0; j < T; j++) fprintf(d, "%s%.6f", j ? " " : "", (double)probs[((long)h * T + i) * T + j]);
            fputc('\n', d);
        }
        fputs("\n\n", d);
    }
    fclose(d);
    int cols = 1;
    while (cols * cols < NH) cols++;
    int rows = (NH + cols - 1) / cols;
    int cell = T <= 16 ? 420 : 28 * T;
    FILE *gp = fopen(script, "w");
    if (!gp) { perror(script); remove(data); rmdir(tmpdir); return 1; }
    fprintf(gp, "set terminal png size %d,%d noenhanced\nset output '%s'\n", cols * cell, rows * cell + 40, png);
    fprintf(gp, "set multiplot layout %d,%d title '%s: layer %d attention (rows: queries, columns: keys)'\n",
            rows, cols, model_dir, layer);
    fprintf(gp, "set palette defined (0 'white', 1 '#08306b')\nset cbrange [0:1]\nunset key\n"
                "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\nset size square\nset xtics rotate by 90 right\n"
                "set tics scale 0 font ',9'\n", T - 1, T - 1);
    put_tics(gp, "x", tokens, T);
    put_tics(gp, "y", tokens, T);
    for (int h = 0; h < NH; h++)
        fprintf(gp, "set title 'head %d'\nplot '%s' index %d matrix with image\n", h, data, h);
    fprintf(gp, "unset multiplot\n");
    fclose(gp);
    char command[256];
    snprintf(command, sizeof command, "gnuplot %s", script);
    int rc = system(command);
    remove(data);
    remove(script);
    rmdir(tmpdir);
    if (rc != 0) {
        fprintf(stderr, "bert attention-map: gnuplot failed (install it with: apt-get install gnuplot-nox)\n");
        return 1;
    }
    return 0;
}

static void print_values(int layer, int NH, int T, const char *const *tokens, const real *probs) {
    for (int h = 0; h < NH; h++) {
        printf("layer %d head %d (row i: query token i; column j: key token j; each row sums to 1)\n", layer, h);
        printf("%-12s", "");
        for (int j = 0; j < T; j++) printf(" %8.8s", tokens[j]);
        printf("\n");
        for (int i = 0; i < T; i++) {
            printf("%-12.12s", tokens[i]);
            for (int j = 0; j < T; j++) printf(" %8.6f", (double)probs[((long)h * T + i) * T + j]);
            printf("\n");
        }
        printf("\n");
    }
}

/* One text as [CLS] text [SEP], padded with [PAD] to pad_to positions (0:
 * none) and truncated to T_max, into ids/types/mask; returns the length
 * used, or -1 on an error (in err). */
static int encode_text(Tokenizer *tok, const char *text, int T_max, int pad_to, IntVec *words, int *ids, int *types,
                       int *mask, int *real_tokens, char *err, size_t err_len) {
    words->len = 0;
    if (tokenizer_encode(tok, text, strlen(text), words, NULL) < 0) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    int T = (int)words->len + 2 > pad_to ? (int)words->len + 2 : pad_to;
    if (T > T_max) T = T_max;
    *real_tokens = tokenizer_build_pair(tok, words->data, (int)words->len, NULL, 0, T, true, ids, types, mask);
    if (*real_tokens < 0) {
        snprintf(err, err_len, "the model takes too few positions");
        return -1;
    }
    return T;
}

/* --head-distance: per layer, the mean over rows of each row's mean pairwise
 * distance (every real query token weighs the same within its row, every
 * row the same in the mean). */
static int head_distance(BertModel *m, Tokenizer *tok, const char *path, const char *column, long max_rows,
                         const char *model_dir) {
    int L = m->config.num_hidden_layers, NH = m->config.num_attention_heads;
    int T_max = m->config.max_position_embeddings < 128 ? m->config.max_position_embeddings : 128;
    char err[1024];
    CsvTable table = { 0 };
    if (csv_read(&table, path, 0, err, sizeof err) != 0) {
        fprintf(stderr, "bert attention-map: %s\n", err);
        return 1;
    }
    int col = -1;
    for (int c = 0; c < table.n_columns; c++)
        if (strcmp(table.header[c], column) == 0) col = c;
    if (col < 0) {
        fprintf(stderr, "bert attention-map: %s:%ld: no column named '%s' (--text-column)\n", path,
                table.header_line, column);
        csv_free(&table);
        return 1;
    }
    if (table.n_rows == 0) {
        fprintf(stderr, "bert attention-map: %s: no data rows\n", path);
        csv_free(&table);
        return 1;
    }
    if (NH < 2) {
        printf("head distance: %s has 1 attention head per layer; a distance between heads needs 2 or more\n",
               model_dir);
        csv_free(&table);
        return 0;
    }
    int rc = 1;
    int *ids = calloc((size_t)T_max, sizeof *ids), *types = calloc((size_t)T_max, sizeof *types);
    int *mask = calloc((size_t)T_max, sizeof *mask);
    double *layer_sum = calloc((size_t)L, sizeof *layer_sum);
    IntVec words = { 0 };
    long rows = table.n_rows < max_rows ? table.n_rows : max_rows, tokens = 0;
    if (!ids || !types || !mask || !layer_sum) { fprintf(stderr, "bert attention-map: out of memory\n"); goto done; }
    /* bert_reserve (not _inference) keeps every layer's probabilities */
    if (bert_reserve(m, 1, T_max, 0, err, sizeof err) != 0) {
        fprintf(stderr, "bert attention-map: %s\n", err);
        goto done;
    }
    for (long r = 0; r < rows; r++) {
        int real_tokens;
        int T = encode_text(tok, table.rows[r].fields[col], T_max, 0, &words, ids, types, mask, &real_tokens, err,
                            sizeof err);
        if (T < 0) { fprintf(stderr, "bert attention-map: %s:%ld: %s\n", path, table.rows[r].line, err); goto done; }
        BertBatch batch = { .B = 1, .T = T, .input_ids = ids, .token_type_ids = types, .attention_mask = mask };
        if (bert_check_batch(m, &batch, err, sizeof err) != 0) {
            fprintf(stderr, "bert attention-map: %s:%ld: %s\n", path, table.rows[r].line, err);
            goto done;
        }
        bert_forward(m, &batch, false, 0);
        for (int l = 0; l < L; l++)
            layer_sum[l] += attention_head_distance(m->acts.layers[l].probs, mask, NH, T, NULL);
        tokens += real_tokens;
    }
    printf("head distance: mean pairwise Jensen-Shannon distance between the attention rows of the %d heads\n"
           "(log 2: 0 = the same distribution, 1 = disjoint), over %ld rows of %s (%ld real query tokens)\n",
           NH, rows, path, tokens);
    double all = 0;
    for (int l = 0; l < L; l++) {
        printf("layer %d: %.4f\n", l, layer_sum[l] / (double)rows);
        all += layer_sum[l] / (double)rows;
    }
    printf("all layers: %.4f\n", all / L);
    rc = 0;
done:
    free(ids); free(types); free(mask); free(layer_sum);
    intvec_free(&words);
    csv_free(&table);
    return rc;
}

int cmd_attention_map(int argc, char **argv) {
    const char *model_dir = NULL, *text = NULL, *out = NULL, *distance_file = NULL, *text_column = "text";
    long layer = -1, pad_to = 0, max_rows = 500;
    bool values = false;
    Option options[] = {
        { "--model", OPT_STRING, &model_dir, "model directory (config.json, model.safetensors, vocab.txt)", true, 0, 0 },
        { "--text", OPT_STRING, &text, "the sentence (not with --head-distance)", false, 0, 0 },
        { "--out", OPT_STRING, &out, "PNG to write (default: none, with --values)", false, 0, 0 },
        { "--layer", OPT_INT, &layer, "encoder layer to draw, from 0 (default: the last)", false, -1, 1 << 20 },
        { "--pad-to", OPT_INT, &pad_to, "pad the input with [PAD] to this many tokens, to see that they get no weight (default 0: no padding)", false, 0, 1 << 20 },
        { "--values", OPT_FLAG, &values, "print each head's probability matrix", false, 0, 0 },
        { "--head-distance", OPT_STRING, &distance_file, "CSV/TSV of texts: print each layer's mean pairwise Jensen-Shannon distance between heads instead", false, 0, 0 },
        { "--text-column", OPT_STRING, &text_column, "with --head-distance: the column holding the text (default text)", false, 0, 0 },
        { "--max-rows", OPT_INT, &max_rows, "with --head-distance: rows read at most (default 500)", false, 1, 1L << 30 },
    };
    int status = options_parse("attention-map",
                               "Runs one sentence ([CLS] text [SEP]) through the model and draws the attention\n"
                               "probabilities of every head of one layer as a grid of heat maps.",
                               options, sizeof options / sizeof options[0], argc, argv);
    if (status) return status == 1 ? 0 : status;
    if (distance_file && (text || out || values || pad_to || layer >= 0)) {
        fprintf(stderr, "bert attention-map: --head-distance takes all layers and its own texts: leave out --text, --out, --values, --layer and --pad-to\n");
        return 2;
    }
    if (!distance_file && !text) {
        fprintf(stderr, "bert attention-map: give --text \"...\" (or --head-distance FILE)\n");
        return 2;
    }
    if (!distance_file && !out && !values) {
        fprintf(stderr, "bert attention-map: give --out F.png, --values or both\n");
        return 2;
    }
    bert_runtime_init(1);
    char err[1024], source[1024];
    BertModel m;
    if (checkpoint_load(&m, model_dir, 0, 0, 1, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bert attention-map: %s\n", err);
        return 1;
    }
    int rc = 1;
    Tokenizer *tok = NULL;
    int *ids = NULL, *types = NULL, *mask = NULL;
    const char **tokens = NULL;
    IntVec words = { 0 };
    bool lower_case;
    if (checkpoint_read_lower_case(model_dir, &lower_case, err, sizeof err) != 0 ||
        !(tok = tokenizer_load_dir(model_dir, lower_case, source, sizeof source, err, sizeof err))) {
        fprintf(stderr, "bert attention-map: %s\n", err);
        goto done;
    }
    if (distance_file) {
        rc = head_distance(&m, tok, distance_file, text_column, max_rows, model_dir);
        goto done;
    }
    int L = m.config.num_hidden_layers, NH = m.config.num_attention_heads;
    if (layer < 0) layer = L - 1;
    if (layer >= L) {
        fprintf(stderr, "bert attention-map: --layer %ld, but %s has layers 0..%d\n", layer, model_dir, L - 1);
        rc = 2;
        goto done;
    }
    int max_T = m.config.max_position_embeddings;
    ids = calloc((size_t)max_T, sizeof *ids);
    types = calloc((size_t)max_T, sizeof *types);
    mask = calloc((size_t)max_T, sizeof *mask);
    tokens = calloc((size_t)max_T, sizeof *tokens);
    if (!ids || !types || !mask || !tokens) { fprintf(stderr, "bert attention-map: out of memory\n"); goto done; }
    int real_tokens;
    int T = encode_text(tok, text, max_T, (int)pad_to, &words, ids, types, mask, &real_tokens, err, sizeof err);
    if (T < 0) { fprintf(stderr, "bert attention-map: %s\n", err); goto done; }
    for (int t = 0; t < T; t++) tokens[t] = tokenizer_id_to_token(tok, ids[t]);
    if (bert_reserve(&m, 1, T, 0, err, sizeof err) != 0) {
        fprintf(stderr, "bert attention-map: %s\n", err);
        goto done;
    }
    BertBatch batch = { .B = 1, .T = T, .input_ids = ids, .token_type_ids = types, .attention_mask = mask };
    if (bert_check_batch(&m, &batch, err, sizeof err) != 0) {
        fprintf(stderr, "bert attention-map: %s\n", err);
        goto done;
    }
    bert_forward(&m, &batch, false, 0);
    const real *probs = m.acts.layers[layer].probs;   /* [1,NH,T,T] */
    if (values) print_values((int)layer, NH, T, tokens, probs);
    if (out) {
        if (draw(out, model_dir, (int)layer, NH, T, tokens, probs) != 0) goto done;
        printf("wrote %s (layer %ld, %d heads, %d tokens%s)\n", out, layer, NH, T,
               T > real_tokens ? ", padding included" : "");
    }
    rc = 0;
done:
    free(ids); free(types); free(mask); free(tokens);
    intvec_free(&words);
    if (tok) tokenizer_free(tok);
    bert_free(&m);
    return rc;
}
