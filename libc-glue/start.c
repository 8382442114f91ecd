/* The call into the app, in C because C++ may not call main. */
#include <stdlib.h>

int main(int argc, char** argv);

void atoll_run_main(int argc, char** argv) { exit(main(argc, argv)); }
