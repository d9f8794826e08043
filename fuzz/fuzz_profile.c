/* libFuzzer target for the profile parser: any bytes must give either a
 * profile or errors, never a crash, a leak or a hang. A profile that loads
 * must also survive its own dump: what `mintflow check` prints loads back.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_profile.c
 *   ./fuzz_profile fuzz/corpus/profile */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/profile.h"
#include "config/profile_dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_dump_reloads(const mf_profile_t *p)
{
  static mf_profile_t again;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f)
    return;
  mf_profile_dump(p, f);
  fclose(f);
  mf_diag_t diag = {.out = NULL};
  if (mf_profile_load_string(text, len, "dump", &again, &diag) != 0 ||
      again.n_routes != p->n_routes || again.n_ifaces != p->n_ifaces ||
      memcmp(&again.tun, &p->tun, sizeof(p->tun)) != 0) {
    fprintf(stderr, "dump does not load back: %s\n%s", diag.first, text);
    abort();
  }
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static mf_profile_t p; /* ~40 KiB */
  mf_diag_t diag = {.out = NULL};
  int rc = mf_profile_load_string((const char *)data, size, "fuzz", &p, &diag);
  if ((rc == 0) != (diag.n_errors == 0))
    abort();
  if (rc == 0)
    check_dump_reloads(&p);
  return 0;
}
