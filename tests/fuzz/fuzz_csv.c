/* fuzz_csv.c — libFuzzer harness: csv_read on arbitrary bytes, as CSV and as
 * TSV, then every cell through csv_text and the label map built from each column. */
#include <string.h>
#include "fuzz_util.h"
#include "data/csv.h"
#include "data/label_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_input(data, size, ".csv");
    char err[512];
    for (int d = 0; d < 2; d++) {
        CsvTable t;
        if (csv_read(&t, path, d ? '\t' : ',', err, sizeof err) != 0) {
            if (!strstr(err, path)) abort();   /* every error names the file */
            continue;
        }
        for (int c = 0; c < t.n_columns; c++) {
            if (csv_column(&t, t.header[c]) < 0) abort();
            for (long r = 0; r < t.n_rows; r++) (void)csv_text(&t, r, c, err, sizeof err);
            LabelMap map;
            if (label_map_build(&map, &t, c, err, sizeof err) == 0) {
                for (long r = 0; r < t.n_rows; r++)
                    if (label_map_row_id(&map, &t, r, c, err, sizeof err) < 0) abort();
                label_map_free(&map);
            }
        }
        csv_free(&t);
    }
    return 0;
}
