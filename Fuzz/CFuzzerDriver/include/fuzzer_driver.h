#ifndef FLEET_FUZZER_DRIVER_H
#define FLEET_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs with their own `main` (compiler-rt's
/// `libclang_rt.fuzzer_no_main`, linked by scripts/fuzz): parses libFuzzer's flags from argv and
/// runs `callback` on each input. Returns the process exit status.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
