/* commands.h — the subcommands of the `bert` program. Each takes the
 * arguments after its name (argv[0] is the subcommand) and returns the exit
 * status. */
#ifndef BERT_COMMANDS_H
#define BERT_COMMANDS_H

int cmd_gradcheck(int argc, char **argv);
int cmd_attention_map(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_vocab(int argc, char **argv);
int cmd_bench_tokenizer(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
