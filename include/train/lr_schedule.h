/* lr_schedule.h — BERT's learning-rate schedule: linear warmup from 0 to the
 * peak, then linear decay to 0. Equations (OP10)–(OP12): docs/optimizer.md.
 *
 * Steps are numbered from 0: `step` is the number of updates already applied
 * (Google's global_step, Hugging Face's scheduler step count, AdamWState.step
 * before the call to adamw_step). So the very first update uses
 * lr_at_step(0, …) = 0 whenever there is a warmup, exactly as in both
 * reference implementations. */
#ifndef BERT_LR_SCHEDULE_H
#define BERT_LR_SCHEDULE_H

#include "core/real.h"

/* Google's optimization.py (what BERT was pretrained with), the default:
 *   step < warmup_steps:  peak · step / warmup_steps                        (OP10)
 *   otherwise:            peak · (1 − min(step, total_steps) / total_steps)  (OP11)
 * The decay is measured from step 0, not from the end of warmup, so the rate
 * drops from peak·(warmup−1)/warmup to peak·(1 − warmup/total) at the end of
 * warmup (it never reaches peak). warmup_steps <= 0: no warmup;
 * total_steps <= 0: no decay. Never negative; 0 from total_steps on. */
real lr_at_step(long step, long warmup_steps, long total_steps, real peak_lr);

/* Hugging Face's get_linear_schedule_with_warmup (run_glue etc.):
 *   step < warmup_steps:  peak · step / warmup_steps
 *   otherwise:            peak · max(0, (total − step) / (total − warmup))    (OP12)
 * Continuous: reaches peak at the end of warmup and decays from there.
 * total_steps <= warmup_steps: 0 after warmup (HF divides by max(1, total − warmup)). */
real lr_at_step_hf(long step, long warmup_steps, long total_steps, real peak_lr);

#endif
