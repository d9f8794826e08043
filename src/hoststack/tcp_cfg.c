/* Engine settings and state names. */
#include "hoststack/tcp_internal.h"

void mf_tcp_cfg_default(mf_tcp_cfg_t *cfg)
{
  /* 256 KiB holds a few RTTs of a fast local app; the app side is on the
   * same machine, so TIME-WAIT need only outlive a lost last ACK. */
  cfg->rx_buf = 256u * 1024;
  cfg->tx_buf = 256u * 1024;
  cfg->time_wait_ms = 2000;
  cfg->fin_wait_2_ms = 60000;
  cfg->syn_rcvd_ms = 20000;
  cfg->max_retries = 8;
  cfg->delack_ms = 40;
  /* The app is on this machine (RTT well under 1 ms), so Linux's 200 ms
   * floor, meant for wide-area paths, would be most of what a loss costs.
   * The floor must still outlast the app's delayed ACK of a lone segment
   * (up to 40 ms, Linux TCP_DELACK_MIN) or a segment that arrived is resent
   * and cwnd collapses for nothing: 50 ms leaves a few of its 4 ms jiffies
   * of margin. Most losses never wait for it: RACK and the loss probe
   * repair them within a few round trips (tcp_rack.c). */
  cfg->rto_min_ms = 50;
  cfg->sack = true;
  cfg->timestamps = true;
  cfg->window_scaling = true;
  cfg->tso_max_bytes = 0; /* the glue turns it on when the TUN offloads */
}

const char *mf_tcp_state_name(uint8_t state)
{
  static const char *const names[MF_TCP_N_STATE] = {
      [MF_TCP_S_CLOSED] = "CLOSED",
      [MF_TCP_S_SYN_RECEIVED] = "SYN_RECEIVED",
      [MF_TCP_S_ESTABLISHED] = "ESTABLISHED",
      [MF_TCP_S_CLOSE_WAIT] = "CLOSE_WAIT",
      [MF_TCP_S_FIN_WAIT_1] = "FIN_WAIT_1",
      [MF_TCP_S_FIN_WAIT_2] = "FIN_WAIT_2",
      [MF_TCP_S_CLOSING] = "CLOSING",
      [MF_TCP_S_LAST_ACK] = "LAST_ACK",
      [MF_TCP_S_TIME_WAIT] = "TIME_WAIT",
  };
  return state < MF_TCP_N_STATE ? names[state] : "?";
}
