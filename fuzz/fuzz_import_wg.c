/* libFuzzer target for the wg-quick importer: any bytes give either profile
 * text or errors, never a crash, a leak or a hang; errors write nothing;
 * and whatever it writes loads as a profile, with no private key left in
 * the debug copy (the profile itself refuses preshared keys there).
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_import_wg.c
 *   ./fuzz_import_wg -max_total_time=60 fuzz/corpus/import_wg */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/import_wg.h"
#include "config/key_text.h"
#include "config/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why, const char *first, const char *text)
{
  fprintf(stderr, "%s: %s\n%s", why, first, text);
  abort();
}

static void check_output_loads(const char *out)
{
  static mf_profile_t p; /* ~300 KiB */
  char *y = NULL, key[MF_KEY_TEXT_LEN + 1];
  size_t n = 0;
  FILE *f = open_memstream(&y, &n);
  if (!f)
    abort();
  fprintf(f, "interfaces:\n%sroutes: [{cidr: 0.0.0.0/0, to: wg}]\n", out);
  fclose(f);
  mf_diag_t diag = {.out = NULL};
  if (mf_profile_load_string(y, n, "import", &p, &diag) != 0 || p.n_wg != 1)
    fail("the import does not load", diag.first, y);
  mf_key_text_encode(p.wg[0].private_key, key);
  if (strstr(p.wg[0].debug, key))
    fail("the debug copy holds the private key", key, y);
  free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f)
    return 0;
  mf_diag_t diag = {.out = NULL};
  int rc = mf_import_wg_quick((const char *)data, size, "fuzz.conf", "wg", f,
                              &diag);
  fclose(f);
  if ((rc == 0) != (diag.n_errors == 0))
    abort();
  if (rc != 0 && len != 0)
    fail("an import that failed wrote", diag.first, out);
  if (rc == 0)
    check_output_loads(out);
  free(out);
  return 0;
}
