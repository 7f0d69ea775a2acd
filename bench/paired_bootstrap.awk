# bench/paired_bootstrap.awk — the paired difference in accuracy between two
# arms and its 95 % bootstrap confidence interval, resampling seeds and, within
# each, dev examples (the seeds' runs are paired: same subset, same order).
#
#   awk -F '\t' -v arm=A -v base=B -v regime=R [-v boot=2000] -f bench/paired_bootstrap.awk correct.tsv
#
# correct.tsv: one line per (arm, regime, seed, example): ARM REGIME SEED EXAMPLE CORRECT(0/1).
# Prints "DIFF LO HI" in accuracy points (arm − base), or "nan nan nan" when
# the two arms share no seed in the regime.
$2 == regime && ($1 == arm || $1 == base) {
    c[$1, $3, $4] = $5
    if ($1 == arm) has_arm[$3] = 1; else has_base[$3] = 1
    if ($4 > n_examples) n_examples = $4
}
END {
    if (boot == "") boot = 2000
    n_seeds = 0
    for (s in has_arm) if (s in has_base) seeds[++n_seeds] = s
    if (n_seeds == 0) { print "nan nan nan"; exit }
    diff = 0
    for (i = 1; i <= n_seeds; i++)
        for (e = 1; e <= n_examples; e++) diff += c[arm, seeds[i], e] - c[base, seeds[i], e]
    diff /= n_seeds * n_examples
    srand(12345)
    for (t = 1; t <= boot; t++) {
        total = 0
        for (i = 1; i <= n_seeds; i++) {
            s = seeds[int(rand() * n_seeds) + 1]
            for (j = 1; j <= n_examples; j++) { e = int(rand() * n_examples) + 1; total += c[arm, s, e] - c[base, s, e] }
        }
        stat[t] = total / (n_seeds * n_examples)
    }
    # insertion sort: boot is small
    for (x = 2; x <= boot; x++) { v = stat[x]; y = x - 1; while (y > 0 && stat[y] > v) { stat[y + 1] = stat[y]; y-- }; stat[y + 1] = v }
    printf "%+.2f %+.2f %+.2f\n", 100 * diff, 100 * stat[int(0.025 * boot) + 1], 100 * stat[int(0.975 * boot)]
}
