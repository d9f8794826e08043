/* libFuzzer target for the profile parser: any bytes must give either a
 * profile or errors, never a crash, a leak or a hang. A profile that loads
 * must also survive its own dump: what `mintflow check` prints loads back,
 * once the secrets it hides ("(hidden)") are put back in.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_profile.c
 *   ./fuzz_profile fuzz/corpus/profile */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/key_text.h"
#include "config/profile.h"
#include "config/profile_dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why, const char *first, const char *text)
{
  fprintf(stderr, "%s: %s\n%s", why, first, text);
  abort();
}

/* The dump with each "(hidden)" replaced by its key, in dump order:
 * private keys by wireguard interface, preshared keys by peer. */
static char *restore_secrets(const char *dump, const mf_profile_t *p)
{
  char *out = NULL, key[MF_KEY_TEXT_LEN + 1];
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  uint32_t iface = 0, peer = 0;
  const mf_wg_cfg_t *wg = NULL;
  bool in_block = false; /* a debug text's lines are the user's, not ours */
  if (!f)
    abort();
  for (const char *line = dump; *line;) {
    const char *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
    if (in_block && (n == 1 || strncmp(line, "      ", 6) == 0)) {
      fwrite(line, 1, n, f);
      line += n;
      continue;
    }
    in_block = strncmp(line, "    debug: |", 12) == 0;
    const char *hidden = NULL;
    if (n == 26 && strncmp(line, "    private_key: (hidden)\n", 26) == 0)
      hidden = line + 15;
    if (n == 32 && strncmp(line, "        preshared_key: (hidden)\n", 32) == 0)
      hidden = line + 21;
    if (hidden && line[4] == 'p') {
      while (iface < p->n_ifaces && p->ifaces[iface].type != MF_IF_WIREGUARD)
        iface++;
      if (iface == p->n_ifaces)
        fail("more hidden private keys than interfaces", "", dump);
      wg = &p->wg[p->ifaces[iface++].wg];
      peer = 0;
      mf_key_text_encode(wg->private_key, key);
      fprintf(f, "%.*s: \"%s\"\n", (int)(hidden - line), line, key);
    } else if (hidden) {
      if (!wg || peer == 0)
        fail("hidden preshared key outside a peer", "", dump);
      mf_key_text_encode(wg->peers[peer - 1].preshared_key, key);
      fprintf(f, "%.*s: \"%s\"\n", (int)(hidden - line), line, key);
    } else {
      if (strncmp(line, "      - public_key:", 19) == 0)
        peer++;
      fwrite(line, 1, n, f);
    }
    line += n;
  }
  fclose(f);
  return out;
}

static bool same_wg(const mf_wg_cfg_t *a, const mf_wg_cfg_t *b)
{
  static mf_wg_cfg_t x, y;
  x = *a;
  y = *b;
  for (uint32_t k = 0; k < MF_PROFILE_MAX_WG_PEERS; k++)
    x.peers[k].mark = y.peers[k].mark = (mf_mark_t){0, 0};
  return memcmp(&x, &y, sizeof(x)) == 0;
}

static void check_dump_reloads(const mf_profile_t *p)
{
  static mf_profile_t again;
  char *dump = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&dump, &len);
  if (!f)
    return;
  mf_profile_dump(p, f);
  fclose(f);
  for (uint32_t w = 0; w < p->n_wg; w++) {
    char key[MF_KEY_TEXT_LEN + 1];
    mf_key_text_encode(p->wg[w].private_key, key);
    if (strstr(dump, key))
      fail("the dump shows a private key", key, dump);
  }
  char *text = restore_secrets(dump, p);
  mf_diag_t diag = {.out = NULL};
  if (mf_profile_load_string(text, strlen(text), "dump", &again, &diag) != 0 ||
      again.n_routes != p->n_routes || again.n_ifaces != p->n_ifaces ||
      again.n_wg != p->n_wg || memcmp(&again.tun, &p->tun, sizeof(p->tun)) != 0)
    fail("dump does not load back", diag.first, text);
  for (uint32_t w = 0; w < p->n_wg; w++)
    if (!same_wg(&again.wg[w], &p->wg[w]))
      fail("a wireguard interface changed on the way", "", text);
  free(text);
  free(dump);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static mf_profile_t p; /* ~300 KiB */
  mf_diag_t diag = {.out = NULL};
  int rc = mf_profile_load_string((const char *)data, size, "fuzz", &p, &diag);
  if ((rc == 0) != (diag.n_errors == 0))
    abort();
  if (rc == 0)
    check_dump_reloads(&p);
  return 0;
}
