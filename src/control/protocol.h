/* The control socket's wire format. A client connects to the Unix stream
 * socket and sends one request: its arguments separated by MF_CTL_SEP and
 * ended by a newline. The daemon answers with a status line, "0" for
 * success or "1" for failure, then text, then closes the connection. */
#ifndef MF_CONTROL_PROTOCOL_H
#define MF_CONTROL_PROTOCOL_H

#define MF_CTL_SEP '\x1f'
#define MF_CTL_MAX_REQUEST 4096
#define MF_CTL_MAX_ARGS 32
#define MF_CTL_DEFAULT_SOCKET "/run/mintflow/mintflow.sock"
#define MF_CTL_SOCKET_ENV "MINTFLOW_SOCKET"

#endif
