/* test_lr_schedule.c — BERT's warmup + linear decay schedule (Google's and
 * Hugging Face's variants) at the points where they are easy to compute by
 * hand: start, inside warmup, warmup end, midpoint, end, and beyond the end. */
#include "test_util.h"
#include "train/lr_schedule.h"

#define PEAK ((real)1e-4)
/* The schedule is one product in double rounded to `real`: relative 1e-14 in
 * double, 1e-6 in float (a few ulps of 1e-4). */
#ifdef BERT_DOUBLE
#define LR_TOL (1e-14 * 1e-4)
#else
#define LR_TOL (1e-6 * 1e-4)
#endif

START_TEST(google_schedule_by_hand) {
    /* warmup 10, total 100, steps counted from 0 (step = updates done so far).
     * (OP10) step < 10: 1e-4 · step/10;  (OP11) otherwise 1e-4 · (1 − min(step,100)/100). */
    ck_assert_near(lr_at_step(0, 10, 100, PEAK), 0.0, LR_TOL);       /* first update: lr 0 */
    ck_assert_near(lr_at_step(5, 10, 100, PEAK), 5e-5, LR_TOL);
    ck_assert_near(lr_at_step(9, 10, 100, PEAK), 9e-5, LR_TOL);      /* last warmup step */
    ck_assert_near(lr_at_step(10, 10, 100, PEAK), 9e-5, LR_TOL);     /* warmup end: 1 − 10/100, not peak */
    ck_assert_near(lr_at_step(50, 10, 100, PEAK), 5e-5, LR_TOL);     /* midpoint of training */
    ck_assert_near(lr_at_step(99, 10, 100, PEAK), 1e-6, LR_TOL);     /* last update */
    ck_assert_near(lr_at_step(100, 10, 100, PEAK), 0.0, LR_TOL);     /* end */
    ck_assert(lr_at_step(150, 10, 100, PEAK) == 0);                  /* beyond: 0, not negative */
    ck_assert(lr_at_step(100000, 10, 100, PEAK) == 0);
}
END_TEST

START_TEST(google_schedule_without_warmup_or_decay) {
    ck_assert_near(lr_at_step(0, 0, 100, PEAK), 1e-4, LR_TOL);       /* no warmup: peak at once */
    ck_assert_near(lr_at_step(25, 0, 100, PEAK), 7.5e-5, LR_TOL);
    ck_assert_near(lr_at_step(0, 4, 0, PEAK), 0.0, LR_TOL);          /* no decay: warmup then constant */
    ck_assert_near(lr_at_step(2, 4, 0, PEAK), 5e-5, LR_TOL);
    ck_assert_near(lr_at_step(1000, 4, 0, PEAK), 1e-4, LR_TOL);
}
END_TEST

START_TEST(hf_schedule_by_hand) {
    /* warmup 10, total 100: (OP10) in warmup; (OP12) 1e-4 · max(0, (100 − step)/90) after. */
    ck_assert_near(lr_at_step_hf(0, 10, 100, PEAK), 0.0, LR_TOL);
    ck_assert_near(lr_at_step_hf(5, 10, 100, PEAK), 5e-5, LR_TOL);
    ck_assert_near(lr_at_step_hf(10, 10, 100, PEAK), 1e-4, LR_TOL);  /* warmup end: exactly peak */
    ck_assert_near(lr_at_step_hf(55, 10, 100, PEAK), 5e-5, LR_TOL);  /* midpoint of the decay: 45/90 */
    ck_assert_near(lr_at_step_hf(100, 10, 100, PEAK), 0.0, LR_TOL);
    ck_assert(lr_at_step_hf(150, 10, 100, PEAK) == 0);               /* beyond: 0, not negative */
    ck_assert_near(lr_at_step_hf(0, 0, 100, PEAK), 1e-4, LR_TOL);
    ck_assert(lr_at_step_hf(20, 10, 10, PEAK) == 0);                 /* total <= warmup: 0 after warmup */
}
END_TEST

START_TEST(schedules_are_monotone_and_never_negative) {
    real prev = -1;
    for (long s = 0; s < 10; s++) {
        real g = lr_at_step(s, 10, 100, PEAK), h = lr_at_step_hf(s, 10, 100, PEAK);
        ck_assert(g > prev);
        ck_assert(g == h);   /* the warmups are the same formula */
        prev = g;
    }
    prev = 1;
    for (long s = 10; s <= 120; s++) {
        real g = lr_at_step(s, 10, 100, PEAK), h = lr_at_step_hf(s, 10, 100, PEAK);
        ck_assert(g >= 0 && h >= 0);
        ck_assert(g <= prev);
        ck_assert(h >= g);   /* HF decays over fewer steps from a higher start */
        prev = g;
    }
}
END_TEST

Suite *lr_schedule_suite(void) {
    Suite *s = suite_create("lr_schedule");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, google_schedule_by_hand);
    tcase_add_test(tc, google_schedule_without_warmup_or_decay);
    tcase_add_test(tc, hf_schedule_by_hand);
    tcase_add_test(tc, schedules_are_monotone_and_never_negative);
    suite_add_tcase(s, tc);
    return s;
}
