/* lr_schedule.c — linear warmup then linear decay, as Google's BERT code
 * (the default) and as Hugging Face's get_linear_schedule_with_warmup.
 * Computed in double and rounded once to `real`. */
#include "train/lr_schedule.h"

/* docs/optimizer.md, equations (OP10) and (OP11). */
real lr_at_step(long step, long warmup_steps, long total_steps, real peak_lr) {
    if (step < 0) step = 0;
    if (warmup_steps > 0 && step < warmup_steps)
        return (real)((double)peak_lr * (double)step / (double)warmup_steps);
    if (total_steps <= 0) return peak_lr;
    long clamped = step < total_steps ? step : total_steps;
    return (real)((double)peak_lr * (1.0 - (double)clamped / (double)total_steps));
}

/* docs/optimizer.md, equations (OP10) and (OP12). */
real lr_at_step_hf(long step, long warmup_steps, long total_steps, real peak_lr) {
    if (step < 0) step = 0;
    if (warmup_steps > 0 && step < warmup_steps)
        return (real)((double)peak_lr * (double)step / (double)warmup_steps);
    long decay_steps = total_steps - (warmup_steps > 0 ? warmup_steps : 0);
    double remaining = (double)(total_steps - step) / (double)(decay_steps > 1 ? decay_steps : 1);
    return (real)((double)peak_lr * (remaining > 0 ? remaining : 0.0));
}
