/* sim7600 — being written. */
#include "sim7600.h"
int main(void) { return 0; }
