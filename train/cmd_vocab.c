#include "commands.h"
int cmd_vocab(int argc, char **argv) { return 2; }
