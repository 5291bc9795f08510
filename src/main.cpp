// talon: the gateway and fleet control plane, one binary. Commands live in src/cli/.
#include "cli/cli.h"

int main(int argc, char** argv) { return talon::cli::run(argc, argv); }
