# bench/seed_accuracy.awk — one arm's dev accuracy over seeds: each seed's
# accuracy, then their mean and sample standard deviation.
#
#   awk -F '\t' -v arm=A -v regime=R -f bench/seed_accuracy.awk correct.tsv
#
# correct.tsv as for paired_bootstrap.awk. Prints "MEAN SD N_SEEDS", or
# nothing when the arm has no run in the regime.
$1 == arm && $2 == regime { correct[$3] += $5; n[$3]++ }
END {
    k = 0; sum = 0; squares = 0
    for (s in n) { a = correct[s] / n[s]; sum += a; squares += a * a; k++ }
    if (!k) exit
    mean = sum / k
    sd = k > 1 ? sqrt((squares - k * mean * mean) / (k - 1)) : 0
    printf "%.4f %.4f %d\n", mean, sd < 0 ? 0 : sd, k
}
